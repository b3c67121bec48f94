// BIP-340 Schnorr against the official vectors (../shared/vectors/bip340-schnorr.csv).
#include "civic/proto/schnorr.h"

#include <gtest/gtest.h>

#include <sstream>
#include <string>
#include <vector>

#include "test_util.h"

namespace civic::proto {
namespace {

using testing::FixedHex;
using testing::Hex;
using testing::ReadShared;

struct Bip340Row {
  std::string index, secret_key, public_key, aux_rand, message, signature, result, comment;
};

std::vector<Bip340Row> ReadBip340Rows() {
  std::istringstream in(ReadShared("vectors/bip340-schnorr.csv"));
  std::string line;
  std::getline(in, line);  // header
  std::vector<Bip340Row> rows;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> cells;
    std::size_t start = 0;
    // The first seven columns never contain a comma; the comment (last) may.
    for (int column = 0; column < 7; ++column) {
      const std::size_t comma = line.find(',', start);
      cells.push_back(line.substr(start, comma - start));
      start = comma == std::string::npos ? line.size() : comma + 1;
    }
    cells.push_back(line.substr(start));
    rows.push_back({cells[0], cells[1], cells[2], cells[3], cells[4], cells[5], cells[6], cells[7]});
  }
  return rows;
}

TEST(Bip340Vectors, EveryRowGivesItsExpectedVerifyResult) {
  const std::vector<Bip340Row> rows = ReadBip340Rows();
  ASSERT_GE(rows.size(), 15u) << "the official file has at least 15 rows";
  int true_rows = 0;
  int false_rows = 0;
  for (const Bip340Row& row : rows) {
    SCOPED_TRACE("row " + row.index + " " + row.comment);
    ASSERT_TRUE(row.result == "TRUE" || row.result == "FALSE");
    const bool expected = row.result == "TRUE";
    (expected ? true_rows : false_rows)++;
    const Bytes message = Hex(row.message);
    const auto public_key = FixedHex<SchnorrPublicKey>(row.public_key);
    const auto signature = FixedHex<SchnorrSignature>(row.signature);
    EXPECT_EQ(SchnorrVerify(public_key, message, signature), expected);
  }
  EXPECT_GT(true_rows, 0);
  EXPECT_GT(false_rows, 0);
}

TEST(Bip340Vectors, OnlyTheRowsWithABadPublicKeyHaveAnInvalidKey) {
  // Rows 5 ("public key not on the curve") and 14 ("... exceeds the field size"); every other
  // row, failing or not, has a key on the curve.
  int bad_keys = 0;
  for (const Bip340Row& row : ReadBip340Rows()) {
    SCOPED_TRACE("row " + row.index + " " + row.comment);
    const bool bad_key = row.comment.rfind("public key", 0) == 0;
    bad_keys += bad_key ? 1 : 0;
    EXPECT_EQ(IsValidSchnorrPublicKey(FixedHex<SchnorrPublicKey>(row.public_key)), !bad_key);
  }
  EXPECT_EQ(bad_keys, 2);
}

TEST(Bip340Vectors, RowsWithSecretKeyReproduceTheSignatureExactly) {
  int signed_rows = 0;
  for (const Bip340Row& row : ReadBip340Rows()) {
    if (row.secret_key.empty()) continue;
    SCOPED_TRACE("row " + row.index);
    ++signed_rows;
    const auto secret = FixedHex<FixedBytes<32, struct SecretTag>>(row.secret_key);
    const auto aux = FixedHex<FixedBytes<32, struct AuxTag>>(row.aux_rand);
    Result<SchnorrKeyPair> key = SchnorrKeyPair::FromSecret(secret.bytes);
    ASSERT_TRUE(key.has_value()) << key.error().message;
    EXPECT_EQ(ToHex(key->public_key()), ToHex(FixedHex<SchnorrPublicKey>(row.public_key)));
    const SchnorrSignature signature = key->Sign(Hex(row.message), aux.bytes);
    EXPECT_EQ(ToHex(signature), ToHex(FixedHex<SchnorrSignature>(row.signature)));
  }
  EXPECT_GE(signed_rows, 4);
}

TEST(SchnorrKeyPair, RejectsZeroAndOutOfRangeSecrets) {
  Secret32 zero{};
  EXPECT_FALSE(SchnorrKeyPair::FromSecret(zero).has_value());
  Secret32 too_big;
  too_big.fill(0xFF);  // above the group order
  Result<SchnorrKeyPair> key = SchnorrKeyPair::FromSecret(too_big);
  ASSERT_FALSE(key.has_value());
  EXPECT_EQ(key.error().code, ErrorCode::kInvalidArgument);
}

TEST(SchnorrKeyPair, SignatureFailsForAnotherMessageOrKey) {
  const SchnorrKeyPair alice = SchnorrKeyPair::FromSecret(testing::Filled(1)).value();
  const SchnorrKeyPair bob = SchnorrKeyPair::FromSecret(testing::Filled(2)).value();
  const Bytes message = {1, 2, 3};
  const SchnorrSignature signature = alice.Sign(message, testing::Filled(0));
  EXPECT_TRUE(SchnorrVerify(alice.public_key(), message, signature));
  EXPECT_FALSE(SchnorrVerify(bob.public_key(), message, signature));
  EXPECT_FALSE(SchnorrVerify(alice.public_key(), Bytes{1, 2, 4}, signature));
  SchnorrSignature flipped = signature;
  flipped.bytes[40] ^= 0x01;
  EXPECT_FALSE(SchnorrVerify(alice.public_key(), message, flipped));
}

}  // namespace
}  // namespace civic::proto
