#include "civic/node/tx_tracker.h"

#include <algorithm>
#include <utility>

namespace civic::node {

void TxTracker::Admitted(const proto::Hash32& id, Clock::time_point when) {
  std::lock_guard lock(mutex_);
  admitted_at_.emplace(id, when);
}

void TxTracker::Forget(const proto::Hash32& id) {
  std::lock_guard lock(mutex_);
  admitted_at_.erase(id);
}

void TxTracker::Committed(std::span<const proto::Hash32> ids, Clock::time_point when) {
  std::lock_guard lock(mutex_);
  committed_total_ += ids.size();
  for (const proto::Hash32& id : ids) {
    const auto it = admitted_at_.find(id);
    if (it == admitted_at_.end()) continue;  // admitted by another node, or before a restart
    latencies_ms_.push_back(std::chrono::duration<double, std::milli>(when - it->second).count());
    if (latencies_ms_.size() > kLatencySamplesMax) latencies_ms_.pop_front();
    admitted_at_.erase(it);
  }
}

void TxTracker::Rejected(const proto::Hash32& id, RejectionNote note) {
  std::lock_guard lock(mutex_);
  admitted_at_.erase(id);
  if (rejected_.insert_or_assign(id, std::move(note)).second) rejected_order_.push_back(id);
  while (rejected_order_.size() > kRecentRejectionsMax) {
    rejected_.erase(rejected_order_.front());
    rejected_order_.pop_front();
  }
}

std::optional<RejectionNote> TxTracker::Rejection(const proto::Hash32& id) const {
  std::lock_guard lock(mutex_);
  const auto it = rejected_.find(id);
  if (it == rejected_.end()) return std::nullopt;
  return it->second;
}

LatencySummary TxTracker::CommitLatency() const {
  std::vector<double> sorted;
  {
    std::lock_guard lock(mutex_);
    sorted.assign(latencies_ms_.begin(), latencies_ms_.end());
  }
  LatencySummary summary;
  summary.samples = sorted.size();
  if (sorted.empty()) return summary;
  std::sort(sorted.begin(), sorted.end());
  const auto at = [&](double quantile) {
    const auto index = static_cast<std::size_t>(quantile * static_cast<double>(sorted.size() - 1));
    return sorted[index];
  };
  summary.p50_ms = at(0.50);
  summary.p99_ms = at(0.99);
  summary.max_ms = sorted.back();
  return summary;
}

std::uint64_t TxTracker::committed_total() const {
  std::lock_guard lock(mutex_);
  return committed_total_;
}

}  // namespace civic::node
