// The abstract ordered key-value view the contracts run on, and two implementations:
// MemoryKv (a std::map, for tests, tools and the offline audit) and WriteBuffer (pending
// writes over another view, so that a transaction that fails leaves nothing behind).
//
// Keys and values are byte strings; Scan visits keys in ascending byte order, so anything
// derived from a scan is the same on every node. node/ backs KvView with RocksDB.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "civic/proto/bytes.h"

namespace civic::contracts {

using proto::Bytes;
using proto::ByteView;

class KvView {
 public:
  virtual ~KvView() = default;
  virtual std::optional<Bytes> Get(ByteView key) const = 0;
  virtual void Put(ByteView key, ByteView value) = 0;
  virtual void Delete(ByteView key) = 0;
  // Calls visit(key, value) for every key starting with `prefix`, in ascending byte order,
  // until visit returns false. REQUIRES: visit does not write to this view.
  virtual void Scan(ByteView prefix, const std::function<bool(ByteView key, ByteView value)>& visit) const = 0;
};

struct BytesLess {
  using is_transparent = void;
  bool operator()(ByteView a, ByteView b) const;
};

// Ordered in a std::map for scans, with a hash index for point reads (which are most of a
// transaction's reads). The index is only ever looked up, never iterated, so its order
// cannot reach any output.
class MemoryKv final : public KvView {
 public:
  MemoryKv() = default;
  MemoryKv(const MemoryKv& other);
  MemoryKv& operator=(const MemoryKv& other);
  MemoryKv(MemoryKv&&) = default;
  MemoryKv& operator=(MemoryKv&& other) noexcept;
  ~MemoryKv() override = default;

  std::optional<Bytes> Get(ByteView key) const override;
  void Put(ByteView key, ByteView value) override;
  void Delete(ByteView key) override;
  void Scan(ByteView prefix, const std::function<bool(ByteView key, ByteView value)>& visit) const override;

  const std::map<Bytes, Bytes, BytesLess>& entries() const { return entries_; }

 private:
  using Entries = std::map<Bytes, Bytes, BytesLess>;
  static std::string_view View(ByteView bytes) {
    return {reinterpret_cast<const char*>(bytes.data()), bytes.size()};
  }
  void RebuildIndex();

  Entries entries_;
  std::unordered_map<std::string_view, Entries::iterator> index_;  // views of entries_' keys
};

// Writes go to a buffer; reads and scans see the buffer over `base`. Commit() applies the
// buffer to `base` in key order; dropping the WriteBuffer without Commit() discards it.
class WriteBuffer final : public KvView {
 public:
  explicit WriteBuffer(KvView& base) : base_(base) {}
  // Not copyable: WriteBuffer(other_buffer) would copy, not stack a buffer on `other_buffer`.
  WriteBuffer(const WriteBuffer&) = delete;
  WriteBuffer& operator=(const WriteBuffer&) = delete;

  std::optional<Bytes> Get(ByteView key) const override;
  void Put(ByteView key, ByteView value) override;
  void Delete(ByteView key) override;
  void Scan(ByteView prefix, const std::function<bool(ByteView key, ByteView value)>& visit) const override;

  // Key -> new value (nullopt: a delete), in key order.
  using Pending = std::map<Bytes, std::optional<Bytes>, BytesLess>;

  void Commit();
  std::size_t pending() const { return pending_.size(); }
  // What Commit() would write: node/ turns it into a RocksDB write batch and an app-hash update.
  const Pending& pending_writes() const { return pending_; }
  const KvView& base() const { return base_; }

 private:
  KvView& base_;
  // A tree, not a sorted vector: closing a round writes a key per voter.
  Pending pending_;
};

}  // namespace civic::contracts
