// The ledger on a real RocksDB in a temporary directory, with the executor and the mempool
// that feed it: what is committed survives reopening, the incremental app hash equals one
// computed from scratch, replay from genesis agrees, and bad blocks are refused.
#include "civic/node/ledger.h"

#include <gtest/gtest.h>

#include "civic/consensus/safety.h"
#include "civic/node/app_hash.h"
#include "civic/node/chain_verifier.h"
#include "civic/node/executor.h"
#include "civic/node/mempool.h"
#include "civic/node/replay.h"
#include "civic/proto/vote.h"
#include "node_fixture.h"

namespace civic::node {
namespace {

using testing::Filled;
using testing::TempDir;
using testing::TestNetwork;

proto::VerifiedTx Verified(const proto::Tx& tx) { return proto::VerifyTx(tx).value(); }

constexpr BlockLimits kLimits{1000, 4 * 1024 * 1024};

class LedgerTest : public ::testing::Test {
 protected:
  std::unique_ptr<Ledger> Open(OpenMode mode = OpenMode::kReadWrite) {
    proto::Result<std::unique_ptr<Ledger>> ledger = Ledger::Open(dir_.path() / "data", network_.genesis, mode);
    EXPECT_TRUE(ledger.has_value()) << (ledger ? "" : ledger.error().message);
    return ledger ? std::move(*ledger) : nullptr;
  }

  // Builds and commits a block of `txs`; returns the block.
  ExecutedBlock CommitBlock(Ledger& ledger, const std::vector<proto::Tx>& txs, std::vector<Dropped>* dropped = nullptr) {
    return testing::BuildAndCommit(ledger, network_, txs, time_ += 1000, kLimits, dropped);
  }

  TempDir dir_;
  TestNetwork network_;
  std::uint64_t time_ = 1'790'000'000'000;
};

TEST(StateCommitment, DependsOnTheEntriesNotOnTheirOrder) {
  const proto::ChainId chain = proto::ChainId::Parse("civic-test").value();
  const proto::Bytes a = {1, 2}, b = {3}, c = {4, 5, 6};
  StateCommitment one(chain), two(chain);
  one.Add(a, b);
  one.Add(b, c);
  two.Add(b, c);
  two.Add(a, b);
  EXPECT_EQ(one.Digest(), two.Digest());
  two.Remove(a, b);
  EXPECT_NE(one.Digest(), two.Digest());
  two.Remove(b, c);
  EXPECT_EQ(two.Digest(), StateCommitment(chain).Digest()) << "removing every entry gives the empty state";
  // The key/value split is part of the entry: (ab, c) is not (a, bc).
  StateCommitment split1(chain), split2(chain);
  split1.Add(proto::Bytes{1, 2}, proto::Bytes{3});
  split2.Add(proto::Bytes{1}, proto::Bytes{2, 3});
  EXPECT_NE(split1.Digest(), split2.Digest());
  // Another chain commits differently to the same state.
  StateCommitment other(proto::ChainId::Parse("civic-other").value());
  other.Add(a, b);
  other.Add(b, c);
  EXPECT_NE(other.Digest(), one.Digest());
  // Serialize and Restore round trip; a wrong size is refused.
  EXPECT_TRUE(StateCommitment::Restore(chain, one.Serialize()).value() == one);
  EXPECT_FALSE(StateCommitment::Restore(chain, proto::Bytes(100)).has_value());
}

TEST_F(LedgerTest, ANewLedgerHoldsTheGenesisStateAtHeightZero) {
  std::unique_ptr<Ledger> ledger = Open();
  ASSERT_NE(ledger, nullptr);
  EXPECT_EQ(ledger->tip().height, 0u);
  EXPECT_EQ(ledger->tip().time_unix_ms, network_.genesis.genesis_time_unix_ms);
  EXPECT_EQ(ledger->app_hash(), ledger->RecomputeCommitment().value().Digest());
  const contracts::BudgetContracts contracts(network_.chain);
  EXPECT_EQ(contracts.Genesis(ledger->state()).value(), network_.genesis.contracts);
}

TEST_F(LedgerTest, CommittedBlocksSurviveReopeningWithTheirIndexAndCertificates) {
  proto::Tx first = network_.Register(1);
  proto::Tx second = network_.Register(2, {2});
  proto::Hash32 app_hash;
  {
    std::unique_ptr<Ledger> ledger = Open();
    const ExecutedBlock one = CommitBlock(*ledger, {first});
    const ExecutedBlock two = CommitBlock(*ledger, {second});
    EXPECT_EQ(two.block.header.previous_block_hash, one.hash);
    app_hash = ledger->app_hash();
  }
  std::unique_ptr<Ledger> ledger = Open();
  EXPECT_EQ(ledger->tip().height, 2u);
  EXPECT_EQ(ledger->app_hash(), app_hash);
  EXPECT_EQ(ledger->RecomputeCommitment().value().Digest(), app_hash) << "the incremental hash equals a full one";
  const std::optional<TxLocation> where = ledger->FindTx(proto::TxId(second).value()).value();
  ASSERT_TRUE(where.has_value());
  EXPECT_EQ(where->height, 2u);
  EXPECT_EQ(where->index, 0u);
  EXPECT_EQ(ledger->BlockAt(1).value()->txs.at(0), first);
  EXPECT_TRUE(ledger->CertificateAt(2).value().has_value());
  EXPECT_FALSE(ledger->BlockAt(3).value().has_value());
  const ReplayReport report = ReplayLedger(*ledger).value();
  EXPECT_EQ(report.blocks, 2u);
  EXPECT_EQ(report.txs, 2u);
  EXPECT_EQ(report.app_hash, app_hash);
}

TEST_F(LedgerTest, TheHeaderCarriesTheAppHashOfTheStateBeforeIt) {
  std::unique_ptr<Ledger> ledger = Open();
  const proto::Hash32 genesis_hash = ledger->app_hash();
  const ExecutedBlock one = CommitBlock(*ledger, {network_.Register(1)});
  EXPECT_EQ(one.block.header.app_hash, genesis_hash);
  const proto::Hash32 after_one = ledger->app_hash();
  EXPECT_NE(after_one, genesis_hash);
  const ExecutedBlock two = CommitBlock(*ledger, {});
  EXPECT_EQ(two.block.header.app_hash, after_one);
}

TEST_F(LedgerTest, PrunedReplayEntriesKeepTheIncrementalHashEqualToAFullOne) {
  // Transactions valid until heights 2 and 3: their replay entries are deleted by the blocks
  // after that, which exercises the delete path of the incremental hash.
  std::unique_ptr<Ledger> ledger = Open();
  const auto short_lived = [&](std::uint32_t resident, std::uint64_t valid_until) {
    return network_.Sign(network_.clerk(), proto::TxKind::kRegisterResident,
                         proto::RegisterResident{network_.resident(resident).public_key(), {1}, 0}, std::nullopt,
                         valid_until);
  };
  CommitBlock(*ledger, {short_lived(1, 2), short_lived(2, 3)});
  for (int i = 0; i < 4; ++i) {
    CommitBlock(*ledger, {});
    EXPECT_EQ(ledger->app_hash(), ledger->RecomputeCommitment().value().Digest()) << "after block " << ledger->tip().height;
  }
  std::size_t replay_keys = 0;
  ledger->state().Scan(proto::AsBytes("rpl/"), [&](proto::ByteView, proto::ByteView) {
    ++replay_keys;
    return true;
  });
  EXPECT_EQ(replay_keys, 0u) << "the expired replay entries were pruned";
  EXPECT_EQ(ReplayLedger(*ledger).value().app_hash, ledger->app_hash());
}

TEST_F(LedgerTest, ALedgerOfAnotherGenesisIsRefused) {
  { ASSERT_NE(Open(), nullptr); }
  Genesis other = network_.genesis;
  other.contracts.districts.push_back({4, "Hills"});
  proto::Result<std::unique_ptr<Ledger>> ledger = Ledger::Open(dir_.path() / "data", other, OpenMode::kReadWrite);
  ASSERT_FALSE(ledger.has_value());
  EXPECT_NE(ledger.error().message.find("another genesis"), std::string::npos) << ledger.error().message;
  EXPECT_NE(ledger.error().message.find(proto::ToHex(GenesisHash(other))), std::string::npos);
}

TEST_F(LedgerTest, ReadOnlyOpenOfAMissingLedgerFailsWithoutCreatingOne) {
  proto::Result<std::unique_ptr<Ledger>> ledger = Ledger::Open(dir_.path() / "none", network_.genesis, OpenMode::kReadOnly);
  ASSERT_FALSE(ledger.has_value());
  EXPECT_NE(ledger.error().message.find("no ledger"), std::string::npos) << ledger.error().message;
  EXPECT_FALSE(std::filesystem::exists(dir_.path() / "none" / "CURRENT"));
}

TEST_F(LedgerTest, TheSafetyRecordIsKeptAcrossReopening) {
  consensus::LastSigned record;
  record.height = 7;
  record.round = 2;
  record.step = consensus::SignedStep::kPrevote;
  {
    std::unique_ptr<Ledger> ledger = Open();
    consensus::SafetyStore store(ledger->safety_storage());
    ASSERT_FALSE(store.Load().value().has_value());
    ASSERT_TRUE(store.Persist(record).has_value());
  }
  std::unique_ptr<Ledger> ledger = Open();
  consensus::SafetyStore store(ledger->safety_storage());
  const std::optional<consensus::LastSigned> loaded = store.Load().value();
  ASSERT_TRUE(loaded.has_value());
  EXPECT_EQ(loaded->height, 7u);
  EXPECT_EQ(loaded->round, 2u);
  // An older record than the stored one is refused: a restarted validator cannot go back.
  consensus::LastSigned older = record;
  older.height = 6;
  EXPECT_FALSE(store.Persist(older).has_value());
}

TEST_F(LedgerTest, BuildLeavesOutTransactionsThatWouldFail) {
  std::unique_ptr<Ledger> ledger = Open();
  const proto::Tx ok = network_.Register(1);
  const proto::Tx again = network_.Register(1);  // the same resident twice: refused
  std::vector<Dropped> dropped;
  const ExecutedBlock block = CommitBlock(*ledger, {ok, again}, &dropped);
  EXPECT_EQ(block.block.txs.size(), 1u);
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].id, proto::TxId(again).value());
  EXPECT_EQ(dropped[0].reason.code, contracts::TxError::kAlreadyRegistered);
}

TEST_F(LedgerTest, ValidateRefusesBlocksThatDoNotFollowOrDoNotCheckOut) {
  std::unique_ptr<Ledger> ledger = Open();
  Executor executor(*ledger);
  const std::vector<proto::VerifiedTx> candidates = {Verified(network_.Register(1))};
  const consensus::ValidatorSchedule set(1, network_.genesis.ValidatorSet());
  const ExecutedBlock good = executor.Build(candidates, {}, time_ + 1000, network_.genesis.validators[0].key, set,
                                            kLimits, nullptr);
  const std::uint64_t clock = time_ + 5000;
  EXPECT_TRUE(executor.Validate(good.block, set, kLimits, nullptr, clock).has_value());

  const auto refused = [&](proto::Block block, std::string_view why) {
    proto::Result<ExecutedBlock> result = executor.Validate(block, set, kLimits, nullptr, clock);
    ASSERT_FALSE(result.has_value()) << why;
    EXPECT_NE(result.error().message.find(why), std::string::npos) << result.error().message;
  };
  proto::Block wrong_app = good.block;
  wrong_app.header.app_hash.bytes[0] ^= 1;
  refused(wrong_app, "app hash");
  proto::Block wrong_root = good.block;
  wrong_root.header.tx_root.bytes[0] ^= 1;
  refused(wrong_root, "tx_root");
  proto::Block wrong_height = good.block;
  wrong_height.header.height = 2;
  refused(wrong_height, "does not follow");
  proto::Block wrong_previous = good.block;
  wrong_previous.header.previous_block_hash.bytes[0] = 1;
  refused(wrong_previous, "does not extend");
  proto::Block old_time = good.block;
  old_time.header.time_unix_ms = network_.genesis.genesis_time_unix_ms;
  refused(old_time, "time");
  proto::Block future = good.block;
  future.header.time_unix_ms = clock + 1;
  refused(future, "beyond what this node's clock allows");
  proto::Block stranger = good.block;
  stranger.header.proposer = proto::Ed25519KeyPair::FromSeed(Filled(0x99)).public_key();
  refused(stranger, "is not a validator");
  proto::Block bad_signature = good.block;
  bad_signature.txs[0].signature.bytes[5] ^= 1;
  refused(bad_signature, "transaction 0");
  proto::Block failing = good.block;
  failing.txs.push_back(network_.Register(1));  // registers resident 1 again: does not take effect
  refused(failing, "does not take effect");
  EXPECT_EQ(ledger->tip().height, 0u) << "validation writes nothing";
}

// Two votes signed by `seed`'s key at height 1 round 0: for two blocks, or (nil_second) one
// for a block and one for nil.
proto::VoteEquivocation DoubleVote(const proto::ChainId& chain, std::uint8_t seed, std::uint32_t round = 0) {
  const proto::Ed25519KeyPair key = proto::Ed25519KeyPair::FromSeed(Filled(seed));
  proto::VoteBody body;
  body.type = proto::VoteType::kPrecommit;
  body.height = 1;
  body.round = round;
  body.validator = key.public_key();
  body.block_hash = proto::Sha256(proto::AsBytes("one block"));
  const proto::Vote a = proto::SignVote(chain, body, key).value();
  body.block_hash = proto::Sha256(proto::AsBytes("another block"));
  const proto::Vote b = proto::SignVote(chain, body, key).value();
  return proto::MakeVoteEquivocation(a, b).value();
}

// A validator that signed two votes for one slot: the next block built here records it, the
// block checks out elsewhere, the ledger keeps it in its state, and no later block may record
// the same slot again; evidence by a key that was no validator, or altered, or a root that
// does not match, makes a block invalid (and Build leaves such evidence out).
TEST_F(LedgerTest, EvidenceOfADoubleVoteIsRecordedOnceAndOnlyIfItChecksOut) {
  std::unique_ptr<Ledger> ledger = Open();
  Executor executor(*ledger);
  const consensus::ValidatorSchedule schedule(1, network_.genesis.ValidatorSet());
  const proto::Ed25519PublicKey proposer = network_.genesis.validators[0].key;
  const proto::VoteEquivocation real = DoubleVote(network_.chain, TestNetwork::kValidatorSeed);
  const proto::VoteEquivocation stranger = DoubleVote(network_.chain, 0x99);
  const std::vector<proto::VoteEquivocation> offered = {stranger, real};
  const std::uint64_t clock = time_ + 60'000;

  const ExecutedBlock first = executor.Build({}, offered, time_ + 1000, proposer, schedule, kLimits, nullptr);
  ASSERT_EQ(first.block.evidence.size(), 1u) << "only the validator's double vote goes in";
  EXPECT_EQ(first.block.evidence[0], real);
  EXPECT_EQ(first.block.header.evidence_root, proto::EvidenceRoot(network_.chain, first.block.evidence).value());
  EXPECT_TRUE(executor.Validate(first.block, schedule, kLimits, nullptr, clock).has_value());

  const auto refused = [&](proto::Block block, std::string_view why) {
    block.header.evidence_root = proto::EvidenceRoot(network_.chain, block.evidence).value_or(proto::Hash32{});
    proto::Result<ExecutedBlock> result = executor.Validate(block, schedule, kLimits, nullptr, clock);
    ASSERT_FALSE(result.has_value()) << why;
    EXPECT_NE(result.error().message.find(why), std::string::npos) << result.error().message;
  };
  proto::Block by_stranger = first.block;
  by_stranger.evidence = {stranger};
  refused(by_stranger, "was not a validator at height 1");
  proto::Block twice = first.block;
  twice.evidence = {real, DoubleVote(network_.chain, TestNetwork::kValidatorSeed)};
  refused(twice, "was recorded at height 1");
  proto::Block altered = first.block;
  altered.evidence[0].second.signature.bytes[3] ^= 1;
  refused(altered, "evidence 0");
  proto::Block wrong_root = first.block;
  wrong_root.header.evidence_root.bytes[0] ^= 1;
  proto::Result<ExecutedBlock> rooted = executor.Validate(wrong_root, schedule, kLimits, nullptr, clock);
  ASSERT_FALSE(rooted.has_value());
  EXPECT_NE(rooted.error().message.find("evidence_root"), std::string::npos) << rooted.error().message;

  // Replay and the audit (ChainVerifier) check evidence as validators do.
  proto::Result<ChainVerifier> replayed = ChainVerifier::Start(network_.genesis);
  ASSERT_TRUE(replayed.has_value());
  EXPECT_TRUE(replayed->Apply(first.block, testing::Certify(network_, 1, first.hash)).has_value());
  proto::Result<ChainVerifier> audited = ChainVerifier::Start(network_.genesis);
  ASSERT_TRUE(audited.has_value());
  proto::Block forged = first.block;
  forged.evidence[0].second.signature.bytes[3] ^= 1;
  proto::Result<void> forged_replay = audited->Apply(forged, testing::Certify(network_, 1, first.hash));
  ASSERT_FALSE(forged_replay.has_value());
  EXPECT_NE(forged_replay.error().message.find("block 1: evidence 0"), std::string::npos) << forged_replay.error().message;

  ASSERT_TRUE(executor.Commit(first, testing::Certify(network_, 1, first.hash)).has_value());
  EXPECT_TRUE(executor.contracts().EquivocationRecorded(ledger->state(), real.first.body).value());
  const std::vector<contracts::EquivocationRecord> recorded =
      executor.contracts().Equivocations(ledger->state()).value();
  ASSERT_EQ(recorded.size(), 1u);
  EXPECT_EQ(recorded[0].evidence, real);
  EXPECT_EQ(recorded[0].recorded_at_height, 1u);
  // The same slot again, from another pair of the same votes or the same pair: left out.
  const ExecutedBlock second = executor.Build({}, offered, time_ + 2000, proposer, schedule, kLimits, nullptr);
  EXPECT_TRUE(second.block.evidence.empty());
  // Another round is another slot.
  const std::vector<proto::VoteEquivocation> later = {DoubleVote(network_.chain, TestNetwork::kValidatorSeed, 1)};
  const ExecutedBlock third = executor.Build({}, later, time_ + 2000, proposer, schedule, kLimits, nullptr);
  EXPECT_EQ(third.block.evidence.size(), 1u);
}

TEST_F(LedgerTest, MempoolAdmitsInOrderRefusesDuplicatesAndWhatWouldFailAndRechecksAfterACommit) {
  std::unique_ptr<Ledger> ledger = Open();
  const contracts::BudgetContracts contracts(network_.chain);
  Mempool mempool(contracts, [&] { return ledger->StateSnapshot(); }, MempoolLimits{3, 1 << 20});
  const contracts::BlockContext next{1, time_ + 1000};
  const proto::VerifiedTx one = Verified(network_.Register(1));
  EXPECT_EQ(mempool.Add(one, 200, next).status, AdmitStatus::kAdmitted);
  EXPECT_EQ(mempool.Add(one, 200, next).status, AdmitStatus::kDuplicate);
  const Admission again = mempool.Add(Verified(network_.Register(1)), 200, next);
  EXPECT_EQ(again.status, AdmitStatus::kRejected);
  EXPECT_EQ(again.rejection->code, contracts::TxError::kAlreadyRegistered) << "checked after the pending one";
  const proto::VerifiedTx two = Verified(network_.Register(2));
  const proto::VerifiedTx three = Verified(network_.Register(3));
  EXPECT_EQ(mempool.Add(two, 200, next).status, AdmitStatus::kAdmitted);
  EXPECT_EQ(mempool.Add(three, 200, next).status, AdmitStatus::kAdmitted);
  EXPECT_EQ(mempool.Add(Verified(network_.Register(4)), 200, next).status, AdmitStatus::kFull);
  EXPECT_EQ(mempool.size(), 3u);
  ASSERT_EQ(mempool.Candidates(10).size(), 3u);
  EXPECT_EQ(mempool.Candidates(10)[0].id(), one.id()) << "admission order";

  // A block from elsewhere registers resident 3 with another transaction: the pending
  // registration of 3 can no longer take effect and is dropped on the recheck.
  const ExecutedBlock block = CommitBlock(*ledger, {one.tx(), network_.Register(3, {2})});
  std::vector<Dropped> dropped;
  mempool.Update(block.tx_ids, contracts::BlockContext{2, time_ + 1000},
                 [&](const Dropped& drop) { dropped.push_back(drop); });
  ASSERT_EQ(dropped.size(), 1u);
  EXPECT_EQ(dropped[0].id, three.id());
  EXPECT_EQ(mempool.size(), 1u);
  EXPECT_TRUE(mempool.Contains(two.id()));
  EXPECT_FALSE(mempool.Contains(one.id()));
}

}  // namespace
}  // namespace civic::node
