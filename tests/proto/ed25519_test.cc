// Ed25519 against Project Wycheproof's vectors (../shared/vectors/wycheproof-ed25519.json).
#include "civic/proto/ed25519.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "test_util.h"

namespace civic::proto {
namespace {

TEST(WycheproofEd25519, EveryValidVerifiesAndEveryInvalidIsRejected) {
  const nlohmann::json file = nlohmann::json::parse(testing::ReadShared("vectors/wycheproof-ed25519.json"));
  int valid = 0;
  int invalid = 0;
  for (const nlohmann::json& group : file.at("testGroups")) {
    const Bytes key_bytes = testing::Hex(group.at("publicKey").at("pk").get<std::string>());
    for (const nlohmann::json& test : group.at("tests")) {
      SCOPED_TRACE("tcId " + std::to_string(test.at("tcId").get<int>()) + " " + test.at("comment").get<std::string>());
      const std::string result = test.at("result").get<std::string>();
      ASSERT_TRUE(result == "valid" || result == "invalid") << result;
      const Bytes message = testing::Hex(test.at("msg").get<std::string>());
      const Bytes signature_bytes = testing::Hex(test.at("sig").get<std::string>());
      // A key or signature of the wrong length cannot even be held in our types: rejected.
      bool verified = false;
      if (key_bytes.size() == Ed25519PublicKey::kSize && signature_bytes.size() == Ed25519Signature::kSize) {
        Ed25519PublicKey key;
        Ed25519Signature signature;
        std::copy(key_bytes.begin(), key_bytes.end(), key.bytes.begin());
        std::copy(signature_bytes.begin(), signature_bytes.end(), signature.bytes.begin());
        verified = Ed25519Verify(key, message, signature);
      }
      if (result == "valid") {
        ++valid;
        EXPECT_TRUE(verified);
      } else {
        ++invalid;
        EXPECT_FALSE(verified);
      }
    }
  }
  EXPECT_EQ(valid + invalid, file.at("numberOfTests").get<int>());
  EXPECT_GT(valid, 0);
  EXPECT_GT(invalid, 0);
}

TEST(Ed25519KeyPair, SignsAndVerifiesAndRejectsTampering) {
  const Ed25519KeyPair key = Ed25519KeyPair::FromSeed(testing::Filled(7));
  const Bytes message = {9, 9, 9};
  const Ed25519Signature signature = key.Sign(message);
  EXPECT_TRUE(Ed25519Verify(key.public_key(), message, signature));
  EXPECT_FALSE(Ed25519Verify(key.public_key(), Bytes{9, 9, 8}, signature));
  const Ed25519KeyPair other = Ed25519KeyPair::FromSeed(testing::Filled(8));
  EXPECT_FALSE(Ed25519Verify(other.public_key(), message, signature));
}

TEST(Ed25519PublicKey, GeneratedKeysAreValidAndSmallOrderOrNonCanonicalOnesAreNot) {
  for (std::uint8_t seed : {std::uint8_t{0x01}, std::uint8_t{0x21}, std::uint8_t{0xFE}}) {
    EXPECT_TRUE(IsValidEd25519PublicKey(Ed25519KeyPair::FromSeed(testing::Filled(seed)).public_key()));
  }
  Ed25519PublicKey zero;  // y = 0: a point of order 4
  EXPECT_FALSE(IsValidEd25519PublicKey(zero));
  Ed25519PublicKey identity;  // y = 1: the neutral element
  identity.bytes[0] = 1;
  EXPECT_FALSE(IsValidEd25519PublicKey(identity));
  Ed25519PublicKey above_p;  // y = 2^255 - 1 > p: not canonical
  above_p.bytes.fill(0xFF);
  above_p.bytes[31] = 0x7F;
  EXPECT_FALSE(IsValidEd25519PublicKey(above_p));
}

TEST(Ed25519KeyPair, SameSeedSameKey) {
  EXPECT_EQ(Ed25519KeyPair::FromSeed(testing::Filled(3)).public_key(),
            Ed25519KeyPair::FromSeed(testing::Filled(3)).public_key());
}

}  // namespace
}  // namespace civic::proto
