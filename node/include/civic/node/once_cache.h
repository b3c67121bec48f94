// A bounded cache for answers that are expensive to compute and the same for everyone, such as
// a closed round's results page or its export. Each value is computed once: callers that ask
// for a key while it is being computed wait for that computation instead of repeating it. When
// the cache is full the least recently used entry goes. A computation that yields nullptr (it
// failed) is not kept: the next caller tries again, and so does each caller that was waiting for
// it (so that every caller's own `compute` sees the failure, e.g. to report it). A computation
// that throws is not kept either; its exception reaches the callers that were waiting for it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <future>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

namespace civic::node {

template <typename Key, typename Value>
class OnceCache {
 public:
  using Pointer = std::shared_ptr<const Value>;

  explicit OnceCache(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}

  // The value for `key`, from the cache or from `compute()` (a callable returning Pointer).
  template <typename Compute>
  Pointer Get(const Key& key, Compute&& compute) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (const auto found = entries_.find(key); found != entries_.end()) {
      recent_.splice(recent_.begin(), recent_, found->second.position);
      std::shared_future<Pointer> value = found->second.value;
      lock.unlock();
      if (Pointer ready = value.get()) return ready;
      return compute();  // that computation failed: this caller runs its own, to learn why
    }
    std::promise<Pointer> promise;
    const std::uint64_t generation = ++generation_;
    const auto entry = entries_.emplace(key, Entry{promise.get_future().share(), recent_.end(), generation}).first;
    try {
      recent_.push_front(key);
    } catch (...) {
      entries_.erase(entry);
      throw;
    }
    entry->second.position = recent_.begin();
    while (entries_.size() > capacity_) {
      entries_.erase(recent_.back());
      recent_.pop_back();
    }
    lock.unlock();
    Pointer value;
    try {
      value = compute();
    } catch (...) {
      promise.set_exception(std::current_exception());
      Forget(key, generation);
      throw;
    }
    promise.set_value(value);
    if (value == nullptr) Forget(key, generation);
    return value;
  }

  std::size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
  }

 private:
  struct Entry {
    std::shared_future<Pointer> value;
    typename std::list<Key>::iterator position;
    std::uint64_t generation;  // tells this computation's entry from a later one for the same key
  };

  void Forget(const Key& key, std::uint64_t generation) {
    std::lock_guard<std::mutex> lock(mutex_);
    const auto found = entries_.find(key);
    if (found == entries_.end() || found->second.generation != generation) return;
    recent_.erase(found->second.position);
    entries_.erase(found);
  }

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::list<Key> recent_;  // most recently used first
  std::map<Key, Entry> entries_;
  std::uint64_t generation_ = 0;
};

}  // namespace civic::node
