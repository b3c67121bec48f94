// The validator network with real processes: 4 civicd validators and 1 observer on
// loopback, talking over the authenticated, encrypted peer protocol (node/p2p.h), under a
// steady load of signed transactions. Each test then checks what a resident and an auditor
// rely on: every node holds the same block hash and app hash at every common height, and
// every transaction a node reported committed is committed on every node, in the same block.
#include <sodium.h>

#include <atomic>
#include <mutex>
#include <set>

#include "civic/node/p2p.h"
#include "civic/node/testnet.h"
#include "link_proxy.h"
#include "node_fixture.h"

namespace civic::node {
namespace {

using namespace civic::node::testing;
using nlohmann::json;
using Clock = std::chrono::steady_clock;

// Debian's libfaketime (package faketime): preloaded, it shifts a program's wall clock.
constexpr const char* kFaketime = "/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1";

// A network of civicd processes written by WriteTestnet.
class Cluster {
 public:
  // `proxied`: every link between two validators runs through a LinkProxy, so that a test
  // can partition the network.
  Cluster(TestNetwork& network, std::uint32_t validators, std::uint32_t observers, bool proxied = false)
      : network_(network) {
    Genesis genesis = network.genesis;
    genesis.validators.clear();
    genesis.consensus.timeout_propose_ms = 1000;
    genesis.consensus.timeout_propose_delta_ms = 250;
    genesis.consensus.timeout_prevote_ms = 500;
    genesis.consensus.timeout_prevote_delta_ms = 250;
    genesis.consensus.timeout_precommit_ms = 500;
    genesis.consensus.timeout_precommit_delta_ms = 250;
    genesis.consensus.empty_block_interval_ms = 1000;
    TestnetLayout layout;
    layout.validators = validators;
    layout.observers = observers;
    std::set<std::uint16_t> used;
    const auto port = [&] {
      std::uint16_t p = FreePort();
      while (used.contains(p)) p = FreePort();
      used.insert(p);
      return p;
    };
    for (std::uint32_t i = 0; i < validators + observers; ++i) layout.http_ports.push_back(port());
    for (std::uint32_t i = 0; i < validators; ++i) layout.p2p_ports.push_back(port());
    if (proxied) {
      proxies_.resize(validators);
      for (std::uint32_t from = 0; from < validators; ++from) {
        for (std::uint32_t to = 0; to < validators; ++to) {
          // Listening ports from the same pool as the nodes', so that none takes another's.
          proxies_[from].push_back(from == to ? nullptr
                                              : std::make_unique<testnet::LinkProxy>(layout.p2p_ports[to], port()));
          EXPECT_TRUE(from == to || proxies_[from].back()->ok());
        }
      }
      layout.dial_port = [this, direct = layout.p2p_ports](std::size_t from, std::size_t to) {
        return from < proxies_.size() ? proxies_[from][to]->port() : direct[to];  // observers dial directly
      };
    }
    proto::Result<std::vector<TestnetNode>> nodes = WriteTestnet(dir_.path() / "net", genesis, layout);
    EXPECT_TRUE(nodes.has_value()) << (nodes ? "" : nodes.error().message);
    if (nodes) nodes_ = std::move(*nodes);
    processes_.resize(nodes_.size());
    proto::Result<Genesis> written = LoadGenesisFile(dir_.path() / "net" / "genesis.json");
    EXPECT_TRUE(written.has_value());
    if (written) network.genesis = *written;  // so the test signs for this network's chain
  }
  ~Cluster() {
    for (std::size_t i = 0; i < processes_.size(); ++i) {
      if (processes_[i]) processes_[i]->Signal(SIGCONT);
    }
  }

  std::size_t size() const { return nodes_.size(); }
  const TestnetNode& node(std::size_t i) const { return nodes_[i]; }
  std::uint16_t http(std::size_t i) const { return nodes_[i].http_port; }
  std::filesystem::path log(std::size_t i) const { return nodes_[i].dir / "civicd.log"; }

  // `binary`: civicd, or civicd-byzantine for a validator that equivocates. `clock_offset`
  // (e.g. "+300" seconds) preloads libfaketime, so that its wall clock is that far off; its
  // monotonic clock (timeouts) is left alone.
  void Start(std::size_t i, const std::string& binary = CIVICD_BINARY, const std::string& clock_offset = "") {
    const std::size_t offset = std::filesystem::exists(log(i)) ? std::filesystem::file_size(log(i)) : 0;
    std::vector<std::string> env;
    if (!clock_offset.empty()) {
      const char* asan = std::getenv("ASAN_OPTIONS");  // an ASan build must allow a library before its runtime
      env = {std::string("LD_PRELOAD=") + kFaketime, "FAKETIME=" + clock_offset, "FAKETIME_DONT_FAKE_MONOTONIC=1",
             "ASAN_OPTIONS=" + std::string(asan != nullptr ? asan : "") + ":verify_asan_link_order=0"};
    }
    processes_[i] = std::make_unique<CivicdProcess>(
        std::vector<std::string>{"run", "--config", (nodes_[i].dir / "civicd.toml").string()}, log(i), binary, env);
    EXPECT_EQ(WaitForPort(log(i), offset), http(i)) << nodes_[i].name;
  }
  void StartAll() {
    for (std::size_t i = 0; i < size(); ++i) Start(i);
  }
  void Kill(std::size_t i) {
    processes_[i]->Signal(SIGKILL);
    (void)processes_[i]->Wait();
    processes_[i].reset();
  }
  void Signal(std::size_t i, int signal) { processes_[i]->Signal(signal); }
  bool running(std::size_t i) const { return processes_[i] && processes_[i]->running(); }

  json Status(std::size_t i) const {
    const HttpReply reply = Http(http(i), "GET", "/v1/status");
    return reply.status == 200 ? reply.Json() : json();
  }
  std::uint64_t Height(std::size_t i) const {
    const json status = Status(i);
    return status.is_object() ? status.value("height", std::uint64_t{0}) : 0;
  }

  // Waits until node i's tip reaches `height`.
  bool WaitForHeight(std::size_t i, std::uint64_t height, std::chrono::seconds timeout = std::chrono::seconds(60)) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      if (Height(i) >= height) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }

  // Every node holds the same block (hash and header, app hash included) at every height
  // they all have.
  void ExpectAgreement() const {
    std::uint64_t common = std::numeric_limits<std::uint64_t>::max();
    for (std::size_t i = 0; i < size(); ++i) common = std::min(common, Height(i));
    ASSERT_GT(common, 0u);
    for (std::uint64_t h = 1; h <= common; ++h) {
      std::string first;
      for (std::size_t i = 0; i < size(); ++i) {
        const HttpReply reply = Http(http(i), "GET", "/v1/blocks/" + std::to_string(h));
        ASSERT_EQ(reply.status, 200) << nodes_[i].name << " block " << h << ": " << reply.body;
        const json block = reply.Json();
        const std::string seen = block["hash"].get<std::string>() + " " + block["header"].dump();
        if (i == 0) first = seen;
        EXPECT_EQ(seen, first) << "node " << nodes_[i].name << " differs from " << nodes_[0].name << " at height " << h;
      }
    }
  }

  std::filesystem::path dir() const { return dir_.path(); }

  // Cuts (or heals) every link between a validator of `a` and one of `b`, both ways.
  void SetPartition(const std::vector<std::size_t>& a, const std::vector<std::size_t>& b, bool cut) {
    for (std::size_t x : a) {
      for (std::size_t y : b) {
        for (auto [from, to] : {std::pair{x, y}, std::pair{y, x}}) {
          if (cut) {
            proxies_[from][to]->Cut();
          } else {
            proxies_[from][to]->Heal();
          }
        }
      }
    }
  }

 private:
  TestNetwork& network_;
  TempDir dir_;
  std::vector<TestnetNode> nodes_;
  std::vector<std::unique_ptr<CivicdProcess>> processes_;
  std::vector<std::vector<std::unique_ptr<testnet::LinkProxy>>> proxies_;  // [from][to]
};

// Clients sending signed registrations to the nodes in turn, while a test does its worst.
class Load {
 public:
  Load(TestNetwork& network, Cluster& cluster, std::size_t txs, std::vector<std::size_t> targets)
      : cluster_(cluster), targets_(std::move(targets)) {
    for (std::size_t i = 0; i < txs; ++i) txs_.push_back(network.Register(static_cast<std::uint32_t>(10'000 + i)));
    thread_ = std::thread([this] { Run(); });
  }
  ~Load() { Finish(); }

  void Finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::size_t sent() const { return sent_.load(); }

  // Asks the node that accepted each transaction about it until none is pending: returns how
  // many are committed. (ExpectAgreement then shows every node has the same blocks.) Those
  // not committed were accepted by a node that was killed before it passed them on; a client
  // sends those again.
  std::size_t Committed() const {
    std::lock_guard lock(mutex_);
    std::size_t committed = 0;
    for (const auto& [id, i] : accepted_) {
      const auto deadline = Clock::now() + std::chrono::seconds(30);
      for (;;) {
        const HttpReply reply = Http(cluster_.http(i), "GET", "/v1/txs/" + id);
        const std::string status = reply.status == 200 ? reply.Json().value("status", "") : "unknown";
        if (status == "committed") ++committed;
        if (status != "pending" || Clock::now() > deadline) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    }
    return committed;
  }
  std::size_t accepted() const {
    std::lock_guard lock(mutex_);
    return accepted_.size();
  }

 private:
  void Run() {
    std::size_t next = 0;
    std::size_t target = 0;
    while (!stop_ && next < txs_.size()) {
      const std::size_t node = targets_[target++ % targets_.size()];
      if (!cluster_.running(node)) continue;
      const std::size_t end = std::min(txs_.size(), next + 5);
      json batch = json::array();
      for (std::size_t i = next; i < end; ++i) batch.push_back(TxHex(txs_[i]));
      const HttpReply reply = Http(cluster_.http(node), "POST", "/v1/txs/batch", json{{"txs", batch}}.dump());
      if (reply.status == 200) {
        const json results = reply.Json()["results"];
        std::lock_guard lock(mutex_);
        for (std::size_t i = 0; i < results.size(); ++i) {
          if (results[i].value("http_status", 0) == 202) accepted_.emplace_back(results[i]["id"].get<std::string>(), node);
        }
        sent_ += end - next;
        next = end;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }

  Cluster& cluster_;
  std::vector<std::size_t> targets_;
  std::vector<proto::Tx> txs_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<std::size_t> sent_{0};
  mutable std::mutex mutex_;
  std::vector<std::pair<std::string, std::size_t>> accepted_;  // id, the node that accepted it
};

constexpr std::size_t kObserver = 4;

TEST(Network, FourValidatorsAndAnObserverAgreeUnderLoad) {
  TestNetwork network;
  Cluster cluster(network, 4, 1);
  cluster.StartAll();
  // Transactions go to every node, the observer included (it forwards them).
  Load load(network, cluster, 600, {0, 1, 2, 3, kObserver});
  ASSERT_TRUE(cluster.WaitForHeight(0, 3));
  while (load.sent() < 600 && cluster.running(0)) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  load.Finish();
  EXPECT_EQ(load.accepted(), 600u);
  EXPECT_EQ(load.Committed(), 600u);
  const std::uint64_t height = cluster.Height(0);
  for (std::size_t i = 0; i < cluster.size(); ++i) EXPECT_TRUE(cluster.WaitForHeight(i, height)) << i;
  cluster.ExpectAgreement();
  // Each validator is connected to the three others and the observer; the observer to all four.
  for (std::size_t i = 0; i < cluster.size(); ++i) EXPECT_EQ(cluster.Status(i)["peers"].size(), 4u) << i;
  EXPECT_EQ(cluster.Status(kObserver)["role"], "observer");
}

TEST(Network, KilledValidatorCatchesUpWhileTheOthersGoOn) {
  TestNetwork network;
  Cluster cluster(network, 4, 1);
  cluster.StartAll();
  Load load(network, cluster, 20'000, {0, 1, 2, 3, kObserver});
  ASSERT_TRUE(cluster.WaitForHeight(0, 3));
  cluster.Kill(2);
  // Three of four equal validators hold more than two thirds: blocks keep coming.
  const std::uint64_t at_kill = cluster.Height(0);
  EXPECT_TRUE(cluster.WaitForHeight(0, at_kill + 5, std::chrono::seconds(60)));
  cluster.Start(2);
  const std::uint64_t target = cluster.Height(0);
  EXPECT_TRUE(cluster.WaitForHeight(2, target, std::chrono::seconds(60)));
  // And it takes part again: the network still commits with any one of the others stopped.
  cluster.Signal(0, SIGSTOP);
  EXPECT_TRUE(cluster.WaitForHeight(1, cluster.Height(1) + 3, std::chrono::seconds(60)));
  cluster.Signal(0, SIGCONT);
  load.Finish();
  const std::size_t committed = load.Committed();
  std::cout << "accepted " << load.accepted() << " transactions, committed " << committed << "\n";
  EXPECT_GE(committed + 200, load.accepted()) << "only what node 2 held when killed may be lost";
  const std::uint64_t height = cluster.Height(1);
  for (std::size_t i = 0; i < cluster.size(); ++i) EXPECT_TRUE(cluster.WaitForHeight(i, height)) << i;
  cluster.ExpectAgreement();
}

TEST(Network, PausedValidatorResumesAndCatchesUp) {
  TestNetwork network;
  Cluster cluster(network, 4, 1);
  cluster.StartAll();
  Load load(network, cluster, 20'000, {0, 1, 3, kObserver});
  ASSERT_TRUE(cluster.WaitForHeight(0, 3));
  cluster.Signal(2, SIGSTOP);
  const std::uint64_t at_pause = cluster.Height(0);
  const int pause_s = std::getenv("CIVIC_PAUSE_S") != nullptr ? std::atoi(std::getenv("CIVIC_PAUSE_S")) : 30;
  std::this_thread::sleep_for(std::chrono::seconds(pause_s));
  EXPECT_GT(cluster.Height(0), at_pause + 3) << "the three others kept committing";
  cluster.Signal(2, SIGCONT);
  EXPECT_TRUE(cluster.WaitForHeight(2, cluster.Height(0), std::chrono::seconds(60)));
  load.Finish();
  EXPECT_EQ(load.Committed(), load.accepted()) << "a pause loses nothing";
  const std::uint64_t height = cluster.Height(0);
  for (std::size_t i = 0; i < cluster.size(); ++i) EXPECT_TRUE(cluster.WaitForHeight(i, height)) << i;
  cluster.ExpectAgreement();
}

// Two against two: neither half holds more than two thirds of the power, so nothing is
// committed while split; once healed, blocks come again within seconds, and nothing forks.
TEST(Network, PartitionTwoAgainstTwoStopsCommitsAndHealsWithoutAFork) {
  TestNetwork network;
  Cluster cluster(network, 4, 1, /*proxied=*/true);
  cluster.StartAll();
  Load load(network, cluster, 20'000, {0, 1, 2, 3, kObserver});
  ASSERT_TRUE(cluster.WaitForHeight(0, 3));
  cluster.SetPartition({0, 1}, {2, 3}, /*cut=*/true);
  // A block whose votes were already on their way may still land; then nothing.
  std::this_thread::sleep_for(std::chrono::seconds(2));
  std::vector<std::uint64_t> split;
  for (std::size_t i = 0; i < 4; ++i) split.push_back(cluster.Height(i));
  std::this_thread::sleep_for(std::chrono::seconds(8));
  for (std::size_t i = 0; i < 4; ++i) EXPECT_EQ(cluster.Height(i), split[i]) << "validator " << i << " committed while split";
  cluster.SetPartition({0, 1}, {2, 3}, /*cut=*/false);
  const auto healed = Clock::now();
  const std::uint64_t top = *std::max_element(split.begin(), split.end());
  for (std::size_t i = 0; i < 4; ++i) EXPECT_TRUE(cluster.WaitForHeight(i, top + 2, std::chrono::seconds(60))) << i;
  std::cout << "progress resumed on every validator " 
            << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - healed).count()
            << " ms after healing\n";
  load.Finish();
  EXPECT_EQ(load.Committed(), load.accepted()) << "a partition loses nothing";
  const std::uint64_t height = cluster.Height(0);
  for (std::size_t i = 0; i < cluster.size(); ++i) EXPECT_TRUE(cluster.WaitForHeight(i, height)) << i;
  cluster.ExpectAgreement();
}

// One validator of four equivocates: with each proposal and vote it sends a conflicting one to
// half of its peers. The three honest ones (three quarters of the power) keep agreeing and
// committing, and report the equivocations they see.
TEST(Network, AnEquivocatingValidatorDoesNotBreakAgreementAndIsReported) {
  TestNetwork network;
  Cluster cluster(network, 4, 1);
  cluster.Start(0, CIVICD_BYZANTINE_BINARY);
  for (std::size_t i = 1; i < cluster.size(); ++i) cluster.Start(i);
  Load load(network, cluster, 20'000, {1, 2, 3, kObserver});
  ASSERT_TRUE(cluster.WaitForHeight(1, 12, std::chrono::seconds(90)));
  load.Finish();
  EXPECT_EQ(load.Committed(), load.accepted());
  const std::uint64_t height = cluster.Height(1);
  for (std::size_t i = 0; i < cluster.size(); ++i) EXPECT_TRUE(cluster.WaitForHeight(i, height)) << i;
  cluster.ExpectAgreement();
  EXPECT_NE(ReadFile(cluster.log(0)).find("byzantine test mode"), std::string::npos) << "it did equivocate";
  const std::string byzantine_key = proto::ToHex(cluster.node(0).key);
  std::size_t reported = 0;
  for (std::size_t i = 1; i < 4; ++i) {
    const std::string log = ReadFile(cluster.log(i));
    for (std::size_t at = log.find("equivocation evidence: validator "); at != std::string::npos;
         at = log.find("equivocation evidence: validator ", at + 1)) {
      ++reported;
      EXPECT_EQ(log.substr(at + 33, 64), byzantine_key) << "only the equivocating validator is named";
    }
  }
  EXPECT_GT(reported, 0u) << "the honest validators saw and reported the equivocation";
}

// A peer that holds a listed key but sends junk: it is dropped, and nobody else notices.
TEST(Network, PeerSendingGarbageOrOversizedFramesOrNothingIsDropped) {
  TestNetwork network;
  Cluster cluster(network, 4, 1);
  for (std::size_t i = 0; i < 4; ++i) cluster.Start(i);  // the observer's key is ours to misuse
  ASSERT_TRUE(cluster.WaitForHeight(0, 2));

  // 1. Junk instead of a handshake, and then silence: the validator closes the connection.
  for (const std::string& junk : {std::string(200, 'x'), std::string()}) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(cluster.node(0).p2p_port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ASSERT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
    timeval timeout{20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (!junk.empty()) {
      ASSERT_EQ(::send(fd, junk.data(), junk.size(), MSG_NOSIGNAL), static_cast<ssize_t>(junk.size()));
    }
    const auto began = Clock::now();
    char buffer[4096];
    ssize_t got = 0;
    do {
      got = ::recv(fd, buffer, sizeof buffer, 0);
    } while (got > 0);
    EXPECT_EQ(got, 0) << "the validator closed the connection (not a timeout of ours)";
    EXPECT_LT(Clock::now() - began, std::chrono::seconds(10));
    ::close(fd);
  }

  // 2. An authenticated peer (the observer's key) that sends a message that does not
  //    decode, then one above the frame bound.
  // Above the bound: the genesis allows blocks of 8 MiB, so frames of about that.
  for (const std::size_t size : {std::size_t{64}, std::size_t{16} * 1024 * 1024}) {
    std::atomic<int> connected{0};
    P2pOptions options;
    options.chain_id = network.genesis.chain_id;
    options.genesis_hash = GenesisHash(network.genesis);
    proto::Result<proto::Ed25519KeyPair> again = LoadValidatorKey(cluster.node(kObserver).dir / "node.key");
    ASSERT_TRUE(again.has_value());
    options.key = std::make_shared<const proto::Ed25519KeyPair>(std::move(*again));
    options.allowed.insert(cluster.node(0).key);
    options.dial.push_back(PeerAddress{cluster.node(0).key, "127.0.0.1", cluster.node(0).p2p_port});
    options.reconnect_min_ms = 60'000;  // one try: we want to see the drop, not a reconnect
    PeerNetwork::Handlers handlers;
    handlers.on_connected = [&](const proto::Ed25519PublicKey&) { ++connected; };
    proto::Result<std::unique_ptr<PeerNetwork>> rogue = PeerNetwork::Start(std::move(options), std::move(handlers));
    ASSERT_TRUE(rogue.has_value());
    auto deadline = Clock::now() + std::chrono::seconds(10);
    while (connected.load() == 0 && Clock::now() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_EQ(connected.load(), 1) << "the handshake with the validator succeeds";
    proto::Bytes junk(size, 0xEE);  // kind 0xEE does not exist
    (*rogue)->Broadcast(std::make_shared<const proto::Bytes>(std::move(junk)), Lane::kConsensus);
    deadline = Clock::now() + std::chrono::seconds(10);
    while (!(*rogue)->Peers().empty() && Clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    EXPECT_TRUE((*rogue)->Peers().empty()) << "the validator dropped the peer that sent " << size << " junk bytes";
    (*rogue)->Stop();
  }
  EXPECT_NE(ReadFile(cluster.log(0)).find("does not decode"), std::string::npos);

  // 3. Meanwhile, and after, the validators go on.
  const std::uint64_t height = cluster.Height(0);
  EXPECT_TRUE(cluster.WaitForHeight(3, height + 2));
}

}  // namespace
}  // namespace civic::node

namespace civic::node {
namespace {

// A validator whose clock is minutes off cannot move block times. A block's time must follow
// its parent's and be at most 10 s ahead of each validating node's own clock (node/src/node.cc,
// kBlockTimeDriftMaxMs). Validator 2 runs 5 minutes behind and validator 3 five minutes ahead
// (faketime shifts their wall clocks, nothing else). The one ahead proposes blocks that the
// others refuse, so its turns pass to the next round. The one behind refuses the others'
// blocks as coming from its future, so it does not prevote for them; it follows the chain by
// syncing each certified block, and when its turn comes in time it proposes its parent's time
// plus 1 ms. Three of four validators accept each honest block, so the chain goes on; every
// block time is later than its parent's and not ahead of the real clock by more than the
// allowed drift; nothing halts.
TEST(Network, ValidatorsWhoseClocksAreMinutesOffCannotPushBlockTimes) {
  ASSERT_TRUE(std::filesystem::exists(kFaketime)) << "this test needs libfaketime: run testnet/install-deps";
  TestNetwork network;
  Cluster cluster(network, 4, 0);
  cluster.Start(0);
  cluster.Start(1);
  cluster.Start(2, CIVICD_BINARY, "-300");
  cluster.Start(3, CIVICD_BINARY, "+300");
  Load load(network, cluster, 20'000, {0, 1, 2, 3});
  EXPECT_TRUE(cluster.WaitForHeight(0, 16, std::chrono::seconds(120)));
  load.Finish();
  EXPECT_EQ(load.Committed(), load.accepted()) << "skewed clocks lose nothing";
  const std::uint64_t height = cluster.Height(0);
  for (std::size_t i = 0; i < cluster.size(); ++i) EXPECT_TRUE(cluster.WaitForHeight(i, height)) << i;
  cluster.ExpectAgreement();

  const std::uint64_t now = NowUnixMs();  // this test's clock is the real one
  std::uint64_t previous = 0;
  std::map<std::string, int> proposed;  // proposer key -> committed blocks
  for (std::uint64_t h = 1; h <= height; ++h) {
    const json header = Http(cluster.http(0), "GET", "/v1/blocks/" + std::to_string(h)).Json()["header"];
    const std::uint64_t time = header.value("time_unix_ms", std::uint64_t{0});
    EXPECT_GT(time, previous) << "block " << h << " is not later than its parent";
    EXPECT_LE(time, now + 10'000) << "block " << h << " is ahead of the real clock";
    previous = time;
    ++proposed[header.value("proposer", "")];
  }
  EXPECT_EQ(proposed.count(proto::ToHex(cluster.node(3).key)), 0u) << "a block of the validator 5 minutes ahead was committed";
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_NE(ReadFile(cluster.log(i)).find("beyond what this node's clock allows"), std::string::npos)
        << cluster.node(i).name << " does not say why it refuses blocks from its future";
  }
  for (std::size_t i = 0; i < cluster.size(); ++i) {
    EXPECT_EQ(ReadFile(cluster.log(i)).find("halting"), std::string::npos) << cluster.node(i).name << " halted";
  }
}

}  // namespace
}  // namespace civic::node
