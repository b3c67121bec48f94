// The vote keeper counts voting power, never votes: 2f+1 is more than 2/3 of the power,
// f+1 more than 1/3, a validator counts once per round and type, and a second, different
// vote of one validator becomes evidence.
#include "civic/consensus/vote_keeper.h"

#include <gtest/gtest.h>

#include "fixture.h"

namespace civic::consensus {
namespace {

using proto::VoteType;
using testing::Block;
using testing::MakeValidators;
using testing::MakeVote;
using testing::Validators;

constexpr Height kHeight = 5;

Threshold Polka(Round round, const ValueId& value) { return Threshold{ThresholdKind::kPolkaValue, round, value}; }
Threshold Of(ThresholdKind kind, Round round) { return Threshold{kind, round, ValueId{}}; }

TEST(VoteKeeper, PolkaNeedsMoreThanTwoThirdsOfThePowerNotOfTheVoters) {
  const Validators v = MakeValidators({60, 30, 10});
  VoteKeeper keeper(kHeight, v.set);
  const ValueId block = Block("a");
  // Two of three voters, but 30 + 10 = 40 of 100: nothing.
  EXPECT_FALSE(keeper.ApplyVote(MakeVote(v, 1, VoteType::kPrevote, kHeight, 0, block), 0).reached());
  EXPECT_FALSE(keeper.ApplyVote(MakeVote(v, 2, VoteType::kPrevote, kHeight, 0, block), 0).reached());
  EXPECT_FALSE(keeper.HasQuorum(0, VoteType::kPrevote, block));
  // One more voter with 60: 100 of 100.
  EXPECT_EQ(keeper.ApplyVote(MakeVote(v, 0, VoteType::kPrevote, kHeight, 0, block), 0), Polka(0, block));
  EXPECT_TRUE(keeper.HasQuorum(0, VoteType::kPrevote, block));
}

TEST(VoteKeeper, OneHeavyValidatorAndALightOneMakeAPolka) {
  const Validators v = MakeValidators({60, 30, 10});
  VoteKeeper keeper(kHeight, v.set);
  const ValueId block = Block("a");
  EXPECT_FALSE(keeper.ApplyVote(MakeVote(v, 0, VoteType::kPrevote, kHeight, 0, block), 0).reached());
  EXPECT_EQ(keeper.ApplyVote(MakeVote(v, 2, VoteType::kPrevote, kHeight, 0, block), 0), Polka(0, block));  // 70
}

TEST(VoteKeeper, ExactlyTwoThirdsIsNoQuorum) {
  const Validators v = MakeValidators({40, 20, 20, 10});  // total 90, two thirds = 60
  VoteKeeper keeper(kHeight, v.set);
  const ValueId block = Block("a");
  EXPECT_FALSE(keeper.ApplyVote(MakeVote(v, 0, VoteType::kPrecommit, kHeight, 0, block), 0).reached());
  EXPECT_FALSE(keeper.ApplyVote(MakeVote(v, 1, VoteType::kPrecommit, kHeight, 0, block), 0).reached());  // 60
  EXPECT_EQ(keeper.ApplyVote(MakeVote(v, 3, VoteType::kPrecommit, kHeight, 0, block), 0),
            (Threshold{ThresholdKind::kPrecommitValue, 0, block}));  // 70
}

TEST(VoteKeeper, NilAndAnyThresholds) {
  const Validators v = MakeValidators({60, 30, 10});
  VoteKeeper keeper(kHeight, v.set);
  // Prevotes: nil 60 + value 30 = 90 in all, no quorum for either: "any" (line 34).
  EXPECT_FALSE(keeper.ApplyVote(MakeVote(v, 0, VoteType::kPrevote, kHeight, 1, std::nullopt), 1).reached());
  EXPECT_EQ(keeper.ApplyVote(MakeVote(v, 1, VoteType::kPrevote, kHeight, 1, Block("a")), 1),
            Of(ThresholdKind::kPolkaAny, 1));
  // Nil reaches 70 (line 44).
  EXPECT_EQ(keeper.ApplyVote(MakeVote(v, 2, VoteType::kPrevote, kHeight, 1, std::nullopt), 1),
            Of(ThresholdKind::kPolkaNil, 1));
  // 2f+1 precommits for nil decide nothing: they are "any" for line 47.
  VoteKeeper precommits(kHeight, v.set);
  EXPECT_FALSE(precommits.ApplyVote(MakeVote(v, 0, VoteType::kPrecommit, kHeight, 0, std::nullopt), 0).reached());
  EXPECT_EQ(precommits.ApplyVote(MakeVote(v, 2, VoteType::kPrecommit, kHeight, 0, std::nullopt), 0),
            Of(ThresholdKind::kPrecommitAny, 0));
  EXPECT_TRUE(precommits.HasQuorum(0, VoteType::kPrecommit, std::nullopt));
  EXPECT_TRUE(precommits.HasQuorumAny(0, VoteType::kPrecommit));
  EXPECT_FALSE(precommits.HasQuorumAny(0, VoteType::kPrevote));
}

TEST(VoteKeeper, AThresholdIsReportedOncePerRound) {
  const Validators v = MakeValidators({1, 1, 1, 1});
  VoteKeeper keeper(kHeight, v.set);
  const ValueId block = Block("a");
  for (std::size_t i = 0; i < 2; ++i) keeper.ApplyVote(MakeVote(v, i, VoteType::kPrevote, kHeight, 0, block), 0);
  EXPECT_EQ(keeper.ApplyVote(MakeVote(v, 2, VoteType::kPrevote, kHeight, 0, block), 0), Polka(0, block));
  EXPECT_FALSE(keeper.ApplyVote(MakeVote(v, 3, VoteType::kPrevote, kHeight, 0, block), 0).reached());
  EXPECT_EQ(keeper.rounds().at(0).emitted.size(), 1u);
}

TEST(VoteKeeper, ARepeatedVoteNeverCountsTwice) {
  const Validators v = MakeValidators({60, 30, 10});
  VoteKeeper keeper(kHeight, v.set);
  const proto::Vote vote = MakeVote(v, 0, VoteType::kPrevote, kHeight, 0, Block("a"));
  for (int i = 0; i < 5; ++i) EXPECT_FALSE(keeper.ApplyVote(vote, 0).reached());
  const VoteCount& count = keeper.rounds().at(0).prevotes;
  EXPECT_EQ(count.value_weights.at(Block("a")), 60u);
  EXPECT_EQ(count.received.size(), 1u);
  EXPECT_TRUE(keeper.evidence().empty());
}

TEST(VoteKeeper, TwoDifferentVotesOfOneValidatorAreEvidenceAndCountOnce) {
  const Validators v = MakeValidators({60, 30, 10});
  VoteKeeper keeper(kHeight, v.set);
  const proto::Vote first = MakeVote(v, 0, VoteType::kPrecommit, kHeight, 2, Block("a"));
  const proto::Vote second = MakeVote(v, 0, VoteType::kPrecommit, kHeight, 2, std::nullopt);
  keeper.ApplyVote(first, 2);
  keeper.ApplyVote(second, 2);
  ASSERT_EQ(keeper.evidence().size(), 1u);
  const VoteEquivocation& evidence = keeper.evidence().front();
  EXPECT_TRUE(VerifyEvidence(testing::TestChain(), evidence).has_value());
  EXPECT_EQ(evidence.first, second);  // nil sorts first: canonical order
  EXPECT_EQ(evidence.second, first);
  // Only the first vote carries the weight.
  const VoteCount& count = keeper.rounds().at(2).precommits;
  EXPECT_EQ(count.value_weights.at(Block("a")), 60u);
  EXPECT_FALSE(count.value_weights.contains(std::nullopt));
  // A third value adds nothing: two votes are proof enough, and storage stays bounded.
  keeper.ApplyVote(MakeVote(v, 0, VoteType::kPrecommit, kHeight, 2, Block("b")), 2);
  EXPECT_EQ(keeper.rounds().at(2).precommits.received.size(), kReceivedPerValidatorMax);
  EXPECT_EQ(keeper.evidence().size(), 1u);
  // A prevote and a precommit of one round are not equivocation.
  keeper.ApplyVote(MakeVote(v, 1, VoteType::kPrevote, kHeight, 2, Block("a")), 2);
  keeper.ApplyVote(MakeVote(v, 1, VoteType::kPrecommit, kHeight, 2, std::nullopt), 2);
  EXPECT_EQ(keeper.evidence().size(), 1u);
}

TEST(VoteKeeper, MoreThanAThirdInAHigherRoundIsASkip) {
  const Validators v = MakeValidators({60, 30, 10});
  VoteKeeper keeper(kHeight, v.set);
  // 30 of 100 in round 3 while we are in round 1: not yet f+1.
  EXPECT_FALSE(keeper.ApplyVote(MakeVote(v, 1, VoteType::kPrevote, kHeight, 3, Block("a")), 1).reached());
  // Another 10, by a precommit: 40 > 33.3, whatever the messages are.
  EXPECT_EQ(keeper.ApplyVote(MakeVote(v, 2, VoteType::kPrecommit, kHeight, 3, std::nullopt), 1),
            Of(ThresholdKind::kSkip, 3));
  // Reported again while it holds (the driver acts once); not for a round we are in.
  EXPECT_EQ(keeper.ApplyVote(MakeVote(v, 1, VoteType::kPrecommit, kHeight, 3, std::nullopt), 1),
            Of(ThresholdKind::kSkip, 3));
  VoteKeeper current(kHeight, v.set);
  current.ApplyVote(MakeVote(v, 1, VoteType::kPrevote, kHeight, 3, Block("a")), 3);
  EXPECT_FALSE(current.ApplyVote(MakeVote(v, 2, VoteType::kPrevote, kHeight, 3, Block("b")), 3).reached());
}

TEST(VoteKeeper, ASenderRepeatingItselfAddsNoSkipWeight) {
  const Validators v = MakeValidators({30, 30, 40});
  VoteKeeper keeper(kHeight, v.set);
  EXPECT_FALSE(keeper.ApplyVote(MakeVote(v, 0, VoteType::kPrevote, kHeight, 2, Block("a")), 0).reached());
  EXPECT_FALSE(keeper.ApplyVote(MakeVote(v, 0, VoteType::kPrecommit, kHeight, 2, Block("a")), 0).reached());
  EXPECT_EQ(keeper.rounds().at(2).senders.size(), 1u);
}

TEST(VoteKeeper, CertificateNeedsTheQuorumAndOneValue) {
  const Validators v = MakeValidators({60, 30, 10});
  const ValueId block = Block("a");
  std::vector<proto::Vote> short_of_quorum = {MakeVote(v, 1, VoteType::kPrecommit, kHeight, 0, block),
                                              MakeVote(v, 2, VoteType::kPrecommit, kHeight, 0, block)};
  VoteKeeper keeper(kHeight, v.set);
  EXPECT_FALSE(keeper.ApplyCertificate(short_of_quorum).reached());
  EXPECT_TRUE(keeper.rounds().empty());  // nothing changed
  std::vector<proto::Vote> mixed = {MakeVote(v, 0, VoteType::kPrecommit, kHeight, 0, block),
                                    MakeVote(v, 2, VoteType::kPrecommit, kHeight, 0, Block("b"))};
  EXPECT_FALSE(keeper.ApplyCertificate(mixed).reached());

  // v0 had precommitted nil; its certificate vote for the block is evidence, and both count.
  keeper.ApplyVote(MakeVote(v, 0, VoteType::kPrecommit, kHeight, 0, std::nullopt), 0);
  std::vector<proto::Vote> commit = {MakeVote(v, 0, VoteType::kPrecommit, kHeight, 0, block),
                                     MakeVote(v, 2, VoteType::kPrecommit, kHeight, 0, block)};
  EXPECT_EQ(keeper.ApplyCertificate(commit), (Threshold{ThresholdKind::kPrecommitValue, 0, block}));
  EXPECT_TRUE(keeper.HasQuorum(0, VoteType::kPrecommit, block));
  EXPECT_EQ(keeper.evidence().size(), 1u);
  const std::optional<std::vector<proto::Vote>> votes =
      keeper.CertificateFor(Threshold{ThresholdKind::kPrecommitValue, 0, block});
  ASSERT_TRUE(votes.has_value());
  EXPECT_EQ(votes->size(), 2u);
}

TEST(VoteKeeper, FutureRoundsOfCountsRoundsAboveOurs) {
  const Validators v = MakeValidators({1, 1, 1, 1});
  VoteKeeper keeper(kHeight, v.set);
  for (Round r : {0, 2, 5, 9}) keeper.ApplyVote(MakeVote(v, 1, VoteType::kPrevote, kHeight, r, std::nullopt), 0);
  EXPECT_EQ(keeper.FutureRoundsOf(v.id(1), /*current_round=*/1, /*round=*/7), 3u);
  EXPECT_EQ(keeper.FutureRoundsOf(v.id(1), /*current_round=*/1, /*round=*/5), 2u);
  EXPECT_EQ(keeper.FutureRoundsOf(v.id(2), /*current_round=*/1, /*round=*/5), 0u);
}

}  // namespace
}  // namespace civic::consensus
