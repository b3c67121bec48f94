// Proof that the simulator's checks bite: this file is linked against a deliberately broken
// consensus (one source recompiled with CIVIC_CONSENSUS_BROKEN_*, see CMakeLists.txt and
// tests/README.md, "Consensus simulation"), and passes only if the simulator reports the
// breakage within its seeds. Three variants, one executable each:
//   - ignore the lock (paper lines 23 and 29): honest validators prevote whatever is proposed;
//   - take f+1 for 2f+1: every threshold of the vote keeper counts more than 1/3 as a quorum;
//   - let the safety component sign twice: CheckSigningOrder allows anything.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "sim.h"

namespace civic::consensus::sim {
namespace {

struct Variant {
  std::string_view name;
  std::string_view mix;             // where the breakage can show
  std::uint64_t seeds_max;          // it must show within this many seeds
  std::vector<std::string_view> expected;  // the violation names one of these
};

#if defined(CIVIC_SIM_BROKEN_IGNORE_LOCK)
// A fork needs a block decided by some validators in one round while the others, not yet
// told (slow block sync), take a fresh proposal in a later round: lost and late messages,
// lock-breaking Byzantine validators and slow sync, as mix "all" has them.
const Variant kVariant{"ignore the lock", "all", 400, {"agreement"}};
#elif defined(CIVIC_SIM_BROKEN_WEAK_QUORUM)
const Variant kVariant{"f+1 as a quorum", "calm", 20, {"certificate", "agreement"}};
#elif defined(CIVIC_SIM_BROKEN_SIGN_TWICE)
// Only a restarted validator would sign again where it signed before.
const Variant kVariant{"the safety component signs twice", "crashes", 300, {"signed two different messages"}};
#else
#error "define one of CIVIC_SIM_BROKEN_IGNORE_LOCK, CIVIC_SIM_BROKEN_WEAK_QUORUM, CIVIC_SIM_BROKEN_SIGN_TWICE"
#endif

TEST(BrokenConsensus, TheSimulatorReportsIt) {
  Variant variant = kVariant;
  // For exploring: another mix or more seeds.
  if (const char* m = std::getenv("CIVIC_SIM_BROKEN_MIX")) variant.mix = m;
  if (const char* n = std::getenv("CIVIC_SIM_BROKEN_SEEDS")) variant.seeds_max = std::strtoull(n, nullptr, 10);
  const std::optional<FaultMix> mix = MixNamed(variant.mix);
  ASSERT_TRUE(mix.has_value());
  for (std::uint64_t seed = 1; seed <= variant.seeds_max; ++seed) {
    Options options;
    options.seed = seed;
    options.mix = *mix;
    options.validators_max = 7;
    const Outcome outcome = Simulation(options).Run();
    if (outcome.ok) continue;
    const std::string first_line = outcome.violation.substr(0, outcome.violation.find('\n'));
    std::printf("[  BROKEN  ] %.*s: caught in seed %llu of at most %llu (mix %.*s): %s\n",
                static_cast<int>(variant.name.size()), variant.name.data(), static_cast<unsigned long long>(seed),
                static_cast<unsigned long long>(variant.seeds_max), static_cast<int>(variant.mix.size()),
                variant.mix.data(), first_line.c_str());
    bool expected = false;
    for (const std::string_view kind : variant.expected) expected = expected || first_line.find(kind) != std::string::npos;
    EXPECT_TRUE(expected) << "caught, but not as expected:\n" << outcome.violation;
    return;
  }
  ADD_FAILURE() << "consensus with \"" << variant.name << "\" ran " << variant.seeds_max
                << " seeds without a violation: the simulator's checks do not bite";
}

}  // namespace
}  // namespace civic::consensus::sim
