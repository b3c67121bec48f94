#include "civic/consensus/round_machine.h"

#include <type_traits>

#include "civic/proto/assert.h"

// CIVIC_CONSENSUS_BROKEN_* breaks consensus on purpose, so that tests/consensus can show the
// simulator catches it (tests/README.md, "Consensus simulation"). Only the test-only object
// libraries there define it, together with CIVIC_CONSENSUS_TEST_ONLY_BUILD; anything else
// defining it fails to build.
#if defined(CIVIC_CONSENSUS_BROKEN_IGNORE_LOCK) && !defined(CIVIC_CONSENSUS_TEST_ONLY_BUILD)
#error "CIVIC_CONSENSUS_BROKEN_IGNORE_LOCK is for tests/consensus's broken variants only"
#endif

namespace civic::consensus {
namespace {

using proto::VoteType;

RoundTransition Unchanged(const RoundState& state, std::string_view why) { return {state, NotApplicable{why}}; }

// Lines 11-21, StartRound(round): round_p <- round, step_p <- propose. Only from between
// rounds, and only forward.
bool CanStartRound(const RoundState& state, Round round) {
  return (state.step == Step::kNone || state.step == Step::kUnstarted) && round > state.round;
}

RoundTransition Prevote(RoundState next, NilOrValue value) {
  next.step = Step::kPrevote;
  VoteOut vote{VoteType::kPrevote, next.height, next.round, value};
  return {std::move(next), vote};
}

RoundTransition Precommit(RoundState next, NilOrValue value) {
  next.step = Step::kPrecommit;
  VoteOut vote{VoteType::kPrecommit, next.height, next.round, value};
  return {std::move(next), vote};
}

class Transition {
 public:
  explicit Transition(const RoundState& state) : s_(state) {}

  // Lines 11-19: StartRound(round) as proposer(h_p, round).
  RoundTransition operator()(const NewRoundProposer& in) const {
    if (!CanStartRound(s_, in.round)) return Unchanged(s_, "new round as proposer: not between rounds or not forward");
    RoundState next = s_;
    next.round = in.round;       // line 12
    next.step = Step::kPropose;  // line 13
    if (s_.valid_value) {
      // Lines 15-16 and 19: re-propose the value we saw a polka for, with its round.
      ProposalOut proposal{next.height, next.round, *s_.valid_value, s_.valid_round};
      return {std::move(next), proposal};
    }
    // Line 18: proposal <- getValue(). The answer comes back as ProposeValue.
    GetValue request{next.height, next.round, TimeoutKind::kPropose};
    return {std::move(next), request};
  }

  // Line 19, once getValue() (line 18) answered.
  RoundTransition operator()(const ProposeValue& in) const {
    // No step check, as in the model: the driver feeds this only to the proposer of the
    // current round, once, when the application answers its request.
    ProposalOut proposal{s_.height, s_.round, in.value, s_.valid_round};
    return {s_, proposal};
  }

  // Lines 11-13 and 20-21: StartRound(round) when someone else proposes.
  RoundTransition operator()(const NewRound& in) const {
    if (!CanStartRound(s_, in.round)) return Unchanged(s_, "new round: not between rounds or not forward");
    RoundState next = s_;
    next.round = in.round;                                          // line 12
    next.step = Step::kPropose;                                     // line 13
    ScheduleTimeoutOut timeout{next.round, TimeoutKind::kPropose};  // line 21
    return {std::move(next), timeout};
  }

  // Lines 22-27: <PROPOSAL, h_p, round_p, v, -1> while step_p = propose, v valid.
  RoundTransition operator()(const ProposalFresh& in) const {
    if (s_.step != Step::kPropose) return Unchanged(s_, "proposal: not in the propose step");
#ifdef CIVIC_CONSENSUS_BROKEN_IGNORE_LOCK
    return Prevote(s_, in.value);  // broken on purpose: line 23 ignored
#endif
    // Line 23: not locked, or locked on this very value.
    if (s_.locked_round == kNilRound || s_.locked_value == in.value) return Prevote(s_, in.value);  // line 24
    return Prevote(s_, std::nullopt);  // line 26; line 27 sets step_p <- prevote in both
  }

  // Lines 22-27 and 28-33 with valid(v) false: prevote nil.
  RoundTransition operator()(const ProposalInvalid&) const {
    if (s_.step != Step::kPropose) return Unchanged(s_, "invalid proposal: not in the propose step");
    return Prevote(s_, std::nullopt);  // lines 26-27
  }

  // Lines 28-33: <PROPOSAL, h_p, round_p, v, vr> and 2f+1 <PREVOTE, h_p, vr, id(v)>, while
  // step_p = propose and 0 <= vr < round_p.
  RoundTransition operator()(const ProposalAndPolkaPrevious& in) const {
    if (s_.step != Step::kPropose || in.valid_round < 0 || in.valid_round >= s_.round) {
      return Unchanged(s_, "proposal with polka of a previous round: not in propose step, or vr not in [0, round)");
    }
#ifdef CIVIC_CONSENSUS_BROKEN_IGNORE_LOCK
    return Prevote(s_, in.value);  // broken on purpose: line 29 ignored
#endif
    // Line 29: our lock is no newer than that polka, or it is on this value.
    if (s_.locked_round <= in.valid_round || s_.locked_value == in.value) return Prevote(s_, in.value);  // line 30
    return Prevote(s_, std::nullopt);  // line 32; line 33 sets step_p <- prevote in both
  }

  // Lines 28 and 32 with valid(v) false: prevote nil. No step check, as in the model; the
  // driver feeds it only in the propose step of the proposal's round.
  RoundTransition operator()(const ProposalAndPolkaAndInvalid&) const { return Prevote(s_, std::nullopt); }

  // Lines 34-35: 2f+1 prevotes of any kind while step_p = prevote, for the first time.
  RoundTransition operator()(const PolkaAny&) const {
    if (s_.step != Step::kPrevote) return Unchanged(s_, "polka of any kind: not in the prevote step");
    return {s_, ScheduleTimeoutOut{s_.round, TimeoutKind::kPrevote}};  // line 35
  }

  // Lines 36-43: a valid proposal and 2f+1 prevotes for it, while step_p >= prevote, for the
  // first time.
  RoundTransition operator()(const ProposalAndPolkaCurrent& in) const {
    if (s_.step == Step::kPrevote) {
      RoundState next = s_;
      next.locked_value = in.value;                 // line 38
      next.locked_round = s_.round;                 // line 39
      next.valid_value = in.value;                  // line 42
      next.valid_round = s_.round;                  // line 43
      return Precommit(std::move(next), in.value);  // lines 40-41
    }
    if (s_.step == Step::kPrecommit) {
      // Already precommitted (nil, line 45 or 63): only remember the value, lines 42-43.
      RoundState next = s_;
      next.valid_value = in.value;
      next.valid_round = s_.round;
      return {std::move(next), NoOutput{}};
    }
    return Unchanged(s_, "proposal and polka: not in the prevote or precommit step");
  }

  // Lines 44-46: 2f+1 prevotes for nil while step_p = prevote.
  RoundTransition operator()(const PolkaNil&) const {
    if (s_.step != Step::kPrevote) return Unchanged(s_, "polka for nil: not in the prevote step");
    return Precommit(s_, std::nullopt);  // lines 45-46
  }

  // Lines 47-48: 2f+1 precommits of any kind, for the first time. No step check, as in the
  // model: the paper's rule has none either.
  RoundTransition operator()(const PrecommitAny&) const {
    return {s_, ScheduleTimeoutOut{s_.round, TimeoutKind::kPrecommit}};  // line 48
  }

  // Lines 49-51: a proposal of round r and 2f+1 precommits for it in round r, while
  // decision_p[h_p] = nil. The round r may be an earlier one than ours.
  RoundTransition operator()(const ProposalAndCommit& in) const {
    if (s_.step == Step::kCommit || s_.decision) return Unchanged(s_, "decision: this height is already decided");
    RoundState next = s_;
    next.step = Step::kCommit;
    next.decision = in.value;  // line 51; lines 52-54 (next height) belong to the engine
    return {std::move(next), Decided{in.round, in.value}};
  }

  // Lines 55-56: f+1 of the power is in a higher round: StartRound(round).
  RoundTransition operator()(const RoundSkip& in) const {
    if (in.round <= s_.round || in.round > kRoundMax) return Unchanged(s_, "round skip: not to a higher round");
    RoundState next = s_;
    next.step = Step::kUnstarted;
    return {std::move(next), SkipRound{in.round}};
  }

  // Lines 57-60: OnTimeoutPropose(h, r) while still in the propose step of (h, r).
  RoundTransition operator()(const TimeoutPropose& in) const {
    if (in.height != s_.height || in.round != s_.round || s_.step != Step::kPropose) {
      return Unchanged(s_, "propose timeout: stale, or no longer in the propose step");
    }
    return Prevote(s_, std::nullopt);  // lines 59-60
  }

  // Lines 61-64: OnTimeoutPrevote(h, r) while still in the prevote step of (h, r).
  RoundTransition operator()(const TimeoutPrevote& in) const {
    if (in.height != s_.height || in.round != s_.round || s_.step != Step::kPrevote) {
      return Unchanged(s_, "prevote timeout: stale, or no longer in the prevote step");
    }
    return Precommit(s_, std::nullopt);  // lines 63-64
  }

  // Lines 65-67: OnTimeoutPrecommit(h, r): StartRound(r + 1), whatever the step.
  RoundTransition operator()(const TimeoutPrecommit& in) const {
    if (in.height != s_.height || in.round != s_.round) return Unchanged(s_, "precommit timeout: stale");
    // Rounds stop at kRoundMax (types.h): a node would need centuries of timeouts to get here.
    if (s_.round >= kRoundMax) return Unchanged(s_, "precommit timeout: no round after the last one");
    RoundState next = s_;
    next.step = Step::kUnstarted;
    return {std::move(next), SkipRound{s_.round + 1}};
  }

 private:
  const RoundState& s_;
};

}  // namespace

RoundState RoundState::Initial(const ValidatorId& self, Height height) {
  RoundState state;
  state.self = self;
  state.height = height;
  return state;
}

RoundTransition ApplyRoundInput(const RoundState& state, const RoundInput& input) {
  return std::visit(Transition(state), input);
}

}  // namespace civic::consensus
