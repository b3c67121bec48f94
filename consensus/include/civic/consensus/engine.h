// The consensus engine of one validator: a step function from events to actions, across
// heights (raft's Step/Ready, Malachite's apply). It is the only part of consensus/ that
// node/ calls:
//
//   proto::Result<Actions> actions = engine.Step(event);
//   if (!actions) return Log(actions.error());  // bad input: nothing changed, drop it
//   for (const Action& action : *actions) Execute(action);
//
// and node/ executes the actions in order. Order matters in one place: a PersistSigned comes
// before the Broadcast that carries the signature it covers, and node/ must not broadcast if
// persisting failed (safety.h says why).
//
// Inside: a Driver for the current height (driver.h), the SafetySigner, the validator
// schedule, and a little bookkeeping the model leaves to its environment: checking
// signatures and senders, asking the application for values and for validation, timeouts
// with durations, evidence, the commit certificate, and moving to the next height.
//
// Deterministic: no clock (timeouts are logical ticks the caller counts and fires back), no
// threads, no I/O, no randomness, no floating point, and only ordered containers, so a
// simulator can run many engines in one thread and replay any schedule exactly.
//
// The application is reached through actions and events only: RequestProposal ->
// ProposalValueEvent, RequestValidation -> ValidationEvent, Decide -> CommittedEvent (which
// may carry a validator-set change, effective two heights later: validator_schedule.h).
// Consensus never includes contracts/ or node/.
//
// After a restart the engine starts its height at round 0 again, locked as it was (the
// safety record carries the lock, safety.h), and sends its last signed vote once more as
// soon as it can rebuild it (TryResend in engine.cc); votes of the round it had reached bring
// it back there (line 55).
//
// Catching up on a height others have left (block sync) is the application's: it fetches
// the block with its commit certificate, checks and commits it, and answers with a
// CommittedEvent marked from_sync.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <variant>
#include <vector>

#include "civic/consensus/driver.h"
#include "civic/consensus/messages.h"
#include "civic/consensus/proposer.h"
#include "civic/consensus/safety.h"
#include "civic/consensus/timeouts.h"
#include "civic/consensus/types.h"
#include "civic/consensus/validator_schedule.h"
#include "civic/proto/chain.h"
#include "civic/proto/ed25519.h"
#include "civic/proto/result.h"
#include "civic/proto/vote.h"

namespace civic::consensus {

// At most this many proposals per round are taken from a round's proposer: the first, and
// one conflicting one (enough for evidence, and to follow whichever of the two the others
// lock on). Further ones are dropped.
inline constexpr std::size_t kProposalsPerRoundMax = 2;
// A validator may have votes stored in at most this many rounds above ours. An honest one is
// in one round at a time; this keeps a Byzantine one from filling memory with far rounds.
inline constexpr std::size_t kFutureRoundsPerValidatorMax = 2;
// Proposals and votes of the next height are kept until we get there (validators that
// decided first are already voting there), at most this many per validator of that height.
inline constexpr std::size_t kNextHeightMessagesPerValidatorMax = 8;
// A proposal for a round this far or further above ours is dropped: it cannot matter before
// we get there, and working out who proposes a far round costs time.
inline constexpr Round kProposalRoundsAheadMax = 100;

struct EngineConfig {
  proto::ChainId chain_id;
  TimeoutConfig timeouts;
};

// A validator whose height and round have not changed for `looks` looks in a row (node.cc
// looks every 2 s) sends its own messages again, and relays others' votes, after 1, 2, 4, 8
// and 16 looks, then every 16: a lost message arrives in the end, and a long stall (a
// partition) does not send a proposed block to every peer at every look.
inline constexpr bool ResendWhenStalled(std::uint64_t looks) {
  constexpr std::uint64_t kLooksBetweenResendsMax = 16;
  return looks > 0 && ((looks & (looks - 1)) == 0 || looks % kLooksBetweenResendsMax == 0);
}

// ---- events ----
struct StartEvent {};  // begin (or, after a restart, resume) the engine's height
struct ProposalEvent {
  Proposal proposal;
};
struct VoteEvent {
  proto::Vote vote;
};
struct CertificateEvent {  // votes that together claim a polka or a commit, e.g. from block sync
  std::vector<proto::Vote> votes;
};
struct TimeoutEvent {  // a ScheduleTimeout action's timer ran out
  Height height;
  Round round;
  TimeoutKind kind;
};
struct ProposalValueEvent {  // the application's answer to RequestProposal
  Height height;
  Round round;
  ValueId value;
};
struct ValidationEvent {  // the application's answer to RequestValidation
  Height height;
  ValueId value;
  Validity validity;
};
struct CommittedEvent {  // the application committed the block of a Decide action
  Height height;
  std::optional<proto::ValidatorSet> next_validators;  // effective at height + kValidatorSetDelay
  // The block came from block sync (the application checked its commit certificate against
  // the set of `height`), not from a Decide of this engine: the engine leaves its height even
  // though it did not decide there itself. `height` must still be the engine's height.
  bool from_sync = false;
};
using Event = std::variant<StartEvent, ProposalEvent, VoteEvent, CertificateEvent, TimeoutEvent, ProposalValueEvent,
                           ValidationEvent, CommittedEvent>;

// ---- actions ----
struct PersistSigned {  // make this durable (SafetyStore::Persist) before the next Broadcast
  LastSigned record;
};
struct BroadcastProposal {
  Proposal proposal;
};
struct BroadcastVote {
  proto::Vote vote;
};
struct ScheduleTimeout {  // fire TimeoutEvent{height, round, kind} after duration_ticks
  Height height;
  Round round;
  TimeoutKind kind;
  std::uint64_t duration_ticks;
};
struct RequestProposal {  // ask the application for a block to propose (paper line 18)
  Height height;
  Round round;
};
struct RequestValidation {  // ask the application whether a proposed block is valid
  Height height;
  Round round;
  ValueId value;
};
struct Decide {  // commit this block; answer with CommittedEvent
  Height height;
  Round round;
  Proposal proposal;
  proto::CommitCertificate certificate;  // 2f+1 precommits of SetAt(height)
};
struct ReportEvidence {
  std::variant<VoteEquivocation, ProposalEquivocation> evidence;
};
using Action = std::variant<PersistSigned, BroadcastProposal, BroadcastVote, ScheduleTimeout, RequestProposal,
                            RequestValidation, Decide, ReportEvidence>;
using Actions = std::vector<Action>;

class Engine {
 public:
  // `height` is the next height to decide; `last_signed` what SafetyStore::Load returned.
  // REQUIRES: schedule covers `height`.
  Engine(EngineConfig config, proto::Ed25519KeyPair key, ValidatorSchedule schedule, Height height,
         std::optional<LastSigned> last_signed);

  // One event in, the actions it causes out. Bad input (a wrong signature, a sender that is
  // no validator, a proposal from someone not proposing) is an Error and changes nothing;
  // input that is merely late or early (another height or round) is not an error: it is
  // dropped, or kept for the next height.
  [[nodiscard]] proto::Result<Actions> Step(const Event& event);

  Height height() const { return driver_.height(); }
  Round round() const { return driver_.round(); }
  const Driver& driver() const { return driver_; }
  const ValidatorSchedule& schedule() const { return schedule_; }
  const ValidatorId& self() const { return signer_.public_key(); }
  const std::optional<LastSigned>& last_signed() const { return signer_.last_signed(); }
  // The node found this validator's signature beyond its safety record (safety.h, "Restored
  // records"): sign nothing until ResumeSigning, which signs again only after `fence` (persist
  // the fence first). Whatever was to be sent again after a restart is forgotten.
  void SuspendSigning() { signer_.Suspend(); }
  void ResumeSigning(const LastSigned& fence);
  bool signing_suspended() const { return signer_.suspended(); }
  // True between Decide and the CommittedEvent that answers it.
  bool decided() const { return decided_; }
  // The 2f+1 prevotes behind this engine's valid value (the polka of its valid round, line
  // 36), or nullopt if it has none (or has decided its height). A validator that missed some of them cannot take a
  // proposal of that value with that valid round (line 28), which is what this validator
  // proposes when its turn comes (line 16), nor what the others locked on proposes: without
  // them, validators locked on a value and validators that never saw its polka can each wait
  // for the other for ever. The node sends them as a certificate (CertificateEvent) with its
  // own messages; the paper's gossip would have relayed them.
  std::optional<std::vector<proto::Vote>> ValidPolka() const;
  // The 2f+1 prevotes of `round` for `value` held here, or nullopt (e.g. those behind a
  // proposal's valid round: the engine may have moved its own on by the time it is sent).
  std::optional<std::vector<proto::Vote>> Polka(Round round, const ValueId& value) const;
  // Others' prevotes and precommits held here, of the current round and then of the round
  // before, at most `max` (none once decided). The paper's gossip relays every message; the
  // node relays these when a peer connects and when stalled (node.cc, SendOwn): a validator
  // can be left a round behind for want of a vote that a Byzantine one sent only to the others.
  std::vector<proto::Vote> VotesToRelay(std::size_t max) const;

 private:
  using Message = std::variant<Proposal, proto::Vote>;

  proto::Result<Actions> OnProposal(const Proposal& proposal);
  proto::Result<Actions> OnVote(const proto::Vote& vote);
  proto::Result<Actions> OnCertificate(const std::vector<proto::Vote>& votes);
  Actions OnTimeout(const TimeoutEvent& timeout);
  Actions OnProposalValue(const ProposalValueEvent& answer);
  Actions OnValidation(const ValidationEvent& answer);
  void RunAwaiting(const ValueId& value, Actions& out);
  void TryResend(const NilOrValue& value, Actions& out);
  std::optional<Lock> CurrentLock() const;
  proto::Result<Actions> OnCommitted(const CommittedEvent& committed);

  void StartHeight(Height height);
  // The sender is a validator of `set` and the signature verifies.
  proto::Result<void> CheckSigned(const proto::Vote& vote, const proto::ValidatorSet& set) const;
  void Run(DriverInput input, Actions& out);
  void Handle(const RoundOutput& output, Actions& out, std::vector<DriverInput>& own);
  void ReportNewEvidence(Actions& out);
  proto::Result<Actions> KeepForNextHeight(Message message);
  proto::CommitCertificate BuildCommit(const DecisionRecord& decision) const;

  EngineConfig config_;
  SafetySigner signer_;
  ValidatorSchedule schedule_;
  std::shared_ptr<const WeightedRoundRobin> proposer_;
  Height proposer_from_;  // the height proposer_ was made for
  Driver driver_;
  bool started_ = false;
  bool decided_ = false;
  std::optional<Round> value_requested_;  // the round we asked the application a value for
  std::map<ValueId, Validity> validity_;  // the application's answers, this height
  std::set<ValueId> validation_requested_;
  std::vector<Proposal> awaiting_validation_;               // bounded by kProposalsPerRoundMax per round
  std::map<Round, std::vector<Proposal>> taken_proposals_;  // per round, at most kProposalsPerRoundMax
  std::size_t vote_evidence_reported_ = 0;
  std::vector<Message> next_height_;  // checked; bounded per validator
  // After a restart: our last signed vote of this height, until it is sent again (TryResend).
  std::optional<LastSigned> resend_;
};

}  // namespace civic::consensus
