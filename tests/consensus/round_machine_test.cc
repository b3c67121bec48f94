// The round machine, rule by rule, with the paper's line numbers.
#include "civic/consensus/round_machine.h"

#include <gtest/gtest.h>

#include "fixture.h"

namespace civic::consensus {
namespace {

using proto::VoteType;
using testing::Block;

RoundState InRound(Round round, Step step) {
  RoundState state = RoundState::Initial(ValidatorId{}, 7);
  state.round = round;
  state.step = step;
  return state;
}

VoteOut VoteOf(const RoundTransition& t) {
  EXPECT_TRUE(std::holds_alternative<VoteOut>(t.output));
  return std::holds_alternative<VoteOut>(t.output) ? std::get<VoteOut>(t.output) : VoteOut{};
}

TEST(RoundMachine, StartRoundAsProposerAsksForAValueOrReproposesTheValidOne) {
  RoundTransition t = ApplyRoundInput(RoundState::Initial(ValidatorId{}, 7), NewRoundProposer{0});  // lines 11-18
  EXPECT_EQ(t.output, RoundOutput(GetValue{7, 0, TimeoutKind::kPropose}));
  EXPECT_EQ(t.state.step, Step::kPropose);
  RoundState valid = InRound(2, Step::kUnstarted);
  valid.valid_value = Block("a");
  valid.valid_round = 1;
  t = ApplyRoundInput(valid, NewRoundProposer{3});  // lines 15-16, 19
  EXPECT_EQ(t.output, RoundOutput(ProposalOut{7, 3, Block("a"), 1}));
  // Only forward, only between rounds.
  EXPECT_TRUE(std::holds_alternative<NotApplicable>(ApplyRoundInput(valid, NewRound{2}).output));
  EXPECT_TRUE(std::holds_alternative<NotApplicable>(ApplyRoundInput(InRound(2, Step::kPrevote), NewRound{3}).output));
}

TEST(RoundMachine, Line23PrevotesTheProposalUnlessLockedOnAnother) {
  const RoundState free = InRound(1, Step::kPropose);
  EXPECT_EQ(VoteOf(ApplyRoundInput(free, ProposalFresh{1, Block("b")})).value, Block("b"));  // line 24
  RoundState locked = free;
  locked.locked_value = Block("a");
  locked.locked_round = 0;
  EXPECT_EQ(VoteOf(ApplyRoundInput(locked, ProposalFresh{1, Block("b")})).value, std::nullopt);  // line 26
  EXPECT_EQ(VoteOf(ApplyRoundInput(locked, ProposalFresh{1, Block("a")})).value, Block("a"));    // line 24
  const RoundTransition t = ApplyRoundInput(locked, ProposalFresh{1, Block("b")});
  EXPECT_EQ(t.state.step, Step::kPrevote);  // line 27
  EXPECT_EQ(VoteOf(t).type, VoteType::kPrevote);
}

TEST(RoundMachine, Line29AcceptsAPolkaNewerThanTheLock) {
  RoundState locked = InRound(4, Step::kPropose);
  locked.locked_value = Block("a");
  locked.locked_round = 2;
  EXPECT_EQ(VoteOf(ApplyRoundInput(locked, ProposalAndPolkaPrevious{Block("b"), 3})).value, Block("b"));  // line 30
  EXPECT_EQ(VoteOf(ApplyRoundInput(locked, ProposalAndPolkaPrevious{Block("b"), 2})).value, Block("b"));  // lock <= vr
  EXPECT_EQ(VoteOf(ApplyRoundInput(locked, ProposalAndPolkaPrevious{Block("b"), 1})).value, std::nullopt);  // 32
  EXPECT_EQ(VoteOf(ApplyRoundInput(locked, ProposalAndPolkaPrevious{Block("a"), 1})).value, Block("a"));
  // vr must be below the round (line 28).
  EXPECT_TRUE(
      std::holds_alternative<NotApplicable>(ApplyRoundInput(locked, ProposalAndPolkaPrevious{Block("b"), 4}).output));
}

TEST(RoundMachine, Line36LocksInPrevoteAndOnlyRemembersInPrecommit) {
  RoundTransition t = ApplyRoundInput(InRound(2, Step::kPrevote), ProposalAndPolkaCurrent{Block("a")});
  EXPECT_EQ(t.state.locked_value, Block("a"));  // lines 38-39
  EXPECT_EQ(t.state.locked_round, 2);
  EXPECT_EQ(t.state.valid_value, Block("a"));  // lines 42-43
  EXPECT_EQ(t.state.step, Step::kPrecommit);   // line 41
  EXPECT_EQ(VoteOf(t).type, VoteType::kPrecommit);
  t = ApplyRoundInput(InRound(2, Step::kPrecommit), ProposalAndPolkaCurrent{Block("a")});
  EXPECT_EQ(t.output, RoundOutput(NoOutput{}));
  EXPECT_EQ(t.state.locked_round, kNilRound);
  EXPECT_EQ(t.state.valid_round, 2);
}

TEST(RoundMachine, StaleTimeoutsChangeNothing) {
  const RoundState state = InRound(3, Step::kPrevote);
  for (const RoundInput& input : {RoundInput(TimeoutPropose{7, 3}), RoundInput(TimeoutPrevote{7, 2}),
                                  RoundInput(TimeoutPrevote{6, 3}), RoundInput(TimeoutPrecommit{7, 2})}) {
    const RoundTransition t = ApplyRoundInput(state, input);
    EXPECT_TRUE(std::holds_alternative<NotApplicable>(t.output));
    EXPECT_EQ(t.state, state);
  }
  const RoundTransition t = ApplyRoundInput(state, TimeoutPrevote{7, 3});  // lines 61-64
  EXPECT_EQ(VoteOf(t).value, std::nullopt);
  EXPECT_EQ(ApplyRoundInput(t.state, TimeoutPrecommit{7, 3}).output, RoundOutput(SkipRound{4}));  // 65-67
}

TEST(RoundMachine, DecidesOncePerHeight) {
  RoundTransition t = ApplyRoundInput(InRound(5, Step::kPropose), ProposalAndCommit{3, Block("a")});  // line 49
  EXPECT_EQ(t.output, RoundOutput(Decided{3, Block("a")}));
  EXPECT_EQ(t.state.decision, Block("a"));
  EXPECT_TRUE(std::holds_alternative<NotApplicable>(ApplyRoundInput(t.state, ProposalAndCommit{5, Block("b")}).output));
  RoundState moved_on = t.state;
  moved_on.step = Step::kPropose;  // e.g. a precommit timeout fired after the decision
  EXPECT_TRUE(
      std::holds_alternative<NotApplicable>(ApplyRoundInput(moved_on, ProposalAndCommit{6, Block("b")}).output));
}

}  // namespace
}  // namespace civic::consensus
