// The simulator; sim.h says what it models and checks. Invariants of a run:
//   - the PRNG is read only through Below(), in an order fixed by the order of events, so a
//     seed replays exactly;
//   - events leave queue_ in (tick, send sequence) order, and none is scheduled in the past;
//   - a node has an engine exactly while it is up (silent Byzantine validators never have
//     one); its safety storage and its ledger belong to the node and survive its crashes;
//   - timers and the application's answers carry the node's incarnation and die with it;
//   - violation_ holds the first violation found; nothing runs after it.
#include "sim.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <deque>
#include <map>
#include <random>
#include <set>
#include <tuple>
#include <utility>

#include "civic/proto/assert.h"
#include "civic/proto/chain.h"
#include "civic/proto/codec.h"
#include "civic/proto/ed25519.h"
#include "civic/proto/hash.h"

namespace civic::consensus::sim {
namespace {

using proto::VoteType;

proto::ChainId SimChain() { return proto::ChainId::Parse("civic-sim").value(); }

// The safety record's storage. It lives beside the node, not inside its engine, so that a
// crash keeps exactly what was written.
class MemoryStorage final : public SafetyStorage {
 public:
  proto::Result<void> Write(const proto::Bytes& record) override {
    stored_ = record;
    return {};
  }
  proto::Result<std::optional<proto::Bytes>> Read() override { return stored_; }

 private:
  std::optional<proto::Bytes> stored_;
};

struct LedgerEntry {
  Proposal proposal;
  proto::CommitCertificate certificate;
  proto::Hash32 app_hash;  // SHA-256(previous app hash || block hash)
};

struct Node {
  std::size_t index = 0;
  Behaviour behaviour = Behaviour::kHonest;
  proto::Secret32 key_seed{};
  std::unique_ptr<proto::Ed25519KeyPair> byzantine_key;  // signs outside the engine (Byzantine only)
  std::unique_ptr<Engine> engine;                        // nullptr while down
  MemoryStorage storage;                                 // survives crashes
  std::unique_ptr<SafetyStore> store;                    // rebuilt on restart
  std::vector<LedgerEntry> ledger;                       // survives crashes
  std::uint64_t incarnation = 0;
  std::uint64_t version = 0;  // changes whenever the engine takes an event
  bool down = false;
  // Crash right after the next PersistSigned: when the random schedule asks (only if that
  // stays within the fault model, unless the run is "heavy"), or always (scenarios).
  enum class CrashPlan : std::uint8_t { kNone, kIfWithinModel, kAlways } crash_after_persist = CrashPlan::kNone;
  std::size_t evidence = 0;
  // Options::node_gossip: this height's own proposal and latest votes (lost in a crash), and
  // where the engine was at the last look for a stall.
  Height own_height = 0;
  std::optional<Proposal> own_proposal;
  std::deque<proto::Vote> own_votes;
  std::pair<Height, Round> stall_mark{0, kNilRound};
  std::uint64_t stall_tick = 0;
  std::uint64_t stalled_looks = 0;

  bool honest() const { return behaviour == Behaviour::kHonest; }
};

struct Delivery {
  std::size_t from = 0;
  std::size_t to = 0;
  std::vector<Message> messages;
};
struct Local {  // a timer or an application answer; lost if the node crashed since
  std::size_t node = 0;
  std::uint64_t incarnation = 0;
  Event event;
};
enum class ControlKind : std::uint8_t { kGossip, kChaos, kHeal, kRestart, kSynced };
struct Control {
  ControlKind kind = ControlKind::kGossip;
  std::size_t a = 0;
  std::size_t b = 0;
};
using Item = std::variant<Delivery, Local, Control>;

struct BlockInfo {
  Height height = 0;
  Validity validity = Validity::kInvalid;
};

enum class PartitionPhase : std::uint8_t { kNone, kCutting, kHolding, kHealing };

std::string NodeName(std::size_t i) { return "v" + std::to_string(i); }
std::string Summary(const Message& message) {
  if (const auto* p = std::get_if<Proposal>(&message)) {
    return "proposal " + std::to_string(p->body.height) + "/" + std::to_string(p->body.round) + " " +
           ShortHex(p->body.block_hash) +
           (p->body.valid_round ? " vr " + std::to_string(*p->body.valid_round) : std::string());
  }
  if (const auto* v = std::get_if<proto::Vote>(&message)) {
    return std::string(v->body.type == VoteType::kPrevote ? "prevote " : "precommit ") +
           std::to_string(v->body.height) + "/" + std::to_string(v->body.round) + " " + ToString(v->body.block_hash);
  }
  if (const auto* certificate = std::get_if<CertificatePayload>(&message)) {
    const proto::VoteBody& body = certificate->votes.front().body;
    return "polka certificate " + std::to_string(body.height) + "/" + std::to_string(body.round) + " " +
           ToString(body.block_hash) + " (" + std::to_string(certificate->votes.size()) + " votes)";
  }
  const auto& sync = std::get<SyncPayload>(message);
  return "sync " + std::to_string(sync.proposal.body.height) + " (" + std::to_string(sync.commit.size()) + " votes)";
}

}  // namespace

std::string_view BehaviourName(Behaviour behaviour) {
  switch (behaviour) {
    case Behaviour::kHonest: return "honest";
    case Behaviour::kSilent: return "silent";
    case Behaviour::kEquivocatingProposer: return "equivocating-proposer";
    case Behaviour::kDoubleVoter: return "double-voter";
    case Behaviour::kNilVoter: return "nil-voter";
    case Behaviour::kLockBreaker: return "lock-breaker";
  }
  return "unknown";
}

std::vector<std::string_view> MixNames() { return {"calm", "lossy", "partitions", "crashes", "byzantine", "all", "any"}; }

std::optional<FaultMix> MixNamed(std::string_view name) {
  FaultMix mix;
  if (name == "calm") return mix;
  mix.drop_percent_max = 30;
  mix.duplicate_percent_max = 20;
  mix.delay_ticks_max = kChaosDelayTicksMax;
  if (name == "lossy") return mix;
  if (name == "partitions") {
    mix.partitions = true;
    return mix;
  }
  if (name == "crashes") {
    mix.crashes = true;
    return mix;
  }
  if (name == "byzantine") {
    mix.byzantine = true;
    mix.set_changes = true;
    mix.slow_sync = true;
    return mix;
  }
  mix.partitions = true;
  mix.crashes = true;
  mix.byzantine = true;
  mix.set_changes = true;
  mix.slow_sync = true;
  if (name == "all") return mix;
  if (name == "any") {
    mix.any = true;
    return mix;
  }
  return std::nullopt;
}

class SimulationImpl {
 public:
  explicit SimulationImpl(Options options);

  Outcome Run();
  void Start();
  bool RunUntil(const std::function<bool()>& done, std::uint64_t ticks);
  void Crash(std::size_t i);
  void CrashAfterNextPersist(std::size_t i) { nodes_.at(i).crash_after_persist = Node::CrashPlan::kAlways; }
  void Restart(std::size_t i);
  void Cut(std::size_t a, std::size_t b);
  void Heal(std::size_t a, std::size_t b);
  void SetDropFilter(std::function<bool(std::size_t, std::size_t, const Message&)> drop) { filter_ = std::move(drop); }

  std::uint64_t now_ticks() const { return now_; }
  std::size_t size() const { return nodes_.size(); }
  const proto::ValidatorSet& validators() const { return genesis_; }
  Behaviour behaviour(std::size_t i) const { return nodes_.at(i).behaviour; }
  bool down(std::size_t i) const { return nodes_.at(i).down; }
  Height committed(std::size_t i) const { return nodes_.at(i).ledger.size(); }
  const Engine* engine(std::size_t i) const { return nodes_.at(i).engine.get(); }
  const std::vector<SignedEntry>& signed_log() const { return signed_log_; }
  std::size_t evidence_reported(std::size_t i) const { return nodes_.at(i).evidence; }
  const std::optional<std::string>& violation() const { return violation_; }
  const Stats& stats() const { return stats_; }
  std::string Describe() const;

 private:
  // ---- randomness: the run's only source ----
  std::uint64_t Below(std::uint64_t bound) {
    CIVIC_ASSERT(bound > 0);
    return prng_() % bound;
  }
  bool Percent(std::uint32_t percent) { return Below(100) < percent; }
  template <class T>
  void Shuffle(std::vector<T>& items) {  // Fisher-Yates on raw prng output
    for (std::size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[Below(i)]);
  }

  void DrawValidators();
  std::vector<std::uint64_t> DrawPowers();
  void PlanSetChanges();
  const proto::ValidatorSet& SetAt(Height height) const;
  ValidatorSchedule ScheduleFor(Height committed) const;

  void Schedule(std::uint64_t tick, Item item);
  bool Step();  // one event; false if nothing is left
  void Process(Item& item);
  void TraceEvent(const Item& item) const;
  void Deliver(Delivery& delivery);
  void StepEngine(Node& n, const Event& event, bool from_network);
  void Execute(Node& n, const Actions& actions);
  void ExecuteCommon(Node& n, const Action& action);
  void ExecuteByzantine(Node& n, const Actions& actions);
  void ByzantineProposal(Node& n, const Proposal& proposal);
  void ByzantineVote(Node& n, const proto::Vote& vote);
  void RecordSigned(const Node& n, Height height, Round round, SignedStep step, const proto::Hash32& digest,
                    const NilOrValue& value);
  void OnDecide(Node& n, const Decide& decide);
  void OnEvidence(Node& n, const ReportEvidence& report);

  void Send(std::size_t from, std::size_t to, std::vector<Message> messages);
  void Broadcast(std::size_t from, const Message& message);
  void Gossip();
  std::vector<Message> GossipFor(const Node& a, const Node& b) const;
  void KeepOwn(Node& n, Height height, const Message& message);
  void SendOwn(const Node& a, std::optional<std::size_t> to, bool relay = false);
  void SendOwnIfStalled(Node& a);
  SyncPayload SyncFor(const Node& a, Height height) const;

  void Chaos();
  void PartitionStep();
  void CrashStep();
  void BeginSync();
  void Synced();

  ValueId RegisterBlock(Height height, Round round, std::size_t proposer, std::uint32_t variant, Validity validity);
  Validity Validate(Height height, const ValueId& value) const;
  bool CertificateVerifies(Height height, const proto::CommitCertificate& certificate);

  void Violation(std::string what);
  void Trace(const std::string& line) const;
  Height MaxHonestCommitted() const;
  Height MinHonestCommitted() const;
  bool AllHonestReached(Height height) const;
  bool WithinFaultModel(Height height, std::size_t crashing) const;
  std::uint64_t Deadline() const;

  Options options_;
  std::mt19937_64 prng_;
  proto::ChainId chain_;
  std::vector<Node> nodes_;
  proto::ValidatorSet genesis_;
  std::map<Height, proto::ValidatorSet> changes_;    // decided while committing height -> set
  std::map<Height, proto::ValidatorSet> effective_;  // effective from height -> set

  // The faults this run draws.
  std::uint32_t drop_percent_ = 0;
  std::uint32_t duplicate_percent_ = 0;
  std::uint64_t delay_ticks_max_ = kCalmDelayTicksMax;
  bool partitions_ = false;
  bool crashes_ = false;
  bool slow_sync_ = false;

  std::uint64_t now_ = 0;
  std::uint64_t next_seq_ = 0;
  std::map<std::pair<std::uint64_t, std::uint64_t>, Item> queue_;  // (tick, send sequence) -> event
  std::vector<std::vector<bool>> cut_;
  struct GossipMark {
    std::uint64_t from_version = 0;
    std::uint64_t to_version = 0;
    std::uint64_t tick = 0;
    bool sent = false;
  };
  std::vector<std::vector<GossipMark>> gossip_marks_;  // [from][to]: the states at the last exchange
  PartitionPhase partition_phase_ = PartitionPhase::kNone;
  std::vector<std::pair<std::size_t, std::size_t>> partition_links_;  // to cut, or to heal
  std::function<bool(std::size_t, std::size_t, const Message&)> filter_;
  bool started_ = false;
  bool syncing_ = false;  // no more faults: drops stop, delays are bounded
  bool synced_ = false;   // and every partition healed, every crashed validator restarted
  Height target_ = 0;
  Height min_at_sync_ = 0;

  std::map<Height, std::set<std::size_t>> amnesiac_;  // honest validators that crashed at that height
  std::map<ValueId, BlockInfo> blocks_;
  std::map<Height, std::pair<ValueId, proto::Hash32>> decided_;  // first honest commit: block, app hash
  std::map<std::tuple<std::size_t, Height, Round, SignedStep>, proto::Hash32> signed_;
  std::vector<SignedEntry> signed_log_;
  std::set<std::pair<Height, proto::Bytes>> verified_certificates_;
  std::optional<std::string> violation_;
  Stats stats_;
};

// ---------------------------------------------------------------------------------------
// Setup

SimulationImpl::SimulationImpl(Options options)
    : options_(std::move(options)), prng_(options_.seed), chain_(SimChain()) {
  FaultMix mix = options_.mix;
  if (mix.any) {
    // The seed picks which faults this run has, so that one soak covers every mix.
    mix.partitions = Below(2) == 0;
    mix.crashes = Below(2) == 0;
    mix.byzantine = Below(2) == 0;
    mix.set_changes = Below(2) == 0;
    mix.slow_sync = Below(2) == 0;
    if (Below(4) == 0) mix.drop_percent_max = 0;
  }
  options_.mix = mix;
  drop_percent_ = mix.drop_percent_max == 0 ? 0 : static_cast<std::uint32_t>(Below(mix.drop_percent_max + 1));
  duplicate_percent_ =
      mix.duplicate_percent_max == 0 ? 0 : static_cast<std::uint32_t>(Below(mix.duplicate_percent_max + 1));
  delay_ticks_max_ = std::max<std::uint64_t>(1, mix.delay_ticks_max / (1 + Below(4)));
  partitions_ = mix.partitions;
  crashes_ = mix.crashes;
  slow_sync_ = mix.slow_sync && Below(2) == 0;
  stats_.heavy_crashes = crashes_ && Below(4) == 0;
  DrawValidators();
  PlanSetChanges();
  cut_.assign(nodes_.size(), std::vector<bool>(nodes_.size(), false));
  gossip_marks_.assign(nodes_.size(), std::vector<GossipMark>(nodes_.size()));
  stats_.validators = nodes_.size();
  for (const Node& n : nodes_) stats_.byzantine += n.honest() ? 0u : 1u;
}

void SimulationImpl::DrawValidators() {
  std::size_t count = options_.powers.size();
  if (count == 0) {
    CIVIC_ASSERT(options_.validators_max >= kValidatorsMin && options_.validators_max <= kValidatorsMax);
    count = options_.validators != 0 ? options_.validators
                                     : kValidatorsMin + Below(options_.validators_max - kValidatorsMin + 1);
  }
  CIVIC_ASSERT(count >= 1 && count <= kValidatorsMax);
  // Fixed keys per index; the set orders validators by key, and node i holds validators[i].
  std::vector<std::pair<proto::Ed25519PublicKey, proto::Secret32>> keys;
  for (std::size_t i = 0; i < count; ++i) {
    proto::Secret32 seed{};
    seed.fill(0x51);
    seed[0] = static_cast<std::uint8_t>(i);
    keys.emplace_back(proto::Ed25519KeyPair::FromSeed(seed).public_key(), seed);
  }
  std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.first < b.first; });

  nodes_.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    nodes_[i].index = i;
    nodes_[i].key_seed = keys[i].second;
  }
  if (!options_.behaviours.empty()) {
    CIVIC_ASSERT(options_.behaviours.size() == count);
    for (std::size_t i = 0; i < count; ++i) nodes_[i].behaviour = options_.behaviours[i];
  } else if (options_.mix.byzantine) {
    const std::size_t f = (count - 1) / 3;
    const std::size_t byzantine = 1 + Below(f);
    std::vector<std::size_t> order(count);
    for (std::size_t i = 0; i < count; ++i) order[i] = i;
    Shuffle(order);
    constexpr std::array<Behaviour, 5> kKinds = {Behaviour::kSilent, Behaviour::kEquivocatingProposer,
                                                 Behaviour::kDoubleVoter, Behaviour::kNilVoter,
                                                 Behaviour::kLockBreaker};
    for (std::size_t k = 0; k < byzantine; ++k) nodes_[order[k]].behaviour = kKinds[Below(kKinds.size())];
  }
  std::vector<std::uint64_t> powers = options_.powers.empty() ? DrawPowers() : options_.powers;
  for (std::size_t i = 0; i < count; ++i) genesis_.validators.push_back({keys[i].first, powers[i]});
  CIVIC_ASSERT(proto::ValidatorSet::IsCanonical(genesis_.validators));
  effective_.emplace(1, genesis_);

  for (Node& n : nodes_) {
    if (!n.honest()) n.byzantine_key = std::make_unique<proto::Ed25519KeyPair>(proto::Ed25519KeyPair::FromSeed(n.key_seed));
  }
}

// Unequal powers, with the Byzantine validators' share below 1/3 of the total.
std::vector<std::uint64_t> SimulationImpl::DrawPowers() {
  std::vector<std::uint64_t> powers(nodes_.size());
  std::uint64_t byzantine = 0;
  std::uint64_t total = 0;
  for (std::size_t i = 0; i < nodes_.size(); ++i) {
    powers[i] = 1 + Below(nodes_[i].honest() ? kHonestPowerMax : kByzantinePowerMax);
    total += powers[i];
    if (!nodes_[i].honest()) byzantine += powers[i];
  }
  // Raise honest powers one at a time until 3 * byzantine < total: at most 3 * byzantine steps.
  for (std::size_t i = 0; 3 * byzantine >= total; i = (i + 1) % nodes_.size()) {
    if (!nodes_[i].honest()) continue;
    ++powers[i];
    ++total;
  }
  return powers;
}

void SimulationImpl::PlanSetChanges() {
  if (!options_.mix.set_changes) return;
  // Decided while committing height h, effective at h + kValidatorSetDelay; planned for
  // every height a run can reach, so every honest application decides the same.
  const Height last = 4 * options_.heights + 4 * kHeightsAfterSync;
  for (Height h = 1; h <= last; ++h) {
    if (Below(6) != 0) continue;
    proto::ValidatorSet set = genesis_;
    const std::vector<std::uint64_t> powers = DrawPowers();
    for (std::size_t i = 0; i < set.validators.size(); ++i) set.validators[i].power = powers[i];
    changes_.emplace(h, set);
    effective_.emplace(h + kValidatorSetDelay, std::move(set));
  }
}

const proto::ValidatorSet& SimulationImpl::SetAt(Height height) const {
  auto it = effective_.upper_bound(height);
  CIVIC_ASSERT(it != effective_.begin());
  return std::prev(it)->second;
}

// What a restarted node knows from its ledger: the genesis set and the changes decided
// while committing the heights it has.
ValidatorSchedule SimulationImpl::ScheduleFor(Height committed) const {
  ValidatorSchedule schedule(1, genesis_);
  for (const auto& [height, set] : changes_) {
    if (height > committed) break;
    CIVIC_ASSERT(schedule.ScheduleChange(height, set).has_value());
  }
  return schedule;
}

// ---------------------------------------------------------------------------------------
// The event loop

void SimulationImpl::Schedule(std::uint64_t tick, Item item) {
  if (queue_.size() >= kPendingMax) {
    Violation("more than kPendingMax (" + std::to_string(kPendingMax) + ") events pending");
    return;
  }
  queue_.emplace(std::make_pair(tick, next_seq_++), std::move(item));
}

void SimulationImpl::Start() {
  if (started_) return;
  started_ = true;
  for (Node& n : nodes_) {
    if (n.behaviour == Behaviour::kSilent) continue;
    n.store = std::make_unique<SafetyStore>(n.storage);
    n.engine = std::make_unique<Engine>(EngineConfig{chain_, options_.timeouts},
                                        proto::Ed25519KeyPair::FromSeed(n.key_seed), ScheduleFor(0), 1, std::nullopt);
  }
  for (Node& n : nodes_) {
    if (n.engine) StepEngine(n, StartEvent{}, /*from_network=*/false);
  }
  Schedule(now_ + kGossipIntervalTicks, Control{ControlKind::kGossip});
}

bool SimulationImpl::Step() {
  if (queue_.empty()) return false;
  auto handle = queue_.extract(queue_.begin());
  CIVIC_ASSERT(handle.key().first >= now_);
  now_ = handle.key().first;
  ++stats_.events;
  if (options_.trace) TraceEvent(handle.mapped());
  Process(handle.mapped());
  if (stats_.events > kEventsMax) Violation("more than kEventsMax (" + std::to_string(kEventsMax) + ") events");
  return true;
}

// One line per timer, answer of the application and fault, before it is processed.
void SimulationImpl::TraceEvent(const Item& item) const {
  const auto* local = std::get_if<Local>(&item);
  if (local != nullptr && local->incarnation == nodes_[local->node].incarnation) {
    const std::string who = NodeName(local->node);
    if (const auto* timeout = std::get_if<TimeoutEvent>(&local->event)) {
      Trace(who + " timeout " + std::string(TimeoutKindName(timeout->kind)) + " " +
            std::to_string(timeout->height) + "/" + std::to_string(timeout->round));
    } else if (const auto* value = std::get_if<ProposalValueEvent>(&local->event)) {
      Trace(who + " gets a block to propose at " + std::to_string(value->height) + "/" +
            std::to_string(value->round) + ": " + ShortHex(value->value));
    } else if (const auto* validation = std::get_if<ValidationEvent>(&local->event)) {
      Trace(who + " learns that " + ShortHex(validation->value) + " is " +
            (validation->validity == Validity::kValid ? "valid" : "invalid"));
    } else if (const auto* committed = std::get_if<CommittedEvent>(&local->event)) {
      Trace(who + " has applied height " + std::to_string(committed->height));
    }
  } else if (const auto* control = std::get_if<Control>(&item)) {
    if (control->kind != ControlKind::kGossip && control->kind != ControlKind::kChaos) {
      Trace("control " + std::to_string(static_cast<int>(control->kind)) + " " + std::to_string(control->a) + " " +
            std::to_string(control->b));
    }
  }
}

void SimulationImpl::Process(Item& item) {
  if (auto* delivery = std::get_if<Delivery>(&item)) {
    Deliver(*delivery);
  } else if (auto* local = std::get_if<Local>(&item)) {
    Node& n = nodes_[local->node];
    if (n.down || !n.engine || n.incarnation != local->incarnation) return;  // lost in a crash
    // node.cc: a round of its own that times out sends its messages again first.
    const auto* timeout = std::get_if<TimeoutEvent>(&local->event);
    if (options_.node_gossip && timeout != nullptr && timeout->height == n.engine->height() &&
        timeout->round == n.engine->round()) {
      SendOwn(n, std::nullopt);
    }
    StepEngine(n, local->event, /*from_network=*/false);
  } else {
    const Control& control = std::get<Control>(item);
    switch (control.kind) {
      case ControlKind::kGossip:
        Gossip();
        Schedule(now_ + kGossipIntervalTicks, Control{ControlKind::kGossip});
        break;
      case ControlKind::kChaos: Chaos(); break;
      case ControlKind::kHeal: Heal(control.a, control.b); break;
      case ControlKind::kRestart:
        if (nodes_[control.a].down) Restart(control.a);
        break;
      case ControlKind::kSynced: Synced(); break;
    }
  }
}

bool SimulationImpl::RunUntil(const std::function<bool()>& done, std::uint64_t ticks) {
  Start();
  const std::uint64_t until = now_ + ticks;
  while (!violation_) {
    if (done()) return true;
    if (queue_.empty() || queue_.begin()->first.first > until) break;
    Step();
  }
  if (!violation_ && done()) return true;
  if (!violation_) now_ = std::max(now_, until);
  return false;
}

Outcome SimulationImpl::Run() {
  Start();
  const bool faults = drop_percent_ > 0 || duplicate_percent_ > 0 || delay_ticks_max_ > kCalmDelayTicksMax ||
                      partitions_ || crashes_;
  if (faults) {
    Schedule(now_ + 1 + Below(kChaosStepTicksMax), Control{ControlKind::kChaos});
  } else {
    BeginSync();
  }
  const Height chaos_until = options_.heights > kHeightsAfterSync ? options_.heights - kHeightsAfterSync : 0;
  while (!violation_) {
    if (synced_ && AllHonestReached(target_)) {
      stats_.ticks_after_sync = now_ - stats_.sync_tick;
      break;
    }
    if (!syncing_ && (MaxHonestCommitted() >= chaos_until || now_ >= kChaosTicksMax)) BeginSync();
    if (synced_ && !stats_.liveness_required && now_ > stats_.sync_tick + kBeyondModelTicksMax) break;
    if (synced_ && now_ > Deadline()) {
      Violation("termination: the network has been synchronous since tick " + std::to_string(stats_.sync_tick) +
                ", but not every honest validator committed height " + std::to_string(target_) + " by tick " +
                std::to_string(Deadline()));
      break;
    }
    if (!Step()) {
      Violation("nothing left to happen");
      break;
    }
  }
  stats_.end_tick = now_;
  Outcome outcome;
  outcome.ok = !violation_.has_value();
  if (violation_) outcome.violation = *violation_;
  outcome.stats = stats_;
  return outcome;
}

std::uint64_t SimulationImpl::Deadline() const {
  return stats_.sync_tick + kRecoveryTicksMax + (target_ - std::min(target_, min_at_sync_)) * kTicksPerHeightMax;
}

// ---------------------------------------------------------------------------------------
// Nodes

void SimulationImpl::Deliver(Delivery& delivery) {
  Node& n = nodes_[delivery.to];
  if (n.down || !n.engine) return;
  ++stats_.deliveries;
  for (const Message& message : delivery.messages) {
    if (n.down || violation_) return;  // crashed while handling an earlier message of the packet
    if (options_.trace) Trace(NodeName(delivery.from) + " -> " + NodeName(delivery.to) + ": " + Summary(message));
    if (const auto* proposal = std::get_if<Proposal>(&message)) {
      StepEngine(n, ProposalEvent{*proposal}, /*from_network=*/true);
    } else if (const auto* vote = std::get_if<proto::Vote>(&message)) {
      StepEngine(n, VoteEvent{*vote}, /*from_network=*/true);
    } else if (const auto* certificate = std::get_if<CertificatePayload>(&message)) {
      StepEngine(n, CertificateEvent{certificate->votes}, /*from_network=*/true);
    } else {
      const SyncPayload& sync = std::get<SyncPayload>(message);
      StepEngine(n, ProposalEvent{sync.proposal}, /*from_network=*/true);
      if (!n.down) StepEngine(n, CertificateEvent{sync.commit}, /*from_network=*/true);
    }
  }
}

void SimulationImpl::StepEngine(Node& n, const Event& event, bool from_network) {
  ++n.version;
  proto::Result<Actions> actions = n.engine->Step(event);
  if (!actions) {
    // Input from the network may be bad or merely too early: the engine drops it and says
    // why. Our own events (start, timers, the application's answers) must always be taken.
    if (from_network) {
      ++stats_.rejected;
      if (options_.trace) Trace("  " + NodeName(n.index) + " refused it: " + proto::ToString(actions.error()));
    } else {
      Violation(NodeName(n.index) + " refused its own event: " + proto::ToString(actions.error()));
    }
    return;
  }
  if (n.honest()) {
    Execute(n, *actions);
  } else {
    ExecuteByzantine(n, *actions);
  }
  if (n.honest() && n.engine) stats_.round_max = std::max(stats_.round_max, n.engine->round());
}

// The node shell: actions in order, PersistSigned durable before what follows.
void SimulationImpl::Execute(Node& n, const Actions& actions) {
  const LastSigned* persisted = nullptr;  // the record written by the action just before
  for (const Action& action : actions) {
    if (n.down || violation_) return;
    const LastSigned* persisted_now = nullptr;
    if (const auto* persist = std::get_if<PersistSigned>(&action)) {
      if (proto::Result<void> ok = n.store->Persist(persist->record); !ok) {
        Violation(NodeName(n.index) + "'s safety store refused a record: " + proto::ToString(ok.error()));
        return;
      }
      if (n.crash_after_persist != Node::CrashPlan::kNone) {
        const bool always = n.crash_after_persist == Node::CrashPlan::kAlways;
        n.crash_after_persist = Node::CrashPlan::kNone;
        if (always || stats_.heavy_crashes || WithinFaultModel(n.ledger.size() + 1, n.index)) {
          Crash(n.index);  // durable, never sent
          return;
        }
      }
      persisted_now = &persist->record;
    } else if (const auto* vote = std::get_if<BroadcastVote>(&action)) {
      const proto::VoteBody& body = vote->vote.body;
      const SignedStep step = body.type == VoteType::kPrevote ? SignedStep::kPrevote : SignedStep::kPrecommit;
      const proto::Hash32 digest = proto::VoteSigningDigest(chain_, body).value();
      if (persisted == nullptr || persisted->digest != digest || persisted->height != body.height ||
          persisted->round != body.round || persisted->step != step) {
        Violation(NodeName(n.index) + " broadcast a vote that the action before did not persist");
        return;
      }
      RecordSigned(n, body.height, Round{body.round}, step, digest, body.block_hash);
      Broadcast(n.index, vote->vote);
      if (options_.node_gossip) KeepOwn(n, body.height, vote->vote);
    } else if (const auto* proposal = std::get_if<BroadcastProposal>(&action)) {
      const ProposalBody& body = proposal->proposal.body;
      const proto::Hash32 digest = ProposalSigningDigest(chain_, body).value();
      if (persisted == nullptr || persisted->digest != digest || persisted->height != body.height ||
          persisted->round != body.round || persisted->step != SignedStep::kProposal) {
        Violation(NodeName(n.index) + " broadcast a proposal that the action before did not persist");
        return;
      }
      RecordSigned(n, body.height, Round{body.round}, SignedStep::kProposal, digest, body.block_hash);
      if (options_.node_gossip && body.valid_round) {
        if (std::optional<std::vector<proto::Vote>> polka = n.engine->Polka(Round{*body.valid_round}, body.block_hash)) {
          Broadcast(n.index, CertificatePayload{std::move(*polka)});
        }
      }
      Broadcast(n.index, proposal->proposal);
      if (options_.node_gossip) KeepOwn(n, body.height, proposal->proposal);
    } else if (const auto* decide = std::get_if<Decide>(&action)) {
      OnDecide(n, *decide);
    } else if (const auto* report = std::get_if<ReportEvidence>(&action)) {
      OnEvidence(n, *report);
    } else {
      ExecuteCommon(n, action);
    }
    persisted = persisted_now;
  }
}

// Timers and the application, the same for every node.
void SimulationImpl::ExecuteCommon(Node& n, const Action& action) {
  if (const auto* timer = std::get_if<ScheduleTimeout>(&action)) {
    Trace(NodeName(n.index) + " arms " + std::string(TimeoutKindName(timer->kind)) + " " +
          std::to_string(timer->height) + "/" + std::to_string(timer->round) + " for " +
          std::to_string(timer->duration_ticks));
    Schedule(now_ + timer->duration_ticks,
             Local{n.index, n.incarnation, TimeoutEvent{timer->height, timer->round, timer->kind}});
  } else if (const auto* request = std::get_if<RequestProposal>(&action)) {
    const ValueId value = RegisterBlock(request->height, request->round, n.index, 0, Validity::kValid);
    Schedule(now_ + Below(kAppDelayTicksMax + 1),
             Local{n.index, n.incarnation, ProposalValueEvent{request->height, request->round, value}});
  } else if (const auto* validation = std::get_if<RequestValidation>(&action)) {
    Schedule(now_ + Below(kAppDelayTicksMax + 1),
             Local{n.index, n.incarnation,
                   ValidationEvent{validation->height, validation->value, Validate(validation->height, validation->value)}});
  }
}

void SimulationImpl::RecordSigned(const Node& n, Height height, Round round, SignedStep step,
                                  const proto::Hash32& digest, const NilOrValue& value) {
  const auto [it, inserted] = signed_.emplace(std::make_tuple(n.index, height, round, step), digest);
  if (!inserted && it->second != digest) {
    Violation("honest " + NodeName(n.index) + " signed two different messages at height " + std::to_string(height) +
              " round " + std::to_string(round) + " step " + std::to_string(static_cast<int>(step)));
    return;
  }
  signed_log_.push_back(SignedEntry{now_, n.index, height, round, step, value});
  Trace(NodeName(n.index) + " signs " + std::to_string(static_cast<int>(step)) + " " + std::to_string(height) + "/" +
        std::to_string(round) + " " + ToString(value));
}

void SimulationImpl::OnDecide(Node& n, const Decide& decide) {
  const Height h = decide.height;
  const std::string who = NodeName(n.index);
  if (h != n.ledger.size() + 1) {
    Violation(who + " decided height " + std::to_string(h) + " with " + std::to_string(n.ledger.size()) +
              " heights committed");
    return;
  }
  const ValueId& block = decide.proposal.body.block_hash;
  const proto::CommitCertificate& certificate = decide.certificate;
  if (certificate.height != h || certificate.block_hash != block || Round{certificate.round} != decide.round ||
      !CertificateVerifies(h, certificate)) {
    Violation(who + " committed height " + std::to_string(h) + " without a certificate that verifies against its set");
    return;
  }
  if (Validate(h, block) != Validity::kValid) {
    Violation(who + " committed at height " + std::to_string(h) + " block " + ShortHex(block) +
              ", which the application's validate refuses");
    return;
  }
  const proto::Hash32 previous = n.ledger.empty() ? proto::Hash32{} : n.ledger.back().app_hash;
  proto::Bytes chained(previous.bytes.begin(), previous.bytes.end());
  chained.insert(chained.end(), block.bytes.begin(), block.bytes.end());
  const proto::Hash32 app_hash = proto::Sha256(chained);
  const auto [first, inserted] = decided_.emplace(h, std::make_pair(block, app_hash));
  if (!inserted && first->second.first != block) {
    Violation("agreement: at height " + std::to_string(h) + " " + who + " committed " + ShortHex(block) +
              ", another honest validator " + ShortHex(first->second.first));
    return;
  }
  if (!inserted && first->second.second != app_hash) {
    Violation("application hashes differ at height " + std::to_string(h) + " (" + who + ")");
    return;
  }
  n.ledger.push_back(LedgerEntry{decide.proposal, certificate, app_hash});  // the durable commit
  Trace(who + " commits height " + std::to_string(h) + " round " + std::to_string(decide.round) + " " + ShortHex(block));
  std::optional<proto::ValidatorSet> next;
  if (const auto change = changes_.find(h); change != changes_.end()) next = change->second;
  Schedule(now_ + Below(kAppDelayTicksMax + 1), Local{n.index, n.incarnation, CommittedEvent{h, std::move(next)}});
}

void SimulationImpl::OnEvidence(Node& n, const ReportEvidence& report) {
  ++n.evidence;
  ++stats_.evidence;
  ValidatorId culprit;
  bool verifies = false;
  if (const auto* vote = std::get_if<VoteEquivocation>(&report.evidence)) {
    culprit = vote->first.body.validator;
    verifies = VerifyEvidence(chain_, *vote).has_value();
  } else {
    const auto& proposal = std::get<ProposalEquivocation>(report.evidence);
    culprit = proposal.first.body.proposer;
    verifies = VerifyEvidence(chain_, proposal).has_value();
  }
  if (!verifies) {
    Violation(NodeName(n.index) + " reported evidence that does not verify");
    return;
  }
  for (const Node& other : nodes_) {
    if (genesis_.validators[other.index].key == culprit && other.honest()) {
      Violation(NodeName(n.index) + " reported evidence against honest " + NodeName(other.index));
      return;
    }
  }
}

// Byzantine nodes run an engine to know where the others are, and replace what it would
// send by what their behaviour sends, signed directly with their key.
void SimulationImpl::ExecuteByzantine(Node& n, const Actions& actions) {
  for (const Action& action : actions) {
    if (const auto* proposal = std::get_if<BroadcastProposal>(&action)) {
      ByzantineProposal(n, proposal->proposal);
    } else if (const auto* vote = std::get_if<BroadcastVote>(&action)) {
      ByzantineVote(n, vote->vote);
    } else if (const auto* decide = std::get_if<Decide>(&action)) {
      n.ledger.push_back(LedgerEntry{decide->proposal, decide->certificate, proto::Hash32{}});
      std::optional<proto::ValidatorSet> next;
      if (const auto change = changes_.find(decide->height); change != changes_.end()) next = change->second;
      Schedule(now_ + Below(kAppDelayTicksMax + 1),
               Local{n.index, n.incarnation, CommittedEvent{decide->height, std::move(next)}});
    } else {
      ExecuteCommon(n, action);  // PersistSigned and evidence: nothing to do
    }
  }
}

void SimulationImpl::ByzantineProposal(Node& n, const Proposal& proposal) {
  if (n.behaviour == Behaviour::kLockBreaker) {
    ProposalBody body = proposal.body;
    body.block_hash = RegisterBlock(body.height, Round{body.round}, n.index, 3, Validity::kValid);
    body.valid_round.reset();
    Broadcast(n.index, SignProposal(chain_, body, *n.byzantine_key).value());
    return;
  }
  if (n.behaviour != Behaviour::kEquivocatingProposer) {
    Broadcast(n.index, proposal);
    return;
  }
  ProposalBody body = proposal.body;
  const bool valid = Below(3) != 0;
  body.block_hash = RegisterBlock(body.height, Round{body.round}, n.index, 1 + static_cast<std::uint32_t>(Below(2)),
                                  valid ? Validity::kValid : Validity::kInvalid);
  if (Below(2) == 0) body.valid_round.reset();
  const Proposal other = SignProposal(chain_, body, *n.byzantine_key).value();
  for (std::size_t to = 0; to < nodes_.size(); ++to) {
    if (to == n.index) continue;
    switch (Below(3)) {
      case 0: Send(n.index, to, {proposal}); break;
      case 1: Send(n.index, to, {other}); break;
      default: Send(n.index, to, Below(2) == 0 ? std::vector<Message>{proposal, other} : std::vector<Message>{other, proposal});
    }
  }
}

void SimulationImpl::ByzantineVote(Node& n, const proto::Vote& vote) {
  proto::VoteBody body = vote.body;
  switch (n.behaviour) {
    case Behaviour::kNilVoter:
      body.block_hash.reset();
      Broadcast(n.index, proto::SignVote(chain_, body, *n.byzantine_key).value());
      return;
    case Behaviour::kDoubleVoter: {
      if (body.block_hash && Below(2) == 0) {
        body.block_hash.reset();
      } else {
        // Another block of this height that may well be proposed: the round's proposer's.
        const std::size_t proposer = Below(nodes_.size());
        body.block_hash = RegisterBlock(body.height, Round{body.round}, proposer, 0, Validity::kValid);
      }
      const proto::Vote other = proto::SignVote(chain_, body, *n.byzantine_key).value();
      for (std::size_t to = 0; to < nodes_.size(); ++to) {
        if (to == n.index) continue;
        switch (Below(3)) {
          case 0: Send(n.index, to, {vote}); break;
          case 1: Send(n.index, to, {other}); break;
          default: Send(n.index, to, {vote, other});
        }
      }
      return;
    }
    case Behaviour::kLockBreaker: {
      if (body.type != VoteType::kPrecommit || !body.block_hash) break;
      body.block_hash.reset();
      const proto::Vote nil = proto::SignVote(chain_, body, *n.byzantine_key).value();
      for (std::size_t to = 0; to < nodes_.size(); ++to) {
        if (to != n.index) Send(n.index, to, {Below(2) == 0 ? Message{vote} : Message{nil}});
      }
      return;
    }
    default: break;
  }
  Broadcast(n.index, vote);
}

void SimulationImpl::Crash(std::size_t i) {
  Node& n = nodes_.at(i);
  CIVIC_ASSERT(n.honest());  // Byzantine validators are never crashed: they are faulty already
  if (n.down) return;
  Trace(NodeName(i) + " crashes");
  const Height height = n.ledger.size() + 1;
  if (!WithinFaultModel(height, i)) stats_.liveness_required = false;
  amnesiac_[height].insert(i);
  n.down = true;
  n.crash_after_persist = Node::CrashPlan::kNone;
  n.engine.reset();
  n.store.reset();
  n.own_proposal.reset();
  n.own_votes.clear();
  n.stall_mark = {0, kNilRound};
  n.stalled_looks = 0;
  ++n.incarnation;
  ++stats_.crashes;
}

// Rebuilt from the durable parts only: the safety record and the ledger.
void SimulationImpl::Restart(std::size_t i) {
  Node& n = nodes_.at(i);
  if (!n.down) return;
  n.store = std::make_unique<SafetyStore>(n.storage);
  proto::Result<std::optional<LastSigned>> last = n.store->Load();
  if (!last) {
    Violation(NodeName(i) + " cannot load its safety record: " + proto::ToString(last.error()));
    return;
  }
  const Height committed = n.ledger.size();
  n.engine = std::make_unique<Engine>(EngineConfig{chain_, options_.timeouts},
                                      proto::Ed25519KeyPair::FromSeed(n.key_seed), ScheduleFor(committed),
                                      committed + 1, *last);
  n.down = false;
  ++n.incarnation;
  Trace(NodeName(i) + " restarts at height " + std::to_string(committed + 1));
  StepEngine(n, StartEvent{}, /*from_network=*/false);
  // node.cc: its peers connect again, and each sends it what it would send again.
  if (options_.node_gossip) {
    for (const Node& peer : nodes_) {
      if (peer.index != i) SendOwn(peer, i, /*relay=*/true);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Network

void SimulationImpl::Send(std::size_t from, std::size_t to, std::vector<Message> messages) {
  if (from == to) return;
  if (filter_) std::erase_if(messages, [&](const Message& m) { return filter_(from, to, m); });
  if (messages.empty()) return;
  if (cut_[from][to] || (!syncing_ && Percent(drop_percent_))) {
    ++stats_.dropped;
    return;
  }
  std::uint64_t delay_max = syncing_ ? kCalmDelayTicksMax : delay_ticks_max_;
  if (slow_sync_ && std::holds_alternative<SyncPayload>(messages.front())) delay_max += kSlowSyncTicksMax;
  if (Percent(duplicate_percent_)) {
    ++stats_.duplicated;
    Schedule(now_ + 1 + Below(delay_max), Delivery{from, to, messages});
  }
  Schedule(now_ + 1 + Below(delay_max), Delivery{from, to, std::move(messages)});
}

void SimulationImpl::Broadcast(std::size_t from, const Message& message) {
  for (std::size_t to = 0; to < nodes_.size(); ++to) {
    if (to != from) Send(from, to, {message});
  }
}

void SimulationImpl::Gossip() {
  for (const Node& a : nodes_) {
    if (!a.honest() || a.down || !a.engine) continue;
    for (const Node& b : nodes_) {
      if (b.index == a.index || b.down || !b.engine) continue;
      GossipMark& mark = gossip_marks_[a.index][b.index];
      if (mark.sent && mark.from_version == a.version && mark.to_version == b.version &&
          now_ < mark.tick + kGossipRetryTicks) {
        continue;  // nothing new on either side since the last exchange
      }
      mark = GossipMark{a.version, b.version, now_, true};
      std::vector<Message> messages = GossipFor(a, b);
      if (!messages.empty()) Send(a.index, b.index, std::move(messages));
    }
  }
  if (options_.node_gossip) {
    for (Node& a : nodes_) SendOwnIfStalled(a);
  }
}

// node.cc keeps its own proposal and latest votes of the height it is deciding.
void SimulationImpl::KeepOwn(Node& n, Height height, const Message& message) {
  if (height != n.own_height) {
    n.own_height = height;
    n.own_proposal.reset();
    n.own_votes.clear();
  }
  if (const auto* proposal = std::get_if<Proposal>(&message)) {
    n.own_proposal = *proposal;
    return;
  }
  n.own_votes.push_back(std::get<proto::Vote>(message));
  if (n.own_votes.size() > kOwnVotesKept) n.own_votes.pop_front();
}

// What node.cc sends again (SendOwn): the polka behind its valid value, then its own
// proposal and votes of the height, and (`relay`) every vote it holds of its round and the
// one before; to one peer, or (nullopt) to all.
void SimulationImpl::SendOwn(const Node& a, std::optional<std::size_t> to, bool relay) {
  // A decided height sends nothing (node.cc forgets its own messages as it commits).
  if (!a.honest() || a.down || !a.engine || a.engine->decided()) return;
  std::vector<Message> messages;
  if (std::optional<std::vector<proto::Vote>> polka = a.engine->ValidPolka()) {
    messages.push_back(CertificatePayload{std::move(*polka)});
  }
  if (a.own_height == a.engine->height()) {
    if (a.own_proposal) messages.push_back(*a.own_proposal);
    for (const proto::Vote& vote : a.own_votes) messages.push_back(vote);
  }
  if (relay) {
    for (const proto::Vote& vote : a.engine->VotesToRelay(kRelayedVotesMax)) messages.push_back(vote);
  }
  if (messages.empty()) return;
  for (std::size_t b = 0; b < nodes_.size(); ++b) {
    if (b != a.index && (!to || *to == b)) Send(a.index, b, messages);
  }
}

// node.cc's SendOwnIfStalled: looks every kStallTicks; a height and round unchanged for 1, 2,
// 4, 8 and 16 looks, then every 16, sends again; a decided height sends nothing.
void SimulationImpl::SendOwnIfStalled(Node& a) {
  if (!a.honest() || a.down || !a.engine || now_ < a.stall_tick + kStallTicks) return;
  a.stall_tick = now_;
  if (a.engine->decided()) return;
  const std::pair<Height, Round> point{a.engine->height(), a.engine->round()};
  if (point != a.stall_mark) {
    a.stall_mark = point;
    a.stalled_looks = 0;
    return;
  }
  if (ResendWhenStalled(++a.stalled_looks)) SendOwn(a, std::nullopt, /*relay=*/true);
}

// What `a` would send `b` after learning b's state (Tendermint's peer state: the height,
// round and votes each peer has). A node behind gets the decided block of its height.
std::vector<Message> SimulationImpl::GossipFor(const Node& a, const Node& b) const {
  const Engine& ea = *a.engine;
  const Engine& eb = *b.engine;
  std::vector<Message> out;
  if (eb.decided()) return out;
  if (eb.height() < ea.height()) {
    out.push_back(SyncFor(a, eb.height()));
    return out;
  }
  if (options_.node_gossip || eb.height() != ea.height() || ea.decided()) return out;
  const DriverState& sa = ea.driver().state();
  const DriverState& sb = eb.driver().state();
  const Round from = std::max<Round>(0, eb.round() - kGossipRoundsBack);
  const auto lacks_polka = [&](Round round, const ValueId& value) {
    return sa.keeper.HasQuorum(round, VoteType::kPrevote, value) &&
           !sb.keeper.HasQuorum(round, VoteType::kPrevote, value);
  };
  const auto add_polka = [&](Round round, const ValueId& value) {
    std::optional<std::vector<proto::Vote>> polka =
        sa.keeper.CertificateFor(Threshold{ThresholdKind::kPolkaValue, round, value});
    if (polka) out.push_back(CertificatePayload{std::move(*polka)});
  };
  for (const Proposal& p : sa.proposals) {
    if (Round{p.body.round} < from) continue;
    if (std::find(sb.proposals.begin(), sb.proposals.end(), p) == sb.proposals.end()) out.push_back(p);
    // Line 28 needs the polka of the proposal's valid round, however old.
    const Round valid_round = ValidRoundOf(p.body);
    if (valid_round != kNilRound && valid_round < from && lacks_polka(valid_round, p.body.block_hash)) {
      add_polka(valid_round, p.body.block_hash);
    }
  }
  const auto& rounds_b = sb.keeper.rounds();
  for (auto it = sa.keeper.rounds().lower_bound(from); it != sa.keeper.rounds().end(); ++it) {
    const auto& [round, votes] = *it;
    // Polkas first: b may have counted an equivocator's other vote and so miss a polka that
    // only a recount of every received vote shows (VoteKeeper::ApplyCertificate).
    for (const auto& [value, weight] : votes.prevotes.value_weights) {
      if (value && lacks_polka(round, *value)) add_polka(round, *value);
    }
    const auto there = rounds_b.find(round);
    for (const VoteType type : {VoteType::kPrevote, VoteType::kPrecommit}) {
      const std::vector<proto::Vote>& have = votes.count(type).received;
      const std::vector<proto::Vote>* theirs = there != rounds_b.end() ? &there->second.count(type).received : nullptr;
      for (const proto::Vote& v : have) {
        if (out.size() >= kGossipMessagesMax) return out;
        if (theirs == nullptr || std::find(theirs->begin(), theirs->end(), v) == theirs->end()) out.push_back(v);
      }
    }
  }
  return out;
}

SyncPayload SimulationImpl::SyncFor(const Node& a, Height height) const {
  CIVIC_ASSERT(height >= 1 && height <= a.ledger.size());
  const LedgerEntry& entry = a.ledger[height - 1];
  const proto::ValidatorSet& set = SetAt(height);
  SyncPayload sync{entry.proposal, {}};
  for (const proto::CommitSignature& signature : entry.certificate.signatures) {
    proto::VoteBody body;
    body.type = VoteType::kPrecommit;
    body.height = height;
    body.round = entry.certificate.round;
    body.block_hash = entry.certificate.block_hash;
    body.validator = set.validators.at(signature.validator_index).key;
    sync.commit.push_back(proto::Vote{body, signature.signature});
  }
  return sync;
}

void SimulationImpl::Cut(std::size_t a, std::size_t b) {
  if (a == b || cut_[a][b]) return;
  cut_[a][b] = cut_[b][a] = true;
  ++stats_.cuts;
}

void SimulationImpl::Heal(std::size_t a, std::size_t b) {
  if (a == b || !cut_[a][b]) return;
  cut_[a][b] = cut_[b][a] = false;
  // node.cc: the connection comes back, and each side sends the other its own messages.
  if (options_.node_gossip) {
    SendOwn(nodes_[a], b, /*relay=*/true);
    SendOwn(nodes_[b], a, /*relay=*/true);
  }
}

// ---------------------------------------------------------------------------------------
// Faults, then synchrony

void SimulationImpl::Chaos() {
  if (syncing_) return;
  if (partitions_) PartitionStep();
  if (crashes_) CrashStep();
  Schedule(now_ + 1 + Below(kChaosStepTicksMax), Control{ControlKind::kChaos});
}

// A partition is planned as a split into two sides; the links across are cut one per step,
// held for a while, then healed one per step in random order.
void SimulationImpl::PartitionStep() {
  switch (partition_phase_) {
    case PartitionPhase::kNone: {
      if (Below(4) != 0) return;
      std::vector<std::size_t> side(nodes_.size());
      for (std::size_t& s : side) s = Below(2);
      side[Below(side.size())] = 0;
      side[Below(side.size())] = 1;  // both sides non-empty (possibly the same index twice: then retry later)
      partition_links_.clear();
      for (std::size_t a = 0; a < nodes_.size(); ++a) {
        for (std::size_t b = a + 1; b < nodes_.size(); ++b) {
          if (side[a] != side[b]) partition_links_.emplace_back(a, b);
        }
      }
      Shuffle(partition_links_);
      partition_phase_ = partition_links_.empty() ? PartitionPhase::kNone : PartitionPhase::kCutting;
      return;
    }
    case PartitionPhase::kCutting: {
      const auto [a, b] = partition_links_.back();
      partition_links_.pop_back();
      Cut(a, b);
      if (partition_links_.empty()) partition_phase_ = PartitionPhase::kHolding;
      return;
    }
    case PartitionPhase::kHolding: {
      if (Below(3) != 0) return;
      for (std::size_t a = 0; a < nodes_.size(); ++a) {
        for (std::size_t b = a + 1; b < nodes_.size(); ++b) {
          if (cut_[a][b]) partition_links_.emplace_back(a, b);
        }
      }
      Shuffle(partition_links_);
      partition_phase_ = PartitionPhase::kHealing;
      return;
    }
    case PartitionPhase::kHealing: {
      if (!partition_links_.empty()) {
        const auto [a, b] = partition_links_.back();
        partition_links_.pop_back();
        Heal(a, b);
      }
      if (partition_links_.empty()) partition_phase_ = PartitionPhase::kNone;
      return;
    }
  }
}

void SimulationImpl::CrashStep() {
  std::vector<std::size_t> up;
  std::vector<std::size_t> crashed;
  for (const Node& n : nodes_) {
    if (!n.honest()) continue;
    (n.down ? crashed : up).push_back(n.index);
  }
  if (!up.empty() && Below(8) == 0) {
    const std::size_t victim = up[Below(up.size())];
    if (!stats_.heavy_crashes && !WithinFaultModel(nodes_[victim].ledger.size() + 1, victim)) return;
    if (Below(2) == 0) {
      Crash(victim);
    } else {
      nodes_[victim].crash_after_persist = Node::CrashPlan::kIfWithinModel;  // mid-step, after a record is durable
    }
  } else if (!crashed.empty() && Below(5) == 0) {
    Restart(crashed[Below(crashed.size())]);
  }
}

// The faults stop: no more drops, bounded delays; every cut link heals and every crashed
// validator restarts, one at a time in random order.
void SimulationImpl::BeginSync() {
  syncing_ = true;
  for (Node& n : nodes_) n.crash_after_persist = Node::CrashPlan::kNone;
  struct Repair {
    ControlKind kind;
    std::size_t a;
    std::size_t b;
  };
  std::vector<Repair> repairs;
  for (std::size_t a = 0; a < nodes_.size(); ++a) {
    for (std::size_t b = a + 1; b < nodes_.size(); ++b) {
      if (cut_[a][b]) repairs.push_back({ControlKind::kHeal, a, b});
    }
    if (nodes_[a].down) repairs.push_back({ControlKind::kRestart, a, 0});
  }
  Shuffle(repairs);
  std::uint64_t tick = now_;
  for (const Repair& repair : repairs) {
    tick += 1 + Below(kSyncSpreadTicksMax);
    Schedule(tick, Control{repair.kind, repair.a, repair.b});
  }
  Schedule(tick, Control{ControlKind::kSynced});
}

void SimulationImpl::Synced() {
  synced_ = true;
  stats_.sync_tick = now_;
  target_ = std::max(options_.heights, MaxHonestCommitted() + kHeightsAfterSync);
  min_at_sync_ = MinHonestCommitted();
  stats_.target = target_;
}

// ---------------------------------------------------------------------------------------
// The application and the checks

ValueId SimulationImpl::RegisterBlock(Height height, Round round, std::size_t proposer, std::uint32_t variant,
                                      Validity validity) {
  const std::string name = "civic-sim block " + std::to_string(height) + "/" + std::to_string(round) + " by " +
                           std::to_string(proposer) + " #" + std::to_string(variant);
  const ValueId value = proto::Sha256(proto::AsBytes(name));
  blocks_.emplace(value, BlockInfo{height, validity});
  return value;
}

Validity SimulationImpl::Validate(Height height, const ValueId& value) const {
  const auto it = blocks_.find(value);
  if (it == blocks_.end() || it->second.height != height) return Validity::kInvalid;
  return it->second.validity;
}

// VerifyCommitCertificate is a pure function of (set, certificate): one check per distinct
// certificate is enough, and saves most of the signature checks of a run.
bool SimulationImpl::CertificateVerifies(Height height, const proto::CommitCertificate& certificate) {
  proto::Result<proto::Bytes> encoded = proto::Encode(certificate);
  if (!encoded) return false;
  auto key = std::make_pair(height, std::move(*encoded));
  if (verified_certificates_.contains(key)) return true;
  if (!proto::VerifyCommitCertificate(chain_, SetAt(height), certificate)) return false;
  verified_certificates_.insert(std::move(key));
  return true;
}

void SimulationImpl::Trace(const std::string& line) const {
  if (options_.trace) std::fprintf(stderr, "%8llu %s\n", static_cast<unsigned long long>(now_), line.c_str());
}

void SimulationImpl::Violation(std::string what) {
  if (violation_) return;  // the first one is the one to fix
  violation_ = "at tick " + std::to_string(now_) + ": " + what + "\n" + Describe();
}

Height SimulationImpl::MaxHonestCommitted() const {
  Height h = 0;
  for (const Node& n : nodes_) {
    if (n.honest()) h = std::max<Height>(h, n.ledger.size());
  }
  return h;
}

Height SimulationImpl::MinHonestCommitted() const {
  Height h = UINT64_MAX;
  for (const Node& n : nodes_) {
    if (n.honest()) h = std::min<Height>(h, n.ledger.size());
  }
  return h;
}

// Would Byzantine plus amnesiac power at `height` stay below 1/3 if `crashing` crashed there?
bool SimulationImpl::WithinFaultModel(Height height, std::size_t crashing) const {
  const proto::ValidatorSet& set = SetAt(height);
  std::uint64_t faulty = 0;
  for (const Node& n : nodes_) {
    const auto amnesiac = amnesiac_.find(height);
    const bool forgot = n.index == crashing || (amnesiac != amnesiac_.end() && amnesiac->second.contains(n.index));
    if (!n.honest() || forgot) faulty += set.validators[n.index].power;
  }
  return 3 * faulty < set.TotalPower();
}

bool SimulationImpl::AllHonestReached(Height height) const {
  return std::all_of(nodes_.begin(), nodes_.end(),
                     [&](const Node& n) { return !n.honest() || n.ledger.size() >= height; });
}

std::string SimulationImpl::Describe() const {
  std::string out = "  seed " + std::to_string(options_.seed) + ", " + std::to_string(nodes_.size()) +
                    " validators, drop " + std::to_string(drop_percent_) + "%, duplicate " +
                    std::to_string(duplicate_percent_) + "%, delay <= " + std::to_string(delay_ticks_max_) +
                    " ticks" + (partitions_ ? ", partitions" : "") + (crashes_ ? ", crashes" : "") +
                    (changes_.empty() ? "" : ", set changes") + (slow_sync_ ? ", slow sync" : "") +
                    (stats_.heavy_crashes ? ", heavy crashes" : "") +
                    (stats_.liveness_required ? "" : " (beyond the fault model: safety only)") + "; tick " +
                    std::to_string(now_) + "\n";
  if (options_.trace) {
    out += "  powers at the height of v0:";
    for (const proto::Validator& v : SetAt(nodes_[0].ledger.size() + 1).validators) out += " " + std::to_string(v.power);
    out += "\n";
  }
  for (const Node& n : nodes_) {
    out += "  " + NodeName(n.index) + " power " + std::to_string(genesis_.validators[n.index].power) + " " +
           std::string(BehaviourName(n.behaviour)) + ": committed " + std::to_string(n.ledger.size());
    if (n.down) {
      out += ", down";
    } else if (n.engine) {
      out += ", at height " + std::to_string(n.engine->height()) + " round " + std::to_string(n.engine->round()) +
             " step " + std::string(StepName(n.engine->driver().step())) +
             (n.engine->decided() ? " (decided)" : "");
    }
    if (n.engine && n.engine->last_signed()) {
      const LastSigned& last = *n.engine->last_signed();
      out += ", last signed " + std::to_string(last.height) + "/" + std::to_string(last.round) + "/" +
             std::to_string(static_cast<int>(last.step));
    }
    out += "\n";
    if (options_.trace && n.engine) {
      // The driver's view of its current round, for replaying a seed by hand.
      const DriverState& state = n.engine->driver().state();
      out += "      locked " + ToString(state.round.locked_value) + "@" + std::to_string(state.round.locked_round) +
             " valid " + ToString(state.round.valid_value) + "@" + std::to_string(state.round.valid_round) +
             ", proposals " + std::to_string(state.proposals.size()) + ", pending " +
             std::to_string(state.pending.size()) + ", total power " + std::to_string(state.keeper.total_weight()) +
             " (the simulator's set: " + std::to_string(SetAt(n.engine->height()).TotalPower()) + ")\n";
      for (const auto& [round, votes] : state.keeper.rounds()) {
        out += "      round " + std::to_string(round) + ":";
        for (const VoteType type : {VoteType::kPrevote, VoteType::kPrecommit}) {
          out += type == VoteType::kPrevote ? " prevotes" : " precommits";
          for (const auto& [value, weight] : votes.count(type).value_weights) {
            out += " " + ToString(value) + "=" + std::to_string(weight);
          }
          out += " from";
          for (const proto::Vote& vote : votes.count(type).received) {
            for (const Node& sender : nodes_) {
              if (genesis_.validators[sender.index].key == vote.body.validator) out += " " + NodeName(sender.index);
            }
          }
        }
        out += "\n";
      }
    }
  }
  return out;
}

// ---------------------------------------------------------------------------------------
// The public face

Simulation::Simulation(Options options) : impl_(std::make_unique<SimulationImpl>(std::move(options))) {}
Simulation::~Simulation() = default;
Outcome Simulation::Run() { return impl_->Run(); }
void Simulation::Start() { impl_->Start(); }
bool Simulation::RunUntil(const std::function<bool()>& done, std::uint64_t ticks) { return impl_->RunUntil(done, ticks); }
void Simulation::Crash(std::size_t node) { impl_->Crash(node); }
void Simulation::CrashAfterNextPersist(std::size_t node) { impl_->CrashAfterNextPersist(node); }
void Simulation::Restart(std::size_t node) { impl_->Restart(node); }
void Simulation::Cut(std::size_t a, std::size_t b) { impl_->Cut(a, b); }
void Simulation::Heal(std::size_t a, std::size_t b) { impl_->Heal(a, b); }
void Simulation::SetDropFilter(std::function<bool(std::size_t, std::size_t, const Message&)> drop) {
  impl_->SetDropFilter(std::move(drop));
}
std::uint64_t Simulation::now_ticks() const { return impl_->now_ticks(); }
std::size_t Simulation::size() const { return impl_->size(); }
const proto::ValidatorSet& Simulation::validators() const { return impl_->validators(); }
Behaviour Simulation::behaviour(std::size_t node) const { return impl_->behaviour(node); }
bool Simulation::down(std::size_t node) const { return impl_->down(node); }
Height Simulation::committed(std::size_t node) const { return impl_->committed(node); }
const Engine* Simulation::engine(std::size_t node) const { return impl_->engine(node); }
const std::vector<SignedEntry>& Simulation::signed_log() const { return impl_->signed_log(); }
std::size_t Simulation::evidence_reported(std::size_t node) const { return impl_->evidence_reported(node); }
const std::optional<std::string>& Simulation::violation() const { return impl_->violation(); }
const Stats& Simulation::stats() const { return impl_->stats(); }
std::string Simulation::Describe() const { return impl_->Describe(); }

}  // namespace civic::consensus::sim
