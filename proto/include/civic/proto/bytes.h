// Byte strings and fixed-size byte values (hashes, keys, signatures).
#pragma once

#include <array>
#include <compare>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "civic/proto/result.h"

namespace civic::proto {

using Bytes = std::vector<std::uint8_t>;
using ByteView = std::span<const std::uint8_t>;

// A fixed number of bytes with a tag type, so that a hash is never passed where a key is
// expected. Encoded as the raw bytes, with no length prefix.
template <std::size_t N, class Tag>
struct FixedBytes {
  static constexpr std::size_t kSize = N;
  std::array<std::uint8_t, N> bytes{};

  ByteView view() const { return ByteView(bytes.data(), bytes.size()); }
  friend auto operator<=>(const FixedBytes&, const FixedBytes&) = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(bytes);
  }
};

struct Hash32Tag;
struct SchnorrPublicKeyTag;
struct SchnorrSignatureTag;
struct Ed25519PublicKeyTag;
struct Ed25519SignatureTag;

using Hash32 = FixedBytes<32, Hash32Tag>;
// BIP-340 x-only public key. Any 32 bytes decode; whether they are a point on the curve is
// checked when a signature is verified against them (SchnorrVerify returns false if not).
using SchnorrPublicKey = FixedBytes<32, SchnorrPublicKeyTag>;
using SchnorrSignature = FixedBytes<64, SchnorrSignatureTag>;
using Ed25519PublicKey = FixedBytes<32, Ed25519PublicKeyTag>;
using Ed25519Signature = FixedBytes<64, Ed25519SignatureTag>;

// Lower-case hex, two digits a byte.
std::string ToHex(ByteView bytes);
template <std::size_t N, class Tag>
std::string ToHex(const FixedBytes<N, Tag>& value) {
  return ToHex(value.view());
}

// Accepts upper- or lower-case hex with an even number of digits and nothing else.
[[nodiscard]] Result<Bytes> FromHex(std::string_view hex);

// Exactly N bytes of hex, or an error that says how many it had.
template <class Fixed>
[[nodiscard]] Result<Fixed> FixedFromHex(std::string_view hex) {
  Result<Bytes> bytes = FromHex(hex);
  if (!bytes) return tl::unexpected(bytes.error());
  if (bytes->size() != Fixed::kSize) {
    return Fail(ErrorCode::kMalformed, "expected " + std::to_string(Fixed::kSize) + " bytes of hex, got " +
                                           std::to_string(bytes->size()));
  }
  Fixed out;
  for (std::size_t i = 0; i < Fixed::kSize; ++i) out.bytes[i] = (*bytes)[i];
  return out;
}

inline ByteView AsBytes(std::string_view text) {
  return ByteView(reinterpret_cast<const std::uint8_t*>(text.data()), text.size());
}

}  // namespace civic::proto
