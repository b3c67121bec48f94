#include "civic/proto/schnorr.h"

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>
#include <sodium.h>

#include "civic/proto/assert.h"

namespace civic::proto {

bool SchnorrVerify(const SchnorrPublicKey& public_key, ByteView message, const SchnorrSignature& signature) {
  // The static context is a constant inside libsecp256k1; verification never writes to it.
  secp256k1_xonly_pubkey parsed;
  if (secp256k1_xonly_pubkey_parse(secp256k1_context_static, &parsed, public_key.bytes.data()) != 1) return false;
  return secp256k1_schnorrsig_verify(secp256k1_context_static, signature.bytes.data(), message.data(),
                                     message.size(), &parsed) == 1;
}

bool IsValidSchnorrPublicKey(const SchnorrPublicKey& public_key) {
  secp256k1_xonly_pubkey parsed;
  return secp256k1_xonly_pubkey_parse(secp256k1_context_static, &parsed, public_key.bytes.data()) == 1;
}

struct SchnorrKeyPair::Impl {
  secp256k1_context* context = nullptr;  // signing needs a context of its own, not the static one
  secp256k1_keypair keypair;             // holds the secret; wiped in the destructor

  Impl() : context(secp256k1_context_create(SECP256K1_CONTEXT_NONE)) { CIVIC_ASSERT(context != nullptr); }
  ~Impl() {
    sodium_memzero(&keypair, sizeof(keypair));
    secp256k1_context_destroy(context);
  }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
};

SchnorrKeyPair::SchnorrKeyPair(std::unique_ptr<Impl> impl, const SchnorrPublicKey& public_key)
    : impl_(std::move(impl)), public_key_(public_key) {}
SchnorrKeyPair::SchnorrKeyPair(SchnorrKeyPair&&) noexcept = default;
SchnorrKeyPair& SchnorrKeyPair::operator=(SchnorrKeyPair&&) noexcept = default;
SchnorrKeyPair::~SchnorrKeyPair() = default;

Result<SchnorrKeyPair> SchnorrKeyPair::FromSecret(const Secret32& secret) {
  auto impl = std::make_unique<Impl>();
  if (secp256k1_keypair_create(impl->context, &impl->keypair, secret.data()) != 1) {
    return Fail(ErrorCode::kInvalidArgument,
                "secret key is zero or not below the secp256k1 group order; draw a new one");
  }
  secp256k1_xonly_pubkey xonly;
  CIVIC_ASSERT(secp256k1_keypair_xonly_pub(impl->context, &xonly, /*pk_parity=*/nullptr, &impl->keypair) == 1);
  SchnorrPublicKey public_key;
  CIVIC_ASSERT(secp256k1_xonly_pubkey_serialize(impl->context, public_key.bytes.data(), &xonly) == 1);
  return SchnorrKeyPair(std::move(impl), public_key);
}

SchnorrSignature SchnorrKeyPair::Sign(ByteView message, const Secret32& aux_rand) const {
  CIVIC_ASSERT(impl_ != nullptr);  // not a moved-from key pair
  secp256k1_schnorrsig_extraparams params = SECP256K1_SCHNORRSIG_EXTRAPARAMS_INIT;
  params.ndata = const_cast<std::uint8_t*>(aux_rand.data());  // read only, despite the type
  SchnorrSignature signature;
  // Fails only on a bad keypair, which FromSecret already refused.
  CIVIC_ASSERT(secp256k1_schnorrsig_sign_custom(impl_->context, signature.bytes.data(), message.data(),
                                                message.size(), &impl_->keypair, &params) == 1);
  return signature;
}

}  // namespace civic::proto
