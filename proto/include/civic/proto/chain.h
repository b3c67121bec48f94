// The chain id names one network. It is inside every domain tag (hash.h), so a signature
// made for one chain never verifies on another.
#pragma once

#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "civic/proto/fields.h"
#include "civic/proto/result.h"

namespace civic::proto {

inline constexpr std::uint32_t kChainIdBytesMax = 48;

class ChainId {
 public:
  ChainId() = default;  // empty and invalid: only for decoding into; Encode refuses it

  // 1 to 48 characters of a-z, 0-9, '-' and '.', starting with a letter or digit,
  // e.g. "assen-2024.pb". No '/' so that domain tags stay unambiguous.
  [[nodiscard]] static Result<ChainId> Parse(std::string_view text);
  static bool IsWellFormed(std::string_view text);

  const std::string& str() const { return value_; }
  friend auto operator<=>(const ChainId&, const ChainId&) = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(Bounded(value_, kChainIdBytesMax));
    ar.Require(IsWellFormed(value_), ErrorCode::kInvalidArgument,
               "chain id must be 1-48 characters of a-z, 0-9, '-' and '.', starting with a letter or digit");
  }

 private:
  std::string value_;
};

}  // namespace civic::proto
