// Admitting one decoded transaction to the mempool: the checks after decoding, in order
// (mempool.h): chain id, signature, already committed, then the mempool and the contracts in
// the next block's context. The HTTP API (submissions) and the peer network (transactions
// gossiped by other nodes) both come through here, so a transaction is judged alike
// wherever it enters.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "civic/contracts/errors.h"
#include "civic/node/genesis.h"
#include "civic/node/ledger.h"
#include "civic/node/mempool.h"
#include "civic/node/tx_tracker.h"
#include "civic/proto/tx.h"

namespace civic::node {

enum class TxVerdict : std::uint8_t {
  kAdmitted,
  kWrongChain,        // signed for another chain
  kBadSignature,      // does not verify (error names why)
  kAlreadyCommitted,  // in block `committed_height`
  kAlreadyPending,
  kMempoolFull,       // retry later
  kRejected,          // the contracts refused it (rejection)
  kStorageFailed,     // the ledger failed to answer
};

struct TxAdmission {
  TxVerdict verdict = TxVerdict::kAdmitted;
  std::optional<proto::Hash32> id;  // once the signature verified
  std::string message;              // for every verdict but kAdmitted
  std::string code;                 // a machine-readable name for the failure (e.g. "bad_signature")
  std::uint64_t committed_height = 0;
  std::optional<contracts::Rejection> rejection;
};

struct AdmissionContext {
  const Genesis* genesis = nullptr;
  Ledger* ledger = nullptr;
  Mempool* mempool = nullptr;
  TxTracker* tracker = nullptr;
};

// `encoded_bytes`: the size of the transaction as received.
TxAdmission AdmitTx(const AdmissionContext& context, proto::Tx tx, std::size_t encoded_bytes);

}  // namespace civic::node
