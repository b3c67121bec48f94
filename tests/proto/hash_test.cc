// SHA-256 and the tagged hashes that keep one kind of message, or one chain, from passing
// for another.
#include "civic/proto/hash.h"

#include <gtest/gtest.h>

#include "test_util.h"

namespace civic::proto {
namespace {

TEST(Sha256, KnownAnswers) {
  // FIPS 180-2 examples.
  EXPECT_EQ(ToHex(Sha256(AsBytes(""))), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(ToHex(Sha256(AsBytes("abc"))), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(TaggedHash, FollowsTheDocumentedConstruction) {
  // SHA-256(SHA-256(tag) || SHA-256(tag) || m), tag = "civic-ledger/v1/vote/civic-test".
  const ChainId chain = testing::TestChain();
  const std::string tag = "civic-ledger/v1/vote/civic-test";
  EXPECT_EQ(DomainTag(chain, Domain::kVote), tag);
  const Hash32 tag_hash = Sha256(AsBytes(tag));
  Bytes preimage(tag_hash.bytes.begin(), tag_hash.bytes.end());
  preimage.insert(preimage.end(), tag_hash.bytes.begin(), tag_hash.bytes.end());
  preimage.push_back('m');
  EXPECT_EQ(TaggedHash(chain, Domain::kVote, AsBytes("m")), Sha256(preimage));
}

TEST(TaggedHash, DiffersByDomainAndByChain) {
  const ChainId a = testing::TestChain("city-a");
  const ChainId b = testing::TestChain("city-b");
  const Bytes message = {1, 2, 3};
  EXPECT_NE(TaggedHash(a, Domain::kTransaction, message), TaggedHash(b, Domain::kTransaction, message));
  const Domain domains[] = {Domain::kTransaction,   Domain::kTransactionId, Domain::kBlockHeader, Domain::kVote,
                            Domain::kValidatorSet,  Domain::kPaperResident, Domain::kProposal,    Domain::kGenesis,
                            Domain::kStateEntry,    Domain::kAppHash,       Domain::kPeerHandshake,
                            Domain::kValidatorChange, Domain::kEvidence};
  for (Domain x : domains) {
    for (Domain y : domains) {
      if (x == y) continue;
      EXPECT_NE(TaggedHash(a, x, message), TaggedHash(a, y, message)) << DomainName(x) << " " << DomainName(y);
    }
  }
}

TEST(TaggedHasher, ReusedHasherGivesTheSameAsOneShot) {
  const TaggedHasher hasher(testing::TestChain(), Domain::kTransactionId);
  for (std::size_t size : {0u, 1u, 55u, 56u, 63u, 64u, 65u, 1000u}) {
    const Bytes message(size, 0xAB);
    EXPECT_EQ(hasher.Hash(message), TaggedHash(testing::TestChain(), Domain::kTransactionId, message)) << size;
  }
}

TEST(Hex, RoundTripsAndRejectsBadInput) {
  EXPECT_EQ(ToHex(FromHex("00ffA0").value()), "00ffa0");
  EXPECT_EQ(FromHex("abc").error().code, ErrorCode::kMalformed);
  EXPECT_EQ(FromHex("zz").error().code, ErrorCode::kMalformed);
  EXPECT_EQ(FromHex("00 1").error().code, ErrorCode::kMalformed);
  EXPECT_TRUE(FromHex("").value().empty());
  EXPECT_EQ(FixedFromHex<Hash32>("00").error().code, ErrorCode::kMalformed);
}

}  // namespace
}  // namespace civic::proto
