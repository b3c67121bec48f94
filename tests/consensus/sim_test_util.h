// Helpers for the simulator's GoogleTest cases: which seeds to run, the command line that
// replays one, and a last word if the process aborts (a CIVIC_ASSERT or a sanitizer) in
// the middle of a seed.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "sim.h"

namespace civic::consensus::sim::testing {

// CIVIC_SIM_SEED=n runs only seed n; otherwise first, first + stride, ... below first + count.
inline std::vector<std::uint64_t> SeedsToRun(std::uint64_t first, std::uint64_t count, std::uint64_t stride) {
  if (const char* only = std::getenv("CIVIC_SIM_SEED"); only != nullptr && *only != '\0') {
    return {std::strtoull(only, nullptr, 10)};
  }
  std::vector<std::uint64_t> seeds;
  for (std::uint64_t k = 0; k < count; k += stride) seeds.push_back(first + k);
  return seeds;
}

inline bool TraceRequested() {
  const char* trace = std::getenv("CIVIC_SIM_TRACE");
  return trace != nullptr && *trace != '\0' && std::strcmp(trace, "0") != 0;
}

// CIVIC_SIM_SEED=<seed> <this binary> --gtest_filter=<this test>
inline std::string ReproCommand(std::uint64_t seed) {
  char path[4096] = {};
  const ssize_t length = readlink("/proc/self/exe", path, sizeof(path) - 1);
  const std::string binary = length > 0 ? std::string(path, static_cast<std::size_t>(length)) : "consensus_sim_tests";
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const std::string filter = test != nullptr ? std::string(test->test_suite_name()) + "." + test->name() : "*";
  return "CIVIC_SIM_SEED=" + std::to_string(seed) + " " + binary + " --gtest_filter=" + filter;
}

// What an abort prints, prepared before each seed (the handler only writes it out).
inline char g_abort_message[8192];

inline void OnAbort(int) {
  const ssize_t ignored = write(STDERR_FILENO, g_abort_message, std::strlen(g_abort_message));
  (void)ignored;
}

inline void SetAbortMessage(const std::string& message) {
  static const bool installed = [] {
    struct sigaction action {};
    action.sa_handler = OnAbort;
    action.sa_flags = static_cast<int>(SA_RESETHAND);  // print once, then abort as usual
    sigemptyset(&action.sa_mask);
    return sigaction(SIGABRT, &action, nullptr) == 0;
  }();
  (void)installed;
  const std::size_t n = std::min(message.size(), sizeof(g_abort_message) - 1);
  std::memcpy(g_abort_message, message.data(), n);
  g_abort_message[n] = '\0';
}

}  // namespace civic::consensus::sim::testing
