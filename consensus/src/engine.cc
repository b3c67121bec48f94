#include "civic/consensus/engine.h"

#include <algorithm>
#include <string>
#include <utility>

#include "civic/proto/assert.h"

namespace civic::consensus {
namespace {

using proto::ErrorCode;
using proto::Fail;

// Every driver step consumes a queued input or a step-change flag, and a step queues at most
// a few more; a height never needs anywhere near this many in one event.
constexpr int kDrainStepsMax = 10'000;

std::shared_ptr<const WeightedRoundRobin> MakeProposer(const ValidatorSchedule& schedule, Height height) {
  return std::make_shared<const WeightedRoundRobin>(schedule.SetAt(height), schedule.EffectiveFrom(height));
}

std::optional<std::size_t> IndexOf(const proto::ValidatorSet& set, const ValidatorId& key) {
  const auto it = std::lower_bound(set.validators.begin(), set.validators.end(), key,
                                   [](const proto::Validator& v, const ValidatorId& k) { return v.key < k; });
  if (it == set.validators.end() || it->key != key) return std::nullopt;
  return static_cast<std::size_t>(it - set.validators.begin());
}

}  // namespace

Engine::Engine(EngineConfig config, proto::Ed25519KeyPair key, ValidatorSchedule schedule, Height height,
               std::optional<LastSigned> last_signed)
    : config_(std::move(config)),
      signer_(config_.chain_id, std::move(key), std::move(last_signed)),
      schedule_(std::move(schedule)),
      proposer_(MakeProposer(schedule_, height)),
      proposer_from_(schedule_.EffectiveFrom(height)),
      driver_(signer_.public_key(), height, schedule_.SetAt(height), proposer_) {
  // A restart at the height of our last signature: take back the lock we held then (safety.h
  // says why it must survive). The polka that set it also made it our valid value and round
  // (lines 38-43), which a later polka may have replaced; the older pair is still a real polka
  // to re-propose with.
  if (signer_.last_signed() && signer_.last_signed()->height == height && signer_.last_signed()->lock) {
    const Lock& lock = *signer_.last_signed()->lock;
    DriverState state = driver_.state();
    state.round.locked_round = Round{lock.round};
    state.round.locked_value = lock.value;
    state.round.valid_round = Round{lock.round};
    state.round.valid_value = lock.value;
    driver_ = Driver(std::move(state), proposer_);
  }
  // A restart at the height of our last signature: that vote may never have left (a crash
  // between persisting and sending it, or a network that lost it), and the others may be
  // waiting for it in the round we had reached, unable to make 2f+1 without us, while we
  // cannot sign anything else there (tendermint issue 5804). Send it again once we can
  // rebuild it; see TryResend. A lost proposal needs nothing: its round times out.
  if (signer_.last_signed() && signer_.last_signed()->height == height &&
      signer_.last_signed()->step != SignedStep::kProposal) {
    resend_ = signer_.last_signed();
  }
}

proto::Result<Actions> Engine::Step(const Event& event) {
  if (std::holds_alternative<StartEvent>(event)) {
    Actions out;
    if (started_) return out;
    started_ = true;
    Run(StartInput{}, out);
    TryResend(std::nullopt, out);  // a nil vote needs nothing more to rebuild
    return out;
  }
  if (!started_) return Fail(ErrorCode::kInvalidArgument, "the engine has not started: send StartEvent first");
  if (const auto* e = std::get_if<ProposalEvent>(&event)) return OnProposal(e->proposal);
  if (const auto* e = std::get_if<VoteEvent>(&event)) return OnVote(e->vote);
  if (const auto* e = std::get_if<CertificateEvent>(&event)) return OnCertificate(e->votes);
  if (const auto* e = std::get_if<TimeoutEvent>(&event)) return OnTimeout(*e);
  if (const auto* e = std::get_if<ProposalValueEvent>(&event)) return OnProposalValue(*e);
  if (const auto* e = std::get_if<ValidationEvent>(&event)) return OnValidation(*e);
  return OnCommitted(std::get<CommittedEvent>(event));
}

proto::Result<Actions> Engine::KeepForNextHeight(Message message) {
  // Check now what can be checked: the next height's set is already fixed (a change decided
  // at this height takes effect only at the one after), and junk must not take the room.
  const proto::ValidatorSet& set = schedule_.SetAt(height() + 1);
  const bool is_proposal = std::holds_alternative<Proposal>(message);
  const ValidatorId sender =
      is_proposal ? std::get<Proposal>(message).body.proposer : std::get<proto::Vote>(message).body.validator;
  // A copy adds nothing, and costs no signature check.
  if (std::find(next_height_.begin(), next_height_.end(), message) != next_height_.end()) return Actions{};
  if (!IndexOf(set, sender)) {
    return Fail(ErrorCode::kInvalidArgument, "message for height " + std::to_string(height() + 1) + " from " +
                                                 proto::ToHex(sender) + ", who is no validator there");
  }
  proto::Result<void> ok = is_proposal ? VerifyProposal(config_.chain_id, std::get<Proposal>(message))
                                       : proto::VerifyVote(config_.chain_id, std::get<proto::Vote>(message));
  if (!ok) return tl::unexpected(ok.error());
  const auto from_sender = std::count_if(next_height_.begin(), next_height_.end(), [&](const Message& kept) {
    return (std::holds_alternative<Proposal>(kept) ? std::get<Proposal>(kept).body.proposer
                                                   : std::get<proto::Vote>(kept).body.validator) == sender;
  });
  // More than an honest validator sends before we catch up: drop it.
  if (static_cast<std::size_t>(from_sender) < kNextHeightMessagesPerValidatorMax) next_height_.push_back(std::move(message));
  return Actions{};
}

proto::Result<Actions> Engine::OnProposal(const Proposal& proposal) {
  Actions out;
  const ProposalBody& body = proposal.body;
  if (body.height == height() + 1) return KeepForNextHeight(proposal);
  if (body.height != height() || decided_) return out;             // late: nothing to do with it
  if (body.round > round() + kProposalRoundsAheadMax) return out;  // early: see kProposalRoundsAheadMax
  if (body.proposer != driver_.Proposer(body.round)) {
    return Fail(ErrorCode::kInvalidArgument, "proposal for height " + std::to_string(body.height) + " round " +
                                                 std::to_string(body.round) + " is not from that round's proposer");
  }
  const auto seen = taken_proposals_.find(body.round);
  if (seen != taken_proposals_.end() &&
      std::find(seen->second.begin(), seen->second.end(), proposal) != seen->second.end()) {
    return out;  // a copy
  }
  if (proto::Result<void> ok = VerifyProposal(config_.chain_id, proposal); !ok) return tl::unexpected(ok.error());
  if (resend_ && resend_->round == body.round) TryResend(body.block_hash, out);
  std::vector<Proposal>& taken = taken_proposals_[body.round];
  if (!taken.empty()) {
    // A second, different proposal of one proposer for one round: evidence, once.
    if (taken.size() == 1) {
      proto::Result<ProposalEquivocation> evidence = MakeProposalEquivocation(taken.front(), proposal);
      CIVIC_ASSERT(evidence.has_value());  // same proposer, height and round; different bodies
      out.push_back(ReportEvidence{*evidence});
    }
    if (taken.size() >= kProposalsPerRoundMax) return out;
  }
  taken.push_back(proposal);

  const auto known = validity_.find(body.block_hash);
  if (known != validity_.end()) {
    Run(ProposalInput{proposal, known->second}, out);
    return out;
  }
  awaiting_validation_.push_back(proposal);
  if (validation_requested_.insert(body.block_hash).second) {
    out.push_back(RequestValidation{body.height, body.round, body.block_hash});
  }
  return out;
}

proto::Result<void> Engine::CheckSigned(const proto::Vote& vote, const proto::ValidatorSet& set) const {
  if (!IndexOf(set, vote.body.validator)) {
    return Fail(ErrorCode::kInvalidArgument, "vote from " + proto::ToHex(vote.body.validator) +
                                                 ", who is not a validator at height " +
                                                 std::to_string(vote.body.height));
  }
  return proto::VerifyVote(config_.chain_id, vote);
}

proto::Result<Actions> Engine::OnVote(const proto::Vote& vote) {
  Actions out;
  const proto::VoteBody& body = vote.body;
  if (body.height == height() + 1) return KeepForNextHeight(vote);
  if (body.height != height() || decided_) return out;
  // A copy of a vote kept here was checked when it came: it is applied again as before, but
  // costs no second signature check (a peer replaying votes costs a lookup each).
  if (!driver_.state().keeper.Holds(vote)) {
    if (proto::Result<void> ok = CheckSigned(vote, driver_.state().keeper.validators()); !ok) {
      return tl::unexpected(ok.error());
    }
    if (driver_.state().keeper.FutureRoundsOf(body.validator, round(), body.round) >= kFutureRoundsPerValidatorMax) {
      return Fail(ErrorCode::kInvalidArgument, "validator " + proto::ToHex(body.validator) +
                                                   " already has votes in too many rounds above ours; resend later");
    }
  }
  if (resend_ && resend_->round == body.round && body.block_hash) TryResend(body.block_hash, out);
  Run(VoteInput{vote}, out);
  return out;
}

proto::Result<Actions> Engine::OnCertificate(const std::vector<proto::Vote>& votes) {
  Actions out;
  if (votes.empty() || decided_) return out;
  if (votes.size() > proto::kValidatorsMax) {
    return Fail(ErrorCode::kTooLarge, "a certificate holds at most one vote per validator");
  }
  const proto::VoteBody& first = votes.front().body;
  if (first.height != height()) return out;
  // First what costs nothing: one block (not nil), one height, round and vote type, one vote
  // a validator of this height, more than two thirds of the power. A certificate that could
  // not count costs no signature check.
  const VoteKeeper& keeper = driver_.state().keeper;
  if (!first.block_hash) return Fail(ErrorCode::kInvalidArgument, "a certificate is for a block, not for nil");
  std::set<ValidatorId> senders;
  Weight weight = 0;
  for (const proto::Vote& vote : votes) {
    const proto::VoteBody& body = vote.body;
    if (body.height != first.height || body.round != first.round || body.type != first.type ||
        body.block_hash != first.block_hash) {
      return Fail(ErrorCode::kInvalidArgument, "a certificate's votes are not all of one height, round, type and block");
    }
    const std::optional<Weight> of = keeper.WeightOf(body.validator);
    if (!of) {
      return Fail(ErrorCode::kInvalidArgument, "certificate vote from " + proto::ToHex(body.validator) +
                                                   ", who is not a validator at height " + std::to_string(body.height));
    }
    if (!senders.insert(body.validator).second) {
      return Fail(ErrorCode::kInvalidArgument, "a certificate holds two votes of validator " + proto::ToHex(body.validator));
    }
    weight += *of;
  }
  if (!keeper.IsQuorum(weight)) {
    return Fail(ErrorCode::kInvalidArgument, "a certificate's votes carry two thirds of the power or less");
  }
  // No cap on future rounds here: together the votes carry 2f+1. A vote kept here was checked
  // when it came (a certificate sent again costs lookups).
  for (const proto::Vote& vote : votes) {
    if (keeper.Holds(vote)) continue;
    if (proto::Result<void> ok = CheckSigned(vote, keeper.validators()); !ok) return tl::unexpected(ok.error());
  }
  Run(CertificateInput{votes}, out);
  return out;
}

std::optional<std::vector<proto::Vote>> Engine::ValidPolka() const {
  const RoundState& state = driver_.state().round;
  if (decided_ || state.valid_round == kNilRound || !state.valid_value) return std::nullopt;
  return Polka(state.valid_round, *state.valid_value);
}

std::vector<proto::Vote> Engine::VotesToRelay(std::size_t max) const {
  std::vector<proto::Vote> out;
  if (decided_) return out;
  const std::map<Round, RoundVotes>& rounds = driver_.state().keeper.rounds();
  for (Round r = round(); r >= 0 && r + 1 >= round(); --r) {
    const auto it = rounds.find(r);
    if (it == rounds.end()) continue;
    for (const proto::VoteType type : {proto::VoteType::kPrevote, proto::VoteType::kPrecommit}) {
      for (const proto::Vote& vote : it->second.count(type).received) {
        if (vote.body.validator == self()) continue;
        if (out.size() == max) return out;
        out.push_back(vote);
      }
    }
  }
  return out;
}

std::optional<std::vector<proto::Vote>> Engine::Polka(Round round, const ValueId& value) const {
  return driver_.state().keeper.CertificateFor(Threshold{ThresholdKind::kPolkaValue, round, value});
}

Actions Engine::OnTimeout(const TimeoutEvent& timeout) {
  Actions out;
  // A timer of a round or height we have left is normal: nothing to do.
  if (decided_ || timeout.height != height() || timeout.round != round()) return out;
  Run(TimeoutInput{timeout.kind}, out);
  return out;
}

Actions Engine::OnProposalValue(const ProposalValueEvent& answer) {
  Actions out;
  if (decided_ || answer.height != height() || answer.round != round() || value_requested_ != answer.round) {
    return out;  // an answer for a round we left
  }
  value_requested_.reset();
  validity_.emplace(answer.value, Validity::kValid);  // the application vouches for its own block
  Run(ProposeValueInput{answer.value}, out);
  // A proposal of this very block may be waiting for validation: e.g. our own proposal from
  // before a restart, handed back by block sync while the application, asked again, gives us
  // the same block. Its answer is known now (found by the simulator, tests/consensus/sim.h).
  RunAwaiting(answer.value, out);
  return out;
}

Actions Engine::OnValidation(const ValidationEvent& answer) {
  Actions out;
  if (decided_ || answer.height != height()) return out;
  validity_.emplace(answer.value, answer.validity);  // the first answer for a value stands
  RunAwaiting(answer.value, out);
  return out;
}

// Every proposal that waited for the validity of `value` goes to the driver, now that the
// answer is known, whichever way it became known (the application's validation, or the
// application handing us that block to propose): none may wait for an answer already given.
void Engine::RunAwaiting(const ValueId& value, Actions& out) {
  const auto known = validity_.find(value);
  CIVIC_ASSERT(known != validity_.end());
  const Validity validity = known->second;
  std::vector<Proposal> ready;
  std::vector<Proposal> still;
  for (Proposal& p : awaiting_validation_) (p.body.block_hash == value ? ready : still).push_back(std::move(p));
  awaiting_validation_ = std::move(still);
  for (const Proposal& p : ready) {
    if (decided_) return;  // the rest of this height no longer matters
    Run(ProposalInput{p, validity}, out);
  }
}

proto::Result<Actions> Engine::OnCommitted(const CommittedEvent& committed) {
  Actions out;
  if ((!decided_ && !committed.from_sync) || committed.height != height()) {
    return Fail(ErrorCode::kInvalidArgument,
                "commit of height " + std::to_string(committed.height) + " does not answer a Decide of this engine");
  }
  if (committed.next_validators) {
    if (proto::Result<void> ok = schedule_.ScheduleChange(committed.height, *committed.next_validators); !ok) {
      return tl::unexpected(ok.error());
    }
  }
  StartHeight(committed.height + 1);
  Run(StartInput{}, out);
  // Replay what arrived early. Bad messages among them are dropped as they would have been.
  std::vector<Message> early = std::move(next_height_);
  next_height_.clear();
  for (const Message& message : early) {
    proto::Result<Actions> more = std::holds_alternative<Proposal>(message) ? OnProposal(std::get<Proposal>(message))
                                                                            : OnVote(std::get<proto::Vote>(message));
    if (more) out.insert(out.end(), more->begin(), more->end());
  }
  return out;
}

// Lines 52-54: the next height starts from scratch (the paper resets locked and valid
// values and the message log; a new driver does exactly that).
void Engine::StartHeight(Height height) {
  schedule_.ForgetBefore(height);
  if (schedule_.EffectiveFrom(height) != proposer_from_) {
    proposer_ = MakeProposer(schedule_, height);
    proposer_from_ = schedule_.EffectiveFrom(height);
  }
  driver_ = Driver(signer_.public_key(), height, schedule_.SetAt(height), proposer_);
  decided_ = false;
  value_requested_.reset();
  validity_.clear();
  validation_requested_.clear();
  awaiting_validation_.clear();
  taken_proposals_.clear();
  vote_evidence_reported_ = 0;
  resend_.reset();
}

void Engine::ResumeSigning(const LastSigned& fence) {
  signer_.Resume(fence);
  if (resend_ && resend_->Point() <= fence.Point()) resend_.reset();
}

// The record keeps only the digest of the vote we signed last, so we rebuild the vote from a
// candidate value (nil, or a value we heard of in that round: a proposal, or someone else's
// vote) and send it if the digest matches. It is the very message we signed before, so
// sending it again cannot conflict with anything; the signer agrees (same point, same digest)
// and Ed25519 gives the same signature. Once we signed past it, our newer messages speak for
// us and the signer refuses: nothing more to do.
void Engine::TryResend(const NilOrValue& value, Actions& out) {
  if (!resend_ || decided_) return;
  proto::VoteBody body;
  body.type = resend_->step == SignedStep::kPrevote ? proto::VoteType::kPrevote : proto::VoteType::kPrecommit;
  body.height = resend_->height;
  body.round = resend_->round;
  body.block_hash = value;
  body.validator = signer_.public_key();
  const proto::Result<proto::Hash32> digest = proto::VoteSigningDigest(config_.chain_id, body);
  if (!digest || *digest != resend_->digest) return;  // not this one
  const std::optional<Lock> lock = resend_->lock;      // the record exactly as it was persisted
  resend_.reset();
  proto::Result<SignedVote> signed_vote = signer_.SignVote(body, lock);
  if (!signed_vote) return;
  out.push_back(PersistSigned{signed_vote->record});  // already durable: the store accepts it without a write
  out.push_back(BroadcastVote{signed_vote->vote});
  Run(VoteInput{signed_vote->vote}, out);  // it counts for us, as it does for everyone
}

// Feeds one input to the driver, then whatever the driver queued for itself and our own
// signed messages (which count for us as they count for everyone), until nothing is left.
void Engine::Run(DriverInput input, Actions& out) {
  std::vector<DriverInput> own;  // our own messages, in the order we signed them
  std::size_t own_next = 0;
  DriverInput next = std::move(input);
  for (int steps = 0;; ++steps) {
    CIVIC_ASSERT(steps < kDrainStepsMax);
    const DriverResult result = driver_.Apply(next);
    Handle(result.output, out, own);
    ReportNewEvidence(out);
    if (decided_) return;  // the rest of this height no longer matters
    // The model's order: a step change first, then queued inputs, then messages.
    if (driver_.state().pending_step_change != Step::kNone) {
      next = StepChangeInput{};
    } else if (!driver_.state().pending.empty()) {
      next = PendingInputStep{};
    } else if (own_next < own.size()) {
      next = std::move(own[own_next++]);
    } else {
      return;
    }
  }
}

void Engine::Handle(const RoundOutput& output, Actions& out, std::vector<DriverInput>& own) {
  const Height h = height();
  if (const auto* proposal = std::get_if<ProposalOut>(&output)) {
    // Line 19. The propose timeout is armed for the proposer too (as the model does): if
    // our own proposal cannot be signed or gets lost, the round still moves on.
    out.push_back(ScheduleTimeout{h, proposal->round, TimeoutKind::kPropose,
                                  TimeoutTicks(config_.timeouts, TimeoutKind::kPropose, proposal->round)});
    ProposalBody body;
    body.height = proposal->height;
    body.round = WireRound(proposal->round);
    body.block_hash = proposal->value;
    if (proposal->valid_round != kNilRound) body.valid_round = WireRound(proposal->valid_round);
    body.proposer = signer_.public_key();
    proto::Result<SignedProposal> signed_proposal = signer_.SignProposal(body, CurrentLock());
    // Refused: we signed something else here before a restart. Stay silent this round.
    if (!signed_proposal) return;
    out.push_back(PersistSigned{signed_proposal->record});
    out.push_back(BroadcastProposal{signed_proposal->proposal});
    taken_proposals_[proposal->round].push_back(signed_proposal->proposal);
    validity_.emplace(proposal->value, Validity::kValid);
    own.push_back(ProposalInput{signed_proposal->proposal, Validity::kValid});
  } else if (const auto* get_value = std::get_if<GetValue>(&output)) {
    // Line 18; the timeout covers an application that does not answer in time.
    out.push_back(ScheduleTimeout{h, get_value->round, TimeoutKind::kPropose,
                                  TimeoutTicks(config_.timeouts, TimeoutKind::kPropose, get_value->round)});
    value_requested_ = get_value->round;
    out.push_back(RequestProposal{h, get_value->round});
  } else if (const auto* vote = std::get_if<VoteOut>(&output)) {
    // Not a validator at this height (added for a later one, or removed): follow, never sign.
    if (!IndexOf(schedule_.SetAt(h), signer_.public_key())) return;
    proto::VoteBody body;
    body.type = vote->type;
    body.height = vote->height;
    body.round = WireRound(vote->round);
    body.block_hash = vote->value;
    body.validator = signer_.public_key();
    proto::Result<SignedVote> signed_vote = signer_.SignVote(body, CurrentLock());
    if (!signed_vote) return;  // refused after a restart: stay silent in this step
    out.push_back(PersistSigned{signed_vote->record});
    out.push_back(BroadcastVote{signed_vote->vote});
    own.push_back(VoteInput{signed_vote->vote});
  } else if (const auto* timeout = std::get_if<ScheduleTimeoutOut>(&output)) {
    out.push_back(ScheduleTimeout{h, timeout->round, timeout->kind,
                                  TimeoutTicks(config_.timeouts, timeout->kind, timeout->round)});
  } else if (const auto* decided = std::get_if<Decided>(&output)) {
    const std::optional<DecisionRecord>& decision = driver_.state().decision;
    CIVIC_ASSERT(decision.has_value());
    out.push_back(Decide{h, decided->round, decision->proposal, BuildCommit(*decision)});
    decided_ = true;
  }
  // NoOutput and NotApplicable: nothing to do. SkipRound never leaves the driver.
  CIVIC_ASSERT(!std::holds_alternative<SkipRound>(output));
}

// Our lock now, as the safety record keeps it.
std::optional<Lock> Engine::CurrentLock() const {
  const RoundState& state = driver_.state().round;
  if (state.locked_round == kNilRound || !state.locked_value) return std::nullopt;
  return Lock{WireRound(state.locked_round), *state.locked_value};
}

void Engine::ReportNewEvidence(Actions& out) {
  const std::vector<VoteEquivocation>& evidence = driver_.state().keeper.evidence();
  for (; vote_evidence_reported_ < evidence.size(); ++vote_evidence_reported_) {
    out.push_back(ReportEvidence{evidence[vote_evidence_reported_]});
  }
}

proto::CommitCertificate Engine::BuildCommit(const DecisionRecord& decision) const {
  const proto::ValidatorSet& set = schedule_.SetAt(height());
  proto::CommitCertificate certificate;
  certificate.height = decision.proposal.body.height;
  certificate.round = decision.proposal.body.round;
  certificate.block_hash = decision.proposal.body.block_hash;
  for (const proto::Vote& vote : decision.commit) {
    const std::optional<std::size_t> index = IndexOf(set, vote.body.validator);
    CIVIC_ASSERT(index.has_value());  // the keeper counts validators of this set only
    certificate.signatures.push_back(proto::CommitSignature{static_cast<std::uint32_t>(*index), vote.signature});
  }
  std::sort(certificate.signatures.begin(), certificate.signatures.end(),
            [](const proto::CommitSignature& a, const proto::CommitSignature& b) {
              return a.validator_index < b.validator_index;
            });
  return certificate;
}

}  // namespace civic::consensus
