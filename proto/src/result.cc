#include "civic/proto/result.h"

#include <cstdio>
#include <cstdlib>

#include "civic/proto/assert.h"

namespace civic::proto {

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kMalformed: return "malformed";
    case ErrorCode::kTooLarge: return "too_large";
    case ErrorCode::kNonCanonical: return "non_canonical";
    case ErrorCode::kUnknownVersion: return "unknown_version";
    case ErrorCode::kUnknownKind: return "unknown_kind";
    case ErrorCode::kInvalidArgument: return "invalid_argument";
    case ErrorCode::kBadSignature: return "bad_signature";
    case ErrorCode::kBadProof: return "bad_proof";
    case ErrorCode::kIo: return "io";
  }
  return "unknown_error";
}

std::string ToString(const Error& error) {
  return std::string(ErrorCodeName(error.code)) + ": " + error.message;
}

namespace detail {
void AssertFail(const char* expression, const char* file, int line) {
  std::fprintf(stderr, "civic-ledger: assertion failed: %s at %s:%d\n", expression, file, line);
  std::fflush(stderr);
  std::abort();
}
}  // namespace detail

}  // namespace civic::proto
