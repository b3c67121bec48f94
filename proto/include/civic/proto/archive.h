// The project's own pair of cereal archives: the only code that turns fields into bytes and
// back. Included only through codec_impl.h, by .cc files: cereal stays out of every header
// that others include.
//
// Both archives signal failure by throwing CodecFailure, which Encode and Decode
// (codec_impl.h) catch at the API edge and turn into an Error; nothing else ever sees it.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include <cereal/cereal.hpp>

#include "civic/proto/bytes.h"
#include "civic/proto/fields.h"
#include "civic/proto/result.h"

namespace civic::proto::detail {

struct CodecFailure {
  Error error;
};

[[noreturn]] void ThrowCodecFailure(ErrorCode code, std::string message);

// True if `text` is well-formed UTF-8 (no overlong forms, no surrogates, nothing above U+10FFFF).
bool IsValidUtf8(std::string_view text);

class Encoder : public cereal::OutputArchive<Encoder, cereal::AllowEmptyClassElision> {
 public:
  explicit Encoder(Bytes& out) : OutputArchive<Encoder, cereal::AllowEmptyClassElision>(this), out_(out) {}

  void Require(bool condition, ErrorCode code, const char* message) {
    if (!condition) ThrowCodecFailure(code, message);
  }
  void Require(const Result<void>& check) {
    if (!check) ThrowCodecFailure(check.error().code, check.error().message);
  }

  template <class U>
  void PutLittleEndian(U value) {
    static_assert(std::is_unsigned_v<U>);
    for (std::size_t i = 0; i < sizeof(U); ++i) out_.push_back(static_cast<std::uint8_t>(value >> (8 * i)));
  }
  void PutLength(std::size_t length, std::uint32_t max, const char* what);
  void PutRaw(const std::uint8_t* data, std::size_t size) { out_.insert(out_.end(), data, data + size); }

 private:
  Bytes& out_;
};

class Decoder : public cereal::InputArchive<Decoder, cereal::AllowEmptyClassElision> {
 public:
  explicit Decoder(ByteView input)
      : InputArchive<Decoder, cereal::AllowEmptyClassElision>(this), input_(input) {}

  void Require(bool condition, ErrorCode code, const char* message) {
    if (!condition) ThrowCodecFailure(code, message + AtOffset());
  }
  void Require(const Result<void>& check) {
    if (!check) ThrowCodecFailure(check.error().code, check.error().message + AtOffset());
  }

  std::size_t remaining() const { return input_.size() - offset_; }
  std::size_t offset() const { return offset_; }

  // Exactly n bytes, or a failure that says the input ended early.
  ByteView Take(std::size_t n);

  template <class U>
  U GetLittleEndian() {
    static_assert(std::is_unsigned_v<U>);
    ByteView raw = Take(sizeof(U));
    U value = 0;
    for (std::size_t i = 0; i < sizeof(U); ++i) value = static_cast<U>(value | (U{raw[i]} << (8 * i)));
    return value;
  }

  // A u32 count, checked against the field's bound and against what the input could still
  // hold (every element takes at least one byte), before anyone allocates for it.
  std::uint32_t GetLength(std::uint32_t max, const char* what);

  std::string AtOffset() const { return " (at byte " + std::to_string(offset_) + ")"; }

 private:
  ByteView input_;
  std::size_t offset_ = 0;
};

// ---- integers: fixed-width little-endian ----
template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
void CEREAL_SAVE_FUNCTION_NAME(Encoder& ar, const T& value) {
  ar.PutLittleEndian(static_cast<std::make_unsigned_t<T>>(value));
}
template <class T>
  requires(std::is_integral_v<T> && !std::is_same_v<T, bool>)
void CEREAL_LOAD_FUNCTION_NAME(Decoder& ar, T& value) {
  value = static_cast<T>(ar.GetLittleEndian<std::make_unsigned_t<T>>());
}

// ---- bool: one byte, 0 or 1 ----
inline void CEREAL_SAVE_FUNCTION_NAME(Encoder& ar, const bool& value) {
  ar.PutLittleEndian(static_cast<std::uint8_t>(value ? 1 : 0));
}
inline void CEREAL_LOAD_FUNCTION_NAME(Decoder& ar, bool& value) {
  const std::uint8_t raw = ar.GetLittleEndian<std::uint8_t>();
  ar.Require(raw <= 1, ErrorCode::kNonCanonical, "a bool must be encoded as 0 or 1");
  value = raw == 1;
}

// ---- enums: the underlying integer, which IsKnownValue (found by ADL) must accept ----
template <class E>
  requires std::is_enum_v<E>
void CEREAL_SAVE_FUNCTION_NAME(Encoder& ar, const E& value) {
  ar.Require(IsKnownValue(value), ErrorCode::kUnknownKind, "an enum value this build does not know");
  ar.PutLittleEndian(static_cast<std::make_unsigned_t<std::underlying_type_t<E>>>(value));
}
template <class E>
  requires std::is_enum_v<E>
void CEREAL_LOAD_FUNCTION_NAME(Decoder& ar, E& value) {
  using Raw = std::make_unsigned_t<std::underlying_type_t<E>>;
  const E decoded = static_cast<E>(ar.GetLittleEndian<Raw>());
  if (!IsKnownValue(decoded)) {
    ThrowCodecFailure(ErrorCode::kUnknownKind, "unknown enum value " + std::to_string(static_cast<Raw>(decoded)) +
                                                   ar.AtOffset() + "; a newer build may know it");
  }
  value = decoded;
}

// ---- std::array<uint8_t, N>: N raw bytes ----
template <std::size_t N>
void CEREAL_SAVE_FUNCTION_NAME(Encoder& ar, const std::array<std::uint8_t, N>& value) {
  ar.PutRaw(value.data(), N);
}
template <std::size_t N>
void CEREAL_LOAD_FUNCTION_NAME(Decoder& ar, std::array<std::uint8_t, N>& value) {
  ByteView raw = ar.Take(N);
  for (std::size_t i = 0; i < N; ++i) value[i] = raw[i];
}

// ---- bounded byte strings and texts: u32 length, then the bytes ----
inline void CEREAL_SAVE_FUNCTION_NAME(Encoder& ar, const BytesField& field) {
  ar.PutLength(field.value.size(), field.max_bytes, "byte string");
  ar.PutRaw(field.value.data(), field.value.size());
}
inline void CEREAL_LOAD_FUNCTION_NAME(Decoder& ar, BytesField& field) {
  const std::uint32_t length = ar.GetLength(field.max_bytes, "byte string");
  ByteView raw = ar.Take(length);
  field.value.assign(raw.begin(), raw.end());
}
inline void CEREAL_SAVE_FUNCTION_NAME(Encoder& ar, const TextField& field) {
  ar.PutLength(field.value.size(), field.max_bytes, "text");
  ar.Require(IsValidUtf8(field.value), ErrorCode::kMalformed, "text is not valid UTF-8");
  ar.PutRaw(reinterpret_cast<const std::uint8_t*>(field.value.data()), field.value.size());
}
inline void CEREAL_LOAD_FUNCTION_NAME(Decoder& ar, TextField& field) {
  const std::uint32_t length = ar.GetLength(field.max_bytes, "text");
  ByteView raw = ar.Take(length);
  field.value.assign(reinterpret_cast<const char*>(raw.data()), raw.size());
  ar.Require(IsValidUtf8(field.value), ErrorCode::kMalformed, "text is not valid UTF-8");
}

// ---- bounded lists: u32 count, then the elements ----
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(Encoder& ar, const ListField<T>& field) {
  ar.PutLength(field.value.size(), field.max_count, "list");
  for (const T& element : field.value) ar(element);
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(Decoder& ar, ListField<T>& field) {
  const std::uint32_t count = ar.GetLength(field.max_count, "list");
  field.value.clear();
  // No reserve(count): the vector grows with what was really decoded, so a false count
  // costs nothing before the input runs out.
  for (std::uint32_t i = 0; i < count; ++i) {
    T element{};
    ar(element);
    field.value.push_back(std::move(element));
  }
}

// ---- optionals: a bool, then the value if present ----
template <class T>
void CEREAL_SAVE_FUNCTION_NAME(Encoder& ar, const OptionalField<T>& field) {
  ar(field.value.has_value());
  if (field.value) ar(*field.value);
}
template <class T>
void CEREAL_LOAD_FUNCTION_NAME(Decoder& ar, OptionalField<T>& field) {
  bool present = false;
  ar(present);
  if (!present) {
    field.value.reset();
    return;
  }
  T value{};
  ar(value);
  field.value = std::move(value);
}

}  // namespace civic::proto::detail

CEREAL_SETUP_ARCHIVE_TRAITS(civic::proto::detail::Decoder, civic::proto::detail::Encoder)

// cereal.hpp brings its own enum handling (types/common.hpp), which would write any value;
// these tell it to use ours above, which refuses values IsKnownValue does not accept.
namespace cereal {
template <class E>
  requires std::is_enum_v<E>
struct specialize<civic::proto::detail::Encoder, E, specialization::non_member_load_save> : std::true_type {};
template <class E>
  requires std::is_enum_v<E>
struct specialize<civic::proto::detail::Decoder, E, specialization::non_member_load_save> : std::true_type {};
}  // namespace cereal
