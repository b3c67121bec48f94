// Proposer selection: every validator computes the same proposer for a height and round,
// and over time each proposes in proportion to its power.
#include "civic/consensus/proposer.h"

#include <gtest/gtest.h>

#include <map>

#include "fixture.h"

namespace civic::consensus {
namespace {

using testing::MakeValidators;
using testing::Validators;

std::map<ValidatorId, int> CountRounds(const ProposerSelector& selector, Height height, Round rounds) {
  std::map<ValidatorId, int> counts;
  for (Round r = 0; r < rounds; ++r) ++counts[selector.Proposer(height, r)];
  return counts;
}

TEST(WeightedRoundRobin, EachProposesInProportionToItsPower) {
  const Validators v = MakeValidators({1, 2, 3, 4});
  const WeightedRoundRobin selector(v.set, /*first_height=*/1);
  // Over one period (the total power, 10) of rounds, and of heights, counts equal powers.
  for (Height h : {Height{1}, Height{7}, Height{1000}}) {
    const std::map<ValidatorId, int> counts = CountRounds(selector, h, 10);
    for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(counts.at(v.id(i)), static_cast<int>(i + 1)) << "height " << h;
  }
  std::map<ValidatorId, int> by_height;
  for (Height h = 1; h <= 10; ++h) ++by_height[selector.Proposer(h, 0)];
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(by_height.at(v.id(i)), static_cast<int>(i + 1));
}

TEST(WeightedRoundRobin, EveryWindowOfTotalPowerRoundsIsFair) {
  const Validators v = MakeValidators({1, 1, 2});
  const WeightedRoundRobin selector(v.set, 1);
  // Not just from round 0: any 4 consecutive rounds hold two turns of the heaviest.
  for (Round start = 0; start < 8; ++start) {
    int heavy = 0;
    for (Round r = start; r < start + 4; ++r) heavy += selector.Proposer(1, r) == v.id(2) ? 1 : 0;
    EXPECT_EQ(heavy, 2) << "window from round " << start;
  }
}

TEST(WeightedRoundRobin, EqualPowerIsPlainRotation) {
  const Validators v = MakeValidators({5, 5, 5, 5});
  const WeightedRoundRobin selector(v.set, 1);
  for (Round r = 0; r < 12; ++r) EXPECT_EQ(selector.Proposer(1, r), v.id(static_cast<std::size_t>(r % 4)));
  // A height further is one step further along the same rotation.
  for (Round r = 0; r < 12; ++r) EXPECT_EQ(selector.Proposer(3, r), selector.Proposer(1, r + 2));
}

TEST(WeightedRoundRobin, AnswersDoNotDependOnTheOrderOfQuestions) {
  const Validators v = MakeValidators({3, 7, 11, 13, 17});
  const WeightedRoundRobin forward(v.set, 1);
  std::vector<ValidatorId> expected;
  for (Height h = 1; h <= 40; ++h) {
    for (Round r = 0; r < 5; ++r) expected.push_back(forward.Proposer(h, r));
  }
  // Another selector (another validator) asks the same questions backwards, then jumps around.
  const WeightedRoundRobin backward(v.set, 1);
  for (Height h = 40; h >= 1; --h) {
    for (Round r = 4; r >= 0; --r) {
      EXPECT_EQ(backward.Proposer(h, r), expected[static_cast<std::size_t>((h - 1) * 5 + static_cast<Height>(r))]);
    }
  }
  EXPECT_EQ(backward.Proposer(17, 3), forward.Proposer(17, 3));
  EXPECT_EQ(backward.Proposer(2, 0), forward.Proposer(2, 0));
}

TEST(WeightedRoundRobin, HugePowersCostOnlyTheStepsAsked) {
  // The period is 2^50 + 1 steps: only the steps up to the question are computed.
  const Validators v = MakeValidators({std::uint64_t{1} << 50, 1});
  const WeightedRoundRobin selector(v.set, 1);
  EXPECT_EQ(selector.Proposer(1, 1000), v.id(0));
  EXPECT_EQ(selector.Proposer(1, 0), v.id(0));
}

TEST(WeightedRoundRobin, ASetStartsItsOwnSequenceWhereItTakesEffect) {
  const Validators v = MakeValidators({1, 2, 3});
  const WeightedRoundRobin from_one(v.set, 1);
  const WeightedRoundRobin from_hundred(v.set, 100);
  for (Round r = 0; r < 6; ++r) EXPECT_EQ(from_hundred.Proposer(100, r), from_one.Proposer(1, r));
}

}  // namespace
}  // namespace civic::consensus
