// Command-line numbers for the benchmark programs: `--name N`.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>

namespace civic::bench {

// The value after `name` on the command line, or `fallback`.
inline std::uint64_t Flag(int argc, char** argv, const std::string& name, std::uint64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return std::strtoull(argv[i + 1], nullptr, 10);
  }
  return fallback;
}

}  // namespace civic::bench
