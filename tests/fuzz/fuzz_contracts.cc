// libFuzzer target for the budgeting contracts as a state machine. The input is read as a script
// of signed transactions (register, revoke, paper registration, open a round, propose, review,
// vote, assisted ballot, close, and payloads that do not decode) by two clerks and six
// residents at rising heights, with every field taken from the input, so that many steps take
// effect and many are refused. After every step it checks what residents and auditors rely on:
//
// - a refused transaction changes nothing: the state is byte for byte what it was;
// - a transaction that took effect is refused when sent again, and that changes nothing either
//   (no ballot counts twice);
// - once a round is closed, a unit never spends more than its budget, what it says it spent is
//   the sum of its funded projects' costs, the funded projects are distinct feasible proposals
//   of that unit (a district with its own budget, else the city-wide pool), and the ballots
//   counted are exactly those with a spending record; right after the close, they are also
//   exactly the stored ballots of residents still on the roll whose ballot counts
//   (BallotVoidReason), recounted here independently;
// - at the end, the accepted transactions replayed on a fresh state give the same state.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "civic/contracts/state.h"
#include "civic/contracts/tally.h"
#include "civic/proto/assert.h"
#include "civic/proto/codec.h"
#include "civic/proto/payloads.h"
#include "civic/proto/tx.h"

namespace {

using namespace civic;  // NOLINT: a fuzz target, one file
using contracts::BlockContext;
using contracts::MemoryKv;

constexpr int kClerks = 2;
constexpr int kResidents = 6;
constexpr std::size_t kStepsMax = 48;

// Reads the input front to back, one byte per choice (zeros once it runs out), so that seed
// scripts are easy to write: tests/fuzz/corpus/fuzz_contracts/ was written by
// tests/fuzz/contracts_seeds.py.
class Script {
 public:
  Script(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
  bool done() const { return at_ >= size_; }
  std::uint8_t Byte() { return at_ < size_ ? data_[at_++] : 0; }
  // lo..hi from one byte (hi - lo < 256).
  template <class T = std::uint64_t>
  T Pick(std::uint64_t lo, std::uint64_t hi) {
    return static_cast<T>(lo + Byte() % (hi - lo + 1));
  }
  bool Flag() { return (Byte() & 1u) != 0; }
  proto::Bytes Raw(std::size_t n) {
    proto::Bytes out;
    while (out.size() < n && !done()) out.push_back(Byte());
    return out;
  }

 private:
  const std::uint8_t* data_;
  std::size_t size_;
  std::size_t at_ = 0;
};

const proto::ChainId& Chain() {
  static const proto::ChainId chain = proto::ChainId::Parse("civic-fuzz").value();
  return chain;
}

proto::Secret32 Seed(std::uint8_t byte) {
  proto::Secret32 seed{};
  seed.fill(byte);
  return seed;
}

// Keys 0..1 are clerks, 2..7 residents.
const std::vector<proto::SchnorrKeyPair>& Keys() {
  static const std::vector<proto::SchnorrKeyPair> keys = [] {
    std::vector<proto::SchnorrKeyPair> out;
    for (int i = 0; i < kClerks + kResidents; ++i) {
      out.push_back(proto::SchnorrKeyPair::FromSecret(Seed(static_cast<std::uint8_t>(0x40 + i))).value());
    }
    return out;
  }();
  return keys;
}

contracts::GenesisState Genesis() {
  contracts::GenesisState genesis;
  for (int i = 0; i < kClerks; ++i) genesis.clerks.push_back(Keys()[static_cast<std::size_t>(i)].public_key());
  std::sort(genesis.clerks.begin(), genesis.clerks.end());
  genesis.districts = {{1, "North"}, {2, "South"}, {3, "Harbour"}};
  genesis.clerk_threshold = 2;  // validator changes need both clerks
  return genesis;
}

struct Step {
  BlockContext block;
  proto::VerifiedTx tx;
};

std::vector<std::uint32_t> Districts(Script& in) {
  std::vector<std::uint32_t> out;
  const std::uint8_t mask = in.Byte();
  for (std::uint32_t d = 0; d < 5; ++d) {
    if ((mask >> d) & 1u) out.push_back(d);  // 0 and 4 are not districts: refused
  }
  return out;
}

proto::Ballot MakeBallot(Script& in, std::uint64_t round_id) {
  proto::Ballot ballot;
  ballot.round_id = round_id;
  const std::uint8_t mask = in.Byte();
  for (std::uint32_t p = 1; p <= 7; ++p) {
    if ((mask >> (p - 1)) & 1u) ballot.choices.push_back({p, in.Pick<std::uint32_t>(0, 4)});
  }
  return ballot;
}

proto::Constitution MakeConstitution(Script& in, std::uint64_t height) {
  proto::Constitution c;
  c.round_id = in.Pick(0, 3);
  c.title = in.Flag() ? "Parks" : "";
  c.total_budget = in.Pick(0, 255) * 4;
  if (in.Flag()) c.district_budgets.push_back({in.Pick<std::uint32_t>(0, 4), in.Pick(0, 255) * 2});
  c.phase_basis = proto::PhaseBasis::kHeight;
  c.proposals_start = height + in.Pick(0, 2);
  c.review_start = c.proposals_start + in.Pick(0, 4);
  c.voting_start = c.review_start + in.Pick(0, 4);
  c.voting_end = c.voting_start + in.Pick(0, 6);
  c.ballot_type = static_cast<proto::BallotType>(in.Pick<int>(1, 3));
  c.min_choices = in.Pick<std::uint32_t>(0, 3);
  c.max_choices = in.Pick<std::uint32_t>(0, 7);
  if (c.ballot_type == proto::BallotType::kCumulative) {
    c.points_total_max = in.Pick<std::uint32_t>(0, 10);
    c.points_per_project_max = in.Pick<std::uint32_t>(0, 4);
  }
  c.outcome_rule = in.Pick<std::uint8_t>(0, 7);
  return c;
}

// A validator change of 1 to 3 validators, numbered 0 to 3, co-signed by some of the keys
// (clerks or not), some signatures made for another number.
proto::ChangeValidators MakeValidatorChange(Script& in, std::uint64_t height) {
  proto::ChangeValidators p;
  p.change.sequence = in.Pick<std::uint32_t>(0, 3);
  const std::uint8_t members = static_cast<std::uint8_t>(in.Pick<int>(1, 3));
  for (std::uint8_t i = 1; i <= members; ++i) {
    proto::Ed25519PublicKey key;
    key.bytes.fill(static_cast<std::uint8_t>(i * 16 + in.Pick<int>(0, 3)));
    p.change.validators.validators.push_back({key, in.Pick<std::uint64_t>(1, 3)});
  }
  p.change.reason = in.Flag() ? "new office" : "";
  p.change.valid_until_height = height + in.Pick(0, 4);
  for (std::size_t k = 0; k < static_cast<std::size_t>(kClerks + 1); ++k) {
    if (!in.Flag()) continue;
    proto::ValidatorChange signed_change = p.change;
    if (in.Flag()) signed_change.sequence += 1;
    proto::Result<proto::ClerkSignature> cosignature =
        proto::CosignValidatorChange(Chain(), signed_change, Keys()[k], Seed(1));
    if (cosignature) p.cosignatures.push_back(*cosignature);
  }
  std::sort(p.cosignatures.begin(), p.cosignatures.end(),
            [](const proto::ClerkSignature& a, const proto::ClerkSignature& b) { return a.clerk < b.clerk; });
  return p;
}

// The payload bytes of one step, or an empty kind for the end of the input.
proto::TxBody MakeBody(Script& in, std::uint64_t height, std::uint64_t nonce) {
  proto::TxBody body;
  body.chain_id = Chain();
  body.nonce = nonce;
  body.valid_until_height = height + in.Pick(0, 50);
  const auto resident_id = [&] {
    if (in.Flag()) return proto::PaperResidentId(Chain(), in.Flag() ? "P-1" : "P-2");
    return proto::ResidentId{
        Keys()[static_cast<std::size_t>(in.Pick<int>(0, kClerks + kResidents - 1))].public_key().bytes};
  };
  switch (in.Pick<int>(0, 9)) {
    case 0: {
      proto::RegisterResident p;
      p.key = Keys()[static_cast<std::size_t>(in.Pick<int>(0, kClerks + kResidents - 1))].public_key();
      p.districts = Districts(in);
      p.expires_at_height = in.Flag() ? 0 : height + in.Pick(0, 10);
      body.kind = proto::TxKind::kRegisterResident;
      body.payload = proto::Encode(p).value_or(proto::Bytes{});
      break;
    }
    case 1: {
      proto::RevokeResident p;
      p.resident = resident_id();
      p.reason = "moved away";
      body.kind = proto::TxKind::kRevokeResident;
      body.payload = proto::Encode(p).value_or(proto::Bytes{});
      break;
    }
    case 2: {
      proto::RegisterPaperResident p;
      p.reference = in.Flag() ? "P-1" : "P-2";
      p.districts = Districts(in);
      body.kind = proto::TxKind::kRegisterPaperResident;
      body.payload = proto::Encode(p).value_or(proto::Bytes{});
      break;
    }
    case 3: {
      proto::OpenRound p;
      p.constitution = MakeConstitution(in, height);
      body.kind = proto::TxKind::kOpenRound;
      body.payload = proto::Encode(p).value_or(proto::Bytes{});
      break;
    }
    case 4: {
      proto::SubmitProposal p;
      p.round_id = in.Pick(0, 3);
      p.title = "Benches";
      p.cost = in.Pick(0, 255) * 2;
      p.district = in.Pick<std::uint32_t>(0, 4);
      body.kind = proto::TxKind::kSubmitProposal;
      body.payload = proto::Encode(p).value_or(proto::Bytes{});
      break;
    }
    case 5: {
      proto::ReviewProposal p;
      p.round_id = in.Pick(0, 3);
      p.proposal_id = in.Pick<std::uint32_t>(0, 7);
      p.feasible = in.Flag();
      p.reason = "checked";
      if (in.Flag()) p.adjusted_cost = in.Pick(0, 255) * 2;
      body.kind = proto::TxKind::kReviewProposal;
      body.payload = proto::Encode(p).value_or(proto::Bytes{});
      break;
    }
    case 6: {
      body.kind = proto::TxKind::kCastBallot;
      body.payload = proto::Encode(MakeBallot(in, in.Pick(0, 3))).value_or(proto::Bytes{});
      break;
    }
    case 7: {
      proto::AssistedBallot p;
      p.resident = resident_id();
      p.paper_ballot_reference = "box-1/0001";
      p.ballot = MakeBallot(in, in.Pick(0, 3));
      body.kind = proto::TxKind::kAssistedBallot;
      body.payload = proto::Encode(p).value_or(proto::Bytes{});
      break;
    }
    case 8: {
      proto::CloseRound p;
      p.round_id = in.Pick(0, 3);
      body.kind = proto::TxKind::kCloseRound;
      body.payload = proto::Encode(p).value_or(proto::Bytes{});
      break;
    }
    default: {  // any kind, raw bytes: mostly payloads that do not decode
      body.kind = static_cast<proto::TxKind>(in.Pick<int>(1, 10));
      if (body.kind == proto::TxKind::kChangeValidators && in.Flag()) {
        body.payload = proto::Encode(MakeValidatorChange(in, height)).value_or(proto::Bytes{});
        break;
      }
      body.payload = in.Raw(in.Pick<std::size_t>(0, 64));
      break;
    }
  }
  return body;
}

// `just_closed`: the round the last transaction closed, if it did.
void CheckRounds(const contracts::BudgetContracts& contracts, const MemoryKv& kv, std::optional<std::uint64_t> just_closed) {
  const auto roll = contracts.Roll(kv);
  const auto rounds = contracts.Rounds(kv);
  CIVIC_ASSERT(roll.has_value() && rounds.has_value());
  std::map<proto::ResidentId, const contracts::ResidentRecord*> on_roll;
  for (const auto& [id, resident] : *roll) {
    if (!resident.revoked) on_roll.emplace(id, &resident);
  }
  for (const auto& [round_id, round] : *rounds) {
    if (!round.closed) continue;
    const auto ballots = contracts.Ballots(kv, round_id);
    CIVIC_ASSERT(ballots.has_value());
    const auto tally = contracts.Tally(kv, round_id);
    const auto proposals = contracts.Proposals(kv, round_id);
    CIVIC_ASSERT(tally.has_value() && tally->has_value() && proposals.has_value());
    std::map<std::uint32_t, const contracts::ProposalRecord*> by_id;
    for (const auto& [id, p] : *proposals) by_id.emplace(id, &p);
    std::set<std::uint32_t> budgeted;  // districts tallied alone, with their own budget
    for (const proto::DistrictBudget& d : round.constitution.district_budgets) budgeted.insert(d.district);
    for (const contracts::UnitResult& unit : (*tally)->units) {
      CIVIC_ASSERT(unit.spent <= unit.budget);
      std::uint64_t sum = 0;
      std::set<std::uint32_t> seen;
      for (std::uint32_t id : unit.funded_in_order) {
        CIVIC_ASSERT(seen.insert(id).second);
        const auto found = by_id.find(id);
        CIVIC_ASSERT(found != by_id.end() && found->second->review == contracts::ReviewState::kFeasible);
        const std::uint32_t district = found->second->proposal.district;
        CIVIC_ASSERT(unit.district == (budgeted.count(district) != 0 ? district : 0u));
        sum += found->second->cost;
      }
      CIVIC_ASSERT(sum == unit.spent);
    }
    std::uint64_t with_spending = 0, counting = 0;
    for (const auto& [resident, ballot] : *ballots) {
      const auto spending = contracts.Spending(kv, round_id, resident);
      CIVIC_ASSERT(spending.has_value());
      if (spending->has_value()) ++with_spending;
      const auto voter = on_roll.find(resident);
      if (voter != on_roll.end() && !contracts::BallotVoidReason(*voter->second, ballot)) ++counting;
    }
    CIVIC_ASSERT(with_spending == (*tally)->ballots);
    if (just_closed == round_id) CIVIC_ASSERT(counting == (*tally)->ballots);
  }
}

// Validator changes are numbered 1, 2, ... with no gap, one per height at most, each signed
// by at least the threshold of distinct clerks, each taking effect two heights on.
void CheckValidatorChanges(const contracts::BudgetContracts& contracts, const MemoryKv& kv) {
  const auto changes = contracts.ValidatorChanges(kv);
  CIVIC_ASSERT(changes.has_value());
  const contracts::GenesisState genesis = Genesis();
  std::uint64_t last_height = 0;
  for (std::size_t i = 0; i < changes->size(); ++i) {
    const contracts::ValidatorChangeRecord& change = (*changes)[i];
    CIVIC_ASSERT(change.change.sequence == i + 1);
    CIVIC_ASSERT(change.decided_at_height > last_height);
    CIVIC_ASSERT(change.effective_from_height == change.decided_at_height + contracts::kValidatorChangeDelay);
    CIVIC_ASSERT(change.signed_by.size() >= genesis.clerk_threshold);
    for (const proto::SchnorrPublicKey& clerk : change.signed_by) {
      CIVIC_ASSERT(std::binary_search(genesis.clerks.begin(), genesis.clerks.end(), clerk));
    }
    last_height = change.decided_at_height;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  Script in(data, size);
  static const bool trace = std::getenv("CIVIC_FUZZ_TRACE") != nullptr;
  const contracts::BudgetContracts contracts(Chain());
  MemoryKv kv;
  CIVIC_ASSERT(contracts.InitGenesis(kv, Genesis()).has_value());
  const MemoryKv genesis_kv = kv;

  std::vector<Step> accepted;
  std::vector<std::uint64_t> begun;  // heights at which BeginBlock ran
  std::uint64_t height = 1;
  std::uint64_t nonce = 1;
  for (std::size_t step = 0; step < kStepsMax && !in.done(); ++step) {
    if (step == 0 || in.Flag()) {
      if (step != 0) height += in.Pick(1, 3);
      contracts.BeginBlock(kv, BlockContext{height, height * 1000});
      begun.push_back(height);
    }
    const BlockContext block{height, height * 1000};
    proto::TxBody body = MakeBody(in, height, nonce++);
    const std::size_t signer = in.Pick<std::size_t>(0, kClerks + kResidents - 1);
    body.signer = Keys()[signer].public_key();
    proto::Result<proto::Tx> tx = proto::SignTx(std::move(body), Keys()[signer], Seed(0));
    if (!tx) continue;  // e.g. a payload over its bound: nothing to send
    proto::Result<proto::VerifiedTx> verified = proto::VerifyTx(*tx);
    CIVIC_ASSERT(verified.has_value());

    const MemoryKv before = kv;
    const contracts::Result<contracts::Applied> applied = contracts.Apply(kv, block, *verified);
    if (trace) {  // CIVIC_FUZZ_TRACE=1: what each step of a seed script did
      std::fprintf(stderr, "height %llu: %s by key %zu: %s\n", static_cast<unsigned long long>(height),
                   std::string(proto::TxKindName(verified->tx().body.kind)).c_str(), signer,
                   applied ? "took effect" : applied.error().message.c_str());
    }
    if (!applied) {
      CIVIC_ASSERT(!applied.error().message.empty());
      CIVIC_ASSERT(kv.entries() == before.entries());  // refused: nothing changed
      continue;
    }
    const MemoryKv after = kv;
    CIVIC_ASSERT(!contracts.Apply(kv, block, *verified).has_value());  // the same transaction again
    CIVIC_ASSERT(kv.entries() == after.entries());
    accepted.push_back({block, *verified});
    std::optional<std::uint64_t> just_closed;
    if (verified->tx().body.kind == proto::TxKind::kCloseRound) {
      just_closed = proto::Decode<proto::CloseRound>(verified->tx().body.payload).value().round_id;
    }
    CheckRounds(contracts, kv, just_closed);
    CheckValidatorChanges(contracts, kv);
  }

  // Replayed on a fresh state, the accepted transactions give the same state.
  MemoryKv replay = genesis_kv;
  std::size_t next_begin = 0;
  for (const Step& step : accepted) {
    while (next_begin < begun.size() && begun[next_begin] <= step.block.height) {
      contracts.BeginBlock(replay, BlockContext{begun[next_begin], begun[next_begin] * 1000});
      ++next_begin;
    }
    CIVIC_ASSERT(contracts.Apply(replay, step.block, step.tx).has_value());
  }
  while (next_begin < begun.size()) {
    contracts.BeginBlock(replay, BlockContext{begun[next_begin], begun[next_begin] * 1000});
    ++next_begin;
  }
  CIVIC_ASSERT(replay.entries() == kv.entries());
  return 0;
}
