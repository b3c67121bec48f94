// The cache behind the public page and the export endpoints: anyone may ask, so each answer
// that takes work is computed once, even when many ask at the same moment, and the cache stays
// within its size.
#include "civic/node/once_cache.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace civic::node {
namespace {

using Cache = OnceCache<int, std::string>;

TEST(OnceCache, ManyCallersAtOnceComputeOnce) {
  Cache cache(4);
  std::atomic<int> computed{0};
  std::vector<std::thread> callers;
  std::vector<std::string> seen(8);
  for (std::size_t i = 0; i < seen.size(); ++i) {
    callers.emplace_back([&, i] {
      seen[i] = *cache.Get(1, [&] {
        ++computed;
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the others arrive meanwhile
        return std::make_shared<const std::string>("results of round 1");
      });
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(computed.load(), 1);
  for (const std::string& s : seen) EXPECT_EQ(s, "results of round 1");
}

TEST(OnceCache, KeepsTheMostRecentlyUsedWithinItsSize) {
  Cache cache(2);
  int computed = 0;
  const auto get = [&](int key) {
    return *cache.Get(key, [&] {
      ++computed;
      return std::make_shared<const std::string>(std::to_string(key));
    });
  };
  EXPECT_EQ(get(1), "1");
  EXPECT_EQ(get(2), "2");
  EXPECT_EQ(get(1), "1");  // 1 is now the most recent
  EXPECT_EQ(computed, 2);
  EXPECT_EQ(get(3), "3");  // evicts 2, the least recently used
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(get(1), "1");
  EXPECT_EQ(computed, 3);
  EXPECT_EQ(get(2), "2");  // computed again
  EXPECT_EQ(computed, 4);
}

TEST(OnceCache, AFailureIsNotKeptAndEveryWaiterLearnsIt) {
  Cache cache(4);
  std::atomic<int> computed{0};
  std::atomic<int> failures{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 4; ++i) {
    callers.emplace_back([&] {
      const Cache::Pointer value = cache.Get(7, [&]() -> Cache::Pointer {
        ++computed;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        ++failures;  // each caller's own computation reports the failure
        return nullptr;
      });
      EXPECT_EQ(value, nullptr);
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(failures.load(), computed.load());
  EXPECT_EQ(computed.load(), 4);  // nothing was kept: each caller ran its own
  EXPECT_EQ(cache.size(), 0u);
  // Once it works, it is kept.
  EXPECT_EQ(*cache.Get(7, [] { return std::make_shared<const std::string>("now"); }), "now");
  EXPECT_EQ(*cache.Get(7, []() -> Cache::Pointer { return nullptr; }), "now");
}

TEST(OnceCache, AThrowingComputationReachesItsWaitersAndIsNotKept) {
  Cache cache(4);
  EXPECT_THROW(cache.Get(1, []() -> Cache::Pointer { throw std::runtime_error("disk"); }), std::runtime_error);
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(*cache.Get(1, [] { return std::make_shared<const std::string>("ok"); }), "ok");
}

}  // namespace
}  // namespace civic::node
