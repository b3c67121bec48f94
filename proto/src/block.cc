#include "civic/proto/block.h"

#include "civic/proto/codec.h"
#include "civic/proto/hash.h"
#include "civic/proto/merkle.h"

namespace civic::proto {

Result<Hash32> BlockHash(const BlockHeader& header) {
  Result<Bytes> encoded = Encode(header);
  if (!encoded) return tl::unexpected(encoded.error());
  return TaggedHash(header.chain_id, Domain::kBlockHeader, *encoded);
}

Hash32 TxRoot(std::span<const Hash32> tx_ids) {
  std::vector<Hash32> leaves;
  leaves.reserve(tx_ids.size());
  for (const Hash32& id : tx_ids) leaves.push_back(MerkleLeafHash(id.view()));
  return MerkleRoot(leaves);
}

Result<Hash32> EvidenceRoot(const ChainId& chain_id, std::span<const VoteEquivocation> evidence) {
  std::vector<Hash32> leaves;
  leaves.reserve(evidence.size());
  for (const VoteEquivocation& e : evidence) {
    Result<Bytes> encoded = Encode(e);
    if (!encoded) return tl::unexpected(encoded.error());
    leaves.push_back(MerkleLeafHash(TaggedHash(chain_id, Domain::kEvidence, *encoded).view()));
  }
  return MerkleRoot(leaves);
}

}  // namespace civic::proto
