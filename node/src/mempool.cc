#include "civic/node/mempool.h"

#include <set>
#include <utility>

#include "civic/proto/assert.h"

namespace civic::node {

Mempool::Mempool(const contracts::BudgetContracts& contracts, Snapshot snapshot, MempoolLimits limits)
    : contracts_(contracts),
      snapshot_(std::move(snapshot)),
      limits_(limits),
      committed_(snapshot_()),
      check_state_(std::make_unique<contracts::WriteBuffer>(*committed_)) {}

Admission Mempool::Add(const proto::VerifiedTx& tx, std::size_t encoded_bytes,
                       const contracts::BlockContext& next_block) {
  std::lock_guard lock(mutex_);
  if (by_id_.contains(tx.id())) return {AdmitStatus::kDuplicate, std::nullopt};
  if (by_sequence_.size() >= limits_.txs_max || bytes_ + encoded_bytes > limits_.bytes_max) {
    return {AdmitStatus::kFull, std::nullopt};
  }
  contracts::Result<contracts::Applied> applied = contracts_.Apply(*check_state_, next_block, tx);
  if (!applied) return {AdmitStatus::kRejected, applied.error()};
  const std::uint64_t sequence = next_sequence_++;
  by_sequence_.emplace(sequence, Entry{tx, encoded_bytes});
  by_id_.emplace(tx.id(), sequence);
  bytes_ += encoded_bytes;
  CIVIC_ASSERT(by_sequence_.size() == by_id_.size());
  CIVIC_ASSERT(by_sequence_.size() <= limits_.txs_max && bytes_ <= limits_.bytes_max);
  return {AdmitStatus::kAdmitted, std::nullopt};
}

std::vector<proto::VerifiedTx> Mempool::Candidates(std::size_t txs_max) const {
  std::lock_guard lock(mutex_);
  std::vector<proto::VerifiedTx> out;
  out.reserve(std::min(txs_max, by_sequence_.size()));
  for (const auto& [sequence, entry] : by_sequence_) {
    if (out.size() >= txs_max) break;
    out.push_back(entry.tx);
  }
  return out;
}

std::optional<proto::VerifiedTx> Mempool::Find(const proto::Hash32& id) const {
  std::lock_guard lock(mutex_);
  const auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return by_sequence_.at(it->second).tx;
}

bool Mempool::Contains(const proto::Hash32& id) const {
  std::lock_guard lock(mutex_);
  return by_id_.contains(id);
}

void Mempool::Update(std::span<const proto::Hash32> committed_ids, const contracts::BlockContext& next_block,
                     const std::function<void(const Dropped&)>& on_dropped) {
  std::lock_guard lock(mutex_);
  for (const proto::Hash32& id : committed_ids) {
    const auto it = by_id_.find(id);
    if (it == by_id_.end()) continue;
    bytes_ -= by_sequence_.at(it->second).bytes;
    by_sequence_.erase(it->second);
    by_id_.erase(it);
  }
  // Re-apply what is left, in admission order, on the new committed state.
  check_state_.reset();
  committed_ = snapshot_();
  check_state_ = std::make_unique<contracts::WriteBuffer>(*committed_);
  for (auto it = by_sequence_.begin(); it != by_sequence_.end();) {
    contracts::Result<contracts::Applied> applied = contracts_.Apply(*check_state_, next_block, it->second.tx);
    if (applied) {
      ++it;
      continue;
    }
    if (on_dropped) on_dropped(Dropped{it->second.tx.id(), applied.error()});
    bytes_ -= it->second.bytes;
    by_id_.erase(it->second.tx.id());
    it = by_sequence_.erase(it);
  }
  CIVIC_ASSERT(by_sequence_.size() == by_id_.size());
}

std::size_t Mempool::size() const {
  std::lock_guard lock(mutex_);
  return by_sequence_.size();
}

std::uint64_t Mempool::bytes() const {
  std::lock_guard lock(mutex_);
  return bytes_;
}

}  // namespace civic::node
