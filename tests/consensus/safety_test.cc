// The safety component never signs two different messages for one height, round and step,
// never signs below what it signed last, and hands out each signature together with the
// record that must be persisted before the signature leaves the process.
#include "civic/consensus/safety.h"

#include <gtest/gtest.h>

#include "civic/proto/codec.h"
#include "fixture.h"

namespace civic::consensus {
namespace {

using proto::VoteType;
using testing::Block;
using testing::MakeValidators;
using testing::TestChain;
using testing::Validators;

proto::VoteBody Body(const Validators& v, VoteType type, Height height, Round round, NilOrValue value) {
  proto::VoteBody body;
  body.type = type;
  body.height = height;
  body.round = WireRound(round);
  body.block_hash = value;
  body.validator = v.id(0);
  return body;
}

SafetySigner Signer(std::optional<LastSigned> persisted = std::nullopt) {
  Validators v = MakeValidators({1});
  return SafetySigner(TestChain(), std::move(v.keys[0]), persisted);
}

// Memory that "survives a crash": what was written is what a restart reads.
class MemoryStorage final : public SafetyStorage {
 public:
  proto::Result<void> Write(const proto::Bytes& record) override {
    if (fail_writes) return proto::Fail(proto::ErrorCode::kInvalidArgument, "disk full");
    stored = record;
    ++writes;
    return {};
  }
  proto::Result<std::optional<proto::Bytes>> Read() override { return stored; }

  std::optional<proto::Bytes> stored;
  int writes = 0;
  bool fail_writes = false;
};

TEST(SafetySigner, RefusesASecondDifferentVoteAtTheSameStep) {
  const Validators v = MakeValidators({1});
  SafetySigner signer = Signer();
  ASSERT_TRUE(signer.SignVote(Body(v, VoteType::kPrevote, 3, 1, Block("a")), std::nullopt).has_value());
  proto::Result<SignedVote> conflicting = signer.SignVote(Body(v, VoteType::kPrevote, 3, 1, Block("b")), std::nullopt);
  ASSERT_FALSE(conflicting.has_value());
  EXPECT_NE(conflicting.error().message.find("equivocation"), std::string::npos) << conflicting.error().message;
  EXPECT_FALSE(signer.SignVote(Body(v, VoteType::kPrevote, 3, 1, std::nullopt), std::nullopt).has_value());
}

TEST(SafetySigner, SigningTheSameMessageAgainGivesTheSameSignature) {
  const Validators v = MakeValidators({1});
  SafetySigner signer = Signer();
  const proto::VoteBody body = Body(v, VoteType::kPrecommit, 3, 0, Block("a"));
  const SignedVote first = signer.SignVote(body, std::nullopt).value();
  const SignedVote again = signer.SignVote(body, std::nullopt).value();
  EXPECT_EQ(first.vote, again.vote);
  EXPECT_EQ(first.record, again.record);
  EXPECT_TRUE(proto::VerifyVote(TestChain(), first.vote).has_value());
}

TEST(SafetySigner, SignsForwardOnlyProposalThenPrevoteThenPrecommit) {
  const Validators v = MakeValidators({1});
  SafetySigner signer = Signer();
  ProposalBody proposal;
  proposal.height = 3;
  proposal.round = 2;
  proposal.block_hash = Block("a");
  proposal.proposer = v.id(0);
  const SignedProposal signed_proposal = signer.SignProposal(proposal, std::nullopt).value();
  EXPECT_EQ(signed_proposal.record.step, SignedStep::kProposal);
  EXPECT_TRUE(VerifyProposal(TestChain(), signed_proposal.proposal).has_value());
  EXPECT_TRUE(signer.SignVote(Body(v, VoteType::kPrevote, 3, 2, Block("a")), std::nullopt).has_value());
  EXPECT_TRUE(signer.SignVote(Body(v, VoteType::kPrecommit, 3, 2, std::nullopt), std::nullopt).has_value());
  // Anything earlier is refused: the prevote of this round, any message of an older round.
  EXPECT_FALSE(signer.SignVote(Body(v, VoteType::kPrevote, 3, 2, Block("a")), std::nullopt).has_value());
  EXPECT_FALSE(signer.SignVote(Body(v, VoteType::kPrecommit, 3, 1, std::nullopt), std::nullopt).has_value());
  EXPECT_FALSE(signer.SignVote(Body(v, VoteType::kPrecommit, 2, 9, std::nullopt), std::nullopt).has_value());
  EXPECT_FALSE(signer.SignProposal(proposal, std::nullopt).has_value());
  // Later ones are fine.
  EXPECT_TRUE(signer.SignVote(Body(v, VoteType::kPrevote, 3, 3, std::nullopt), std::nullopt).has_value());
  EXPECT_TRUE(signer.SignVote(Body(v, VoteType::kPrevote, 4, 0, std::nullopt), std::nullopt).has_value());
}

TEST(SafetySigner, RefusesAKeyThatIsNotItsOwn) {
  const Validators others = MakeValidators({1, 1}, 0x77);
  SafetySigner signer = Signer();
  proto::VoteBody body = Body(others, VoteType::kPrevote, 1, 0, std::nullopt);
  EXPECT_FALSE(signer.SignVote(body, std::nullopt).has_value());
}

TEST(SafetySigner, AfterARestartThePersistedRecordStillBinds) {
  const Validators v = MakeValidators({1});
  MemoryStorage storage;
  {
    SafetySigner signer = Signer();
    SafetyStore store(storage);
    const SignedVote signed_vote = signer.SignVote(Body(v, VoteType::kPrevote, 8, 4, Block("a")), std::nullopt).value();
    // The engine's order: persist, and only then release the vote.
    ASSERT_TRUE(store.Persist(signed_vote.record).has_value());
  }
  // The process died. A new one loads the record before it may sign.
  SafetyStore store(storage);
  const std::optional<LastSigned> loaded = store.Load().value();
  ASSERT_TRUE(loaded.has_value());
  SafetySigner restarted = Signer(loaded);
  EXPECT_FALSE(restarted.SignVote(Body(v, VoteType::kPrevote, 8, 4, Block("b")), std::nullopt).has_value());
  EXPECT_FALSE(restarted.SignVote(Body(v, VoteType::kPrevote, 8, 4, std::nullopt), std::nullopt).has_value());
  EXPECT_TRUE(restarted.SignVote(Body(v, VoteType::kPrevote, 8, 4, Block("a")), std::nullopt).has_value());  // the same vote
  EXPECT_TRUE(restarted.SignVote(Body(v, VoteType::kPrecommit, 8, 4, std::nullopt), std::nullopt).has_value());
}

// A record restored from an older copy: the node suspends the signer, then resumes it behind a
// fence at the height the network is deciding. Nothing is signed meanwhile, nothing at the
// fence's height or below after it, and the fence is a record the store keeps like any other.
TEST(SafetySigner, SuspendedSignsNothingAndResumesOnlyAboveTheFence) {
  const Validators v = MakeValidators({1});
  MemoryStorage storage;
  SafetyStore store(storage);
  SafetySigner signer = Signer();
  const LastSigned old = signer.SignVote(Body(v, VoteType::kPrevote, 5, 0, Block("a")), std::nullopt).value().record;
  ASSERT_TRUE(store.Persist(old).has_value());
  signer.Suspend();
  EXPECT_TRUE(signer.suspended());
  proto::Result<SignedVote> refused = signer.SignVote(Body(v, VoteType::kPrecommit, 5, 0, Block("a")), std::nullopt);
  ASSERT_FALSE(refused.has_value());
  EXPECT_NE(refused.error().message.find("suspended"), std::string::npos) << refused.error().message;
  ProposalBody proposal;
  proposal.height = 9;
  proposal.proposer = v.id(0);
  proposal.block_hash = Block("p");
  EXPECT_FALSE(signer.SignProposal(proposal, std::nullopt).has_value());
  EXPECT_EQ(signer.last_signed(), old) << "a refusal records nothing";

  const LastSigned fence = FenceAt(9);
  ASSERT_TRUE(store.Persist(fence).has_value()) << "the fence is later than any record at height 9 or below";
  signer.Resume(fence);
  EXPECT_FALSE(signer.suspended());
  EXPECT_FALSE(signer.SignProposal(proposal, std::nullopt).has_value());
  EXPECT_FALSE(signer.SignVote(Body(v, VoteType::kPrecommit, 9, 1000, std::nullopt), std::nullopt).has_value());
  proposal.height = 10;
  EXPECT_TRUE(signer.SignProposal(proposal, std::nullopt).has_value());
  // The fence survives a restart, and a resume behind an earlier fence lowers nothing.
  SafetyStore reopened(storage);
  EXPECT_EQ(reopened.Load().value(), fence);
  SafetySigner restarted = Signer(fence);
  restarted.Resume(FenceAt(3));
  EXPECT_EQ(restarted.last_signed(), fence);
  EXPECT_TRUE(proto::Decode<LastSigned>(proto::Encode(fence).value()).has_value()) << "the fence encodes and decodes";
}

TEST(SafetyStore, NeverMovesBackwardsOrReplacesARecord) {
  const Validators v = MakeValidators({1});
  MemoryStorage storage;
  SafetyStore store(storage);
  SafetySigner signer = Signer();
  const LastSigned prevote = signer.SignVote(Body(v, VoteType::kPrevote, 2, 0, Block("a")), std::nullopt).value().record;
  const LastSigned precommit = signer.SignVote(Body(v, VoteType::kPrecommit, 2, 0, Block("a")), std::nullopt).value().record;
  ASSERT_TRUE(store.Persist(precommit).has_value());
  EXPECT_FALSE(store.Persist(prevote).has_value());  // backwards
  LastSigned other = precommit;
  other.digest = Block("another message");
  EXPECT_FALSE(store.Persist(other).has_value());     // a different message at the same step
  EXPECT_TRUE(store.Persist(precommit).has_value());  // the same record: nothing to write
  EXPECT_EQ(storage.writes, 1);
}

TEST(SafetyStore, AFailedWriteIsAnErrorAndChangesNothing) {
  const Validators v = MakeValidators({1});
  MemoryStorage storage;
  SafetyStore store(storage);
  SafetySigner signer = Signer();
  const LastSigned first = signer.SignVote(Body(v, VoteType::kPrevote, 2, 0, Block("a")), std::nullopt).value().record;
  ASSERT_TRUE(store.Persist(first).has_value());
  storage.fail_writes = true;
  const LastSigned second = signer.SignVote(Body(v, VoteType::kPrecommit, 2, 0, Block("a")), std::nullopt).value().record;
  EXPECT_FALSE(store.Persist(second).has_value());  // node/ must now stop, not broadcast
  SafetyStore reopened(storage);
  EXPECT_EQ(reopened.Load().value(), first);
}

TEST(SafetyStore, RefusesACorruptRecord) {
  MemoryStorage storage;
  storage.stored = proto::Bytes{1, 2, 3};
  SafetyStore store(storage);
  EXPECT_FALSE(store.Load().has_value());
}

TEST(LastSigned, EncodesCanonically) {
  LastSigned record{kLastSignedVersion, 9, 2, SignedStep::kPrecommit, Block("x")};
  const proto::Bytes bytes = proto::Encode(record).value();
  EXPECT_EQ(proto::Decode<LastSigned>(bytes).value(), record);
  proto::Bytes bad_step = bytes;
  bad_step[1 + 8 + 4] = 9;  // after version, height and round
  EXPECT_FALSE(proto::Decode<LastSigned>(bad_step).has_value());
}

// The lock travels with the record (safety.h): a record without one encodes exactly as
// version 1 always did, one with a lock is version 2, and nothing else decodes.
TEST(LastSigned, CarriesTheLockAsVersionTwo) {
  const LastSigned plain{kLastSignedVersion, 9, 2, SignedStep::kPrecommit, Block("x")};
  const proto::Bytes plain_bytes = proto::Encode(plain).value();
  EXPECT_EQ(plain_bytes.size(), 1u + 8 + 4 + 1 + 32);  // version 1's layout, unchanged

  const LastSigned locked{kLastSignedVersionLocked, 9, 2, SignedStep::kPrecommit, Block("x"), Lock{1, Block("v")}};
  const proto::Bytes locked_bytes = proto::Encode(locked).value();
  EXPECT_EQ(proto::Decode<LastSigned>(locked_bytes).value(), locked);

  LastSigned mislabelled = locked;
  mislabelled.version = kLastSignedVersion;
  EXPECT_FALSE(proto::Encode(mislabelled).has_value());
  proto::Bytes no_lock = plain_bytes;
  no_lock[0] = kLastSignedVersionLocked;
  no_lock.push_back(0);  // "absent"
  EXPECT_FALSE(proto::Decode<LastSigned>(no_lock).has_value());
  LastSigned later_lock = locked;
  later_lock.lock->round = 3;  // locked in a round after the record's
  EXPECT_FALSE(proto::Encode(later_lock).has_value());
}

// The fuzz target's property (tests/fuzz/fuzz_decode.cc) for the new version: whatever
// decodes re-encodes to the very same bytes. Every single-byte change of a version-2 record.
TEST(LastSigned, EveryDecodableMutationReencodesIdentically) {
  const LastSigned locked{kLastSignedVersionLocked, 9, 2, SignedStep::kPrecommit, Block("x"), Lock{1, Block("v")}};
  const proto::Bytes bytes = proto::Encode(locked).value();
  int decodable = 0;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    for (const std::uint8_t value : {std::uint8_t{0}, std::uint8_t{1}, std::uint8_t{2}, std::uint8_t{3}, std::uint8_t{0xff}}) {
      proto::Bytes mutated = bytes;
      mutated[i] = value;
      const proto::Result<LastSigned> decoded = proto::Decode<LastSigned>(mutated);
      if (!decoded) continue;
      ++decodable;
      EXPECT_EQ(proto::Encode(*decoded).value(), mutated) << "byte " << i << " = " << int{value};
    }
  }
  EXPECT_GT(decodable, 100);
}

TEST(SafetySigner, PutsTheLockItIsGivenIntoTheRecord) {
  const Validators v = MakeValidators({1});
  SafetySigner signer = Signer();
  const Lock lock{2, Block("a")};
  const SignedVote precommit = signer.SignVote(Body(v, VoteType::kPrecommit, 3, 2, Block("a")), lock).value();
  EXPECT_EQ(precommit.record.version, kLastSignedVersionLocked);
  EXPECT_EQ(precommit.record.lock, lock);
  EXPECT_EQ(signer.last_signed(), precommit.record);
  const SignedVote unlocked = signer.SignVote(Body(v, VoteType::kPrevote, 4, 0, std::nullopt), std::nullopt).value();
  EXPECT_EQ(unlocked.record.version, kLastSignedVersion);

  // And the store gives it back after a restart.
  MemoryStorage storage;
  SafetyStore store(storage);
  ASSERT_TRUE(store.Persist(precommit.record).has_value());
  SafetyStore reopened(storage);
  EXPECT_EQ(reopened.Load().value(), precommit.record);
}

}  // namespace
}  // namespace civic::consensus
