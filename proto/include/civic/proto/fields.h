// Field wrappers for a type's cereal `serialize`. Each type lists its fields once:
//
//   template <class Archive> void serialize(Archive& ar) {
//     ar(version, kind, Bounded(title, kTitleBytesMax), List(choices, kChoicesMax));
//     ar.Require(version == kVersion, ErrorCode::kUnknownVersion, "...");
//   }
//
// Only the project's own archives (src/archive.h) know how to write these; a std::vector or
// std::string given to `ar` directly does not compile, so no field can go unbounded.
//
// Encoding: integers are fixed-width little-endian; bool is one byte, 0 or 1; an enum is its
// underlying integer and must be a value its IsKnownValue() accepts; a byte string, a text or
// a list is a u32 count followed by its bytes or elements; an optional is a bool and then
// the value if present; std::array<uint8_t, N> is N raw bytes.
//
// Archive::Require(condition, code, message) runs when encoding as well as when decoding, so
// a value that would not decode cannot be encoded either.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace civic::proto {

struct BytesField {
  std::vector<std::uint8_t>& value;
  std::uint32_t max_bytes;
};
struct TextField {
  std::string& value;
  std::uint32_t max_bytes;
};
template <class T>
struct ListField {
  std::vector<T>& value;
  std::uint32_t max_count;
};
template <class T>
struct OptionalField {
  std::optional<T>& value;
};

inline BytesField Bounded(std::vector<std::uint8_t>& value, std::uint32_t max_bytes) { return {value, max_bytes}; }
inline TextField Bounded(std::string& value, std::uint32_t max_bytes) { return {value, max_bytes}; }
template <class T>
ListField<T> List(std::vector<T>& value, std::uint32_t max_count) {
  return {value, max_count};
}
template <class T>
OptionalField<T> Maybe(std::optional<T>& value) {
  return {value};
}

}  // namespace civic::proto
