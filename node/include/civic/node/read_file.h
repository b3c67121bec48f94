// Reading a whole small file (config, genesis, key, a wallet's input) with a bound.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "civic/proto/result.h"

namespace civic::node {

// The whole file, refusing more than `bytes_max` bytes. Reads at most bytes_max + 1 bytes, so
// a file that grows while we read, or a device that never ends, cannot make us read forever.
// Errors start with "<what> <path>: " (e.g. "genesis file /etc/civic/genesis.json: does not
// exist").
[[nodiscard]] proto::Result<std::string> ReadFileBounded(const std::filesystem::path& path, std::size_t bytes_max,
                                                         std::string_view what);

}  // namespace civic::node
