// Crash safety with real processes: under a steady load, civicd is killed with SIGKILL at
// random instants and restarted, again and again. Every transaction the node ever reported
// committed must still be there afterwards, heights never go back, and replaying every block
// from genesis gives the ledger's app hash.
#include <gtest/gtest.h>

#include <set>

#include "node_fixture.h"

namespace civic::node {
namespace {

using nlohmann::json;
using testing::CivicdProcess;
using testing::Http;
using testing::HttpReply;

// Kills per run; CIVIC_CRASH_KILLS overrides (e.g. 500 for a longer soak).
int Kills() {
  const char* text = std::getenv("CIVIC_CRASH_KILLS");
  return text != nullptr ? std::max(1, std::atoi(text)) : 50;
}

TEST(CrashSafety, KilledAtRandomInstantsTheNodeLosesNothingItReportedCommitted) {
  testing::TempDir dir;
  testing::TestNetwork network;
  const std::uint64_t seed = std::random_device()();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 prng(seed);

  testing::NodeFiles files = testing::WriteNodeFiles(dir.path(), network.genesis, 0);
  std::uint16_t port = 0;
  std::set<std::string> confirmed;  // ids the node reported committed
  std::uint32_t next_resident = 1;
  std::uint64_t last_height = 0;
  std::uint64_t committed_height = 0;  // the highest height a status answer named
  const int kills = Kills();

  for (int kill = 0; kill <= kills; ++kill) {
    const std::size_t log_offset = testing::ReadFile(files.log).size();
    CivicdProcess node({"run", "--config", files.config.string()}, files.log);
    const std::uint16_t bound = testing::WaitForPort(files.log, log_offset);
    ASSERT_NE(bound, 0);
    if (port == 0) {
      port = bound;  // keep the same port from now on
      files = testing::WriteNodeFiles(dir.path(), network.genesis, port);
    }
    const json status = Http(port, "GET", "/v1/status").Json();
    ASSERT_TRUE(status.is_object()) << "no status after restart " << kill;
    const std::uint64_t height = status["height"];
    EXPECT_GE(height, last_height) << "height went back after restart " << kill;
    EXPECT_GE(height, committed_height) << "a height reported committed is gone after restart " << kill;
    last_height = height;
    if (kill == kills) {
      node.Signal(SIGTERM);
      EXPECT_EQ(node.Wait(), 0) << testing::ReadFile(files.log);
      break;
    }

    testing::Traffic traffic(network, port, next_resident);
    std::this_thread::sleep_for(std::chrono::milliseconds(50 + prng() % 500));
    node.Signal(SIGKILL);
    EXPECT_EQ(node.Wait(), 128 + SIGKILL);
    traffic.Stop();
    next_resident = traffic.next_resident();
    const std::set<std::string> reported = traffic.confirmed();
    confirmed.insert(reported.begin(), reported.end());
    committed_height = std::max(committed_height, traffic.committed_height());
  }

  // The ledger on disk: every confirmed transaction, and a replay that agrees.
  EXPECT_GT(confirmed.size(), 0u);
  const std::optional<ReplayReport> replay = testing::ExpectLedgerHolds(dir.path() / "data", network.genesis, confirmed);
  ASSERT_TRUE(replay.has_value());
  std::cout << "crash safety: " << kills << " kills, " << confirmed.size() << " transactions confirmed, "
            << replay->blocks << " blocks, " << replay->txs << " transactions replayed\n";
}

}  // namespace
}  // namespace civic::node
