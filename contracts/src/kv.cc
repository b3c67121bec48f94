#include "civic/contracts/kv.h"

#include <algorithm>

namespace civic::contracts {
namespace {
bool HasPrefix(ByteView key, ByteView prefix) {
  return key.size() >= prefix.size() && std::equal(prefix.begin(), prefix.end(), key.begin());
}
}  // namespace

bool BytesLess::operator()(ByteView a, ByteView b) const {
  return std::lexicographical_compare(a.begin(), a.end(), b.begin(), b.end());
}

MemoryKv::MemoryKv(const MemoryKv& other) : entries_(other.entries_) { RebuildIndex(); }

MemoryKv& MemoryKv::operator=(const MemoryKv& other) {
  if (this != &other) {
    entries_ = other.entries_;
    RebuildIndex();
  }
  return *this;
}

MemoryKv& MemoryKv::operator=(MemoryKv&& other) noexcept {
  if (this != &other) {  // a self-move must not clear the entries under the index
    entries_ = std::move(other.entries_);
    index_ = std::move(other.index_);  // its iterators point into the nodes just taken over
  }
  return *this;
}

void MemoryKv::RebuildIndex() {
  index_.clear();
  index_.reserve(entries_.size());
  for (auto it = entries_.begin(); it != entries_.end(); ++it) index_.emplace(View(it->first), it);
}

std::optional<Bytes> MemoryKv::Get(ByteView key) const {
  auto it = index_.find(View(key));
  if (it == index_.end()) return std::nullopt;
  return it->second->second;
}

void MemoryKv::Put(ByteView key, ByteView value) {
  auto it = index_.find(View(key));
  if (it != index_.end()) {
    it->second->second.assign(value.begin(), value.end());
    return;
  }
  auto [entry, inserted] = entries_.emplace(Bytes(key.begin(), key.end()), Bytes(value.begin(), value.end()));
  index_.emplace(View(entry->first), entry);
}

void MemoryKv::Delete(ByteView key) {
  auto it = index_.find(View(key));
  if (it == index_.end()) return;
  const Entries::iterator entry = it->second;
  index_.erase(it);  // before the key it views is freed
  entries_.erase(entry);
}

void MemoryKv::Scan(ByteView prefix, const std::function<bool(ByteView, ByteView)>& visit) const {
  for (auto it = entries_.lower_bound(prefix); it != entries_.end() && HasPrefix(it->first, prefix); ++it) {
    if (!visit(it->first, it->second)) return;
  }
}

std::optional<Bytes> WriteBuffer::Get(ByteView key) const {
  auto it = pending_.find(key);
  if (it != pending_.end()) return it->second;
  return base_.Get(key);
}

void WriteBuffer::Put(ByteView key, ByteView value) {
  pending_.insert_or_assign(Bytes(key.begin(), key.end()), Bytes(value.begin(), value.end()));
}

void WriteBuffer::Delete(ByteView key) { pending_.insert_or_assign(Bytes(key.begin(), key.end()), std::nullopt); }

void WriteBuffer::Scan(ByteView prefix, const std::function<bool(ByteView, ByteView)>& visit) const {
  // Merge the base's keys with the pending ones, in order; a pending entry hides the base's.
  auto pending = pending_.lower_bound(prefix);
  const auto pending_done = [&] { return pending == pending_.end() || !HasPrefix(pending->first, prefix); };
  // Visits pending entries below `bound` (all of them if bound is empty); false: stop.
  const auto drain_pending_below = [&](const std::optional<ByteView>& bound) {
    while (!pending_done() && (!bound || BytesLess()(pending->first, *bound))) {
      if (pending->second && !visit(pending->first, *pending->second)) return false;
      ++pending;
    }
    return true;
  };
  bool go_on = true;
  base_.Scan(prefix, [&](ByteView key, ByteView value) {
    if (!drain_pending_below(key)) return go_on = false;
    if (!pending_done() && std::ranges::equal(pending->first, key)) {
      const bool keep = !pending->second || visit(pending->first, *pending->second);
      ++pending;
      return go_on = keep;
    }
    return go_on = visit(key, value);
  });
  if (go_on) drain_pending_below(std::nullopt);
}

void WriteBuffer::Commit() {
  for (auto& [key, value] : pending_) {
    if (value) {
      base_.Put(key, *value);
    } else {
      base_.Delete(key);
    }
  }
  pending_.clear();
}

}  // namespace civic::contracts
