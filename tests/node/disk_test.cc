// Faults of the disk under a node (issue 10), with a real civicd and a real file system:
//   - the disk fills up while transactions flow: the node stops with a message that says so,
//     having reported committed only what it wrote; once space is freed it starts again with
//     every one of them, and replaying its blocks gives its app hash;
//   - the drive answers writes with EIO while transactions flow (tests/faults/eio_inject.cc,
//     preloaded into civicd, fails every write and sync under the data folder once the test
//     says so): the node stops with a message that says so and loses nothing it reported;
//   - the drive answers reads with EIO (the same library): the node does not start on it, and
//     while running answers right or with a storage error, then stops at a failed state read;
//   - a database file damaged or cut short while the node was down: the node refuses to start
//     and says what to do, instead of serving what it holds.
// The full disk is a small tmpfs mounted for the test, which needs root (the test command runs
// as root); elsewhere that test is skipped and says why.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mount.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <set>

#include "node_fixture.h"

namespace civic::node {
namespace {

using nlohmann::json;
using testing::CivicdProcess;
using testing::Http;
using testing::HttpReply;

// A tmpfs of `megabytes` on `path` for the life of the object.
class SmallDisk {
 public:
  SmallDisk(std::filesystem::path path, int megabytes) : path_(std::move(path)) {
    std::filesystem::create_directories(path_);
    const std::string size = "size=" + std::to_string(megabytes) + "m";
    if (::mount("tmpfs", path_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, size.c_str()) == 0) {
      mounted_ = true;
    } else {
      error_ = std::strerror(errno);
    }
  }
  ~SmallDisk() {
    if (mounted_) (void)::umount2(path_.c_str(), MNT_DETACH);
  }
  SmallDisk(const SmallDisk&) = delete;
  SmallDisk& operator=(const SmallDisk&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& error() const { return error_; }

  // Takes the free space with one file, all but `leave` bytes of it (0: every byte, down to
  // the last, written in ever smaller pieces); returns how many it took. What it leaves is
  // taken at once (one fallocate), so a node sees the disk go from roomy to short, never a
  // state in between where its check of the free space passes and the next write cannot fit.
  std::uint64_t Fill(std::uint64_t leave = 0) {
    const int fd = ::open((path_ / "filler").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0) return 0;
    std::uint64_t total = 0;
    if (leave > 0) {
      std::error_code error;
      const std::uintmax_t available = std::filesystem::space(path_, error).available;
      if (!error && available > leave && ::fallocate(fd, 0, 0, static_cast<off_t>(available - leave)) == 0) {
        total = available - leave;
      }
      ::close(fd);
      return total;
    }
    const std::string chunk(64 * 1024, 'f');
    for (std::size_t size = chunk.size(); size > 0; size /= 2) {
      for (;;) {
        const ssize_t wrote = ::write(fd, chunk.data(), size);
        if (wrote <= 0) break;
        total += static_cast<std::uint64_t>(wrote);
      }
    }
    ::close(fd);
    return total;
  }
  void Free() { std::filesystem::remove(path_ / "filler"); }

 private:
  std::filesystem::path path_;
  bool mounted_ = false;
  std::string error_;
};

// Sets node.disk_free_min_mb in the config WriteNodeFiles wrote.
void SetFloor(const testing::NodeFiles& files, int megabytes) {
  std::string config = testing::ReadFile(files.config);
  const std::size_t line = config.find("disk_free_min_mb");
  if (line != std::string::npos) config.erase(line, config.find('\n', line) + 1 - line);
  config.insert(config.find("[node]\n") + 7, "disk_free_min_mb = " + std::to_string(megabytes) + "\n");
  testing::WriteFile(files.config, config);
}

// Runs civicd on `files` (with `env` set) under load until it has committed three blocks, then
// has `fault` strike (it returns what it did, for the output) and waits for the node to stop;
// returns its exit code and what it reported committed.
std::pair<std::optional<int>, std::set<std::string>> RunUntilAFaultStopsIt(
    testing::TestNetwork& network, const testing::NodeFiles& files, std::uint32_t residents,
    const std::function<std::string()>& fault, const std::vector<std::string>& env = {}) {
  const std::size_t offset = testing::ReadFile(files.log).size();
  CivicdProcess node({"run", "--config", files.config.string()}, files.log, CIVICD_BINARY, env);
  const std::uint16_t port = testing::WaitForPort(files.log, offset);
  if (port == 0) return {std::nullopt, {}};
  testing::Traffic traffic(network, port, residents);
  const std::uint64_t start = testing::Http(port, "GET", "/v1/status").Json().value("height", std::uint64_t{0});
  for (int i = 0; i < 600 && traffic.committed_height() < start + 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_GE(traffic.committed_height(), start + 3) << testing::ReadFile(files.log);
  const std::string what = fault();
  // The node runs into the fault with its next writes.
  std::optional<int> exit = node.Wait(std::chrono::seconds(120));
  traffic.Stop();
  std::cout << what << "; " << traffic.confirmed().size() << " transactions reported committed; exit "
            << (exit ? std::to_string(*exit) : "none") << "\n";
  return {exit, traffic.confirmed()};
}

// Starts civicd on `files` again: every transaction in `confirmed` is there, a new one (of
// `resident`) commits, it stops cleanly, and replaying its blocks gives its app hash.
void ExpectIntactAndGoingOn(testing::TestNetwork& network, const testing::NodeFiles& files,
                            const std::set<std::string>& confirmed, std::uint32_t resident) {
  const std::size_t offset = testing::ReadFile(files.log).size();
  CivicdProcess node({"run", "--config", files.config.string()}, files.log);
  const std::uint16_t port = testing::WaitForPort(files.log, offset);
  ASSERT_NE(port, 0);
  for (const std::string& id : confirmed) {
    const HttpReply reply = Http(port, "GET", "/v1/txs/" + id);
    ASSERT_EQ(reply.status, 200) << id;
    EXPECT_EQ(reply.Json().value("status", ""), "committed") << id;
  }
  const proto::Tx fresh = network.Register(resident);
  ASSERT_EQ(testing::SubmitTx(port, fresh).status, 202);
  EXPECT_EQ(testing::WaitForTx(port, testing::TxIdHex(fresh)).value("status", ""), "committed");
  node.Signal(SIGTERM);
  EXPECT_EQ(node.Wait(), 0) << testing::ReadFile(files.log);
  testing::ExpectLedgerHolds(files.dir / "data", network.genesis, confirmed);
}

// Fills `disk`, leaving `leave` bytes free (0: none).
std::function<std::string()> FillTheDisk(SmallDisk& disk, std::uint64_t leave = 0) {
  return [&disk, leave] {
    const std::uint64_t filled = disk.Fill(leave);
    EXPECT_GT(filled, 0u);
    return "disk filled: " + std::to_string(filled / 1024) + " KiB of filler, " + std::to_string(leave / 1024) +
           " KiB left free";
  };
}

// Issue 10: the disk fills up. With its floor (node.disk_free_min_mb) the node stops before
// RocksDB runs out of space, saying so, and refuses to start until there is room again.
// Without one, RocksDB's write fails for lack of space and the node stops on that error.
// Either way nothing it reported committed is lost, and once space is freed it goes on.
TEST(DiskFaults, ANodeWhoseDiskFillsUpStopsSayingSoAndRestartsWithEverythingItCommitted) {
  if (::geteuid() != 0) GTEST_SKIP() << "mounting a small file system needs root; the test command runs as root";
  testing::TempDir dir;
  testing::TestNetwork network;
  const testing::NodeFiles files = testing::WriteNodeFiles(dir.path(), network.genesis, 0);
  SmallDisk disk(dir.path() / "data", 48);
  ASSERT_TRUE(disk.mounted()) << "cannot mount a tmpfs: " << disk.error();
  std::set<std::string> confirmed;

  // With a floor of 8 MiB: a clean stop, with the reason. The fill leaves 2 MiB free, below
  // the floor: a disk filled to its last byte could run out between the node's check of the
  // floor and its next write, and the node then stops on RocksDB's error instead (the case
  // without a floor, below).
  SetFloor(files, 8);
  {
    const std::size_t offset = testing::ReadFile(files.log).size();
    auto [exit, committed] = RunUntilAFaultStopsIt(network, files, 1, FillTheDisk(disk, 2 * 1024 * 1024));
    const std::string log = testing::ReadFile(files.log).substr(offset);
    ASSERT_TRUE(exit.has_value()) << "civicd kept running on a full disk; log:\n" << log;
    EXPECT_EQ(*exit, 1) << log;
    EXPECT_NE(log.find("below node.disk_free_min_mb = 8"), std::string::npos) << log;
    EXPECT_NE(log.find("civicd halted"), std::string::npos) << log;
    EXPECT_GT(committed.size(), 0u);
    confirmed.insert(committed.begin(), committed.end());
  }
  // Still full: it refuses to start, and says why.
  {
    const std::size_t offset = testing::ReadFile(files.log).size();
    CivicdProcess node({"run", "--config", files.config.string()}, files.log);
    EXPECT_EQ(node.Wait(), 1);
    // Refused by the floor, or by RocksDB's open failing for lack of space: either way it says so.
    const std::string log = testing::ReadFile(files.log).substr(offset);
    EXPECT_NE(log.find("free space (or move the data folder"), std::string::npos) << log;
  }
  disk.Free();
  ExpectIntactAndGoingOn(network, files, confirmed, 900'000);

  // Without a floor: RocksDB's write fails for lack of space, and the node stops on that.
  SetFloor(files, 0);
  {
    const std::size_t offset = testing::ReadFile(files.log).size();
    auto [exit, committed] = RunUntilAFaultStopsIt(network, files, 100'000, FillTheDisk(disk));
    const std::string log = testing::ReadFile(files.log).substr(offset);
    ASSERT_TRUE(exit.has_value()) << "civicd kept running on a full disk; log:\n" << log;
    EXPECT_EQ(*exit, 1) << log;
    EXPECT_NE(log.find("No space left on device"), std::string::npos) << log;
    EXPECT_NE(log.find("The disk is full. Nothing committed is lost"), std::string::npos) << log;
    EXPECT_NE(log.find("civicd halted"), std::string::npos) << log;
    std::cout << log.substr(log.find("civicd halted")) << "\n";
    confirmed.insert(committed.begin(), committed.end());
  }
  disk.Free();
  ExpectIntactAndGoingOn(network, files, confirmed, 900'001);
}

// The environment that preloads the EIO injector (tests/faults/eio_inject.cc) into civicd.
std::vector<std::string> EioEnvironment(const std::filesystem::path& data, const std::filesystem::path& trigger,
                                        const std::string& mode) {
  const char* asan = std::getenv("ASAN_OPTIONS");  // a sanitizer build must allow a library before its runtime
  return {std::string("LD_PRELOAD=") + CIVIC_EIO_INJECT, "CIVIC_EIO_DIR=" + std::filesystem::canonical(data).string(),
          "CIVIC_EIO_TRIGGER=" + trigger.string(), "CIVIC_EIO_MODE=" + mode,
          "ASAN_OPTIONS=" + std::string(asan != nullptr ? asan : "") + ":verify_asan_link_order=0"};
}

// Issue 10: the drive fails with EIO (a failing disk) while transactions flow: every write
// and sync, then (the usual Linux case, the write landing in the page cache) only the syncs.
// The node stops, exit 1, naming the I/O error and what to do; nothing it reported committed
// is lost, and once the drive is good again (here: the injector disarmed) it starts with all
// of it and goes on. (The page cache survives here, as it does a process crash; a power loss
// after a failed sync is not shown.)
TEST(DiskFaults, ADriveThatFailsWritesStopsTheNodeSayingSoAndNothingCommittedIsLost) {
  testing::TempDir dir;
  testing::TestNetwork network;
  const testing::NodeFiles files = testing::WriteNodeFiles(dir.path(), network.genesis, 0);
  const std::filesystem::path trigger = dir.path() / "fail-writes-now";
  std::filesystem::create_directories(dir.path() / "data");
  std::set<std::string> confirmed;
  std::uint32_t resident = 1;
  for (const std::string mode : {"all", "sync"}) {
    SCOPED_TRACE(mode);
    const std::vector<std::string> env = EioEnvironment(dir.path() / "data", trigger, mode);
    const std::size_t offset = testing::ReadFile(files.log).size();
    auto [exit, committed] = RunUntilAFaultStopsIt(
        network, files, resident,
        [&] {
          testing::WriteFile(trigger, "");
          return (mode == "sync" ? "syncs" : "writes and syncs") + std::string(" under the data folder fail with EIO");
        },
        env);
    resident += 100'000;
    const std::string log = testing::ReadFile(files.log).substr(offset);
    ASSERT_TRUE(exit.has_value()) << "civicd kept running on a drive that fails; log:\n" << log;
    EXPECT_EQ(*exit, 1) << "a clean stop, not a crash; log:\n" << log;
    EXPECT_NE(log.find("Input/output error"), std::string::npos) << log;
    EXPECT_NE(log.find("Check the drive"), std::string::npos) << "the message says what to do; log:\n" << log;
    EXPECT_NE(log.find("civicd halted"), std::string::npos) << log;
    EXPECT_GT(committed.size(), 0u);
    std::cout << log.substr(std::min(log.size(), log.find("civicd halted"))) << "\n";
    confirmed.insert(committed.begin(), committed.end());
    std::filesystem::remove(trigger);
    ExpectIntactAndGoingOn(network, files, confirmed, 900'000 + resident);
  }
}

// Issue 10: a drive that fails reads. RocksDB reads its table files with pread; once those
// fail with EIO, civicd refuses to start, saying the drive failed and what to do; and a
// running civicd whose drive starts failing reads never answers as if something committed
// were absent: an answer is right or a storage error (500, the log naming the I/O error), and
// the first read of the contract state that fails stops it (exit 1, the same message). Restarted on a working drive,
// it has everything it reported committed.
TEST(DiskFaults, ADriveThatFailsReadsStopsTheNodeSayingSoAndNeverAnswersWrong) {
  testing::TempDir dir;
  testing::TestNetwork network;
  const testing::NodeFiles files = testing::WriteNodeFiles(dir.path(), network.genesis, 0);
  const std::filesystem::path data = dir.path() / "data";
  const std::filesystem::path trigger = dir.path() / "fail-reads-now";
  std::filesystem::create_directories(data);
  const std::vector<std::string> env = EioEnvironment(data, trigger, "read");

  // A history in table files: registrations committed, then a restart (RocksDB writes what its
  // log held to a table file when it opens).
  std::set<std::string> confirmed;
  std::vector<std::uint32_t> residents;
  for (int run = 0; run < 2; ++run) {
    const std::size_t offset = testing::ReadFile(files.log).size();
    CivicdProcess node({"run", "--config", files.config.string()}, files.log);
    const std::uint16_t port = testing::WaitForPort(files.log, offset);
    ASSERT_NE(port, 0) << testing::ReadFile(files.log);
    if (run == 0) {
      testing::Traffic traffic(network, port, 1);
      for (int i = 0; i < 600 && traffic.confirmed().size() < 400; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      traffic.Stop();
      confirmed = traffic.confirmed();
      ASSERT_GE(confirmed.size(), 400u);
      residents = traffic.confirmed_residents();
    }
    node.Signal(SIGTERM);
    ASSERT_EQ(node.Wait(), 0) << testing::ReadFile(files.log);
  }
  bool tables = false;
  for (const auto& entry : std::filesystem::directory_iterator(data)) tables = tables || entry.path().extension() == ".sst";
  ASSERT_TRUE(tables) << "no table file in " << data << ": nothing here would be read with pread";

  // Failing from the start: civicd refuses to start, and says why.
  testing::WriteFile(trigger, "");
  {
    const std::size_t offset = testing::ReadFile(files.log).size();
    CivicdProcess node({"run", "--config", files.config.string()}, files.log, CIVICD_BINARY, env);
    const std::optional<int> exit = node.Wait(std::chrono::seconds(60));
    const std::string log = testing::ReadFile(files.log).substr(offset);
    ASSERT_TRUE(exit.has_value()) << "civicd kept running on a drive that fails reads; log:\n" << log;
    EXPECT_EQ(*exit, 1) << "a clean stop, not a crash; log:\n" << log;
    EXPECT_NE(log.find("Input/output error"), std::string::npos) << log;
    EXPECT_NE(log.find("Check the drive"), std::string::npos) << "the message says what to do; log:\n" << log;
  }
  std::filesystem::remove(trigger);

  // Failing while it runs: every answer is right or names the error, until a read of the
  // contract state fails and it stops.
  {
    const std::size_t offset = testing::ReadFile(files.log).size();
    CivicdProcess node({"run", "--config", files.config.string()}, files.log, CIVICD_BINARY, env);
    const std::uint16_t port = testing::WaitForPort(files.log, offset);
    ASSERT_NE(port, 0) << testing::ReadFile(files.log);
    // Armed once the node is idle: the background check of the table files done (else it
    // finds the error first), and the empty block a validator alone commits as it starts
    // (else executing it reads the state, and the node stops before any read of ours).
    const auto idle = [&] {
      const std::string log = testing::ReadFile(files.log);
      return log.find("ledger files checked", offset) != std::string::npos &&
             log.find("committed block", offset) != std::string::npos;
    };
    for (int i = 0; i < 600 && !idle(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ASSERT_TRUE(idle()) << testing::ReadFile(files.log).substr(offset);
    testing::WriteFile(trigger, "");
    std::size_t right = 0, errors = 0;
    const auto check = [&](const HttpReply& reply, const std::string& what) {
      if (reply.status == 200) {
        ++right;
      } else if (reply.status != 0) {  // 0: the node is gone
        ++errors;
        EXPECT_EQ(reply.status, 500) << what << ": " << reply.body;  // (the log says which error)
        EXPECT_NE(reply.body.find("\"io\""), std::string::npos) << what << ": " << reply.body;
      }
      return reply.status != 0;
    };
    // Transactions first (their index is read by nothing at start, so these reads reach the
    // drive and fail), then residents (the state: the first that reaches the drive stops it).
    std::size_t asked = 0;
    for (const std::string& id : confirmed) {
      if (asked++ == 20) break;
      const HttpReply reply = Http(port, "GET", "/v1/txs/" + id);
      if (reply.status == 200) {
        EXPECT_EQ(reply.Json().value("status", ""), "committed") << id << ": " << reply.body;
      }
      ASSERT_TRUE(check(reply, "transaction " + id))
          << "the node stopped on reads of transactions; its log:\n" << testing::ReadFile(files.log).substr(offset);
    }
    EXPECT_GE(errors, 1u) << "no read of a transaction reached the drive";
    for (const std::uint32_t n : residents) {
      if (!node.running()) break;
      const std::string resident = proto::ToHex(network.resident(n).public_key());
      if (!check(Http(port, "GET", "/v1/residents/" + resident), "resident " + resident)) break;
    }
    const std::optional<int> exit = node.Wait(std::chrono::seconds(60));
    const std::string log = testing::ReadFile(files.log).substr(offset);
    std::cout << right << " answers right and " << errors << " errors naming the I/O error before it stopped\n";
    ASSERT_TRUE(exit.has_value()) << "civicd kept running while every read of its table files failed; log:\n" << log;
    EXPECT_EQ(*exit, 1) << "a clean stop, not a crash; log:\n" << log;
    EXPECT_NE(log.find("storage: io: reading txindex"), std::string::npos) << "the log names the error; log:\n" << log;
    const std::size_t stopped = log.find("stopped at once: io: reading the contract state");
    ASSERT_NE(stopped, std::string::npos) << log;
    EXPECT_NE(log.find("failed a read", stopped), std::string::npos) << log;
    EXPECT_NE(log.find("Check the drive", stopped), std::string::npos) << log;
  }
  std::filesystem::remove(trigger);
  ExpectIntactAndGoingOn(network, files, confirmed, 900'000);
}

// The largest file in `dir` whose name ends with `extension`.
std::filesystem::path LargestFile(const std::filesystem::path& dir, const std::string& extension) {
  std::filesystem::path largest;
  std::uintmax_t size = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() == extension && entry.file_size() > size) {
      largest = entry.path();
      size = entry.file_size();
    }
  }
  return largest;
}

// Changes `count` bytes in the middle of `path`.
void DamageMiddle(const std::filesystem::path& path, std::size_t count) {
  std::string bytes = testing::ReadFile(path);
  for (std::size_t i = 0; i < count && bytes.size() / 2 + i < bytes.size(); ++i) bytes[bytes.size() / 2 + i] ^= 0x5a;
  testing::WriteFile(path, bytes);
}

// Issue 10: a ledger file damaged or cut short while the node was down. civicd refuses it,
// exit 1, with a message that says the ledger is damaged and what to do, instead of serving
// what it holds or quietly opening it without the blocks after the damage. Each case starts
// from the same good copy, which opens afterwards as before.
TEST(DiskFaults, ADamagedOrTruncatedLedgerFileIsRefusedNotServed) {
  testing::TempDir dir;
  testing::TestNetwork network;
  const testing::NodeFiles files = testing::WriteNodeFiles(dir.path(), network.genesis, 0);
  const std::filesystem::path data = dir.path() / "data";
  std::uint64_t height = 0;
  // Two runs: the second starts by moving the first one's log into table files.
  for (int run = 0; run < 2; ++run) {
    const std::size_t offset = testing::ReadFile(files.log).size();
    CivicdProcess node({"run", "--config", files.config.string()}, files.log);
    const std::uint16_t port = testing::WaitForPort(files.log, offset);
    ASSERT_NE(port, 0);
    testing::Traffic traffic(network, port, 1 + 100'000 * static_cast<std::uint32_t>(run));
    for (int i = 0; i < 600 && traffic.committed_height() < height + 5; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    traffic.Stop();
    height = Http(port, "GET", "/v1/status").Json().value("height", std::uint64_t{0});
    node.Signal(SIGTERM);
    ASSERT_EQ(node.Wait(), 0) << testing::ReadFile(files.log);
  }
  const std::filesystem::path good = dir.path() / "good";
  std::filesystem::copy(data, good, std::filesystem::copy_options::recursive);
  ASSERT_FALSE(LargestFile(data, ".sst").empty()) << "no table file to damage";
  ASSERT_FALSE(LargestFile(data, ".log").empty()) << "no log file to damage";

  const auto expect_refused = [&](const std::string& what, const std::function<void()>& damage) {
    SCOPED_TRACE(what);
    std::filesystem::remove_all(data);
    std::filesystem::copy(good, data, std::filesystem::copy_options::recursive);
    damage();
    const std::size_t offset = testing::ReadFile(files.log).size();
    CivicdProcess node({"run", "--config", files.config.string()}, files.log);
    const std::optional<int> exit = node.Wait(std::chrono::seconds(60));
    const std::string log = testing::ReadFile(files.log).substr(offset);
    ASSERT_TRUE(exit.has_value()) << "civicd runs on a damaged ledger; log:\n" << log;
    EXPECT_EQ(*exit, 1) << log;
    EXPECT_NE(log.find("The ledger's files are damaged"), std::string::npos) << log;
    EXPECT_NE(log.find("Restore the data folder from a copy"), std::string::npos) << log;
    const std::size_t said = log.find("Corruption");
    std::cout << what << ": " << (said == std::string::npos ? log : log.substr(log.rfind('\n', said) + 1, 400)) << "\n";
  };
  expect_refused("a table file cut in half", [&] {
    const std::filesystem::path file = LargestFile(data, ".sst");
    std::filesystem::resize_file(file, std::filesystem::file_size(file) / 2);
  });
  expect_refused("bytes changed in a table file", [&] { DamageMiddle(LargestFile(data, ".sst"), 16); });
  expect_refused("bytes changed in the middle of the log", [&] { DamageMiddle(LargestFile(data, ".log"), 16); });

  // The good copy opens, at the height it had.
  std::filesystem::remove_all(data);
  std::filesystem::copy(good, data, std::filesystem::copy_options::recursive);
  const std::size_t offset = testing::ReadFile(files.log).size();
  CivicdProcess node({"run", "--config", files.config.string()}, files.log);
  const std::uint16_t port = testing::WaitForPort(files.log, offset);
  ASSERT_NE(port, 0);
  EXPECT_GE(Http(port, "GET", "/v1/status").Json().value("height", std::uint64_t{0}), height);
  bool checked = false;
  for (int i = 0; i < 600 && !checked; ++i) {
    checked = testing::ReadFile(files.log).find("ledger files checked", offset) != std::string::npos;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(checked) << "the good copy's files were not all checked:\n" << testing::ReadFile(files.log).substr(offset);
  node.Signal(SIGTERM);
  EXPECT_EQ(node.Wait(), 0);
}

}  // namespace
}  // namespace civic::node
