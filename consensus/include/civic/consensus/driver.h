// The driver: one validator's consensus for one height (Malachite's driver.qnt). It owns
// the round state and the vote keeper, knows who proposes each round, stores the valid
// proposals it received, and turns "a proposal arrived", "a vote arrived", "a timeout
// fired", "the application gave a value" into inputs of the round machine, whose output it
// returns.
//
// One call, Apply(input), is one step of the model's driver. Some inputs only exist to
// continue work the driver queued for itself, exactly as the model does:
//   - StepChange: re-check the rules whose "while step_p = ..." guard became true when the
//     last step changed the step (pending_step_change says which);
//   - Pending: run one queued round input (a polka for the current proposal found while
//     the round machine was busy with something else);
//   - Idle: nothing happens (the model's NoDInput), except that, as after every step, the
//     step-change flag is recomputed.
// The engine (engine.h) calls them itself until there is nothing left; the conformance
// replayer calls them where a trace did. A skip to a higher round (lines 55-56, 65-67) and
// the start of the next round happen inside the same step and never leave the driver.
//
// "For the first time" (paper lines 34, 36, 47) is the record of executed inputs: a round
// input already handed to the round machine at the same height, round and step yields
// NoOutput instead. The record grows with the rounds of one height, like the vote keeper,
// and is dropped with the driver when the height ends.
//
// Pure: no clock, no I/O, no randomness; every container is ordered or kept in arrival
// order, so the same inputs give the same outputs on every machine.
//
// Proposals and votes handed to the driver must already be checked by the caller: right
// height, signature verified, sender in the validator set, round in range. The driver
// checks who proposes (line 14) itself, and is told whether the application found a value
// valid (Validity) rather than asking.
#pragma once

#include <memory>
#include <optional>
#include <variant>
#include <vector>

#include "civic/consensus/messages.h"
#include "civic/consensus/proposer.h"
#include "civic/consensus/round_machine.h"
#include "civic/consensus/types.h"
#include "civic/consensus/vote_keeper.h"
#include "civic/proto/vote.h"

namespace civic::consensus {

// ---- inputs ----
struct StartInput {};  // line 10: StartRound(0)
struct ProposalInput {
  Proposal proposal;
  Validity validity;  // the application's valid(v)
};
struct ProposeValueInput {  // the application's answer to GetValue (line 18)
  ValueId value;
};
struct VoteInput {
  proto::Vote vote;
};
struct CertificateInput {  // votes that together claim a polka or a commit (block sync, gossip)
  std::vector<proto::Vote> votes;
};
struct TimeoutInput {  // a timeout of the current height and round fired
  TimeoutKind kind;
};
struct PendingInputStep {};
struct StepChangeInput {};
struct IdleInput {};

using DriverInput = std::variant<StartInput, ProposalInput, ProposeValueInput, VoteInput, CertificateInput,
                                 TimeoutInput, PendingInputStep, StepChangeInput, IdleInput>;

// ---- state ----
struct PendingInput {
  RoundInput input;
  Height height;
  Round round;
  friend bool operator==(const PendingInput&, const PendingInput&) = default;
};

struct ExecutedInput {
  RoundInput input;
  Height height;  // after the call
  Round round;    // after the call
  Step step;      // before the call: the step in which it fired
  friend bool operator==(const ExecutedInput&, const ExecutedInput&) = default;
};

// What this height decided: the proposal and the 2f+1 precommits for it.
struct DecisionRecord {
  Proposal proposal;
  std::vector<proto::Vote> commit;
  friend bool operator==(const DecisionRecord&, const DecisionRecord&) = default;
};

struct DriverState {
  RoundState round;
  VoteKeeper keeper;
  std::vector<Proposal> proposals;    // valid, from the round's proposer; distinct, in arrival order
  std::vector<PendingInput> pending;  // distinct, oldest first
  Step pending_step_change = Step::kNone;
  std::vector<ExecutedInput> executed;
  bool started = false;
  Threshold last_threshold;  // what the keeper said about the last vote or certificate
  std::optional<DecisionRecord> decision;

  friend bool operator==(const DriverState&, const DriverState&) = default;
};

struct DriverResult {
  RoundOutput output;
  // A polka or commit the step completed (the votes behind it), for the engine to pass on
  // to validators that may have missed votes.
  std::optional<std::vector<proto::Vote>> certificate;
};

class Driver {
 public:
  // A driver for `height` that has not started yet (Apply(StartInput) starts round 0).
  // REQUIRES: `validators` is canonical; `proposer` covers `height`.
  Driver(const ValidatorId& self, Height height, proto::ValidatorSet validators,
         std::shared_ptr<const ProposerSelector> proposer);
  // From a state saved or written elsewhere (the conformance replayer loads model states).
  Driver(DriverState state, std::shared_ptr<const ProposerSelector> proposer);

  DriverResult Apply(const DriverInput& input);

  const DriverState& state() const { return state_; }
  Height height() const { return state_.round.height; }
  Round round() const { return state_.round.round; }
  Step step() const { return state_.round.step; }
  ValidatorId Proposer(Round round) const;
  // True if StepChange or Pending has work to do.
  bool HasQueuedWork() const { return state_.pending_step_change != Step::kNone || !state_.pending.empty(); }

 private:
  struct Handled;

  Handled Logic(const DriverInput& input);
  RoundOutput CallRound(const RoundInput& input);
  Handled HandleProposal(const Proposal& proposal, Validity validity);
  Handled HandlePrevote(const Threshold& threshold);
  Handled HandlePrecommit(const proto::Vote& vote, const Threshold& threshold);
  Handled HandleStepChange();
  Handled HandlePending();
  Handled StartRound(Round round);
  Handled AfterVotes(Handled handled, std::optional<std::vector<proto::Vote>> certificate);
  void RecordDecision(const Decided& decided);
  void AddPending(RoundInput input);
  bool HasProposal(Round round, const ValueId& value) const;
  bool HasProposal(Round round, const ValueId& value, Round valid_round) const;

  DriverState state_;
  std::shared_ptr<const ProposerSelector> proposer_;
};

}  // namespace civic::consensus
