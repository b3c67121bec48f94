// The KV views under the contracts: WriteBuffer's pending writes over a base (what makes a
// refused transaction leave nothing behind) and MemoryKv's index.
#include "civic/contracts/kv.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace civic::contracts {
namespace {

Bytes B(std::string_view text) { return Bytes(text.begin(), text.end()); }

std::vector<std::string> ScanAll(const KvView& kv, std::string_view prefix, std::size_t stop_after = 1000) {
  std::vector<std::string> out;
  kv.Scan(B(prefix), [&](ByteView key, ByteView value) {
    out.push_back(std::string(key.begin(), key.end()) + "=" + std::string(value.begin(), value.end()));
    return out.size() < stop_after;
  });
  return out;
}

TEST(WriteBuffer, ReadsSeePendingWritesAndDeletesOverTheBase) {
  MemoryKv base;
  base.Put(B("a/1"), B("x"));
  base.Put(B("a/3"), B("y"));
  base.Put(B("b/1"), B("z"));
  WriteBuffer buffer(base);
  buffer.Put(B("a/2"), B("new"));
  buffer.Put(B("a/3"), B("changed"));
  buffer.Delete(B("a/1"));
  buffer.Put(B("a"), B("prefix itself"));
  EXPECT_FALSE(buffer.Get(B("a/1")).has_value());
  EXPECT_EQ(buffer.Get(B("a/3")), B("changed"));
  EXPECT_EQ(ScanAll(buffer, "a"), (std::vector<std::string>{"a=prefix itself", "a/2=new", "a/3=changed"}));
  EXPECT_EQ(ScanAll(buffer, "a/", 1), (std::vector<std::string>{"a/2=new"}));  // early stop in the pending drain
  // The base is untouched until Commit.
  EXPECT_EQ(ScanAll(base, "a"), (std::vector<std::string>{"a/1=x", "a/3=y"}));
  buffer.Commit();
  EXPECT_EQ(ScanAll(base, ""), (std::vector<std::string>{"a=prefix itself", "a/2=new", "a/3=changed", "b/1=z"}));
}

TEST(WriteBuffer, DroppedWithoutCommitLeavesTheBaseAsItWas) {
  MemoryKv base;
  base.Put(B("k"), B("v"));
  {
    WriteBuffer buffer(base);
    buffer.Put(B("k"), B("other"));
    buffer.Put(B("l"), B("w"));
    buffer.Delete(B("k"));
  }
  EXPECT_EQ(ScanAll(base, ""), (std::vector<std::string>{"k=v"}));
}

TEST(WriteBuffer, EarlyStopDuringTheBaseScan) {
  MemoryKv base;
  for (char c : std::string("abcde")) base.Put(B(std::string("p/") + c), B("1"));
  WriteBuffer buffer(base);
  buffer.Put(B("p/bb"), B("2"));
  EXPECT_EQ(ScanAll(buffer, "p/", 3), (std::vector<std::string>{"p/a=1", "p/b=1", "p/bb=2"}));
  EXPECT_EQ(ScanAll(buffer, "p/", 2), (std::vector<std::string>{"p/a=1", "p/b=1"}));
}

TEST(MemoryKv, CopiesAndMovesKeepTheIndexRight) {
  MemoryKv kv;
  kv.Put(B("one"), B("1"));
  kv.Put(B("two"), B("2"));
  MemoryKv copy = kv;
  copy.Delete(B("one"));
  EXPECT_TRUE(kv.Get(B("one")).has_value());
  EXPECT_FALSE(copy.Get(B("one")).has_value());
  MemoryKv moved = std::move(copy);
  EXPECT_EQ(moved.Get(B("two")), B("2"));
  moved.Put(B("two"), B("22"));
  EXPECT_EQ(moved.Get(B("two")), B("22"));
  MemoryKv& alias = moved;
  moved = std::move(alias);  // a self-move leaves it usable
  EXPECT_EQ(moved.Get(B("two")), B("22"));
  kv = moved;
  EXPECT_FALSE(kv.Get(B("one")).has_value());
  EXPECT_EQ(ScanAll(kv, ""), (std::vector<std::string>{"two=22"}));
}

}  // namespace
}  // namespace civic::contracts
