// contracts/ outcome rules on the largest real instance (Google Benchmark). Run:
//   build/release/tests/bench/tally_bench
// Target (issue 4): MES with add1 completion on Warszawa Mokotów (11,067 voters, 81 projects,
// 348 raises) in at most 1 s on the 2-core development machine; pabutools took 650 s.
#include <benchmark/benchmark.h>

#include <fstream>
#include <sstream>
#include <string>

#include "civic/contracts/pabulib.h"
#include "civic/contracts/tally.h"

namespace civic::contracts {
namespace {

const std::string& MokotowText() {
  static const std::string text = [] {
    std::ifstream in(std::string(CIVIC_SHARED_DIR) + "/data/pabulib/Poland_Warszawa_2023_Mokotow.pb", std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return std::move(out).str();
  }();
  return text;
}

const PabulibTally* Mokotow() {
  static const std::optional<PabulibTally> tally = []() -> std::optional<PabulibTally> {
    proto::Result<PabulibInstance> instance = ParsePabulib(MokotowText());
    if (!instance) return std::nullopt;
    proto::Result<PabulibTally> out = ToTallyInput(*instance);
    return out ? std::optional<PabulibTally>(std::move(*out)) : std::nullopt;
  }();
  return tally ? &*tally : nullptr;
}

void TallyMokotow(benchmark::State& state, OutcomeRule rule) {
  const PabulibTally* tally = Mokotow();
  if (tally == nullptr) return state.SkipWithError("cannot read Poland_Warszawa_2023_Mokotow.pb from ../shared");
  for (auto _ : state) {
    proto::Result<TallyResult> result = Tally(tally->input, rule);
    if (!result) return state.SkipWithError(result.error().message.c_str());
    benchmark::DoNotOptimize(result->spent);
  }
}

void BM_MokotowGreedy(benchmark::State& state) { TallyMokotow(state, OutcomeRule::kGreedy); }
BENCHMARK(BM_MokotowGreedy)->Unit(benchmark::kMillisecond);

void BM_MokotowMes(benchmark::State& state) { TallyMokotow(state, OutcomeRule::kMesCost); }
BENCHMARK(BM_MokotowMes)->Unit(benchmark::kMillisecond);

void BM_MokotowMesAdd1(benchmark::State& state) { TallyMokotow(state, OutcomeRule::kMesCostAdd1); }
BENCHMARK(BM_MokotowMesAdd1)->Unit(benchmark::kMillisecond);

void BM_MokotowMesApprovalAdd1(benchmark::State& state) { TallyMokotow(state, OutcomeRule::kMesApprovalCountAdd1); }
BENCHMARK(BM_MokotowMesApprovalAdd1)->Unit(benchmark::kMillisecond);

// Parse the 701 KB file and build the tally input: what civic-wallet does before tallying.
void BM_MokotowParse(benchmark::State& state) {
  const std::string& text = MokotowText();
  for (auto _ : state) {
    proto::Result<PabulibInstance> instance = ParsePabulib(text);
    if (!instance) return state.SkipWithError(instance.error().message.c_str());
    proto::Result<PabulibTally> tally = ToTallyInput(*instance);
    benchmark::DoNotOptimize(tally.has_value());
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(text.size()));
}
BENCHMARK(BM_MokotowParse)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace civic::contracts

BENCHMARK_MAIN();
