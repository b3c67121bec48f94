#include "civic/proto/ed25519.h"

#include <sodium.h>

#include "civic/proto/assert.h"

namespace civic::proto {

static_assert(crypto_sign_PUBLICKEYBYTES == Ed25519PublicKey::kSize);
static_assert(crypto_sign_BYTES == Ed25519Signature::kSize);
static_assert(crypto_sign_SEEDBYTES == 32);

bool Ed25519Verify(const Ed25519PublicKey& public_key, ByteView message, const Ed25519Signature& signature) {
  return crypto_sign_verify_detached(signature.bytes.data(), message.data(), message.size(),
                                     public_key.bytes.data()) == 0;
}

bool IsValidEd25519PublicKey(const Ed25519PublicKey& public_key) {
  return crypto_core_ed25519_is_valid_point(public_key.bytes.data()) == 1;
}

struct Ed25519KeyPair::Impl {
  std::array<unsigned char, crypto_sign_SECRETKEYBYTES> secret{};
  Impl() = default;
  ~Impl() { sodium_memzero(secret.data(), secret.size()); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
};

Ed25519KeyPair::Ed25519KeyPair(std::unique_ptr<Impl> impl, const Ed25519PublicKey& public_key)
    : impl_(std::move(impl)), public_key_(public_key) {}
Ed25519KeyPair::Ed25519KeyPair(Ed25519KeyPair&&) noexcept = default;
Ed25519KeyPair& Ed25519KeyPair::operator=(Ed25519KeyPair&&) noexcept = default;
Ed25519KeyPair::~Ed25519KeyPair() = default;

Ed25519KeyPair Ed25519KeyPair::FromSeed(const Secret32& seed) {
  auto impl = std::make_unique<Impl>();
  Ed25519PublicKey public_key;
  CIVIC_ASSERT(crypto_sign_seed_keypair(public_key.bytes.data(), impl->secret.data(), seed.data()) == 0);
  return Ed25519KeyPair(std::move(impl), public_key);
}

Ed25519Signature Ed25519KeyPair::Sign(ByteView message) const {
  CIVIC_ASSERT(impl_ != nullptr);  // not a moved-from key pair
  Ed25519Signature signature;
  CIVIC_ASSERT(crypto_sign_detached(signature.bytes.data(), /*siglen_p=*/nullptr, message.data(), message.size(),
                                    impl_->secret.data()) == 0);
  return signature;
}

}  // namespace civic::proto
