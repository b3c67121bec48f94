// The canonical encoding: round trips, the exact byte layout, and every rejection the
// decoder promises (codec.h).
#include "civic/proto/codec.h"

#include <gtest/gtest.h>

#include "samples.h"

namespace civic::proto {
namespace {

using testing::SampleBallot;
using testing::SampleBallotTx;
using testing::SampleHeader;
using testing::ExpectRoundTrip;

void AppendU32(Bytes& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}

// Every strict prefix is truncated input; any extra byte is trailing input.
template <class T>
void ExpectPrefixesAndExtensionsRejected(const T& value) {
  const Bytes bytes = Encode(value).value();
  for (std::size_t n = 0; n < bytes.size(); ++n) {
    Result<T> decoded = Decode<T>(ByteView(bytes).first(n));
    ASSERT_FALSE(decoded.has_value()) << "prefix of " << n << " bytes decoded";
  }
  Bytes longer = bytes;
  longer.push_back(0);
  Result<T> decoded = Decode<T>(longer);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, ErrorCode::kMalformed);
  EXPECT_NE(decoded.error().message.find("trailing"), std::string::npos) << decoded.error().message;
}

TEST(Codec, EveryMessageTypeRoundTrips) {
  ExpectRoundTrip(SampleBallot());
  ExpectRoundTrip(SampleBallotTx());
  ExpectRoundTrip(SampleBallotTx().body);
  ExpectRoundTrip(SampleHeader());
  const testing::SampleValidators validators = testing::MakeSampleValidators();
  ExpectRoundTrip(validators.set);
  const Vote vote = testing::SamplePrecommit(validators, 2, Sha256(AsBytes("b")));
  ExpectRoundTrip(vote);
  Vote nil_vote = vote;
  nil_vote.body.block_hash.reset();
  ExpectRoundTrip(nil_vote);
  ExpectRoundTrip(testing::SampleCommit(validators, {0, 2, 3}));
}

TEST(Codec, TruncatedAndTrailingInputIsRejectedForEveryType) {
  ExpectPrefixesAndExtensionsRejected(SampleBallot());
  ExpectPrefixesAndExtensionsRejected(SampleBallotTx());
  ExpectPrefixesAndExtensionsRejected(SampleHeader());
  const testing::SampleValidators validators = testing::MakeSampleValidators();
  ExpectPrefixesAndExtensionsRejected(validators.set);
  ExpectPrefixesAndExtensionsRejected(testing::SamplePrecommit(validators, 0, Hash32{}));
  ExpectPrefixesAndExtensionsRejected(testing::SampleCommit(validators, {1, 2, 3}));
}

// The layout is the contract with every other implementation: pin it byte by byte.
TEST(Codec, BallotLayoutIsLittleEndianWithU32Counts) {
  const Bytes expected = testing::Hex(
      "2a00000000000000"   // round_id 42, u64 LE
      "03000000"           // 3 choices
      "0100000001000000"   // project 1, 1 point
      "0300000002000000"   // project 3, 2 points
      "1100000001000000");  // project 17, 1 point
  EXPECT_EQ(ToHex(Encode(SampleBallot()).value()), ToHex(expected));
}

TEST(Codec, TxBodyLayout) {
  TxBody body;
  body.kind = TxKind::kCastBallot;
  body.chain_id = testing::TestChain("ab");
  body.signer.bytes.fill(0xEE);
  body.nonce = 0x0102;
  body.valid_until_height = 5;
  body.payload = {0xCA, 0xFE};
  const std::string expected_hex = std::string("01") +  // version
                                   "07" +                // kind: cast-ballot
                                   "02000000" + "6162" + // chain id "ab"
                                   std::string(64, 'e') +                 // signer
                                   "0201000000000000" + "0500000000000000" +  // nonce, valid_until_height
                                   "02000000" + "cafe";                   // payload
  EXPECT_EQ(ToHex(Encode(body).value()), expected_hex);
}

TEST(Codec, RejectsUnknownVersion) {
  Bytes bytes = Encode(SampleBallotTx()).value();
  bytes[0] = 2;
  Result<Tx> decoded = Decode<Tx>(bytes);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, ErrorCode::kUnknownVersion);

  Bytes header = Encode(SampleHeader()).value();
  header[0] = 0;
  EXPECT_EQ(Decode<BlockHeader>(header).error().code, ErrorCode::kUnknownVersion);
}

TEST(Codec, RejectsUnknownKinds) {
  Bytes bytes = Encode(SampleBallotTx()).value();
  for (int kind : {0, 11, 0x80, 0xFF}) {
    bytes[1] = static_cast<std::uint8_t>(kind);
    Result<Tx> decoded = Decode<Tx>(bytes);
    ASSERT_FALSE(decoded.has_value()) << kind;
    EXPECT_EQ(decoded.error().code, ErrorCode::kUnknownKind);
  }
  TxBody body = SampleBallotTx().body;
  body.kind = static_cast<TxKind>(99);
  EXPECT_EQ(Encode(body).error().code, ErrorCode::kUnknownKind);

  const testing::SampleValidators validators = testing::MakeSampleValidators();
  Bytes vote = Encode(testing::SamplePrecommit(validators, 0, Hash32{})).value();
  vote[1] = 3;  // VoteType
  EXPECT_EQ(Decode<Vote>(vote).error().code, ErrorCode::kUnknownKind);
}

TEST(Codec, RejectsNonCanonicalBool) {
  const testing::SampleValidators validators = testing::MakeSampleValidators();
  Bytes vote = Encode(testing::SamplePrecommit(validators, 0, Hash32{})).value();
  // version(1) type(1) height(8) round(4), then the optional's presence flag.
  ASSERT_EQ(vote[14], 1);
  for (int flag : {2, 0x80, 0xFF}) {
    vote[14] = static_cast<std::uint8_t>(flag);
    Result<Vote> decoded = Decode<Vote>(vote);
    ASSERT_FALSE(decoded.has_value());
    EXPECT_EQ(decoded.error().code, ErrorCode::kNonCanonical);
  }
}

TEST(Codec, RejectsLengthAboveFieldBoundBeforeReadingIt) {
  // A ballot claiming 257 choices: above kBallotChoicesMax, refused on the count alone.
  Bytes bytes = testing::Hex("2a00000000000000");
  AppendU32(bytes, kBallotChoicesMax + 1);
  Result<Ballot> decoded = Decode<Ballot>(bytes);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, ErrorCode::kTooLarge);
}

TEST(Codec, RejectsLengthAboveWhatRemains) {
  // 200 choices claimed, input holds one: refused before allocating for 200.
  Bytes bytes = testing::Hex("2a00000000000000");
  AppendU32(bytes, 200);
  bytes.insert(bytes.end(), 8, 1);
  Result<Ballot> decoded = Decode<Ballot>(bytes);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, ErrorCode::kMalformed);
  EXPECT_NE(decoded.error().message.find("runs past the end"), std::string::npos) << decoded.error().message;
}

TEST(Codec, RejectsHugeLengthPrefixWithoutAllocating) {
  Bytes bytes = Encode(SampleBallotTx()).value();
  // The payload length prefix sits after version, kind, chain id (4 + 10), signer, nonce,
  // valid_until_height.
  const std::size_t at = 1 + 1 + 4 + 10 + 32 + 8 + 8;
  for (std::uint32_t claimed : {0xFFFFFFFFu, kTxPayloadBytesMax + 1}) {
    for (int i = 0; i < 4; ++i) bytes[at + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(claimed >> (8 * i));
    Result<Tx> decoded = Decode<Tx>(bytes);
    ASSERT_FALSE(decoded.has_value());
    EXPECT_EQ(decoded.error().code, ErrorCode::kTooLarge) << decoded.error().message;
  }
}

TEST(Codec, RejectsMessageAboveItsBoundBeforeDecoding) {
  const Bytes huge(kTxEncodedBytesMax + 1, 0);
  EXPECT_EQ(Decode<Tx>(huge).error().code, ErrorCode::kTooLarge);
}

TEST(Codec, EncodeRefusesWhatDecodeWouldRefuse) {
  TxBody body = SampleBallotTx().body;
  body.payload.assign(kTxPayloadBytesMax + 1, 0);
  EXPECT_EQ(Encode(body).error().code, ErrorCode::kTooLarge);

  body = SampleBallotTx().body;
  body.chain_id = ChainId();
  EXPECT_EQ(Encode(body).error().code, ErrorCode::kInvalidArgument);

  Ballot ballot = SampleBallot();
  std::swap(ballot.choices[0], ballot.choices[1]);
  EXPECT_EQ(Encode(ballot).error().code, ErrorCode::kNonCanonical);
}

TEST(Codec, BallotMustBeCanonical) {
  const auto rejects = [](Ballot ballot) {
    // Encode would refuse too, so build the bytes by hand from a canonical ballot.
    Bytes bytes = testing::Hex("2a00000000000000");
    AppendU32(bytes, static_cast<std::uint32_t>(ballot.choices.size()));
    for (const BallotChoice& c : ballot.choices) {
      AppendU32(bytes, c.project_id);
      AppendU32(bytes, c.points);
    }
    Result<Ballot> decoded = Decode<Ballot>(bytes);
    return !decoded.has_value() && decoded.error().code == ErrorCode::kNonCanonical;
  };
  EXPECT_TRUE(rejects(Ballot{42, {{3, 1}, {1, 1}}}));  // out of order
  EXPECT_TRUE(rejects(Ballot{42, {{3, 1}, {3, 2}}}));  // the same project twice
  EXPECT_TRUE(rejects(Ballot{42, {{3, 0}}}));          // a choice with no points
  EXPECT_FALSE(rejects(Ballot{42, {{1, 1}, {3, 1}}}));
}

TEST(Codec, ValidatorSetMustBeSortedUniqueAndPowered) {
  const testing::SampleValidators validators = testing::MakeSampleValidators();
  ValidatorSet unsorted = validators.set;
  std::swap(unsorted.validators[0], unsorted.validators[1]);
  EXPECT_EQ(Encode(unsorted).error().code, ErrorCode::kNonCanonical);
  ValidatorSet duplicate = validators.set;
  duplicate.validators[1].key = duplicate.validators[0].key;
  EXPECT_EQ(Encode(duplicate).error().code, ErrorCode::kNonCanonical);
  ValidatorSet empty;
  EXPECT_EQ(Encode(empty).error().code, ErrorCode::kNonCanonical);
  ValidatorSet unpowered = validators.set;
  unpowered.validators[0].power = 0;
  EXPECT_EQ(Encode(unpowered).error().code, ErrorCode::kInvalidArgument);
  ValidatorSet overpowered = validators.set;
  overpowered.validators[0].power = kVotingPowerMax + 1;
  EXPECT_EQ(Encode(overpowered).error().code, ErrorCode::kInvalidArgument);

  // And the same refusals on the decoding side, from bytes that swap two validators.
  Bytes bytes = Encode(validators.set).value();
  std::swap_ranges(bytes.begin() + 4, bytes.begin() + 44, bytes.begin() + 44);
  EXPECT_EQ(Decode<ValidatorSet>(bytes).error().code, ErrorCode::kNonCanonical);
}

TEST(Codec, ChainIdIsCheckedOnDecode) {
  Bytes bytes = Encode(SampleBallotTx()).value();
  bytes[6] = 'A';  // first character of "civic-test": upper case is not allowed
  Result<Tx> decoded = Decode<Tx>(bytes);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(decoded.error().message.find("chain id"), std::string::npos);
}

TEST(Codec, ChainIdTextMustBeValidUtf8) {
  Bytes bytes = Encode(SampleBallotTx()).value();
  bytes[6] = 0xC0;  // an overlong-form lead byte
  Result<Tx> decoded = Decode<Tx>(bytes);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, ErrorCode::kMalformed);
}

TEST(Codec, CommitSignaturesMustAscend) {
  const testing::SampleValidators validators = testing::MakeSampleValidators();
  CommitCertificate commit = testing::SampleCommit(validators, {0, 1, 2});
  std::swap(commit.signatures[0], commit.signatures[1]);
  EXPECT_EQ(Encode(commit).error().code, ErrorCode::kNonCanonical);
  commit.signatures.clear();
  EXPECT_EQ(Encode(commit).error().code, ErrorCode::kNonCanonical);
}

TEST(Codec, ErrorsSayWhereAndWhat) {
  const Bytes bytes = Encode(SampleBallotTx()).value();
  Result<Tx> decoded = Decode<Tx>(ByteView(bytes).first(20));
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(ToString(decoded.error()).rfind("malformed: ", 0), 0u) << ToString(decoded.error());
  EXPECT_NE(decoded.error().message.find("truncated"), std::string::npos) << decoded.error().message;
}

}  // namespace
}  // namespace civic::proto
