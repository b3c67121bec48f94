// A deterministic network simulator for consensus/ (TigerBeetle's VOPR, FoundationDB's
// simulation): real engines, real Ed25519 signatures, real commit certificates; simulated
// ticks, network, crashes and Byzantine validators, all driven by ONE seeded
// std::mt19937_64, so that a seed replays a whole cluster exactly.
//
// What it models:
//   - 4 to 10 validators with unequal voting power; up to f of them Byzantine (their power
//     is kept below 1/3 of every validator set): silent, equivocating proposers, double
//     voters, nil voters, lock breakers. Byzantine validators sign what they like with their own keys,
//     outside the safety signer.
//   - A network that delays (hence reorders), drops and duplicates messages, and
//     partitions: links are cut one by one and healed one by one in random order.
//     Pending deliveries are ordered by (tick, send sequence number), never by pointer or
//     hash order.
//   - The node shell around each engine, which consensus/ leaves to node/: actions are
//     executed in order (PersistSigned through a SafetyStore over storage that survives a
//     crash, before the broadcast it covers); timers are logical ticks; a simple
//     deterministic application proposes a block derived from (height, round, proposer),
//     validates, commits, and now and then changes the validators' powers; gossip re-sends
//     to a peer the proposals and votes of its height it lacks (the paper's gossip
//     assumption) and the polkas it has not counted (as certificates: a peer that counted an
//     equivocating validator's other vote first needs them, as Tendermint's "maj23" gossip
//     does), and block sync hands a lagging peer the decided proposal and its commit.
//   - Crash and restart: a crash loses the engine, its timers and everything in flight to
//     it; a restart rebuilds the engine from the durable parts only: the SafetyStorage
//     record and the ledger of committed blocks (DESIGN.md, invariant 3).
//
// What it checks, as it happens (so after every delivery, at the step that caused it):
//   - agreement: no two honest validators commit different blocks at one height (and their
//     application hashes agree);
//   - validity: every committed block is one the application's validate accepts;
//   - certificates: every commit carries a certificate that proto::VerifyCommitCertificate
//     accepts against the validator set of that height (computed here, independently of
//     the engine's schedule);
//   - no honest validator signs two different proposals or votes for one (height, round,
//     step), across crashes; every signed message is persisted before it is broadcast;
//   - evidence names Byzantine validators only;
//   - termination: once the network is synchronous again (no drops, delays of at most
//     kCalmDelayTicksMax, or kCalmDelayTicksMax + kSlowSyncTicksMax for block sync in
//     slow-sync runs, partitions healed, crashed validators restarted), every honest
//     validator commits the next kHeightsAfterSync heights (and at least Options::heights
//     in all) within a bounded number of ticks, unless the run went beyond the fault model
//     (Stats::liveness_required).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "civic/consensus/engine.h"
#include "civic/consensus/messages.h"
#include "civic/consensus/safety.h"
#include "civic/consensus/types.h"
#include "civic/proto/vote.h"

namespace civic::consensus::sim {

// ---- bounds: every limit of a run has a name ----
inline constexpr std::size_t kValidatorsMin = 4;
inline constexpr std::size_t kValidatorsMax = 10;
inline constexpr std::uint64_t kHonestPowerMax = 10;     // honest power is drawn in [1, kHonestPowerMax]
inline constexpr std::uint64_t kByzantinePowerMax = 4;   // Byzantine power in [1, kByzantinePowerMax]
inline constexpr Height kHeightsDefault = 20;
inline constexpr Height kHeightsAfterSync = 5;           // K: heights every honest validator commits after sync
inline constexpr std::uint64_t kChaosTicksMax = 300'000;  // the faulty phase ends by then at the latest
inline constexpr std::uint64_t kChaosStepTicksMax = 3'000;  // between two fault decisions
inline constexpr std::uint64_t kCalmDelayTicksMax = 100;    // message delay when synchronous
inline constexpr std::uint64_t kChaosDelayTicksMax = 4'000;  // message delay when not
inline constexpr std::uint64_t kAppDelayTicksMax = 20;      // the application answers within this
// Block sync is best effort (rate-limited, disk-bound): in runs with slow sync its replies
// take up to this much longer, so that validators may run rounds before they hear of a
// decision made elsewhere; then only the lock keeps them from deciding something else.
inline constexpr std::uint64_t kSlowSyncTicksMax = 30'000;
inline constexpr std::uint64_t kGossipIntervalTicks = 500;
inline constexpr std::size_t kGossipMessagesMax = 64;      // per packet
// Gossip to a peer covers the rounds from (its round - kGossipRoundsBack) on, and the polka
// behind the valid round of a proposal of its round. A pair whose states did not change since
// they last exchanged is skipped, except every kGossipRetryTicks (in case that was lost).
inline constexpr Round kGossipRoundsBack = 1;
inline constexpr std::uint64_t kGossipRetryTicks = 5'000;
inline constexpr std::uint64_t kSyncSpreadTicksMax = 50;   // between two heals or restarts when syncing
// Options::node_gossip: what node.cc keeps to send again (its own votes of the height), how
// long its height and round may stay the same before it does (a tick is a millisecond; it
// looks every kStallTicks, and sends when consensus::ResendWhenStalled says), and how many
// others' votes it relays at once.
inline constexpr std::size_t kOwnVotesKept = 6;
inline constexpr std::uint64_t kStallTicks = 2'000;
inline constexpr std::size_t kRelayedVotesMax = 512;
// Termination: after the network is synchronous again, every honest validator must have
// committed the target height within kRecoveryTicksMax + (heights to go) * kTicksPerHeightMax.
// kRecoveryTicksMax covers a few rounds at the capped timeout (TimeoutConfig::max_ticks,
// 60,000) that validators may have reached during the faults; kTicksPerHeightMax a height
// whose first rounds all have faulty proposers (see tests/README.md for the measured values).
inline constexpr std::uint64_t kRecoveryTicksMax = 600'000;
inline constexpr std::uint64_t kTicksPerHeightMax = 60'000;
// A run beyond the fault model (see Stats::liveness_required) stops this long after sync if
// it has not reached the target by then: only safety is asked of it.
inline constexpr std::uint64_t kBeyondModelTicksMax = 200'000;
inline constexpr std::uint64_t kEventsMax = 2'000'000;    // per run; more is reported as a failure
inline constexpr std::size_t kPendingMax = 500'000;       // events in the queue at once

enum class Behaviour : std::uint8_t {
  kHonest,
  kSilent,                // never sends anything
  kEquivocatingProposer,  // sends different proposals (valid or not) to different validators
  kDoubleVoter,           // sends different votes to different validators
  kNilVoter,              // votes nil, always
  // The attack the lock exists for: precommits a value to some validators only (so one may
  // decide while the others time out into the next round), and when proposing offers
  // everyone a fresh block, as if nothing had been locked.
  kLockBreaker,
};
std::string_view BehaviourName(Behaviour behaviour);

// Which faults a run may draw. The seed decides how much of each.
struct FaultMix {
  std::uint32_t drop_percent_max = 0;       // per run, drops are drawn in [0, this]
  std::uint32_t duplicate_percent_max = 0;  // per run, duplicates in [0, this]
  std::uint64_t delay_ticks_max = kCalmDelayTicksMax;  // during the faulty phase
  bool partitions = false;
  bool crashes = false;
  bool byzantine = false;
  bool set_changes = false;  // the application changes voting powers now and then
  bool slow_sync = false;    // block sync replies lag by up to kSlowSyncTicksMax
  bool any = false;          // the seed switches each of the above on or off
};
// "calm", "lossy", "partitions", "crashes", "byzantine", "all", "any".
std::optional<FaultMix> MixNamed(std::string_view name);
std::vector<std::string_view> MixNames();

struct Options {
  std::uint64_t seed = 1;
  FaultMix mix;
  std::size_t validators = 0;          // 0: drawn from the seed in [kValidatorsMin, validators_max]
  std::size_t validators_max = kValidatorsMax;
  std::vector<std::uint64_t> powers;   // scenarios: explicit powers (then `validators` is their count)
  std::vector<Behaviour> behaviours;   // scenarios: explicit behaviours, one per validator
  Height heights = kHeightsDefault;
  TimeoutConfig timeouts;
  // Gossip as node/ does it (node.cc, P2P.md "Gossip") instead of from each peer's state:
  // a validator sends again its own proposal and last kOwnVotesKept votes of its height,
  // with the polka behind its valid value (Engine::ValidPolka), when a round of its own
  // times out, when a link to a peer comes back (a heal, a restart), and when its height and
  // round have not changed for kStallTicks (then 2, 4, 8, 16 times that, then every 16);
  // on a link coming back and when stalled it also relays the votes it holds of its round
  // and the round before (Engine::VotesToRelay); a value proposed again goes out with its polka;
  // a decided height sends nothing. Block sync is the same in both. Not modelled: node.cc's
  // restarted validator runs no engine until it has caught up (it holds the votes and polkas
  // it gets meanwhile for the engine, but not proposals), its commit wait, and the bounds of
  // a peer's share of its core thread's queue.
  bool node_gossip = false;
  // Prints every event, refusal and decision to stderr (for replaying one seed by hand).
  bool trace = false;
};

struct Stats {
  std::uint64_t end_tick = 0;
  std::uint64_t sync_tick = 0;         // when the network was synchronous again
  std::uint64_t ticks_after_sync = 0;  // until every honest validator reached the target
  Height target = 0;
  std::uint64_t events = 0;
  std::uint64_t deliveries = 0;
  std::uint64_t dropped = 0;
  std::uint64_t duplicated = 0;
  std::uint64_t crashes = 0;
  std::uint64_t cuts = 0;
  std::uint64_t rejected = 0;  // messages an engine refused (bad or late input: not a failure)
  std::uint64_t evidence = 0;
  Round round_max = 0;         // the highest round an honest validator reached
  std::size_t validators = 0;
  std::size_t byzantine = 0;
  // The paper promises termination with more than 2/3 of the power correct. A validator
  // that crashed while at height h and restarted from its safety record has forgotten what
  // it sent and received at h: for h it counts as faulty ("amnesiac"). Termination is
  // required unless, at some height, Byzantine plus amnesiac power reached 1/3. The random
  // schedule keeps within that most of the time; in "heavy" crash runs (one in four) it
  // does not, and only safety is checked. Safety is checked in every run.
  bool liveness_required = true;
  bool heavy_crashes = false;
};

struct Outcome {
  bool ok = true;
  std::string violation;  // what went wrong, and the state of every validator
  Stats stats;
};

// What travels: a proposal, a vote, a polka certificate (the votes behind 2f+1 prevotes for
// one value, gossiped to a peer that has not counted that polka), or block sync (a decided
// proposal with its commit).
struct CertificatePayload {
  std::vector<proto::Vote> votes;
};
struct SyncPayload {
  Proposal proposal;
  std::vector<proto::Vote> commit;
};
using Message = std::variant<Proposal, proto::Vote, CertificatePayload, SyncPayload>;

// One signature an honest validator released (scenarios read these).
struct SignedEntry {
  std::uint64_t tick = 0;
  std::size_t node = 0;
  Height height = 0;
  Round round = 0;
  SignedStep step = SignedStep::kProposal;
  NilOrValue value;
};

class SimulationImpl;

class Simulation {
 public:
  explicit Simulation(Options options);
  ~Simulation();
  Simulation(const Simulation&) = delete;
  Simulation& operator=(const Simulation&) = delete;

  // The randomized run: faults per the mix until some honest validator has committed
  // heights - kHeightsAfterSync (or kChaosTicksMax), then a synchronous network, then the
  // termination bound. Call once, on a fresh Simulation.
  Outcome Run();

  // ---- scripted control, for scenarios (no random faults unless the mix asks) ----
  void Start();  // StartEvent to every validator
  // Runs events until `done()` holds (checked after each event) or `ticks` more ticks have
  // passed; true if done. Stops early on a violation.
  bool RunUntil(const std::function<bool()>& done, std::uint64_t ticks);
  void Crash(std::size_t node);
  // Crashes `node` right after its next PersistSigned: the record is durable, the message
  // it covers never leaves.
  void CrashAfterNextPersist(std::size_t node);
  void Restart(std::size_t node);
  void Cut(std::size_t a, std::size_t b);
  void Heal(std::size_t a, std::size_t b);
  // Messages for which `drop` returns true are lost (gossip and sync included) until the
  // filter is cleared with nullptr.
  void SetDropFilter(std::function<bool(std::size_t from, std::size_t to, const Message&)> drop);

  // ---- observers ----
  std::uint64_t now_ticks() const;
  std::size_t size() const;
  const proto::ValidatorSet& validators() const;  // the genesis set; node i holds validators[i]
  Behaviour behaviour(std::size_t node) const;
  bool down(std::size_t node) const;
  Height committed(std::size_t node) const;         // the height of its ledger
  const Engine* engine(std::size_t node) const;     // nullptr while down, and for silent validators
  const std::vector<SignedEntry>& signed_log() const;
  std::size_t evidence_reported(std::size_t node) const;
  const std::optional<std::string>& violation() const;
  const Stats& stats() const;
  std::string Describe() const;  // one line per validator: height, round, step, last signed

 private:
  std::unique_ptr<SimulationImpl> impl_;
};

}  // namespace civic::consensus::sim
