// What the node remembers about transactions besides the ledger and the mempool: which were
// refused after admission and why (a later block made them invalid), when each pending one
// was admitted, and how long commits took. Thread-safe; everything is bounded.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "civic/proto/bytes.h"

namespace civic::node {

inline constexpr std::size_t kRecentRejectionsMax = 100'000;
inline constexpr std::size_t kLatencySamplesMax = 100'000;

struct RejectionNote {
  std::string code;     // contracts::TxErrorName
  std::string message;
};

struct LatencySummary {
  std::size_t samples = 0;
  double p50_ms = 0;
  double p99_ms = 0;
  double max_ms = 0;
};

class TxTracker {
 public:
  using Clock = std::chrono::steady_clock;

  // Called before the mempool admits the transaction (so that a commit racing the admission
  // finds the time), and Forget if it was not admitted after all.
  void Admitted(const proto::Hash32& id, Clock::time_point when);
  void Forget(const proto::Hash32& id);
  void Committed(std::span<const proto::Hash32> ids, Clock::time_point when);
  void Rejected(const proto::Hash32& id, RejectionNote note);

  std::optional<RejectionNote> Rejection(const proto::Hash32& id) const;
  // Admission to durable commit, over the last kLatencySamplesMax committed transactions.
  LatencySummary CommitLatency() const;
  std::uint64_t committed_total() const;

 private:
  mutable std::mutex mutex_;
  std::map<proto::Hash32, Clock::time_point> admitted_at_;  // pending only
  std::map<proto::Hash32, RejectionNote> rejected_;
  std::deque<proto::Hash32> rejected_order_;  // oldest first, for eviction
  std::deque<double> latencies_ms_;
  std::uint64_t committed_total_ = 0;
};

}  // namespace civic::node
