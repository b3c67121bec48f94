#include "civic/proto/block.h"

#include "civic/proto/codec.h"
#include "civic/proto/hash.h"

namespace civic::proto {

Result<Hash32> BlockHash(const BlockHeader& header) {
  Result<Bytes> encoded = Encode(header);
  if (!encoded) return tl::unexpected(encoded.error());
  return TaggedHash(header.chain_id, Domain::kBlockHeader, *encoded);
}

}  // namespace civic::proto
