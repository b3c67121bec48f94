#include "civic/contracts/state.h"

#include <algorithm>
#include <array>
#include <map>
#include <set>
#include <string>

#include "civic/contracts/tally.h"
#include "civic/proto/assert.h"
#include "civic/proto/codec.h"
#include "civic/proto/payloads.h"

namespace civic::contracts {
namespace {

using proto::ResidentId;

// ---- keys ----

// A key built in place: keys are short (at most "rpl/" + 48 bytes), and building one per
// read without touching the heap is a measurable part of applying a ballot.
class Key {
 public:
  explicit Key(std::string_view prefix) { Append(reinterpret_cast<const std::uint8_t*>(prefix.data()), prefix.size()); }
  Key& U8(std::uint8_t v) { return BigEndian(v, 1); }
  Key& U32(std::uint32_t v) { return BigEndian(v, 4); }
  Key& U64(std::uint64_t v) { return BigEndian(v, 8); }
  template <std::size_t N, class Tag>
  Key& Fixed(const proto::FixedBytes<N, Tag>& v) {
    Append(v.bytes.data(), N);
    return *this;
  }
  ByteView view() const { return ByteView(bytes_.data(), size_); }
  operator ByteView() const { return view(); }  // NOLINT: keys are passed straight to KvView

 private:
  void Append(const std::uint8_t* data, std::size_t n) {
    CIVIC_ASSERT(n <= bytes_.size() - size_);
    std::copy(data, data + n, bytes_.begin() + static_cast<std::ptrdiff_t>(size_));
    size_ += n;
  }
  Key& BigEndian(std::uint64_t v, int width) {
    std::array<std::uint8_t, 8> out;
    for (int i = 0; i < width; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(v >> (8 * (width - 1 - i)));
    Append(out.data(), static_cast<std::size_t>(width));
    return *this;
  }
  std::array<std::uint8_t, 64> bytes_;
  std::size_t size_ = 0;
};

std::uint64_t ReadBigEndian(ByteView bytes) {
  std::uint64_t v = 0;
  for (std::uint8_t b : bytes) v = (v << 8) | b;
  return v;
}

Key GenesisKey() { return Key("genesis"); }
Key ResidentKey(const ResidentId& id) { return std::move(Key("res/").Fixed(id)); }
Key RoundKey(std::uint64_t round) { return std::move(Key("rnd/").U64(round)); }
Key ProposalPrefix(std::uint64_t round) { return std::move(Key("prp/").U64(round)); }
Key ProposalKey(std::uint64_t round, std::uint32_t id) { return std::move(Key("prp/").U64(round).U32(id)); }
Key ProposalLineKey(std::uint64_t round, std::uint32_t id) { return std::move(Key("pbl/").U64(round).U32(id)); }
Key BallotPrefix(std::uint64_t round) { return std::move(Key("bal/").U64(round)); }
Key BallotKey(std::uint64_t round, const ResidentId& r) { return std::move(Key("bal/").U64(round).Fixed(r)); }
Key HistoryPrefix(std::uint64_t round, const ResidentId& r) { return std::move(Key("bah/").U64(round).Fixed(r)); }
Key HistoryKey(std::uint64_t round, const ResidentId& r, std::uint32_t seq) {
  return std::move(Key("bah/").U64(round).Fixed(r).U32(seq));
}
Key TallyKey(std::uint64_t round) { return std::move(Key("tal/").U64(round)); }
Key SpendingKey(std::uint64_t round, const ResidentId& r) { return std::move(Key("tvs/").U64(round).Fixed(r)); }
Key ValidatorChangeKey(std::uint32_t sequence) { return std::move(Key("vch/").U32(sequence)); }
Key EquivocationKey(const proto::VoteBody& vote) {
  return std::move(Key("evd/").Fixed(vote.validator).U64(vote.height).U32(vote.round).U8(static_cast<std::uint8_t>(vote.type)));
}
// A signed transaction carries its valid_until_height, so a replay of it finds this key; and
// keys sorted by expiry let BeginBlock drop the ones that can no longer matter.
Key ReplayKey(std::uint64_t valid_until, const proto::SchnorrPublicKey& signer, std::uint64_t nonce) {
  return std::move(Key("rpl/").U64(valid_until).Fixed(signer).U64(nonce));
}
constexpr std::size_t kReplayPrefixBytes = 4;  // "rpl/"

// ---- records ----

template <class T>
Result<std::optional<T>> Load(const KvView& kv, ByteView key) {
  std::optional<Bytes> bytes = kv.Get(key);
  if (!bytes) return std::optional<T>();
  proto::Result<T> decoded = proto::Decode<T>(*bytes);
  if (!decoded) {
    return Reject(TxError::kCorruptState, "stored record does not decode (" + proto::ToString(decoded.error()) +
                                              "); the node's database is damaged");
  }
  return std::optional<T>(std::move(*decoded));
}

template <class T>
void Store(KvView& kv, ByteView key, const T& record) {
  proto::Result<Bytes> bytes = proto::Encode(record);
  // Every record is built from checked input within its bounds: failing here is our bug.
  CIVIC_ASSERT(bytes.has_value());
  kv.Put(key, *bytes);
}

template <class T>
Result<void> StoreChecked(KvView& kv, ByteView key, const T& record) {
  proto::Result<Bytes> bytes = proto::Encode(record);
  if (!bytes) {
    return Reject(TxError::kTallyFailed, "the tally's result cannot be stored: " + proto::ToString(bytes.error()));
  }
  kv.Put(key, *bytes);
  return {};
}

template <class T>
Result<T> DecodePayload(const proto::TxBody& body) {
  proto::Result<T> payload = proto::Decode<T>(body.payload);
  if (!payload) {
    return Reject(TxError::kMalformedPayload, std::string(proto::TxKindName(body.kind)) +
                                                  " payload does not decode: " + proto::ToString(payload.error()));
  }
  return std::move(*payload);
}

std::string Hex(const ResidentId& id) { return proto::ToHex(id); }

// ---- the state machine, one transaction at a time ----

class Execution {
 public:
  Execution(const proto::ChainId& chain, KvView& kv, const BlockContext& block, const proto::VerifiedTx& tx)
      : chain_(chain), kv_(kv), block_(block), tx_(tx), body_(tx.tx().body) {}

  Result<Applied> Run();

 private:
  Result<void> RequireClerk() const;
  // The resident who signed, registered and current.
  Result<ResidentRecord> RequireCurrentResident(const ResidentId& id, std::string_view who) const;
  Result<RoundRecord> RequireRound(std::uint64_t round_id) const;
  Result<void> RequireDistrictsExist(const std::vector<std::uint32_t>& districts) const;

  Result<void> RegisterResident();
  Result<void> RegisterPaperResident();
  Result<void> Register(const ResidentId& id, ResidentKind kind, const std::vector<std::uint32_t>& districts,
                        std::uint64_t expires_at_height);
  Result<void> RevokeResident();
  Result<void> OpenRound();
  Result<void> SubmitProposal();
  Result<void> ReviewProposal();
  Result<void> CastBallot();
  Result<void> AssistedBallot();
  Result<void> Vote(const ResidentId& resident, const proto::Ballot& ballot, std::string paper_reference);
  Result<void> CheckBallot(const RoundRecord& round, const ResidentRecord& resident, const proto::Ballot& ballot) const;
  Result<void> CloseRound();
  Result<void> ChangeValidators();

  void Emit(std::string type, std::vector<std::pair<std::string, std::string>> attributes) {
    events_.push_back(Event{std::move(type), std::move(attributes)});
  }

  const proto::ChainId& chain_;
  KvView& kv_;
  const BlockContext& block_;
  const proto::VerifiedTx& tx_;
  const proto::TxBody& body_;
  // Loaded on first use: a resident's ballot never needs it, and decoding it for every
  // ballot would cost a tenth of the ballot's time.
  Result<const GenesisState*> Genesis() const;
  mutable std::optional<GenesisState> genesis_;
  std::vector<Event> events_;
  std::optional<proto::ValidatorSet> next_validators_;
};

Result<Applied> Execution::Run() {
  if (body_.chain_id != chain_) {
    return Reject(TxError::kWrongChain, "transaction is for chain \"" + body_.chain_id.str() + "\", this is \"" +
                                            chain_.str() + "\"");
  }
  if (body_.valid_until_height < block_.height) {
    return Reject(TxError::kTxExpired, "transaction was valid until height " + std::to_string(body_.valid_until_height) +
                                           ", this block is " + std::to_string(block_.height) +
                                           "; sign it again with a later valid_until_height");
  }
  if (body_.valid_until_height - block_.height > kTxValidityWindowMax) {
    return Reject(TxError::kTxWindowTooLong, "valid_until_height may be at most " +
                                                 std::to_string(kTxValidityWindowMax) + " above the current height " +
                                                 std::to_string(block_.height));
  }
  if (kv_.Get(ReplayKey(body_.valid_until_height, body_.signer, body_.nonce))) {
    return Reject(TxError::kReplayed, "nonce " + std::to_string(body_.nonce) +
                                          " was already used by this signer; a transaction counts once");
  }
  Result<void> done = Reject(TxError::kUnsupportedKind, "unknown transaction kind");
  switch (body_.kind) {
    case proto::TxKind::kRegisterResident: done = RegisterResident(); break;
    case proto::TxKind::kRevokeResident: done = RevokeResident(); break;
    case proto::TxKind::kRegisterPaperResident: done = RegisterPaperResident(); break;
    case proto::TxKind::kOpenRound: done = OpenRound(); break;
    case proto::TxKind::kSubmitProposal: done = SubmitProposal(); break;
    case proto::TxKind::kReviewProposal: done = ReviewProposal(); break;
    case proto::TxKind::kCastBallot: done = CastBallot(); break;
    case proto::TxKind::kAssistedBallot: done = AssistedBallot(); break;
    case proto::TxKind::kCloseRound: done = CloseRound(); break;
    case proto::TxKind::kChangeValidators: done = ChangeValidators(); break;
  }
  if (!done) return tl::unexpected(done.error());

  // The nonce is spent only by a transaction that took effect.
  kv_.Put(ReplayKey(body_.valid_until_height, body_.signer, body_.nonce), ByteView());
  return Applied{std::move(events_), std::move(next_validators_)};
}

Result<const GenesisState*> Execution::Genesis() const {
  if (!genesis_) {
    Result<std::optional<GenesisState>> genesis = Load<GenesisState>(kv_, GenesisKey());
    if (!genesis) return tl::unexpected(genesis.error());
    if (!*genesis) return Reject(TxError::kCorruptState, "no genesis state; the node was not initialised");
    genesis_ = std::move(**genesis);
  }
  return &*genesis_;
}

Result<void> Execution::RequireClerk() const {
  Result<const GenesisState*> genesis = Genesis();
  if (!genesis) return tl::unexpected(genesis.error());
  const auto& clerks = (*genesis)->clerks;
  if (!std::binary_search(clerks.begin(), clerks.end(), body_.signer)) {
    return Reject(TxError::kNotClerk, std::string(proto::TxKindName(body_.kind)) +
                                          " must be signed by a clerk of this network; " + proto::ToHex(body_.signer) +
                                          " is not one");
  }
  return {};
}

Result<ResidentRecord> Execution::RequireCurrentResident(const ResidentId& id, std::string_view who) const {
  Result<std::optional<ResidentRecord>> record = Load<ResidentRecord>(kv_, ResidentKey(id));
  if (!record) return tl::unexpected(record.error());
  if (!*record) {
    return Reject(TxError::kNotRegistered, std::string(who) + " " + Hex(id) +
                                               " is not on the voter roll; a clerk registers residents");
  }
  if ((*record)->revoked) {
    return Reject(TxError::kRegistrationRevoked, std::string(who) + "'s registration was revoked: " +
                                                     (*record)->revoke_reason);
  }
  if ((*record)->expires_at_height != 0 && (*record)->expires_at_height <= block_.height) {
    return Reject(TxError::kRegistrationExpired, std::string(who) + "'s registration expired at height " +
                                                     std::to_string((*record)->expires_at_height) +
                                                     "; a clerk can register again");
  }
  return std::move(**record);
}

Result<RoundRecord> Execution::RequireRound(std::uint64_t round_id) const {
  Result<std::optional<RoundRecord>> round = Load<RoundRecord>(kv_, RoundKey(round_id));
  if (!round) return tl::unexpected(round.error());
  if (!*round) return Reject(TxError::kUnknownRound, "there is no round " + std::to_string(round_id));
  return std::move(**round);
}

Result<void> Execution::RequireDistrictsExist(const std::vector<std::uint32_t>& districts) const {
  for (std::uint32_t d : districts) {
    Result<const GenesisState*> genesis = Genesis();
    if (!genesis) return tl::unexpected(genesis.error());
    const auto& known = (*genesis)->districts;
    if (!std::any_of(known.begin(), known.end(), [d](const District& k) { return k.id == d; })) {
      return Reject(TxError::kUnknownDistrict, "district " + std::to_string(d) + " is not a district of this network");
    }
  }
  return {};
}

Result<void> Execution::RegisterResident() {
  if (Result<void> clerk = RequireClerk(); !clerk) return clerk;
  Result<proto::RegisterResident> p = DecodePayload<proto::RegisterResident>(body_);
  if (!p) return tl::unexpected(p.error());
  return Register(proto::ResidentIdOfKey(p->key), ResidentKind::kKey, p->districts, p->expires_at_height);
}

Result<void> Execution::RegisterPaperResident() {
  if (Result<void> clerk = RequireClerk(); !clerk) return clerk;
  Result<proto::RegisterPaperResident> p = DecodePayload<proto::RegisterPaperResident>(body_);
  if (!p) return tl::unexpected(p.error());
  return Register(proto::PaperResidentId(chain_, p->reference), ResidentKind::kPaper, p->districts,
                  p->expires_at_height);
}

Result<void> Execution::Register(const ResidentId& id, ResidentKind kind, const std::vector<std::uint32_t>& districts,
                                 std::uint64_t expires_at_height) {
  if (Result<void> known = RequireDistrictsExist(districts); !known) return known;
  if (expires_at_height != 0 && expires_at_height <= block_.height) {
    return Reject(TxError::kRegistrationExpired, "expires_at_height " + std::to_string(expires_at_height) +
                                                     " is not after the current height " +
                                                     std::to_string(block_.height));
  }
  Result<std::optional<ResidentRecord>> existing = Load<ResidentRecord>(kv_, ResidentKey(id));
  if (!existing) return tl::unexpected(existing.error());
  // A revoked or expired registration may be renewed; a current one may not be doubled.
  if (*existing && !(*existing)->revoked &&
      ((*existing)->expires_at_height == 0 || (*existing)->expires_at_height > block_.height)) {
    return Reject(TxError::kAlreadyRegistered, "resident " + Hex(id) + " is already registered");
  }
  ResidentRecord record;
  record.kind = kind;
  record.districts = districts;
  record.expires_at_height = expires_at_height;
  record.registered_at_height = block_.height;
  record.registered_by = body_.signer;
  Store(kv_, ResidentKey(id), record);
  Emit("resident-registered", {{"resident", Hex(id)}, {"kind", kind == ResidentKind::kKey ? "key" : "paper"}});
  return {};
}

Result<void> Execution::RevokeResident() {
  if (Result<void> clerk = RequireClerk(); !clerk) return clerk;
  Result<proto::RevokeResident> p = DecodePayload<proto::RevokeResident>(body_);
  if (!p) return tl::unexpected(p.error());
  Result<ResidentRecord> record = RequireCurrentResident(p->resident, "resident");
  if (!record) return tl::unexpected(record.error());
  record->revoked = true;
  record->revoke_reason = p->reason;
  record->revoked_at_height = block_.height;
  Store(kv_, ResidentKey(p->resident), *record);
  Emit("resident-revoked", {{"resident", Hex(p->resident)}, {"reason", p->reason}});
  return {};
}

Result<void> Execution::OpenRound() {
  if (Result<void> clerk = RequireClerk(); !clerk) return clerk;
  Result<proto::OpenRound> p = DecodePayload<proto::OpenRound>(body_);
  if (!p) return tl::unexpected(p.error());
  const proto::Constitution& constitution = p->constitution;
  std::vector<std::uint32_t> districts;
  for (const proto::DistrictBudget& d : constitution.district_budgets) districts.push_back(d.district);
  if (Result<void> known = RequireDistrictsExist(districts); !known) return known;
  if (!IsKnownValue(static_cast<OutcomeRule>(constitution.outcome_rule))) {
    return Reject(TxError::kMalformedPayload, "unknown outcome rule " + std::to_string(constitution.outcome_rule));
  }

  Result<std::optional<RoundRecord>> existing = Load<RoundRecord>(kv_, RoundKey(constitution.round_id));
  if (!existing) return tl::unexpected(existing.error());
  if (*existing) {
    // An amendment: only while the round's own voting has not started.
    const Phase phase = PhaseAt((*existing)->constitution, block_);
    if ((*existing)->closed || phase == Phase::kVoting || phase == Phase::kVotingEnded) {
      return Reject(TxError::kRoundFrozen, "round " + std::to_string(constitution.round_id) +
                                               " is frozen: its voting has started, so its constitution cannot change");
    }
  }
  const Phase new_phase = PhaseAt(constitution, block_);
  if (new_phase == Phase::kVoting || new_phase == Phase::kVotingEnded) {
    return Reject(TxError::kWrongPhase, "the constitution's voting would already have started; set later phases");
  }
  RoundRecord record = existing->value_or(RoundRecord{});
  const bool amended = existing->has_value();
  record.constitution = constitution;
  if (!amended) record.opened_at_height = block_.height;
  Store(kv_, RoundKey(constitution.round_id), record);
  Emit(amended ? "round-amended" : "round-opened", {{"round", std::to_string(constitution.round_id)}});
  return {};
}

Result<void> Execution::SubmitProposal() {
  Result<proto::SubmitProposal> p = DecodePayload<proto::SubmitProposal>(body_);
  if (!p) return tl::unexpected(p.error());
  const ResidentId proposer = proto::ResidentIdOfKey(body_.signer);
  Result<ResidentRecord> resident = RequireCurrentResident(proposer, "the proposer");
  if (!resident) return tl::unexpected(resident.error());
  Result<RoundRecord> round = RequireRound(p->round_id);
  if (!round) return tl::unexpected(round.error());
  const Phase phase = PhaseAt(round->constitution, block_);
  if (round->closed || phase != Phase::kProposals) {
    return Reject(TxError::kWrongPhase, "round " + std::to_string(p->round_id) + " is in its " +
                                            std::string(PhaseName(phase)) + " phase; proposals are accepted only in "
                                            "the proposals phase");
  }
  if (p->district != 0) {
    if (Result<void> known = RequireDistrictsExist({p->district}); !known) return known;
    if (!std::binary_search(resident->districts.begin(), resident->districts.end(), p->district)) {
      return Reject(TxError::kProposalOutsideDistrict, "a resident proposes for her own district(s) or city-wide "
                                                       "(district 0), not for district " + std::to_string(p->district));
    }
  }
  if (p->cost > round->constitution.total_budget) {
    return Reject(TxError::kProposalOverBudget, "the proposal costs " + std::to_string(p->cost) +
                                                  ", more than the round's whole budget of " +
                                                  std::to_string(round->constitution.total_budget));
  }
  if (round->proposal_count >= kProposalsPerRoundMax) {
    return Reject(TxError::kTooManyProposals, "round " + std::to_string(p->round_id) + " already has the most proposals a "
                                        "round may hold (" + std::to_string(kProposalsPerRoundMax) + ")");
  }
  const std::uint32_t id = ++round->proposal_count;
  ProposalRecord record;
  record.proposal = *p;
  record.proposer = proposer;
  record.submitted_at_height = block_.height;
  record.cost = p->cost;
  Store(kv_, ProposalKey(p->round_id, id), record);
  Store(kv_, ProposalLineKey(p->round_id, id), ProposalLine{record.review, record.cost, p->district});
  Store(kv_, RoundKey(p->round_id), *round);
  Emit("proposal-submitted", {{"round", std::to_string(p->round_id)}, {"proposal", std::to_string(id)}});
  return {};
}

Result<void> Execution::ReviewProposal() {
  if (Result<void> clerk = RequireClerk(); !clerk) return clerk;
  Result<proto::ReviewProposal> p = DecodePayload<proto::ReviewProposal>(body_);
  if (!p) return tl::unexpected(p.error());
  Result<RoundRecord> round = RequireRound(p->round_id);
  if (!round) return tl::unexpected(round.error());
  const Phase phase = PhaseAt(round->constitution, block_);
  if (round->closed || (phase != Phase::kProposals && phase != Phase::kReview)) {
    return Reject(TxError::kWrongPhase, "round " + std::to_string(p->round_id) + " is in its " +
                                            std::string(PhaseName(phase)) +
                                            " phase; reviews are accepted in the proposals and review phases");
  }
  Result<std::optional<ProposalRecord>> proposal = Load<ProposalRecord>(kv_, ProposalKey(p->round_id, p->proposal_id));
  if (!proposal) return tl::unexpected(proposal.error());
  if (!*proposal) {
    return Reject(TxError::kUnknownProposal, "round " + std::to_string(p->round_id) + " has no proposal " +
                                                 std::to_string(p->proposal_id));
  }
  ProposalRecord& record = **proposal;
  if (record.review != ReviewState::kPending) {
    return Reject(TxError::kAlreadyReviewed, "proposal " + std::to_string(p->proposal_id) + " was already reviewed");
  }
  if (p->adjusted_cost && *p->adjusted_cost > round->constitution.total_budget) {
    return Reject(TxError::kProposalOverBudget, "the adjusted cost is more than the round's whole budget");
  }
  record.review = p->feasible ? ReviewState::kFeasible : ReviewState::kInfeasible;
  record.review_reason = p->reason;
  record.reviewed_by = body_.signer;
  if (p->adjusted_cost) record.cost = *p->adjusted_cost;
  Store(kv_, ProposalKey(p->round_id, p->proposal_id), record);
  Store(kv_, ProposalLineKey(p->round_id, p->proposal_id), ProposalLine{record.review, record.cost, record.proposal.district});
  Emit("proposal-reviewed", {{"round", std::to_string(p->round_id)},
                             {"proposal", std::to_string(p->proposal_id)},
                             {"feasible", p->feasible ? "true" : "false"},
                             {"cost", std::to_string(record.cost)}});
  return {};
}

Result<void> Execution::CastBallot() {
  Result<proto::Ballot> ballot = DecodePayload<proto::Ballot>(body_);
  if (!ballot) return tl::unexpected(ballot.error());
  return Vote(proto::ResidentIdOfKey(body_.signer), *ballot, /*paper_reference=*/"");
}

Result<void> Execution::AssistedBallot() {
  if (Result<void> clerk = RequireClerk(); !clerk) return clerk;
  Result<proto::AssistedBallot> p = DecodePayload<proto::AssistedBallot>(body_);
  if (!p) return tl::unexpected(p.error());
  return Vote(p->resident, p->ballot, p->paper_ballot_reference);
}

Result<void> Execution::Vote(const ResidentId& resident_id, const proto::Ballot& ballot, std::string paper_reference) {
  Result<ResidentRecord> resident = RequireCurrentResident(resident_id, "the voter");
  if (!resident) return tl::unexpected(resident.error());
  if (paper_reference.empty() && resident->kind != ResidentKind::kKey) {
    return Reject(TxError::kNotRegistered, "a paper-only resident votes through a clerk's assisted ballot");
  }
  Result<RoundRecord> round = RequireRound(ballot.round_id);
  if (!round) return tl::unexpected(round.error());
  const Phase phase = PhaseAt(round->constitution, block_);
  if (round->closed || phase != Phase::kVoting) {
    return Reject(TxError::kWrongPhase, "round " + std::to_string(ballot.round_id) + " is in its " +
                                            std::string(PhaseName(phase)) + " phase; ballots count only while voting is open");
  }
  if (Result<void> valid = CheckBallot(*round, *resident, ballot); !valid) return valid;

  Result<std::optional<BallotRecord>> previous = Load<BallotRecord>(kv_, BallotKey(ballot.round_id, resident_id));
  if (!previous) return tl::unexpected(previous.error());
  BallotRecord record;
  record.choices = ballot.choices;
  record.tx_id = tx_.id();
  record.cast_at_height = block_.height;
  record.cast_by = body_.signer;
  record.nonce = body_.nonce;
  record.paper_ballot_reference = std::move(paper_reference);
  std::vector<std::pair<std::string, std::string>> attributes = {
      {"round", std::to_string(ballot.round_id)}, {"resident", Hex(resident_id)}};
  if (*previous && (*previous)->cast_by == body_.signer && body_.nonce <= (*previous)->nonce) {
    // A ballot signed before the one that counts (a lower nonce: wallets number them in
    // order) must not come back later, resubmitted by anyone, and undo the newer choice.
    return Reject(TxError::kStaleBallot, "a newer ballot from the same signer (nonce " +
                                             std::to_string((*previous)->nonce) + ") already counts; sign again to change it");
  }
  if (*previous && !record.paper_ballot_reference.empty() && (*previous)->paper_ballot_reference.empty()) {
    // A clerk enters ballots for residents without a device; a clerk cannot overrule a
    // ballot the resident cast herself. (Her own later ballot does replace an assisted one.)
    return Reject(TxError::kSelfCastBallotCounts, "resident " + Hex(resident_id) +
                                                      " cast her own ballot in this round; an assisted ballot cannot replace it");
  }
  if (*previous) {
    // The replaced ballot stays on record, with what replaced it.
    BallotRecord replaced = std::move(**previous);
    replaced.replaced_by = tx_.id();
    record.sequence = replaced.sequence + 1;
    Store(kv_, HistoryKey(ballot.round_id, resident_id, replaced.sequence), replaced);
    attributes.emplace_back("replaces", proto::ToHex(replaced.tx_id));
  }
  Store(kv_, BallotKey(ballot.round_id, resident_id), record);
  Emit("ballot-cast", std::move(attributes));
  return {};
}

Result<void> Execution::CheckBallot(const RoundRecord& round, const ResidentRecord& resident,
                                    const proto::Ballot& ballot) const {
  const proto::Constitution& c = round.constitution;
  const std::size_t n = ballot.choices.size();
  if (n < c.min_choices) {
    return Reject(TxError::kBallotTooFewChoices, "the ballot chooses " + std::to_string(n) + " projects; round " +
                                                     std::to_string(c.round_id) + " needs at least " +
                                                     std::to_string(c.min_choices));
  }
  if (n > c.max_choices) {
    return Reject(TxError::kBallotTooManyChoices, "the ballot chooses " + std::to_string(n) + " projects; round " +
                                                      std::to_string(c.round_id) + " allows at most " +
                                                      std::to_string(c.max_choices));
  }
  std::uint64_t points_total = 0;
  std::map<std::uint32_t, std::uint64_t> cost_by_unit;  // knapsack: chosen cost per tallied unit
  for (const proto::BallotChoice& choice : ballot.choices) {
    Result<std::optional<ProposalLine>> proposal = Load<ProposalLine>(kv_, ProposalLineKey(c.round_id, choice.project_id));
    if (!proposal) return tl::unexpected(proposal.error());
    if (!*proposal) {
      return Reject(TxError::kUnknownProposal, "round " + std::to_string(c.round_id) + " has no proposal " +
                                                   std::to_string(choice.project_id));
    }
    if ((*proposal)->review != ReviewState::kFeasible) {
      return Reject(TxError::kProposalNotFeasible, "proposal " + std::to_string(choice.project_id) +
                                                       " is not on the ballot: the clerks' review did not find it "
                                                       "feasible");
    }
    const std::uint32_t district = (*proposal)->district;
    if (district != 0 && !std::binary_search(resident.districts.begin(), resident.districts.end(), district)) {
      return Reject(TxError::kProposalOutsideDistrict, "proposal " + std::to_string(choice.project_id) +
                                                           " is in district " + std::to_string(district) +
                                                           ", where this resident does not vote");
    }
    if (c.ballot_type == proto::BallotType::kCumulative) {
      if (choice.points > c.points_per_project_max) {
        return Reject(TxError::kBallotTooManyPoints, "proposal " + std::to_string(choice.project_id) + " gets " +
                                                         std::to_string(choice.points) + " points; at most " +
                                                         std::to_string(c.points_per_project_max) + " per project");
      }
      points_total += choice.points;
    } else if (choice.points != 1) {
      return Reject(TxError::kBallotBadPoints, "an approval or knapsack ballot gives exactly 1 point to each chosen "
                                               "project");
    }
    const bool own_budget = std::any_of(c.district_budgets.begin(), c.district_budgets.end(),
                                        [district](const proto::DistrictBudget& d) { return d.district == district; });
    cost_by_unit[own_budget ? district : 0] += (*proposal)->cost;  // at most 256 * 2^53
  }
  if (c.ballot_type == proto::BallotType::kCumulative && points_total > c.points_total_max) {
    return Reject(TxError::kBallotTooManyPoints, "the ballot gives " + std::to_string(points_total) +
                                                     " points in all; at most " + std::to_string(c.points_total_max));
  }
  if (c.ballot_type == proto::BallotType::kKnapsack) {
    for (const auto& [unit, cost] : cost_by_unit) {
      std::uint64_t budget = c.total_budget;
      for (const proto::DistrictBudget& d : c.district_budgets) {
        if (unit == 0) budget -= d.budget;
        if (d.district == unit) budget = d.budget;
      }
      if (cost > budget) {
        return Reject(TxError::kBallotOverBudget, "the chosen projects cost " + std::to_string(cost) +
                                                      (unit == 0 ? std::string(" in the city-wide pool")
                                                                 : " in district " + std::to_string(unit)) +
                                                      ", more than its budget of " + std::to_string(budget));
      }
    }
  }
  return {};
}


// One tallied unit while it is being built: its proposals and the ballots' choices in it.
struct UnitInput {
  std::uint64_t budget = 0;
  std::vector<std::uint32_t> proposal_ids;  // ascending
  std::vector<std::uint64_t> costs;
  std::vector<ResidentId> voters;           // parallel to input.ballots
  TallyInput input;
};

Result<void> Execution::CloseRound() {
  if (Result<void> clerk = RequireClerk(); !clerk) return clerk;
  Result<proto::CloseRound> p = DecodePayload<proto::CloseRound>(body_);
  if (!p) return tl::unexpected(p.error());
  Result<RoundRecord> round = RequireRound(p->round_id);
  if (!round) return tl::unexpected(round.error());
  if (round->closed) return Reject(TxError::kRoundClosed, "round " + std::to_string(p->round_id) + " is already closed");
  const proto::Constitution& c = round->constitution;
  const Phase phase = PhaseAt(c, block_);
  if (phase != Phase::kVotingEnded) {
    return Reject(TxError::kWrongPhase, "round " + std::to_string(p->round_id) + " is in its " +
                                            std::string(PhaseName(phase)) + " phase; it can be closed once voting has ended");
  }

  // Units: each district with its own budget, and the city-wide pool with what is left.
  std::map<std::uint32_t, UnitInput> units;
  std::uint64_t pool = c.total_budget;
  for (const proto::DistrictBudget& d : c.district_budgets) {
    units[d.district].budget = d.budget;
    pool -= d.budget;
  }
  if (pool > 0) units[0].budget = pool;
  const auto unit_of = [&units](std::uint32_t district) -> std::uint32_t {
    return district != 0 && units.count(district) != 0 ? district : 0;
  };

  // Feasible proposals, ascending id: that is the tie-break's id order.
  std::map<std::uint32_t, std::pair<std::uint32_t, std::uint32_t>> where;  // proposal -> (unit, index in unit)
  std::map<std::uint32_t, std::uint32_t> district_of;                      // proposal -> its district
  bool corrupt = false;
  kv_.Scan(ProposalPrefix(p->round_id), [&](ByteView key, ByteView value) {
    proto::Result<ProposalRecord> record = proto::Decode<ProposalRecord>(value);
    if (!record) return !(corrupt = true);
    if (record->review != ReviewState::kFeasible) return true;
    const auto id = static_cast<std::uint32_t>(ReadBigEndian(key.last(4)));
    const std::uint32_t unit = unit_of(record->proposal.district);
    UnitInput& u = units[unit];  // a proposal in the pool when the pool has no money still gets a unit
    where[id] = {unit, static_cast<std::uint32_t>(u.proposal_ids.size())};
    district_of[id] = record->proposal.district;
    u.proposal_ids.push_back(id);
    u.input.projects.push_back(TallyProject{record->cost});
    return true;
  });
  if (corrupt) return Reject(TxError::kCorruptState, "a stored proposal does not decode; the database is damaged");

  // Counted ballots, in resident order; each split into its units.
  std::uint64_t ballots = 0;
  std::set<ResidentId> counted;
  const bool points_matter = c.ballot_type == proto::BallotType::kCumulative;
  kv_.Scan(BallotPrefix(p->round_id), [&](ByteView key, ByteView value) {
    proto::Result<BallotRecord> record = proto::Decode<BallotRecord>(value);
    if (!record) return !(corrupt = true);
    ResidentId resident;
    std::copy(key.end() - 32, key.end(), resident.bytes.begin());
    Result<std::optional<ResidentRecord>> voter = Load<ResidentRecord>(kv_, ResidentKey(resident));
    if (!voter || !*voter) return !(corrupt = true);
    if (BallotVoidReason(**voter, *record)) return true;
    counted.insert(resident);
    ++ballots;
    std::map<std::uint32_t, TallyBallot> split;
    for (const proto::BallotChoice& choice : record->choices) {
      auto it = where.find(choice.project_id);
      if (it == where.end()) continue;  // cannot happen: ballots name feasible proposals only
      TallyBallot& b = split[it->second.first];
      b.projects.push_back(it->second.second);
      if (points_matter) b.points.push_back(choice.points);
    }
    for (auto& [unit, ballot] : split) {
      UnitInput& u = units[unit];
      u.input.ballots.push_back(std::move(ballot));
      u.voters.push_back(resident);
    }
    return true;
  });
  if (corrupt) {
    return Reject(TxError::kCorruptState, "a stored ballot or its voter does not decode; the database is damaged");
  }

  TallyRecord tally;
  tally.outcome_rule = c.outcome_rule;
  tally.ballots = ballots;
  tally.closed_at_height = block_.height;
  std::map<ResidentId, VoterSpending> spending;
  std::map<std::uint32_t, std::uint64_t> funded_by_district;
  for (auto& [unit, u] : units) {
    u.input.budget = u.budget;
    UnitResult result;
    result.district = unit;
    result.budget = u.budget;
    result.voters = u.input.ballots.size();
    if (u.budget > 0 && !u.input.projects.empty()) {
      proto::Result<TallyResult> outcome = contracts::Tally(u.input, static_cast<OutcomeRule>(c.outcome_rule));
      if (!outcome) {
        // Costs, budgets and proposals were bounded on the way in; what is left is a round
        // beyond the tally's limits (e.g. more than kTallyBallotsMax ballots).
        return Reject(TxError::kTallyFailed, "the tally of " +
                                                 (unit == 0 ? std::string("the city-wide pool")
                                                            : "district " + std::to_string(unit)) +
                                                 " failed: " + proto::ToString(outcome.error()));
      }
      CIVIC_ASSERT(outcome->spent <= u.budget);
      for (std::uint32_t index : outcome->funded_in_order) {
        const std::uint32_t id = u.proposal_ids[index];
        result.funded_in_order.push_back(id);
        funded_by_district[district_of[id]] += u.input.projects[index].cost;
      }
      result.spent = outcome->spent;
      for (std::size_t i = 0; i < u.proposal_ids.size(); ++i) {
        result.support.push_back({u.proposal_ids[i], outcome->approvals[i], outcome->points[i]});
      }
      result.add1_steps = outcome->add1_steps;
      result.add1_stop = static_cast<std::uint8_t>(outcome->add1_stop);
      result.per_voter_budget = outcome->per_voter_budget;
      for (std::size_t v = 0; v < u.voters.size(); ++v) {
        spending[u.voters[v]].entries.push_back({unit, outcome->voter_spent[v]});
      }
    }
    if (result.support.empty()) {
      // No money or no proposals in this unit: nothing is funded, but the support each
      // proposal had is still on record.
      std::vector<ProjectSupport> support(u.proposal_ids.size());
      for (std::size_t i = 0; i < support.size(); ++i) support[i].proposal_id = u.proposal_ids[i];
      for (const TallyBallot& ballot : u.input.ballots) {
        for (std::size_t k = 0; k < ballot.projects.size(); ++k) {
          ProjectSupport& s = support[ballot.projects[k]];
          s.approvals += 1;
          s.points += ballot.points.empty() ? 1 : ballot.points[k];
        }
      }
      result.support = std::move(support);
    }
    tally.units.push_back(std::move(result));
  }

  // Per district: the roll, turnout and funding, so that anyone can see who is left out.
  std::map<std::uint32_t, DistrictSummary> summaries;
  Result<const GenesisState*> genesis = Genesis();
  if (!genesis) return tl::unexpected(genesis.error());
  for (const District& d : (*genesis)->districts) summaries[d.id].district = d.id;
  kv_.Scan(Key("res/"), [&](ByteView key, ByteView value) {
    proto::Result<ResidentRecord> record = proto::Decode<ResidentRecord>(value);
    if (!record) return !(corrupt = true);
    // On the roll for this round: not revoked. A registration that expired since still
    // counts, as its ballot does, so that turnout never exceeds the roll.
    const bool current = !record->revoked;
    ResidentId resident;
    std::copy(key.end() - 32, key.end(), resident.bytes.begin());
    const bool voted = counted.count(resident) != 0;
    for (std::uint32_t d : record->districts) {
      DistrictSummary& s = summaries[d];
      if (current) ++s.registered;
      if (voted) ++s.ballots;
    }
    return true;
  });
  if (corrupt) return Reject(TxError::kCorruptState, "a stored resident does not decode; the database is damaged");
  for (auto& [district, summary] : summaries) {
    summary.funded = funded_by_district[district];
    tally.districts.push_back(summary);
  }

  // Every counted voter gets a spending record, even with nothing spent (a unit without money
  // or proposals): its presence is what says, for ever after, that the ballot counted.
  for (const ResidentId& resident : counted) spending.try_emplace(resident);

  // Exact fractions have no fixed size: a pathological round (e.g. point totals that are
  // many distinct large primes) could make one too long to store. Refuse the close then,
  // rather than abort every node on the same block.
  if (Result<void> fits = StoreChecked(kv_, TallyKey(p->round_id), tally); !fits) return fits;
  for (const auto& [resident, entries] : spending) {
    if (Result<void> fits = StoreChecked(kv_, SpendingKey(p->round_id, resident), entries); !fits) return fits;
  }
  round->closed = true;
  round->closed_at_height = block_.height;
  Store(kv_, RoundKey(p->round_id), *round);

  std::string funded;
  for (const UnitResult& unit : tally.units) {
    for (std::uint32_t id : unit.funded_in_order) funded += (funded.empty() ? "" : ",") + std::to_string(id);
  }
  Emit("round-closed", {{"round", std::to_string(p->round_id)}, {"ballots", std::to_string(ballots)}, {"funded", funded}});
  return {};
}

// Numbered changes: change n applies only right after change n - 1, once. So a co-signed
// change cannot be replayed later (its number is taken), and of two changes collected at
// the same time the second finds its number taken and must be proposed again on the new set.
Result<void> Execution::ChangeValidators() {
  if (Result<void> clerk = RequireClerk(); !clerk) return clerk;
  Result<proto::ChangeValidators> payload = DecodePayload<proto::ChangeValidators>(body_);
  if (!payload) return tl::unexpected(payload.error());
  const proto::ValidatorChange& change = payload->change;
  const std::string name = "validator change " + std::to_string(change.sequence);
  if (block_.height > change.valid_until_height) {
    return Reject(TxError::kValidatorChangeExpired,
                  "the clerks signed " + name + " for blocks up to height " + std::to_string(change.valid_until_height) +
                      ", this block is " + std::to_string(block_.height) + "; propose it again and collect new signatures");
  }
  Result<std::optional<ValidatorChangeRecord>> taken = Load<ValidatorChangeRecord>(kv_, ValidatorChangeKey(change.sequence));
  if (!taken) return tl::unexpected(taken.error());
  if (*taken) {
    return Reject(TxError::kValidatorChangeOutOfOrder,
                  name + " was already made at height " + std::to_string((*taken)->decided_at_height) +
                      "; the validator set has changed since this one was proposed: propose again on the current set");
  }
  if (change.sequence > 1) {
    Result<std::optional<ValidatorChangeRecord>> previous =
        Load<ValidatorChangeRecord>(kv_, ValidatorChangeKey(change.sequence - 1));
    if (!previous) return tl::unexpected(previous.error());
    if (!*previous) {
      return Reject(TxError::kValidatorChangeOutOfOrder, name + " cannot come before validator change " +
                                                             std::to_string(change.sequence - 1));
    }
    if ((*previous)->decided_at_height == block_.height) {
      return Reject(TxError::kValidatorChangeOutOfOrder,
                    "validator change " + std::to_string(change.sequence - 1) +
                        " was decided in this block, and a block decides one change at most: send " + name +
                        " again for the next block");
    }
  }
  Result<const GenesisState*> genesis = Genesis();
  if (!genesis) return tl::unexpected(genesis.error());
  Result<std::vector<proto::SchnorrPublicKey>> signers =
      CheckValidatorChangeSignatures(chain_, **genesis, body_.signer, *payload);
  if (!signers) return tl::unexpected(signers.error());

  ValidatorChangeRecord record;
  record.change = change;
  record.tx_id = tx_.id();
  record.decided_at_height = block_.height;
  record.effective_from_height = block_.height + kValidatorChangeDelay;
  record.signed_by = std::move(*signers);
  Store(kv_, ValidatorChangeKey(change.sequence), record);
  Emit("validators-changed", {{"sequence", std::to_string(change.sequence)},
                              {"effective_from_height", std::to_string(record.effective_from_height)},
                              {"validators", std::to_string(change.validators.validators.size())},
                              {"total_power", std::to_string(change.validators.TotalPower())},
                              {"signed_by_clerks", std::to_string(record.signed_by.size())}});
  next_validators_ = change.validators;
  return {};
}

}  // namespace

std::string_view PhaseName(Phase phase) {
  switch (phase) {
    case Phase::kNotStarted: return "not-started";
    case Phase::kProposals: return "proposals";
    case Phase::kReview: return "review";
    case Phase::kVoting: return "voting";
    case Phase::kVotingEnded: return "voting-ended";
  }
  return "unknown";
}

Result<std::vector<proto::SchnorrPublicKey>> CheckValidatorChangeSignatures(const proto::ChainId& chain_id,
                                                                            const GenesisState& genesis,
                                                                            const proto::SchnorrPublicKey& submitter,
                                                                            const proto::ChangeValidators& payload) {
  const auto is_clerk = [&](const proto::SchnorrPublicKey& key) {
    return std::binary_search(genesis.clerks.begin(), genesis.clerks.end(), key);
  };
  proto::Result<proto::Hash32> digest = proto::ValidatorChangeDigest(chain_id, payload.change);
  if (!digest) return Reject(TxError::kMalformedPayload, "the validator change does not encode: " + digest.error().message);
  std::set<proto::SchnorrPublicKey> signers;
  if (is_clerk(submitter)) signers.insert(submitter);
  for (const proto::ClerkSignature& cosignature : payload.cosignatures) {
    if (!is_clerk(cosignature.clerk)) {
      return Reject(TxError::kBadClerkSignature,
                    "co-signer " + proto::ToHex(cosignature.clerk) + " is not a clerk of this network");
    }
    if (!proto::VerifyCosignature(*digest, cosignature)) {
      return Reject(TxError::kBadClerkSignature, "the co-signature of clerk " + proto::ToHex(cosignature.clerk) +
                                                     " does not verify for validator change " +
                                                     std::to_string(payload.change.sequence) +
                                                     " on this chain: it was made for another change or is damaged");
    }
    signers.insert(cosignature.clerk);
  }
  if (signers.size() < genesis.clerk_threshold) {
    return Reject(TxError::kTooFewClerkSignatures,
                  "validator change " + std::to_string(payload.change.sequence) + " is signed by " +
                      std::to_string(signers.size()) + " clerk(s); this network needs " +
                      std::to_string(genesis.clerk_threshold) + ": collect more co-signatures");
  }
  return std::vector<proto::SchnorrPublicKey>(signers.begin(), signers.end());
}

Phase PhaseAt(const proto::Constitution& c, const BlockContext& block) {
  const std::uint64_t now = c.phase_basis == proto::PhaseBasis::kHeight ? block.height : block.time_unix_ms;
  if (now < c.proposals_start) return Phase::kNotStarted;
  if (now < c.review_start) return Phase::kProposals;
  if (now < c.voting_start) return Phase::kReview;
  if (now < c.voting_end) return Phase::kVoting;
  return Phase::kVotingEnded;
}

Result<void> BudgetContracts::InitGenesis(KvView& kv, const GenesisState& genesis) const {
  if (proto::Result<void> valid = genesis.Check(); !valid) {
    return Reject(TxError::kMalformedPayload, valid.error().message);
  }
  if (kv.Get(GenesisKey())) return Reject(TxError::kCorruptState, "the state already has a genesis");
  Store(kv, GenesisKey(), genesis);
  return {};
}

void BudgetContracts::BeginBlock(KvView& kv, const BlockContext& block) const {
  // Transactions valid only until a height below this block's can no longer be applied, so
  // their replay keys need not be kept. Collect first: a scan must not write to its view.
  std::vector<Bytes> expired;
  kv.Scan(Key("rpl/"), [&](ByteView key, ByteView) {
    if (ReadBigEndian(key.subspan(kReplayPrefixBytes, 8)) >= block.height) return false;
    expired.emplace_back(key.begin(), key.end());
    return true;
  });
  for (const Bytes& key : expired) kv.Delete(key);
}

Result<void> BudgetContracts::RecordEquivocation(KvView& kv, const BlockContext& block,
                                                 const proto::VoteEquivocation& evidence) const {
  const Key key = EquivocationKey(evidence.first.body);
  Result<std::optional<EquivocationRecord>> held = Load<EquivocationRecord>(kv, key);
  if (!held) return tl::unexpected(held.error());
  if (*held) {
    return Reject(TxError::kEvidenceAlreadyRecorded,
                  "the equivocation of validator " + proto::ToHex(evidence.first.body.validator) + " at height " +
                      std::to_string(evidence.first.body.height) + " round " + std::to_string(evidence.first.body.round) +
                      " was recorded at height " + std::to_string((*held)->recorded_at_height));
  }
  Store(kv, key, EquivocationRecord{evidence, block.height});
  return {};
}

Result<Applied> BudgetContracts::Apply(KvView& kv, const BlockContext& block, const proto::VerifiedTx& tx) const {
  WriteBuffer buffer(kv);
  Result<Applied> applied = Execution(chain_id_, buffer, block, tx).Run();
  if (applied) buffer.Commit();  // else the buffer is dropped: the state is unchanged
  return applied;
}

std::optional<std::string> BallotVoidReason(const ResidentRecord& voter, const BallotRecord& ballot) {
  // A revoked registration voids the ballot (it stays on record, uncounted): revocation is
  // how a clerk undoes a registration made in error. An expired one still counts: the ballot
  // was cast while the registration held.
  if (voter.revoked) return "the resident's registration was revoked: " + voter.revoke_reason;
  // A ballot cast before the current registration belongs to a registration that was
  // revoked (or expired) since: the new registration does not bring it back.
  if (ballot.cast_at_height < voter.registered_at_height) {
    return "cast under an earlier registration (the current one dates from block " +
           std::to_string(voter.registered_at_height) + ")";
  }
  return std::nullopt;
}

std::string DescribeStateKey(ByteView key) {
  const auto number = [&](std::size_t at, std::size_t width) { return std::to_string(ReadBigEndian(key.subspan(at, width))); };
  const auto hex = [&](std::size_t at, std::size_t width) { return proto::ToHex(key.subspan(at, width)); };
  const std::string_view text(reinterpret_cast<const char*>(key.data()), std::min<std::size_t>(key.size(), 4));
  const std::size_t size = key.size();
  if (size == 7 && std::string_view(reinterpret_cast<const char*>(key.data()), 7) == "genesis") return "the genesis state";
  if (text == "res/" && size == 36) return "the roll entry of resident " + hex(4, 32);
  if (text == "rnd/" && size == 12) return "the record of round " + number(4, 8);
  if (text == "prp/" && size == 16) return "proposal " + number(12, 4) + " of round " + number(4, 8);
  if (text == "pbl/" && size == 16) return "the ballot line of proposal " + number(12, 4) + " of round " + number(4, 8);
  if (text == "bal/" && size == 44) return "the counted ballot of resident " + hex(12, 32) + " in round " + number(4, 8);
  if (text == "bah/" && size == 48) {
    return "replaced ballot " + number(44, 4) + " of resident " + hex(12, 32) + " in round " + number(4, 8);
  }
  if (text == "tal/" && size == 12) return "the stored tally of round " + number(4, 8);
  if (text == "tvs/" && size == 44) return "what the rule spent for resident " + hex(12, 32) + " in round " + number(4, 8);
  if (text == "rpl/" && size == 52) {
    return "the replay entry of signer " + hex(12, 32) + " nonce " + number(44, 8) + " (valid until " + number(4, 8) + ")";
  }
  if (text == "vch/" && size == 8) return "validator change " + number(4, 4);
  if (text == "evd/" && size == 49) {
    return "the equivocation of validator " + hex(4, 32) + " at height " + number(36, 8) + " round " + number(44, 4) +
           (key[48] == static_cast<std::uint8_t>(proto::VoteType::kPrevote) ? " (prevotes)" : " (precommits)");
  }
  return "state key " + proto::ToHex(key);
}

Result<GenesisState> BudgetContracts::Genesis(const KvView& kv) const {
  Result<std::optional<GenesisState>> genesis = Load<GenesisState>(kv, GenesisKey());
  if (!genesis) return tl::unexpected(genesis.error());
  if (!*genesis) return Reject(TxError::kCorruptState, "no genesis state; the node was not initialised");
  return std::move(**genesis);
}

Result<std::optional<ResidentRecord>> BudgetContracts::Resident(const KvView& kv, const proto::ResidentId& id) const {
  return Load<ResidentRecord>(kv, ResidentKey(id));
}

Result<std::optional<RoundRecord>> BudgetContracts::Round(const KvView& kv, std::uint64_t round_id) const {
  return Load<RoundRecord>(kv, RoundKey(round_id));
}

namespace {

// Every record under `prefix` whose key ends in a resident id, ascending by resident.
template <class Record>
Result<std::vector<std::pair<ResidentId, Record>>> ScanByResident(const KvView& kv, const Key& prefix, const char* what) {
  std::vector<std::pair<ResidentId, Record>> out;
  bool corrupt = false;
  kv.Scan(prefix, [&](ByteView key, ByteView value) {
    proto::Result<Record> record = proto::Decode<Record>(value);
    if (!record || key.size() != prefix.view().size() + ResidentId::kSize) return !(corrupt = true);
    ResidentId resident;
    std::copy(key.begin() + static_cast<std::ptrdiff_t>(prefix.view().size()), key.end(), resident.bytes.begin());
    out.emplace_back(resident, std::move(*record));
    return true;
  });
  if (corrupt) return Reject(TxError::kCorruptState, std::string("a stored ") + what + " does not decode; the database is damaged");
  return out;
}

// Every record under `prefix`, in key order.
template <class Record>
Result<std::vector<Record>> ScanRecords(const KvView& kv, const Key& prefix, const char* what) {
  std::vector<Record> out;
  bool corrupt = false;
  kv.Scan(prefix, [&](ByteView, ByteView value) {
    proto::Result<Record> record = proto::Decode<Record>(value);
    if (!record) return !(corrupt = true);
    out.push_back(std::move(*record));
    return true;
  });
  if (corrupt) return Reject(TxError::kCorruptState, std::string("a stored ") + what + " does not decode; the database is damaged");
  return out;
}

}  // namespace

Result<std::vector<std::pair<ResidentId, ResidentRecord>>> BudgetContracts::Roll(const KvView& kv) const {
  return ScanByResident<ResidentRecord>(kv, Key("res/"), "resident");
}

Result<std::vector<std::pair<std::uint64_t, RoundRecord>>> BudgetContracts::Rounds(const KvView& kv) const {
  std::vector<std::pair<std::uint64_t, RoundRecord>> out;
  bool corrupt = false;
  kv.Scan(Key("rnd/"), [&](ByteView key, ByteView value) {
    proto::Result<RoundRecord> record = proto::Decode<RoundRecord>(value);
    if (!record) return !(corrupt = true);
    out.emplace_back(ReadBigEndian(key.last(8)), std::move(*record));
    return true;
  });
  if (corrupt) return Reject(TxError::kCorruptState, "a stored round does not decode; the database is damaged");
  return out;
}

Result<std::vector<std::pair<std::uint32_t, ProposalRecord>>> BudgetContracts::Proposals(const KvView& kv,
                                                                                          std::uint64_t round_id) const {
  std::vector<std::pair<std::uint32_t, ProposalRecord>> out;
  bool corrupt = false;
  kv.Scan(ProposalPrefix(round_id), [&](ByteView key, ByteView value) {
    proto::Result<ProposalRecord> record = proto::Decode<ProposalRecord>(value);
    if (!record) return !(corrupt = true);
    out.emplace_back(static_cast<std::uint32_t>(ReadBigEndian(key.last(4))), std::move(*record));
    return true;
  });
  if (corrupt) return Reject(TxError::kCorruptState, "a stored proposal does not decode; the database is damaged");
  return out;
}

Result<std::optional<BallotRecord>> BudgetContracts::CountedBallot(const KvView& kv, std::uint64_t round_id,
                                                                   const proto::ResidentId& resident) const {
  return Load<BallotRecord>(kv, BallotKey(round_id, resident));
}

Result<std::vector<std::pair<ResidentId, BallotRecord>>> BudgetContracts::Ballots(const KvView& kv,
                                                                                   std::uint64_t round_id) const {
  return ScanByResident<BallotRecord>(kv, BallotPrefix(round_id), "ballot");
}

Result<std::vector<BallotRecord>> BudgetContracts::ReplacedBallots(const KvView& kv, std::uint64_t round_id,
                                                                   const proto::ResidentId& resident) const {
  return ScanRecords<BallotRecord>(kv, HistoryPrefix(round_id, resident), "ballot");
}

Result<std::optional<TallyRecord>> BudgetContracts::Tally(const KvView& kv, std::uint64_t round_id) const {
  return Load<TallyRecord>(kv, TallyKey(round_id));
}

Result<std::optional<VoterSpending>> BudgetContracts::Spending(const KvView& kv, std::uint64_t round_id,
                                                               const proto::ResidentId& resident) const {
  return Load<VoterSpending>(kv, SpendingKey(round_id, resident));
}

Result<bool> BudgetContracts::EquivocationRecorded(const KvView& kv, const proto::VoteBody& vote) const {
  Result<std::optional<EquivocationRecord>> held = Load<EquivocationRecord>(kv, EquivocationKey(vote));
  if (!held) return tl::unexpected(held.error());
  return held->has_value();
}

Result<std::vector<EquivocationRecord>> BudgetContracts::Equivocations(const KvView& kv) const {
  return ScanRecords<EquivocationRecord>(kv, Key("evd/"), "equivocation");
}

Result<std::vector<ValidatorChangeRecord>> BudgetContracts::ValidatorChanges(const KvView& kv) const {
  return ScanRecords<ValidatorChangeRecord>(kv, Key("vch/"), "validator change");
}

}  // namespace civic::contracts
