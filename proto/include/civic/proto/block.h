// The block header. A block's hash is TaggedHash(chain_id, Domain::kBlockHeader,
// Encode(header)); the header commits to the transactions (an RFC 6962 root over their
// ids), to the evidence of misbehaving validators the block carries, to the contract state
// after the previous block, and to the validator set.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "civic/proto/bytes.h"
#include "civic/proto/chain.h"
#include "civic/proto/result.h"
#include "civic/proto/tx.h"
#include "civic/proto/vote.h"

namespace civic::proto {

// 2 since headers commit to evidence (evidence_root): a ledger of version 1 headers is refused
// with this message rather than misread.
inline constexpr std::uint8_t kBlockHeaderVersion = 2;

struct BlockHeader {
  static constexpr std::uint32_t kEncodedBytesMax = 512;

  std::uint8_t version = kBlockHeaderVersion;
  ChainId chain_id;
  std::uint64_t height = 0;              // the first block is height 1
  std::uint64_t time_unix_ms = 0;        // the block's agreed time, the only clock contracts see
  Hash32 previous_block_hash;            // all zero at height 1
  Hash32 tx_root;                        // MerkleRoot over MerkleLeafHash(TxId) of each transaction
  Hash32 evidence_root;                  // EvidenceRoot of the block's evidence
  Hash32 app_hash;                       // contract state after the previous block
  Hash32 validator_set_hash;             // the set that signs this block's commit certificate
  Ed25519PublicKey proposer;

  friend bool operator==(const BlockHeader&, const BlockHeader&) = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(version);
    ar.Require(version == kBlockHeaderVersion, ErrorCode::kUnknownVersion,
               "block header version is not 2; this build speaks version 2 only (a ledger made by an "
               "older build must be started again from its genesis)");
    ar(chain_id, height, time_unix_ms, previous_block_hash, tx_root, evidence_root, app_hash, validator_set_hash,
       proposer);
    ar.Require(height >= 1, ErrorCode::kInvalidArgument, "block height must be at least 1");
  }
};

[[nodiscard]] Result<Hash32> BlockHash(const BlockHeader& header);

// A block: its header, its transactions in the order they were applied, and evidence that
// validators signed conflicting votes (what a node saw and the chain has not recorded yet;
// node/executor.h says which evidence a block may carry). The header's tx_root and
// evidence_root commit to them; a block's hash is its header's.
inline constexpr std::uint32_t kBlockTxsMax = 100'000;
inline constexpr std::uint32_t kBlockEvidenceMax = 16;
// Room for the largest transactions a genesis allows (64 MiB), the header and lengths, and
// a full list of evidence.
inline constexpr std::uint32_t kBlockEncodedBytesMax =
    64 * 1024 * 1024 + 4096 + kBlockEvidenceMax * VoteEquivocation::kEncodedBytesMax;

struct Block {
  static constexpr std::uint32_t kEncodedBytesMax = kBlockEncodedBytesMax;

  BlockHeader header;
  std::vector<Tx> txs;
  std::vector<VoteEquivocation> evidence;

  friend bool operator==(const Block&, const Block&) = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(header, List(txs, kBlockTxsMax), List(evidence, kBlockEvidenceMax));
  }
};

// MerkleRoot over MerkleLeafHash(id) of each transaction id, in block order (RFC 6962; the
// root of no transactions is SHA-256 of nothing).
Hash32 TxRoot(std::span<const Hash32> tx_ids);

// MerkleRoot over MerkleLeafHash(TaggedHash(chain, kEvidence, Encode(e))) of each evidence, in
// block order (no evidence: SHA-256 of nothing, as for transactions).
[[nodiscard]] Result<Hash32> EvidenceRoot(const ChainId& chain_id, std::span<const VoteEquivocation> evidence);

}  // namespace civic::proto
