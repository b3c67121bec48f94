// Chain ids, transactions and block headers: what a resident's signature covers, and what
// it must never verify as.
#include <gtest/gtest.h>

#include "civic/proto/merkle.h"
#include "samples.h"

namespace civic::proto {
namespace {

TEST(ChainId, AcceptsOnlyTheDocumentedAlphabet) {
  EXPECT_TRUE(ChainId::Parse("assen-2024").has_value());
  EXPECT_TRUE(ChainId::Parse("a").has_value());
  EXPECT_TRUE(ChainId::Parse("0.test-net").has_value());
  EXPECT_TRUE(ChainId::Parse(std::string(kChainIdBytesMax, 'x')).has_value());
  for (const char* bad : {"", "-lead", ".lead", "Upper", "with space", "slash/inside", "ünï"}) {
    Result<ChainId> parsed = ChainId::Parse(bad);
    ASSERT_FALSE(parsed.has_value()) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
  }
  EXPECT_FALSE(ChainId::Parse(std::string(kChainIdBytesMax + 1, 'x')).has_value());
}

TEST(Tx, SignedBallotVerifies) {
  const Tx tx = testing::SampleBallotTx();
  Result<void> verified = VerifyTxSignature(tx);
  EXPECT_TRUE(verified.has_value()) << verified.error().message;
  EXPECT_EQ(Decode<Ballot>(tx.body.payload).value(), testing::SampleBallot());
}

TEST(Tx, EveryChangedFieldBreaksTheSignature) {
  const Tx original = testing::SampleBallotTx();
  std::vector<Tx> changed(6, original);
  changed[0].body.kind = TxKind::kAssistedBallot;
  changed[1].body.chain_id = testing::TestChain("other-city");
  changed[2].body.nonce += 1;
  changed[3].body.valid_until_height += 1;
  changed[4].body.payload.back() ^= 1;
  changed[5].signature.bytes[0] ^= 1;
  for (std::size_t i = 0; i < changed.size(); ++i) {
    Result<void> verified = VerifyTxSignature(changed[i]);
    ASSERT_FALSE(verified.has_value()) << "change " << i;
    EXPECT_EQ(verified.error().code, ErrorCode::kBadSignature);
  }
}

TEST(Tx, SignatureForAnotherDomainNeverVerifiesAsATransaction) {
  // The resident's key signs a block-header digest of the same bytes: not a transaction.
  const SchnorrKeyPair resident = SchnorrKeyPair::FromSecret(testing::Filled(0x11)).value();
  Tx tx = testing::SampleBallotTx();
  const Bytes body = Encode(tx.body).value();
  tx.signature = resident.Sign(TaggedHash(tx.body.chain_id, Domain::kBlockHeader, body).view(), testing::Filled(0));
  EXPECT_FALSE(VerifyTxSignature(tx).has_value());
  tx.signature = resident.Sign(Sha256(body).view(), testing::Filled(0));  // untagged
  EXPECT_FALSE(VerifyTxSignature(tx).has_value());
}

TEST(Tx, SignRefusesAKeyThatIsNotTheSigner) {
  const SchnorrKeyPair other = SchnorrKeyPair::FromSecret(testing::Filled(0x12)).value();
  Result<Tx> signed_tx = SignTx(testing::SampleBallotTx().body, other, testing::Filled(0));
  ASSERT_FALSE(signed_tx.has_value());
  EXPECT_EQ(signed_tx.error().code, ErrorCode::kInvalidArgument);
}

TEST(Tx, IdCoversTheSignatureAndDiffersFromTheSigningDigest) {
  const Tx tx = testing::SampleBallotTx();
  Tx resigned = tx;
  const SchnorrKeyPair resident = SchnorrKeyPair::FromSecret(testing::Filled(0x11)).value();
  resigned = SignTx(tx.body, resident, testing::Filled(9)).value();  // other aux_rand: other signature
  ASSERT_NE(resigned.signature, tx.signature);
  EXPECT_NE(TxId(tx).value(), TxId(resigned).value());
  EXPECT_NE(TxId(tx).value(), TxSigningDigest(tx.body).value());
}

TEST(BlockHeader, HashCoversEveryField) {
  const BlockHeader header = testing::SampleHeader();
  const Hash32 original = BlockHash(header).value();
  std::vector<BlockHeader> changed(9, header);
  changed[0].chain_id = testing::TestChain("other");
  changed[1].height += 1;
  changed[2].time_unix_ms += 1;
  changed[3].previous_block_hash.bytes[0] ^= 1;
  changed[4].tx_root.bytes[0] ^= 1;
  changed[5].app_hash.bytes[0] ^= 1;
  changed[6].validator_set_hash.bytes[0] ^= 1;
  changed[7].proposer.bytes[0] ^= 1;
  changed[8].evidence_root.bytes[0] ^= 1;
  for (std::size_t i = 0; i < changed.size(); ++i) EXPECT_NE(BlockHash(changed[i]).value(), original) << i;
}

TEST(Block, RoundTripsAndItsTxRootIsTheMerkleRootOfItsTransactionIds) {
  Block block{testing::SampleHeader(), {testing::SampleBallotTx(), testing::SampleBallotTx()}, {}};
  block.txs[1].body.nonce += 1;
  testing::ExpectRoundTrip(block);
  const std::vector<Hash32> ids = {TxId(block.txs[0]).value(), TxId(block.txs[1]).value()};
  EXPECT_EQ(TxRoot(ids), MerkleRoot(std::vector<Hash32>{MerkleLeafHash(ids[0].view()), MerkleLeafHash(ids[1].view())}));
  EXPECT_EQ(TxRoot({}), Sha256({})) << "RFC 6962: the root of no leaves";
  EXPECT_NE(TxRoot(ids), TxRoot(std::vector<Hash32>{ids[1], ids[0]})) << "order matters";
}

TEST(BlockHeader, HeightZeroIsRefused) {
  BlockHeader header = testing::SampleHeader();
  header.height = 0;
  EXPECT_EQ(BlockHash(header).error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace civic::proto
