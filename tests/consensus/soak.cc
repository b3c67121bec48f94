// consensus_soak: runs the deterministic simulator (sim.h) over any number of seeds.
//
//   consensus_soak --seeds 100000 --first 1 --mix any [--validators N | --validators-max N] [--heights H]
//                  [--node-gossip]
//
// Prints progress now and then and a summary at the end. Stops at the first violation,
// prints it with the one command line that replays exactly that run, and exits 1.
// A bad or unknown flag is refused with CLI11's message naming it (an exit code above 100).
#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include <CLI/CLI.hpp>

#include "sim.h"

namespace {

using civic::consensus::sim::MixNamed;
using civic::consensus::sim::MixNames;
using civic::consensus::sim::Options;
using civic::consensus::sim::Outcome;
using civic::consensus::sim::Simulation;

struct Flags {
  std::uint64_t seeds = 1000;
  std::uint64_t first = 1;
  std::string mix = "any";
  std::size_t validators = 0;  // 0: the seed decides, from 4 to validators_max
  std::size_t validators_max = civic::consensus::sim::kValidatorsMax;
  std::uint64_t heights = civic::consensus::sim::kHeightsDefault;
  std::uint64_t progress_every = 1000;
  bool trace = false;
  bool node_gossip = false;  // Options::node_gossip: the gossip node/ does
};

std::string Repro(const char* program, const Flags& flags, std::uint64_t seed) {
  std::string command = std::string(program) + " --first " + std::to_string(seed) + " --seeds 1 --mix " + flags.mix;
  if (flags.validators != 0) command += " --validators " + std::to_string(flags.validators);
  if (flags.validators_max != civic::consensus::sim::kValidatorsMax) {
    command += " --validators-max " + std::to_string(flags.validators_max);
  }
  if (flags.heights != civic::consensus::sim::kHeightsDefault) command += " --heights " + std::to_string(flags.heights);
  if (flags.node_gossip) command += " --node-gossip";
  return command;
}

}  // namespace

int main(int argc, char** argv) {
  Flags flags;
  std::string mixes;
  for (std::string_view name : MixNames()) mixes += (mixes.empty() ? "" : ", ") + std::string(name);
  CLI::App app{"consensus_soak: the deterministic consensus simulator (sim.h) over any number of seeds; stops at the "
               "first violation with the command that replays it (exit 1)"};
  app.add_option("--seeds", flags.seeds, "how many seeds")->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1} << 40));
  app.add_option("--first", flags.first, "the first seed");
  app.add_option("--mix", flags.mix, "the fault mix: " + mixes)->check([](const std::string& name) {
    return MixNamed(name) ? std::string() : "unknown mix " + name;
  });
  constexpr std::size_t kMin = civic::consensus::sim::kValidatorsMin;
  constexpr std::size_t kMax = civic::consensus::sim::kValidatorsMax;
  app.add_option("--validators", flags.validators, "validators in every run (else the seed picks)")
      ->check(CLI::Range(kMin, kMax));
  app.add_option("--validators-max", flags.validators_max, "the most validators the seed may pick")
      ->check(CLI::Range(kMin, kMax));
  app.add_option("--heights", flags.heights, "heights per run")->check(CLI::Range(std::uint64_t{1}, std::uint64_t{1000}));
  app.add_option("--progress-every", flags.progress_every, "print progress every N seeds")
      ->check(CLI::PositiveNumber);
  app.add_flag("--trace", flags.trace, "print every event (for replaying one seed)");
  app.add_flag("--node-gossip", flags.node_gossip, "the gossip node/ does, not Tendermint's (tests/README.md)");
  CLI11_PARSE(app, argc, argv);

  const auto start = std::chrono::steady_clock::now();
  const auto seconds_since = [&start] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  std::uint64_t heights = 0;
  std::uint64_t deliveries = 0;
  std::uint64_t validators = 0;
  std::uint64_t byzantine_runs = 0;
  std::uint64_t safety_only_runs = 0;
  std::uint64_t ticks_after_sync_max = 0;
  std::uint64_t ticks_after_sync_max_seed = 0;
  civic::consensus::Round round_max = 0;
  std::printf("consensus_soak: %llu seeds from %llu, mix %s, %s validators\n",
              static_cast<unsigned long long>(flags.seeds), static_cast<unsigned long long>(flags.first),
              flags.mix.c_str(),
              flags.validators != 0 ? std::to_string(flags.validators).c_str()
                                    : ("4 to " + std::to_string(flags.validators_max)).c_str());
  std::fflush(stdout);
  for (std::uint64_t k = 0; k < flags.seeds; ++k) {
    const std::uint64_t seed = flags.first + k;
    Options options;
    options.seed = seed;
    options.mix = *MixNamed(flags.mix);
    options.validators = flags.validators;
    options.validators_max = flags.validators_max;
    options.heights = flags.heights;
    options.trace = flags.trace;
    options.node_gossip = flags.node_gossip;
    Simulation simulation(options);
    const Outcome outcome = simulation.Run();
    if (!outcome.ok) {
      std::printf("consensus_soak: seed %llu FAILED after %llu clean seeds:\n%s\nreproduce with:\n  %s\n",
                  static_cast<unsigned long long>(seed), static_cast<unsigned long long>(k),
                  outcome.violation.c_str(), Repro(argv[0], flags, seed).c_str());
      return 1;
    }
    heights += outcome.stats.target;
    deliveries += outcome.stats.deliveries;
    validators += outcome.stats.validators;
    byzantine_runs += outcome.stats.byzantine > 0 ? 1 : 0;
    safety_only_runs += outcome.stats.liveness_required ? 0 : 1;
    round_max = std::max(round_max, outcome.stats.round_max);
    if (outcome.stats.ticks_after_sync > ticks_after_sync_max) {
      ticks_after_sync_max = outcome.stats.ticks_after_sync;
      ticks_after_sync_max_seed = seed;
    }
    if ((k + 1) % flags.progress_every == 0) {
      const double elapsed = seconds_since();
      std::printf("  %llu seeds clean (up to %llu) in %.0f s, %.1f seeds/s\n", static_cast<unsigned long long>(k + 1),
                  static_cast<unsigned long long>(seed), elapsed, static_cast<double>(k + 1) / elapsed);
      std::fflush(stdout);
    }
  }
  std::printf(
      "consensus_soak: %llu seeds clean (%llu to %llu), mix %s, %llu heights committed, %llu runs with Byzantine "
      "validators, %llu beyond the fault model (safety only), highest round %lld, longest recovery %llu ticks after sync (seed %llu), %.1f s; "
      "%.1f validators and %.0f deliveries per seed on average\n",
      static_cast<unsigned long long>(flags.seeds), static_cast<unsigned long long>(flags.first),
      static_cast<unsigned long long>(flags.first + flags.seeds - 1), flags.mix.c_str(),
      static_cast<unsigned long long>(heights), static_cast<unsigned long long>(byzantine_runs),
      static_cast<unsigned long long>(safety_only_runs),
      static_cast<long long>(round_max), static_cast<unsigned long long>(ticks_after_sync_max),
      static_cast<unsigned long long>(ticks_after_sync_max_seed), seconds_since(),
      static_cast<double>(validators) / static_cast<double>(std::max<std::uint64_t>(1, flags.seeds)),
      static_cast<double>(deliveries) / static_cast<double>(std::max<std::uint64_t>(1, flags.seeds)));
  return 0;
}
