// Votes and commit certificates: a certificate is accepted only with more than 2/3 of the
// voting power behind the exact block, height and round, on this chain.
#include "civic/proto/vote.h"

#include <gtest/gtest.h>

#include "samples.h"

namespace civic::proto {
namespace {

using testing::MakeSampleValidators;
using testing::SampleCommit;
using testing::SampleValidators;

TEST(Vote, SignedVoteVerifiesOnlyOnItsChain) {
  const SampleValidators validators = MakeSampleValidators();
  const Vote vote = testing::SamplePrecommit(validators, 1, Hash32{});
  EXPECT_TRUE(VerifyVote(testing::TestChain(), vote).has_value());
  EXPECT_EQ(VerifyVote(testing::TestChain("elsewhere"), vote).error().code, ErrorCode::kBadSignature);
  Vote prevote = vote;
  prevote.body.type = VoteType::kPrevote;  // a precommit's signature is not a prevote's
  EXPECT_FALSE(VerifyVote(testing::TestChain(), prevote).has_value());
  Vote nil = vote;
  nil.body.block_hash.reset();
  EXPECT_FALSE(VerifyVote(testing::TestChain(), nil).has_value());
}

TEST(Vote, SignRefusesAKeyThatIsNotTheValidator) {
  const SampleValidators validators = MakeSampleValidators();
  VoteBody body = testing::SamplePrecommit(validators, 0, Hash32{}).body;
  EXPECT_EQ(SignVote(testing::TestChain(), body, validators.keys[1]).error().code, ErrorCode::kInvalidArgument);
}

TEST(CommitCertificate, MoreThanTwoThirdsOfPowerVerifies) {
  const SampleValidators validators = MakeSampleValidators();  // powers 10, 20, 30, 40 of 100
  EXPECT_TRUE(VerifyCommitCertificate(testing::TestChain(), validators.set, SampleCommit(validators, {1, 2, 3})));
  EXPECT_TRUE(VerifyCommitCertificate(testing::TestChain(), validators.set, SampleCommit(validators, {0, 1, 2, 3})));
}

TEST(CommitCertificate, TwoThirdsOrLessIsRefused) {
  const SampleValidators validators = MakeSampleValidators();
  // 10 + 20 + 30 = 60 of 100, and 30 + 40 = 70 > 66.6: only the second passes.
  Result<void> short_commit = VerifyCommitCertificate(testing::TestChain(), validators.set, SampleCommit(validators, {0, 1, 2}));
  ASSERT_FALSE(short_commit.has_value());
  EXPECT_EQ(short_commit.error().code, ErrorCode::kBadProof);
  EXPECT_NE(short_commit.error().message.find("60 of 100"), std::string::npos) << short_commit.error().message;
  EXPECT_TRUE(VerifyCommitCertificate(testing::TestChain(), validators.set, SampleCommit(validators, {2, 3})));
}

TEST(CommitCertificate, ExactlyTwoThirdsIsNotEnough) {
  SampleValidators validators = MakeSampleValidators();
  for (Validator& v : validators.set.validators) v.power = 1;  // 4 validators of power 1
  validators.set.validators[3].power = 2;                       // total 5
  // {0,1,2} = 3 of 5 < 2/3; {1,2,3} = 4 of 5 > 2/3. And with 6 total, 4 of 6 == 2/3 is refused:
  EXPECT_FALSE(VerifyCommitCertificate(testing::TestChain(), validators.set, SampleCommit(validators, {0, 1, 2})));
  EXPECT_TRUE(VerifyCommitCertificate(testing::TestChain(), validators.set, SampleCommit(validators, {1, 2, 3})));
  validators.set.validators[0].power = 2;  // total 6; {1,2,3} = 4 of 6
  EXPECT_FALSE(VerifyCommitCertificate(testing::TestChain(), validators.set, SampleCommit(validators, {1, 2, 3})));
}

TEST(CommitCertificate, RefusesWrongBlockHeightRoundChainOrSet) {
  const SampleValidators validators = MakeSampleValidators();
  const CommitCertificate commit = SampleCommit(validators, {0, 1, 2, 3});
  std::vector<CommitCertificate> changed(3, commit);
  changed[0].block_hash.bytes[0] ^= 1;
  changed[1].height += 1;
  changed[2].round += 1;
  for (const CommitCertificate& c : changed) {
    Result<void> result = VerifyCommitCertificate(testing::TestChain(), validators.set, c);
    ASSERT_FALSE(result.has_value());
    EXPECT_EQ(result.error().code, ErrorCode::kBadSignature);
  }
  EXPECT_FALSE(VerifyCommitCertificate(testing::TestChain("other"), validators.set, commit));
  ValidatorSet other_set = validators.set;
  other_set.validators[0].key = Ed25519KeyPair::FromSeed(testing::Filled(0x01)).public_key();
  std::sort(other_set.validators.begin(), other_set.validators.end(),
            [](const Validator& a, const Validator& b) { return a.key < b.key; });
  EXPECT_FALSE(VerifyCommitCertificate(testing::TestChain(), other_set, commit));
}

TEST(CommitCertificate, RefusesIndexOutsideTheSetAndDuplicates) {
  const SampleValidators validators = MakeSampleValidators();
  CommitCertificate commit = SampleCommit(validators, {1, 2, 3});
  commit.signatures.push_back({4, commit.signatures.back().signature});
  Result<void> result = VerifyCommitCertificate(testing::TestChain(), validators.set, commit);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, ErrorCode::kBadProof);

  // The same signature twice cannot count twice: the list must strictly ascend.
  CommitCertificate doubled = SampleCommit(validators, {3});
  doubled.signatures.push_back(doubled.signatures[0]);
  EXPECT_EQ(VerifyCommitCertificate(testing::TestChain(), validators.set, doubled).error().code,
            ErrorCode::kNonCanonical);
}

TEST(CommitCertificate, APrevoteSignatureDoesNotCountAsAPrecommit) {
  const SampleValidators validators = MakeSampleValidators();
  CommitCertificate commit = SampleCommit(validators, {1, 2, 3});
  VoteBody prevote = testing::SamplePrecommit(validators, 3, commit.block_hash).body;
  prevote.type = VoteType::kPrevote;
  commit.signatures[2].signature = SignVote(testing::TestChain(), prevote, validators.keys[3]).value().signature;
  EXPECT_EQ(VerifyCommitCertificate(testing::TestChain(), validators.set, commit).error().code,
            ErrorCode::kBadSignature);
}

}  // namespace
}  // namespace civic::proto
