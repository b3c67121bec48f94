// The deterministic simulator over fixed seed ranges: 1,000 seeds of 20 heights in all, split
// into cases by fault mix so that CTest can run them in parallel. Each seed is one whole
// cluster run (sim.h): agreement, validity, certificates and single signing are checked as
// the run goes, termination at its end.
//
// A failing seed prints the one command that replays exactly that run, e.g.
//   CIVIC_SIM_SEED=2042 build/release/tests/consensus/consensus_sim_tests --gtest_filter=ConsensusSim.Partitions
// (CIVIC_SIM_SEED runs only that seed, whatever the case's range; CIVIC_SIM_TRACE=1 prints
// every event of it).
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "sim_test_util.h"

namespace civic::consensus::sim {
namespace {

// The sanitizer build (tests/run's second stage) runs every third seed of each case: a seed
// costs about 3.5 times as much there, and the release build runs them all.
#ifdef CIVIC_SIM_SANITIZED_BUILD
constexpr std::uint64_t kSeedStride = 3;
#else
constexpr std::uint64_t kSeedStride = 1;
#endif

struct Range {
  std::uint64_t first = 1;
  std::uint64_t count = 0;
};

// Runs `range` (or only CIVIC_SIM_SEED) with `mix`; validators from the seed in
// [kValidatorsMin, validators_max], or via `validators_of(seed)` when given; with the
// gossip node/ does when `node_gossip` (Options::node_gossip).
void RunSeeds(std::string_view mix_name, Range range, std::size_t validators_max,
              std::size_t (*validators_of)(std::uint64_t) = nullptr, bool node_gossip = false) {
  const std::optional<FaultMix> mix = MixNamed(mix_name);
  ASSERT_TRUE(mix.has_value());
  const auto start = std::chrono::steady_clock::now();
  std::uint64_t heights = 0;
  std::uint64_t safety_only = 0;
  std::uint64_t byzantine = 0;
  std::uint64_t recovery_max = 0;
  const std::vector<std::uint64_t> seeds = testing::SeedsToRun(range.first, range.count, kSeedStride);
  for (const std::uint64_t seed : seeds) {
    const std::string repro = testing::ReproCommand(seed);
    testing::SetAbortMessage("consensus_sim_tests: aborted in seed " + std::to_string(seed) + "; replay with\n  " +
                             repro + "\n");
    Options options;
    options.seed = seed;
    options.mix = *mix;
    options.validators_max = validators_max;
    if (validators_of != nullptr) options.validators = validators_of(seed);
    options.trace = testing::TraceRequested();
    options.node_gossip = node_gossip;
    const Outcome outcome = Simulation(options).Run();
    if (!outcome.ok) {
      ADD_FAILURE() << "seed " << seed << ": " << outcome.violation << "replay exactly this run with:\n  " << repro;
      return;  // the first failure is the one to look at
    }
    heights += outcome.stats.target;
    safety_only += outcome.stats.liveness_required ? 0 : 1;
    byzantine += outcome.stats.byzantine > 0 ? 1 : 0;
    recovery_max = std::max(recovery_max, outcome.stats.ticks_after_sync);
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[   SIM    ] %zu seeds (mix %.*s%s), %llu heights, %llu with Byzantine validators, %llu beyond the fault "
              "model (safety only), longest recovery %llu ticks, %.1f s\n",
              seeds.size(), static_cast<int>(mix_name.size()), mix_name.data(), node_gossip ? ", node gossip" : "",
              static_cast<unsigned long long>(heights), static_cast<unsigned long long>(byzantine),
              static_cast<unsigned long long>(safety_only), static_cast<unsigned long long>(recovery_max), seconds);
}

constexpr std::size_t kSmall = 6;  // most cases: 4 to 6 validators (a run costs n^2 signature checks)

std::size_t EightToTen(std::uint64_t seed) { return 8 + seed % 3; }

// 1,000 seeds in all (in the release build).
TEST(ConsensusSim, Calm) { RunSeeds("calm", {1, 100}, kSmall); }
TEST(ConsensusSim, Lossy) { RunSeeds("lossy", {1001, 125}, kSmall); }
TEST(ConsensusSim, Partitions) { RunSeeds("partitions", {2001, 125}, kSmall); }
TEST(ConsensusSim, Crashes) { RunSeeds("crashes", {3001, 150}, kSmall); }
TEST(ConsensusSim, Byzantine) { RunSeeds("byzantine", {4001, 150}, kSmall); }
TEST(ConsensusSim, Everything) { RunSeeds("all", {5001, 150}, kSmall); }
TEST(ConsensusSim, AnyMix) { RunSeeds("any", {6001, 130}, kSmall); }
TEST(ConsensusSim, SevenValidators) { RunSeeds("any", {7001, 30}, kSmall, [](std::uint64_t) -> std::size_t { return 7; }); }
// The same faults with the gossip node/ actually does (Options::node_gossip): only its own
// messages and its valid polka, sent again on its timeouts, on reconnecting and when stalled.
TEST(ConsensusSim, NodeGossipLossy) { RunSeeds("lossy", {11001, 60}, kSmall, nullptr, true); }
TEST(ConsensusSim, NodeGossipPartitions) { RunSeeds("partitions", {12001, 60}, kSmall, nullptr, true); }
TEST(ConsensusSim, NodeGossipCrashes) { RunSeeds("crashes", {13001, 60}, kSmall, nullptr, true); }
TEST(ConsensusSim, NodeGossipByzantine) { RunSeeds("byzantine", {14001, 60}, kSmall, nullptr, true); }
TEST(ConsensusSim, NodeGossipAnyMix) { RunSeeds("any", {16001, 60}, kSmall, nullptr, true); }
TEST(ConsensusSim, EightToTenValidators) { RunSeeds("any", {8001, 40}, kValidatorsMax, EightToTen); }

// The same seed gives the same run, event for event.
TEST(ConsensusSim, ASeedReplaysExactly) {
  Options options;
  options.seed = 77;
  options.mix = *MixNamed("all");
  const Outcome first = Simulation(options).Run();
  const Outcome second = Simulation(options).Run();
  ASSERT_TRUE(first.ok) << first.violation;
  EXPECT_EQ(first.stats.events, second.stats.events);
  EXPECT_EQ(first.stats.deliveries, second.stats.deliveries);
  EXPECT_EQ(first.stats.end_tick, second.stats.end_tick);
  EXPECT_EQ(first.stats.dropped, second.stats.dropped);
}

}  // namespace
}  // namespace civic::consensus::sim
