// Offline verification of a transaction receipt (node/API.md, "GET /v1/txs/{id}/receipt"):
// with nothing but the genesis file, a resident checks that her signed transaction is in a
// block that the network's validators committed.
//
// Checks, in order, each failure naming what did not hold:
//   1. the receipt is for this genesis (chain id, genesis hash) and well formed;
//   2. the transaction decodes, is for this chain, and its signature verifies;
//   3. its id, at `index` of `tx_count` leaves, with the inclusion proof, gives the header's
//      tx_root (RFC 6962);
//   4. the header decodes, names this chain and the receipt's height, and hashes to the block
//      the certificate is for;
//   5. the certificate carries precommits of more than 2/3 of the voting power of the
//      genesis validator set, and the header names that set.
// Validator-set changes after genesis are not in receipts yet (they come with the network);
// a receipt for a block signed by a later set fails step 5 and says so.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "civic/node/genesis.h"
#include "civic/proto/block.h"
#include "civic/proto/result.h"
#include "civic/proto/tx.h"

namespace civic::wallet {

struct VerifiedReceipt {
  proto::Tx tx;
  proto::Hash32 tx_id;
  proto::BlockHeader header;
  proto::Hash32 block_hash;
  std::uint32_t index = 0;
  std::uint64_t signed_power = 0;  // voting power whose precommits the certificate carries
  std::uint64_t total_power = 0;
};

// `receipt_json` is the receipt as the node served it (at most kReceiptBytesMax).
inline constexpr std::size_t kReceiptBytesMax = 1024 * 1024;
[[nodiscard]] proto::Result<VerifiedReceipt> VerifyReceipt(std::string_view receipt_json, const node::Genesis& genesis);

}  // namespace civic::wallet
