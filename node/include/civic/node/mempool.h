// Transactions admitted but not yet in a block.
//
// Admission runs in a fixed order, cheapest first, so that junk costs little (the caller does
// the first four, the mempool the rest): size, decode, chain id, signature (proto::VerifyTx),
// then duplicate, capacity, and the contracts' own checks (registered, phase, replay, ...)
// applied on a check state: the committed state plus every pending transaction, in admission
// order. So a transaction is admitted only if it would take effect after all those before it.
//
// After each commit, Update removes what the block carried and re-applies the rest on the new
// state (a transaction can stop being valid: its round's voting ended, a replacing ballot
// came first); those it drops are reported.
//
// Bounded in count and bytes: when full, Add answers kFull and the caller asks the client to
// retry later (HTTP 503 with Retry-After).
//
// The check state reads a RocksDB snapshot of the committed state, taken at construction and
// again by each Update, so an admission racing a commit sees one consistent state.
//
// Thread-safe: HTTP threads call Add and the readers; the core thread calls Candidates and
// Update (after the commit it follows is written).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "civic/contracts/kv.h"
#include "civic/contracts/state.h"
#include "civic/node/executor.h"
#include "civic/proto/tx.h"

namespace civic::node {

struct MempoolLimits {
  std::uint32_t txs_max = 100000;
  std::uint64_t bytes_max = 64ull * 1024 * 1024;
};

enum class AdmitStatus : std::uint8_t {
  kAdmitted,
  kDuplicate,  // already pending
  kFull,       // over txs_max or bytes_max: retry later
  kRejected,   // the contracts refused it (see rejection)
};

struct Admission {
  AdmitStatus status = AdmitStatus::kAdmitted;
  std::optional<contracts::Rejection> rejection;
};

class Mempool {
 public:
  // `snapshot` gives a read-only view of the committed state as of now (Ledger::StateSnapshot).
  using Snapshot = std::function<std::unique_ptr<contracts::KvView>()>;
  Mempool(const contracts::BudgetContracts& contracts, Snapshot snapshot, MempoolLimits limits);

  // `encoded_bytes`: the size of the transaction as received. `next_block`: the height after
  // the tip and the time now, the context the transaction is checked in.
  Admission Add(const proto::VerifiedTx& tx, std::size_t encoded_bytes, const contracts::BlockContext& next_block);

  // Pending transactions in admission order, at most `txs_max` (copies).
  std::vector<proto::VerifiedTx> Candidates(std::size_t txs_max) const;
  std::optional<proto::VerifiedTx> Find(const proto::Hash32& id) const;
  bool Contains(const proto::Hash32& id) const;

  // After a commit: forget `committed_ids`, re-apply the rest on the new committed state in
  // `next_block`'s context, and drop those that no longer take effect, calling `on_dropped`
  // for each before it leaves the pool (so a status query never finds it nowhere). It runs
  // under the mempool's lock: it must not call back into the mempool.
  void Update(std::span<const proto::Hash32> committed_ids, const contracts::BlockContext& next_block,
              const std::function<void(const Dropped&)>& on_dropped);

  std::size_t size() const;
  std::uint64_t bytes() const;
  const MempoolLimits& limits() const { return limits_; }

 private:
  struct Entry {
    proto::VerifiedTx tx;
    std::size_t bytes;
  };

  const contracts::BudgetContracts& contracts_;
  Snapshot snapshot_;
  const MempoolLimits limits_;
  mutable std::mutex mutex_;
  std::uint64_t next_sequence_ = 0;
  std::map<std::uint64_t, Entry> by_sequence_;          // admission order
  std::map<proto::Hash32, std::uint64_t> by_id_;        // id -> sequence
  std::uint64_t bytes_ = 0;
  std::unique_ptr<contracts::KvView> committed_;         // a snapshot of the committed state
  std::unique_ptr<contracts::WriteBuffer> check_state_;  // committed_ + every pending tx
};

}  // namespace civic::node
