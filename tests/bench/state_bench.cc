// contracts/ state machine benchmarks. Run:
//   build/release/tests/bench/state_bench
// Target (issue: contracts): applying ballot transactions to state, signatures already
// checked, at least 200,000 per second.
#include <benchmark/benchmark.h>

#include <vector>

#include "civic/contracts/state.h"
#include "civic/contracts/tally.h"
#include "civic/proto/codec.h"
#include "civic/proto/hash.h"
#include "civic/proto/payloads.h"

namespace civic::contracts {
namespace {

using proto::TxKind;

proto::Secret32 Seed(std::uint64_t n) {
  proto::Secret32 out{};
  for (int i = 0; i < 8; ++i) out[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(n >> (8 * i));
  out[31] = 1;  // never zero
  return out;
}

// A round in its voting phase, `voters` residents on the roll, 20 feasible proposals, and
// one signed (and verified) approval ballot per resident, not yet applied.
struct VotingRound {
  proto::ChainId chain = proto::ChainId::Parse("bench").value();
  BudgetContracts contracts{chain};
  MemoryKv kv;
  std::vector<proto::VerifiedTx> ballots;
  std::uint64_t nonce = 1;

  template <class Payload>
  proto::VerifiedTx Sign(const proto::SchnorrKeyPair& key, TxKind kind, const Payload& payload) {
    proto::TxBody body{proto::kTxVersion, kind, chain, key.public_key(), nonce++, 100'000, proto::Encode(payload).value()};
    return proto::VerifyTx(proto::SignTx(std::move(body), key, Seed(0)).value()).value();
  }
  void MustApply(std::uint64_t height, const proto::VerifiedTx& tx) {
    if (!contracts.Apply(kv, {height, height * 1000}, tx)) std::abort();
  }

  explicit VotingRound(std::size_t voters) {
    const proto::SchnorrKeyPair clerk = proto::SchnorrKeyPair::FromSecret(Seed(1'000'000'007)).value();
    GenesisState genesis{{clerk.public_key()}, {{1, "Centre"}}, 1};
    if (!contracts.InitGenesis(kv, genesis)) std::abort();
    proto::Constitution c;
    c.round_id = 1;
    c.title = "bench";
    c.total_budget = 1'000'000;
    c.proposals_start = 2;
    c.review_start = 3;
    c.voting_start = 4;
    c.voting_end = 50'000;
    c.min_choices = 1;
    c.max_choices = 5;
    c.outcome_rule = static_cast<std::uint8_t>(OutcomeRule::kMesCostAdd1);
    MustApply(1, Sign(clerk, TxKind::kOpenRound, proto::OpenRound{c}));
    std::vector<proto::SchnorrKeyPair> residents;
    for (std::size_t i = 0; i < voters; ++i) {
      residents.push_back(proto::SchnorrKeyPair::FromSecret(Seed(i + 1)).value());
      MustApply(1, Sign(clerk, TxKind::kRegisterResident, proto::RegisterResident{residents.back().public_key(), {1}, 0}));
    }
    for (std::uint64_t p = 0; p < 20; ++p) {
      MustApply(2, Sign(residents[0], TxKind::kSubmitProposal,
                        proto::SubmitProposal{1, "project", proto::Sha256({}), 10'000 + 1'000 * p, 1}));
    }
    for (std::uint32_t p = 1; p <= 20; ++p) {
      MustApply(3, Sign(clerk, TxKind::kReviewProposal, proto::ReviewProposal{1, p, true, "ok", std::nullopt}));
    }
    for (std::size_t i = 0; i < voters; ++i) {
      proto::Ballot ballot{1, {}};
      for (std::uint32_t k = 0; k < 3; ++k) ballot.choices.push_back({1 + static_cast<std::uint32_t>((i + 7 * k) % 20), 1});
      std::sort(ballot.choices.begin(), ballot.choices.end(),
                [](const auto& a, const auto& b) { return a.project_id < b.project_id; });
      ballot.choices.erase(std::unique(ballot.choices.begin(), ballot.choices.end()), ballot.choices.end());
      ballots.push_back(Sign(residents[i], TxKind::kCastBallot, ballot));
    }
  }
};

void BM_ApplyBallots(benchmark::State& state) {
  const auto voters = static_cast<std::size_t>(state.range(0));
  VotingRound round(voters);
  const MemoryKv before_voting = round.kv;
  for (auto _ : state) {
    state.PauseTiming();
    round.kv = before_voting;
    state.ResumeTiming();
    for (const proto::VerifiedTx& tx : round.ballots) {
      if (!round.contracts.Apply(round.kv, {5, 5000}, tx)) state.SkipWithError("ballot refused");
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(voters));
}
BENCHMARK(BM_ApplyBallots)->Arg(10'000)->Unit(benchmark::kMillisecond);

void BM_CloseRoundMesAdd1(benchmark::State& state) {
  const auto voters = static_cast<std::size_t>(state.range(0));
  VotingRound round(voters);
  for (const proto::VerifiedTx& tx : round.ballots) round.MustApply(5, tx);
  const proto::SchnorrKeyPair clerk = proto::SchnorrKeyPair::FromSecret(Seed(1'000'000'007)).value();
  const MemoryKv voted = round.kv;
  for (auto _ : state) {
    state.PauseTiming();
    round.kv = voted;
    const proto::VerifiedTx close = round.Sign(clerk, TxKind::kCloseRound, proto::CloseRound{1});
    state.ResumeTiming();
    if (!round.contracts.Apply(round.kv, {60'000, 0}, close)) state.SkipWithError("close refused");
  }
}
BENCHMARK(BM_CloseRoundMesAdd1)->Arg(10'000)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace civic::contracts

BENCHMARK_MAIN();
