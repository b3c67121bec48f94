// The block header. A block's hash is TaggedHash(chain_id, Domain::kBlockHeader,
// Encode(header)); the header commits to the transactions (an RFC 6962 root over their
// ids), to the contract state after the previous block, and to the validator set.
#pragma once

#include <cstdint>

#include "civic/proto/bytes.h"
#include "civic/proto/chain.h"
#include "civic/proto/result.h"

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

}  // namespace civic::proto
