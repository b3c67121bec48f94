// Re-derives the whole ledger from the genesis: every block's header, certificate and
// signatures are checked again and every transaction is re-applied on a fresh in-memory
// state. The app hash each header carries must be the one the replay computed for the state
// before it, and the state after the tip must match the ledger's. `civicd replay` runs it;
// the crash tests use it after every kill.
#pragma once

#include <cstdint>

#include "civic/node/ledger.h"
#include "civic/proto/result.h"

namespace civic::node {

struct ReplayReport {
  std::uint64_t blocks = 0;
  std::uint64_t txs = 0;
  proto::Hash32 app_hash;  // after the last block
};

// The first difference is an error naming the height and both values.
[[nodiscard]] proto::Result<ReplayReport> ReplayLedger(const Ledger& ledger);

}  // namespace civic::node
