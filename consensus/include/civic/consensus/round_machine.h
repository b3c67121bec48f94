// The round state machine: the rules of Algorithm 1 that act within one round of one
// height, as a pure function (state, input) -> (state, output).
//
// It is split as Malachite's executable specification splits it (consensus.qnt): the round
// machine never counts votes and never looks at messages; the driver (driver.h) turns what
// the vote keeper counted and the proposals it holds into one of the inputs below, and
// does "for the first time" (paper lines 34, 36, 47) by never feeding the same input twice
// in one step. Every input names the lines of the paper it stands for.
//
// An input that does not apply in the current state (the paper's rule would not fire)
// returns the state unchanged and a NotApplicable output; it is never an error of ours.
//
// Deliberately as permissive as the model, so that the model's traces replay against it:
// PrecommitAny, ProposeValue and ProposalAndPolkaAndInvalid have no step condition,
// TimeoutPrecommit checks only height and round, and a decision is refused only in the
// commit step or once this height has a decision. The driver only feeds them where the
// paper's conditions hold, except as the model's driver does.
#pragma once

#include <string_view>
#include <variant>

#include "civic/consensus/types.h"

namespace civic::consensus {

// The paper's per-process variables for the current height (lines 2-8), plus `self`, the
// validator whose state this is.
struct RoundState {
  ValidatorId self;
  Height height = 0;
  Round round = kNilRound;  // kNilRound until the first StartRound of the height
  Step step = Step::kNone;
  Round locked_round = kNilRound;
  NilOrValue locked_value;
  Round valid_round = kNilRound;
  NilOrValue valid_value;
  NilOrValue decision;  // decision_p[h_p], set on line 51

  friend bool operator==(const RoundState&, const RoundState&) = default;

  static RoundState Initial(const ValidatorId& self, Height height);
};

// ---- inputs ----
// Lines 11-13 and 20-21: StartRound(r) when we are not the proposer of r.
struct NewRound {
  Round round;
  friend bool operator==(const NewRound&, const NewRound&) = default;
};
// Lines 11-19: StartRound(r) when we are the proposer of r (the driver decides, line 14).
struct NewRoundProposer {
  Round round;
  friend bool operator==(const NewRoundProposer&, const NewRoundProposer&) = default;
};
// Line 18 returned: the application gave us a value to propose.
struct ProposeValue {
  ValueId value;
  friend bool operator==(const ProposeValue&, const ProposeValue&) = default;
};
// Line 22: a valid proposal with validRound -1 from the proposer of this round.
struct ProposalFresh {
  Round round;
  ValueId value;
  friend bool operator==(const ProposalFresh&, const ProposalFresh&) = default;
};
// Lines 22 and 28 when valid(v) is false.
struct ProposalInvalid {
  friend bool operator==(const ProposalInvalid&, const ProposalInvalid&) = default;
};
// Line 28: a valid proposal with 0 <= vr < round, and 2f+1 prevotes for it in round vr.
struct ProposalAndPolkaPrevious {
  ValueId value;
  Round valid_round;
  friend bool operator==(const ProposalAndPolkaPrevious&, const ProposalAndPolkaPrevious&) = default;
};
// Line 28 when valid(v) is false: prevote nil (line 32).
struct ProposalAndPolkaAndInvalid {
  ValueId value;
  friend bool operator==(const ProposalAndPolkaAndInvalid&, const ProposalAndPolkaAndInvalid&) = default;
};
// Line 34: 2f+1 prevotes of any kind in this round.
struct PolkaAny {
  friend bool operator==(const PolkaAny&, const PolkaAny&) = default;
};
// Line 36: a valid proposal and 2f+1 prevotes for it in this round.
struct ProposalAndPolkaCurrent {
  ValueId value;
  friend bool operator==(const ProposalAndPolkaCurrent&, const ProposalAndPolkaCurrent&) = default;
};
// Line 44: 2f+1 prevotes for nil in this round.
struct PolkaNil {
  friend bool operator==(const PolkaNil&, const PolkaNil&) = default;
};
// Line 47: 2f+1 precommits of any kind in this round.
struct PrecommitAny {
  friend bool operator==(const PrecommitAny&, const PrecommitAny&) = default;
};
// Line 49: a proposal of round r and 2f+1 precommits for it in round r.
struct ProposalAndCommit {
  Round round;
  ValueId value;
  friend bool operator==(const ProposalAndCommit&, const ProposalAndCommit&) = default;
};
// Line 55: f+1 of the power sent messages of round r > our round.
struct RoundSkip {
  Round round;
  friend bool operator==(const RoundSkip&, const RoundSkip&) = default;
};
// Lines 57, 61, 65: a timeout for (height, round) fired.
struct TimeoutPropose {
  Height height;
  Round round;
  friend bool operator==(const TimeoutPropose&, const TimeoutPropose&) = default;
};
struct TimeoutPrevote {
  Height height;
  Round round;
  friend bool operator==(const TimeoutPrevote&, const TimeoutPrevote&) = default;
};
struct TimeoutPrecommit {
  Height height;
  Round round;
  friend bool operator==(const TimeoutPrecommit&, const TimeoutPrecommit&) = default;
};

using RoundInput =
    std::variant<NewRound, NewRoundProposer, ProposeValue, ProposalFresh, ProposalInvalid, ProposalAndPolkaPrevious,
                 ProposalAndPolkaAndInvalid, PolkaAny, ProposalAndPolkaCurrent, PolkaNil, PrecommitAny,
                 ProposalAndCommit, RoundSkip, TimeoutPropose, TimeoutPrevote, TimeoutPrecommit>;

// ---- outputs ----
struct NoOutput {
  friend bool operator==(const NoOutput&, const NoOutput&) = default;
};
// Line 19: broadcast <PROPOSAL, h, round, value, validRound>.
struct ProposalOut {
  Height height;
  Round round;
  ValueId value;
  Round valid_round;
  friend bool operator==(const ProposalOut&, const ProposalOut&) = default;
};
// Line 18: ask the application for a value; the model also arms the propose timeout here.
struct GetValue {
  Height height;
  Round round;
  TimeoutKind timeout;
  friend bool operator==(const GetValue&, const GetValue&) = default;
};
// Lines 24, 26, 30, 32, 59 (prevote) and 40, 45, 63 (precommit): broadcast our vote.
struct VoteOut {
  proto::VoteType type;
  Height height;
  Round round;
  NilOrValue value;
  friend bool operator==(const VoteOut&, const VoteOut&) = default;
};
// Lines 21, 35, 48: schedule a timeout of `kind` for round `round` (the round after the step).
struct ScheduleTimeoutOut {
  Round round;
  TimeoutKind kind;
  friend bool operator==(const ScheduleTimeoutOut&, const ScheduleTimeoutOut&) = default;
};
// Line 51: decide `value`, decided with the precommits of round `round`.
struct Decided {
  Round round;
  ValueId value;
  friend bool operator==(const Decided&, const Decided&) = default;
};
// Lines 56 and 67: the caller must run StartRound(round) (the driver does, at once).
struct SkipRound {
  Round round;
  friend bool operator==(const SkipRound&, const SkipRound&) = default;
};
// The input does not apply in this state; `why` is a fixed text for logs.
struct NotApplicable {
  std::string_view why;
  // Equal whatever the text: the text is for people, the tag is what the model checks.
  friend bool operator==(const NotApplicable&, const NotApplicable&) { return true; }
};

using RoundOutput =
    std::variant<NoOutput, ProposalOut, GetValue, VoteOut, ScheduleTimeoutOut, Decided, SkipRound, NotApplicable>;

struct RoundTransition {
  RoundState state;
  RoundOutput output;
  friend bool operator==(const RoundTransition&, const RoundTransition&) = default;
};

// The transition function. Pure: the same state and input always give the same result.
RoundTransition ApplyRoundInput(const RoundState& state, const RoundInput& input);

}  // namespace civic::consensus
