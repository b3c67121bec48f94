// Errors are values. Every function that can fail on input returns Result<T>, and is
// [[nodiscard]] so that a dropped error fails the build (tl::expected itself is not).
//
// Bad input (a peer, a resident, a file) becomes an Error and changes nothing. Our own bugs
// are CIVIC_ASSERT (assert.h) and abort. Nothing in proto/ throws past its API.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include <tl/expected.hpp>

namespace civic::proto {

enum class ErrorCode : std::uint8_t {
  kMalformed,        // truncated, trailing bytes, bad hex, a length that runs past the end
  kTooLarge,         // above a field's or a message's bound
  kNonCanonical,     // a second encoding of a value that has one canonical form
  kUnknownVersion,   // a version this build does not speak
  kUnknownKind,      // an enum value this build does not know
  kInvalidArgument,  // a value that is well formed but not allowed (e.g. a bad chain id)
  kBadSignature,     // a signature that does not verify, or a key that does not parse
  kBadProof,         // a Merkle proof or commit certificate that does not check out
  kIo,               // the environment failed: a file, the disk, the database (not the input)
};

// A stable lower-case name, for logs and JSON ("malformed", "too_large", ...).
std::string_view ErrorCodeName(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;  // what was wrong and, where it helps, what to do about it
};

template <class T>
using Result = tl::expected<T, Error>;

inline tl::unexpected<Error> Fail(ErrorCode code, std::string message) {
  return tl::unexpected<Error>(Error{code, std::move(message)});
}

// "too_large: field payload is 70000 bytes, at most 65536 allowed"
std::string ToString(const Error& error);

}  // namespace civic::proto
