// Ed25519 (libsodium), for validators' consensus messages. libsodium's verifier is strict:
// it rejects non-canonical S and R, small-order keys and R, so no signature is malleable.
#pragma once

#include <memory>

#include "civic/proto/bytes.h"
#include "civic/proto/schnorr.h"  // Secret32

namespace civic::proto {

[[nodiscard]] bool Ed25519Verify(const Ed25519PublicKey& public_key, ByteView message,
                                 const Ed25519Signature& signature);

// Whether the 32 bytes are a key the verifier accepts: a canonical encoding of a point on the
// curve, in the main subgroup, not of small order (libsodium's crypto_core_ed25519_is_valid_point).
[[nodiscard]] bool IsValidEd25519PublicKey(const Ed25519PublicKey& public_key);

// A validator's signing key, derived from a 32-byte seed the caller brings. The expanded
// secret is wiped on destruction. Not copyable; movable.
class Ed25519KeyPair {
 public:
  static Ed25519KeyPair FromSeed(const Secret32& seed);

  Ed25519KeyPair(Ed25519KeyPair&&) noexcept;
  Ed25519KeyPair& operator=(Ed25519KeyPair&&) noexcept;
  ~Ed25519KeyPair();

  const Ed25519PublicKey& public_key() const { return public_key_; }
  Ed25519Signature Sign(ByteView message) const;

 private:
  struct Impl;
  explicit Ed25519KeyPair(std::unique_ptr<Impl> impl, const Ed25519PublicKey& public_key);
  std::unique_ptr<Impl> impl_;
  Ed25519PublicKey public_key_;
};

}  // namespace civic::proto
