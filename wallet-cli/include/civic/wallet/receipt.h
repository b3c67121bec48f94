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
//      validator set in effect at the block's height, and the header names that set;
//   6. (before 2 to 5) that set: the genesis set, then each validator change the receipt
//      carries, each proven by steps 2 to 5 against the set in effect at its own height,
//      numbered 1, 2, ... in ledger order, signed by at least the genesis's threshold of its
//      clerks, and in effect from its block's height + 2.
// A receipt that leaves out a change in effect at its height fails step 5: the header names
// a set the verifier did not derive. (Validators removed long ago could still sign a forged
// chain of their own; a verifier who fears that compares the block hash with a live node.)
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "civic/node/genesis.h"
#include "civic/proto/block.h"
#include "civic/proto/payloads.h"
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
  std::uint32_t validator_changes = 0;  // changes since genesis the receipt carried
};

// `receipt_json` is the receipt as the node served it (at most kReceiptBytesMax).
// Room for kReceiptValidatorChangesMax changes of the largest sets (about 150 KB each).
inline constexpr std::size_t kReceiptBytesMax = 32 * 1024 * 1024;
using proto::kReceiptValidatorChangesMax;
[[nodiscard]] proto::Result<VerifiedReceipt> VerifyReceipt(std::string_view receipt_json, const node::Genesis& genesis);

}  // namespace civic::wallet
