#include "civic/consensus/driver.h"

#include <algorithm>
#include <utility>

#include "civic/proto/assert.h"

namespace civic::consensus {

using proto::VoteType;

// What one handler produced: the round machine's output and, for votes and certificates,
// the polka or commit they completed.
struct Driver::Handled {
  RoundOutput output = NoOutput{};
  std::optional<std::vector<proto::Vote>> certificate;
};

Driver::Driver(const ValidatorId& self, Height height, proto::ValidatorSet validators,
               std::shared_ptr<const ProposerSelector> proposer)
    : state_{RoundState::Initial(self, height),
             VoteKeeper(height, std::move(validators)),
             {},
             {},
             Step::kNone,
             {},
             false,
             Threshold{},
             std::nullopt},
      proposer_(std::move(proposer)) {
  CIVIC_ASSERT(proposer_ != nullptr);
}

Driver::Driver(DriverState state, std::shared_ptr<const ProposerSelector> proposer)
    : state_(std::move(state)), proposer_(std::move(proposer)) {
  CIVIC_ASSERT(proposer_ != nullptr);
  CIVIC_ASSERT(state_.keeper.height() == state_.round.height);
}

ValidatorId Driver::Proposer(Round round) const { return proposer_->Proposer(state_.round.height, round); }

DriverResult Driver::Apply(const DriverInput& input) {
  const Step before = state_.round.step;
  Handled handled = Logic(input);
  // Whatever the input, remember whether this step moved the round machine to another
  // step: the next StepChange re-checks the rules that wait for that step.
  state_.pending_step_change = state_.round.step == before ? Step::kNone : state_.round.step;
  return DriverResult{std::move(handled.output), std::move(handled.certificate)};
}

Driver::Handled Driver::Logic(const DriverInput& input) {
  RoundState& cs = state_.round;
  if (const auto* proposal = std::get_if<ProposalInput>(&input)) {
    Handled handled = HandleProposal(proposal->proposal, proposal->validity);
    return AfterVotes(std::move(handled), std::nullopt);
  }
  if (const auto* vote = std::get_if<VoteInput>(&input)) {
    const Threshold threshold = state_.keeper.ApplyVote(vote->vote, cs.round);
    state_.last_threshold = threshold;
    std::optional<std::vector<proto::Vote>> certificate = state_.keeper.CertificateFor(threshold);
    Handled handled = vote->vote.body.type == VoteType::kPrecommit ? HandlePrecommit(vote->vote, threshold)
                                                                   : HandlePrevote(threshold);
    return AfterVotes(std::move(handled), std::move(certificate));
  }
  if (const auto* certificate_input = std::get_if<CertificateInput>(&input)) {
    const Threshold threshold = state_.keeper.ApplyCertificate(certificate_input->votes);
    state_.last_threshold = threshold;
    std::optional<std::vector<proto::Vote>> certificate = state_.keeper.CertificateFor(threshold);
    Handled handled;
    // A certificate that counted is all one type and round; one that did not is kNone, and
    // the handlers do nothing with kNone whatever the type.
    if (!certificate_input->votes.empty()) {
      const proto::Vote& some_vote = certificate_input->votes.front();
      handled = some_vote.body.type == VoteType::kPrecommit ? HandlePrecommit(some_vote, threshold)
                                                            : HandlePrevote(threshold);
    }
    return AfterVotes(std::move(handled), std::move(certificate));
  }
  Handled handled;
  if (std::holds_alternative<StartInput>(input)) {
    state_.started = true;
    return StartRound(0);  // line 10: upon start do StartRound(0)
  } else if (const auto* value = std::get_if<ProposeValueInput>(&input)) {
    handled.output = CallRound(ProposeValue{value->value});
  } else if (const auto* timeout = std::get_if<TimeoutInput>(&input)) {
    // The engine only passes timeouts of the current height and round.
    switch (timeout->kind) {
      case TimeoutKind::kPropose: handled.output = CallRound(TimeoutPropose{cs.height, cs.round}); break;
      case TimeoutKind::kPrevote: handled.output = CallRound(TimeoutPrevote{cs.height, cs.round}); break;
      case TimeoutKind::kPrecommit: handled.output = CallRound(TimeoutPrecommit{cs.height, cs.round}); break;
    }
  } else if (std::holds_alternative<PendingInputStep>(input)) {
    handled = HandlePending();
  } else if (std::holds_alternative<StepChangeInput>(input)) {
    handled = HandleStepChange();
  } else {
    CIVIC_ASSERT(std::holds_alternative<IdleInput>(input));
  }
  return AfterVotes(std::move(handled), std::nullopt);
}

// The tail of every step: a decision is recorded with its commit (line 51), and a skip to a
// higher round starts that round at once (lines 55-56, 65-67 call StartRound).
Driver::Handled Driver::AfterVotes(Handled handled, std::optional<std::vector<proto::Vote>> certificate) {
  if (const auto* decided = std::get_if<Decided>(&handled.output)) {
    RecordDecision(*decided);
    handled.certificate = std::move(certificate);
    return handled;
  }
  if (const auto* skip = std::get_if<SkipRound>(&handled.output)) return StartRound(skip->round);
  handled.certificate = std::move(certificate);
  return handled;
}

RoundOutput Driver::CallRound(const RoundInput& input) {
  RoundState& cs = state_.round;
  // "For the first time": the same input in the same height, round and step fires once.
  const auto& executed = state_.executed;
  const bool seen = std::any_of(executed.begin(), executed.end(), [&](const ExecutedInput& e) {
    return e.input == input && e.height == cs.height && e.round == cs.round && e.step == cs.step;
  });
  if (seen) return NoOutput{};
  RoundTransition transition = ApplyRoundInput(cs, input);
  // Recorded with the height and round after the call and the step before it, as the
  // model records it; an input that did not apply is recorded too.
  state_.executed.push_back(ExecutedInput{input, transition.state.height, transition.state.round, cs.step});
  cs = std::move(transition.state);
  return std::move(transition.output);
}

// Lines 11-21: StartRound(round), as proposer if line 14 says so.
Driver::Handled Driver::StartRound(Round round) {
  Handled handled;
  if (Proposer(round) == state_.round.self) {
    handled.output = CallRound(NewRoundProposer{round});
  } else {
    handled.output = CallRound(NewRound{round});
  }
  return handled;
}

bool Driver::HasProposal(Round round, const ValueId& value) const {
  return std::any_of(state_.proposals.begin(), state_.proposals.end(),
                     [&](const Proposal& p) { return Round{p.body.round} == round && p.body.block_hash == value; });
}

bool Driver::HasProposal(Round round, const ValueId& value, Round valid_round) const {
  return std::any_of(state_.proposals.begin(), state_.proposals.end(), [&](const Proposal& p) {
    return Round{p.body.round} == round && p.body.block_hash == value && ValidRoundOf(p.body) == valid_round;
  });
}

void Driver::AddPending(RoundInput input) {
  PendingInput pending{std::move(input), state_.round.height, state_.round.round};
  if (std::find(state_.pending.begin(), state_.pending.end(), pending) == state_.pending.end()) {
    state_.pending.push_back(std::move(pending));
  }
}

// A proposal from the right proposer: lines 22, 28, 36 and 49, and their invalid variants.
Driver::Handled Driver::HandleProposal(const Proposal& proposal, Validity validity) {
  const RoundState& cs = state_.round;
  const ProposalBody& body = proposal.body;
  CIVIC_ASSERT(body.height == cs.height);
  const Round round = body.round;
  const ValueId& value = body.block_hash;
  const Round valid_round = ValidRoundOf(body);
  Handled handled;
  // Every rule reads "from proposer(h_p, round)": anyone else's proposal is dropped.
  if (body.proposer != Proposer(round)) return handled;
  const VoteKeeper& keeper = state_.keeper;

  if (validity == Validity::kInvalid) {
    // Invalid values are never stored. Lines 22-26 and 28-32 with valid(v) false fire only
    // in the propose step of the proposal's round.
    if (cs.step == Step::kPropose && cs.round == round) {
      if (keeper.HasQuorum(valid_round, VoteType::kPrevote, value)) {
        handled.output = CallRound(ProposalAndPolkaAndInvalid{value});  // line 32
      } else {
        handled.output = CallRound(ProposalInvalid{});  // line 26
      }
    }
    return handled;
  }

  if (std::find(state_.proposals.begin(), state_.proposals.end(), proposal) == state_.proposals.end()) {
    state_.proposals.push_back(proposal);
  }
  if (keeper.HasQuorum(round, VoteType::kPrecommit, value)) {
    // Line 49: the commit for this proposal is already here, whatever our round.
    handled.output = CallRound(ProposalAndCommit{round, value});
    return handled;
  }
  if (cs.round != round) return handled;  // kept for later: lines 28 and 49 may still need it

  const bool polka_current = keeper.HasQuorum(cs.round, VoteType::kPrevote, value);
  if (cs.step == Step::kPropose) {
    if (valid_round == kNilRound) {
      if (polka_current) {
        handled.output = CallRound(ProposalAndPolkaCurrent{value});  // line 36 (the model tries it first)
      } else {
        handled.output = CallRound(ProposalFresh{round, value});  // line 22
      }
    } else if (keeper.HasQuorum(valid_round, VoteType::kPrevote, value)) {
      handled.output = CallRound(ProposalAndPolkaPrevious{value, valid_round});  // line 28
    }
    return handled;
  }
  if (cs.step == Step::kPrevote || cs.step == Step::kPrecommit) {
    if (keeper.HasQuorum(cs.round, VoteType::kPrecommit, value)) {
      // Unreachable after the check above (same round), kept as the model has it: decide
      // (line 49) and queue line 36.
      AddPending(ProposalAndPolkaCurrent{value});
      handled.output = CallRound(ProposalAndCommit{round, value});
    } else if (polka_current) {
      handled.output = CallRound(ProposalAndPolkaCurrent{value});  // line 36
    }
  }
  return handled;
}

// A prevote counted: lines 28, 34, 36, 44 and 55.
Driver::Handled Driver::HandlePrevote(const Threshold& threshold) {
  const RoundState& cs = state_.round;
  Handled handled;
  switch (threshold.kind) {
    case ThresholdKind::kPolkaValue:
      if (threshold.round < cs.round && HasProposal(cs.round, threshold.value, threshold.round)) {
        // Line 28: the polka backs the current proposal's validRound.
        handled.output = CallRound(ProposalAndPolkaPrevious{threshold.value, threshold.round});
      } else if (threshold.round == cs.round) {
        // Line 36 needs the step to be at least prevote: queue it, and do line 34 now.
        if (HasProposal(cs.round, threshold.value)) AddPending(ProposalAndPolkaCurrent{threshold.value});
        handled.output = CallRound(PolkaAny{});
      }
      break;
    case ThresholdKind::kPolkaAny:
      if (threshold.round == cs.round) handled.output = CallRound(PolkaAny{});  // line 34
      break;
    case ThresholdKind::kPolkaNil:
      if (threshold.round == cs.round) handled.output = CallRound(PolkaNil{});  // line 44
      break;
    case ThresholdKind::kSkip:
      if (threshold.round > cs.round) handled.output = CallRound(RoundSkip{threshold.round});  // line 55
      break;
    default: break;
  }
  return handled;
}

// A precommit counted: lines 47, 49 and 55.
Driver::Handled Driver::HandlePrecommit(const proto::Vote& vote, const Threshold& threshold) {
  const RoundState& cs = state_.round;
  Handled handled;
  switch (threshold.kind) {
    case ThresholdKind::kPrecommitValue:
      if (HasProposal(threshold.round, threshold.value)) {
        handled.output = CallRound(ProposalAndCommit{threshold.round, threshold.value});  // line 49
      } else if (threshold.round == cs.round) {
        handled.output = CallRound(PrecommitAny{});  // line 47, until the proposal arrives
      } else if (threshold.round > cs.round) {
        handled.output = CallRound(RoundSkip{Round{vote.body.round}});  // line 55
      }
      break;
    case ThresholdKind::kPrecommitAny:
      if (threshold.round == cs.round) handled.output = CallRound(PrecommitAny{});  // line 47
      break;
    case ThresholdKind::kSkip:
      if (threshold.round > cs.round) handled.output = CallRound(RoundSkip{Round{vote.body.round}});  // line 55
      break;
    default: break;
  }
  return handled;
}

// The step just changed: the rules guarded by "while step_p = ..." may fire now.
Driver::Handled Driver::HandleStepChange() {
  const RoundState& cs = state_.round;
  Handled handled;
  if (cs.round < 0) return handled;
  const bool precommit_any = state_.keeper.HasQuorumAny(cs.round, VoteType::kPrecommit);
  const ValidatorId proposer = Proposer(cs.round);
  const auto proposal = std::find_if(state_.proposals.begin(), state_.proposals.end(), [&](const Proposal& p) {
    return p.body.proposer == proposer && p.body.height == cs.height && Round{p.body.round} == cs.round;
  });
  if (proposal != state_.proposals.end()) {
    // Line 47 again in the new step, then the proposal rules (22, 28, 36, 49) with the
    // stored proposal. A faulty proposer may have sent several: we take the first we got.
    if (precommit_any) AddPending(PrecommitAny{});
    // Lines 44 and 34 too, when entering the prevote step. The model re-checks only the
    // proposal rules here (its handleStepChange asks in a TODO whether that costs liveness;
    // it does, the simulator found it): 2f+1 prevotes that arrived while we were still
    // proposing, or in a lower round, were reported then, when line 34 could not fire, and
    // would never be reported again, so no prevote timeout would ever be scheduled and we
    // would never precommit. Queued, they run after the proposal rules, as line 47 does.
    if (state_.pending_step_change == Step::kPrevote) {
      if (state_.keeper.HasQuorum(cs.round, VoteType::kPrevote, std::nullopt)) {
        AddPending(PolkaNil{});
      } else if (state_.keeper.HasQuorumAny(cs.round, VoteType::kPrevote)) {
        AddPending(PolkaAny{});
      }
    }
    const Proposal stored = *proposal;  // HandleProposal may add to proposals
    return HandleProposal(stored, Validity::kValid);
  }
  // As in the model, the queued line 47 is kept only together with a proposal: without
  // one it already ran when its threshold was reached (line 47 has no step condition).
  if (state_.pending_step_change == Step::kPrevote) {
    // Entering the prevote step: lines 44 and 34 may hold already.
    if (state_.keeper.HasQuorum(cs.round, VoteType::kPrevote, std::nullopt)) {
      handled.output = CallRound(PolkaNil{});  // line 44
    } else if (state_.keeper.HasQuorumAny(cs.round, VoteType::kPrevote)) {
      handled.output = CallRound(PolkaAny{});  // line 34
    }
  }
  return handled;
}

Driver::Handled Driver::HandlePending() {
  Handled handled;
  if (state_.pending.empty()) return handled;
  PendingInput next = std::move(state_.pending.front());
  state_.pending.erase(state_.pending.begin());
  // Queued for a round we have left: it no longer applies.
  if (next.height == state_.round.height && next.round == state_.round.round) handled.output = CallRound(next.input);
  return handled;
}

void Driver::RecordDecision(const Decided& decided) {
  std::optional<std::vector<proto::Vote>> commit =
      state_.keeper.CertificateFor(Threshold{ThresholdKind::kPrecommitValue, decided.round, decided.value});
  const auto proposal = std::find_if(state_.proposals.begin(), state_.proposals.end(), [&](const Proposal& p) {
    return p.body.height == state_.round.height && Round{p.body.round} == decided.round &&
           p.body.block_hash == decided.value;
  });
  // Line 49 fires only with the proposal stored and 2f+1 precommits counted for it.
  CIVIC_ASSERT(proposal != state_.proposals.end());
  CIVIC_ASSERT(commit.has_value());
  state_.decision = DecisionRecord{*proposal, std::move(*commit)};
}

}  // namespace civic::consensus
