// The block header. A block's hash is TaggedHash(chain_id, Domain::kBlockHeader,
// Encode(header)); the header commits to the transactions (an RFC 6962 root over their
// ids), to the contract state after the previous block, and to the validator set.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "civic/proto/bytes.h"
#include "civic/proto/chain.h"
#include "civic/proto/result.h"
#include "civic/proto/tx.h"

namespace civic::proto {

inline constexpr std::uint8_t kBlockHeaderVersion = 1;

struct BlockHeader {
  static constexpr std::uint32_t kEncodedBytesMax = 512;

  std::uint8_t version = kBlockHeaderVersion;
  ChainId chain_id;
  std::uint64_t height = 0;              // the first block is height 1
  std::uint64_t time_unix_ms = 0;        // the block's agreed time, the only clock contracts see
  Hash32 previous_block_hash;            // all zero at height 1
  Hash32 tx_root;                        // MerkleRoot over MerkleLeafHash(TxId) of each transaction
  Hash32 app_hash;                       // contract state after the previous block
  Hash32 validator_set_hash;             // the set that signs this block's commit certificate
  Ed25519PublicKey proposer;

  friend bool operator==(const BlockHeader&, const BlockHeader&) = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(version);
    ar.Require(version == kBlockHeaderVersion, ErrorCode::kUnknownVersion,
               "block header version is not 1; this build speaks version 1 only");
    ar(chain_id, height, time_unix_ms, previous_block_hash, tx_root, app_hash, validator_set_hash, proposer);
    ar.Require(height >= 1, ErrorCode::kInvalidArgument, "block height must be at least 1");
  }
};

[[nodiscard]] Result<Hash32> BlockHash(const BlockHeader& header);

// A block: its header and its transactions, in the order they were applied. The header's
// tx_root commits to them (TxRoot below); a block's hash is its header's.
inline constexpr std::uint32_t kBlockTxsMax = 100'000;
inline constexpr std::uint32_t kBlockEncodedBytesMax = 64 * 1024 * 1024 + 4096;

struct Block {
  static constexpr std::uint32_t kEncodedBytesMax = kBlockEncodedBytesMax;

  BlockHeader header;
  std::vector<Tx> txs;

  friend bool operator==(const Block&, const Block&) = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(header, List(txs, kBlockTxsMax));
  }
};

// MerkleRoot over MerkleLeafHash(id) of each transaction id, in block order (RFC 6962; the
// root of no transactions is SHA-256 of nothing).
Hash32 TxRoot(std::span<const Hash32> tx_ids);

}  // namespace civic::proto
