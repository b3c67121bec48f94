#include "civic/proto/bytes.h"

#include <sodium.h>

namespace civic::proto {

std::string ToHex(ByteView bytes) {
  if (bytes.empty()) return {};  // libsodium's arguments must not be null, as an empty span's data() may be
  std::string out(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), bytes.data(), bytes.size());
  out.pop_back();  // the terminating NUL
  return out;
}

Result<Bytes> FromHex(std::string_view hex) {
  if (hex.size() % 2 != 0) {
    return Fail(ErrorCode::kMalformed, "hex has an odd number of digits (" + std::to_string(hex.size()) + ")");
  }
  if (hex.empty()) return Bytes{};  // libsodium's arguments must not be null
  Bytes out(hex.size() / 2);
  std::size_t written = 0;
  const char* end = nullptr;
  const int rc = sodium_hex2bin(out.data(), out.size(), hex.data(), hex.size(), /*ignore=*/nullptr, &written, &end);
  if (rc != 0 || written != out.size() || end != hex.data() + hex.size()) {
    const std::size_t at = end == nullptr ? 0 : static_cast<std::size_t>(end - hex.data());
    return Fail(ErrorCode::kMalformed, "not a hex digit at position " + std::to_string(at));
  }
  return out;
}

}  // namespace civic::proto
