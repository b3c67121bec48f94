// Helpers shared by the proto tests: reading ../shared data and building test values.
#pragma once

#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "civic/proto/bytes.h"
#include "civic/proto/chain.h"

namespace civic::proto::testing {

// A file under ../shared, whole. A missing file fails the test: the vectors are not optional.
inline std::string ReadShared(const std::string& relative_path) {
  const std::string path = std::string(CIVIC_SHARED_DIR) + "/" + relative_path;
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path << "; tests need ../shared beside the repository";
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

inline Bytes Hex(std::string_view hex) {
  Result<Bytes> bytes = FromHex(hex);
  EXPECT_TRUE(bytes.has_value()) << "bad hex in test data: " << hex;
  return bytes.value_or(Bytes{});
}

template <class Fixed>
Fixed FixedHex(std::string_view hex) {
  Result<Fixed> value = FixedFromHex<Fixed>(hex);
  EXPECT_TRUE(value.has_value()) << "bad fixed hex in test data: " << hex;
  return value.value_or(Fixed{});
}

inline ChainId TestChain(std::string_view name = "civic-test") { return ChainId::Parse(name).value(); }

// A 32-byte value whose every byte is `fill`, for deterministic test keys.
inline std::array<std::uint8_t, 32> Filled(std::uint8_t fill) {
  std::array<std::uint8_t, 32> out;
  out.fill(fill);
  return out;
}

}  // namespace civic::proto::testing
