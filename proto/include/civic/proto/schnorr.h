// BIP-340 Schnorr signatures over secp256k1 (libsecp256k1), for residents and clerks.
// Public keys are 32-byte x-only keys; signatures are 64 bytes.
#pragma once

#include <array>
#include <cstdint>
#include <memory>

#include "civic/proto/bytes.h"
#include "civic/proto/result.h"

namespace civic::proto {

using Secret32 = std::array<std::uint8_t, 32>;

// Verifies `signature` by `public_key` over `message` (any length; we sign 32-byte tagged
// digests). False for a wrong signature, and for a key that is not an x coordinate on the
// curve. Thread-safe: it uses libsecp256k1's static context.
[[nodiscard]] bool SchnorrVerify(const SchnorrPublicKey& public_key, ByteView message,
                                 const SchnorrSignature& signature);

// Whether the 32 bytes are the x coordinate of a point on the curve, i.e. a key that can ever
// have a valid signature (for checking keys in a genesis file, before anyone signs).
[[nodiscard]] bool IsValidSchnorrPublicKey(const SchnorrPublicKey& public_key);

// A secret key and its public key. The secret is wiped when the key pair is destroyed.
// Not copyable; movable. Sign is const and safe to call from several threads.
class SchnorrKeyPair {
 public:
  // Fails if `secret` is zero or not below the curve order. The caller brings the randomness
  // (proto/ has none): the wallet draws it from libsodium's randombytes_buf.
  [[nodiscard]] static Result<SchnorrKeyPair> FromSecret(const Secret32& secret);

  SchnorrKeyPair(SchnorrKeyPair&&) noexcept;
  SchnorrKeyPair& operator=(SchnorrKeyPair&&) noexcept;
  ~SchnorrKeyPair();

  const SchnorrPublicKey& public_key() const { return public_key_; }

  // BIP-340 signing with auxiliary randomness `aux_rand` (fresh random bytes are best;
  // all-zero is still safe, as BIP-340 explains). The same inputs give the same signature.
  SchnorrSignature Sign(ByteView message, const Secret32& aux_rand) const;

 private:
  struct Impl;
  explicit SchnorrKeyPair(std::unique_ptr<Impl> impl, const SchnorrPublicKey& public_key);
  std::unique_ptr<Impl> impl_;
  SchnorrPublicKey public_key_;
};

}  // namespace civic::proto
