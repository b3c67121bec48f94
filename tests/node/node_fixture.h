// Shared by the node tests: temporary directories, a test network (genesis, validator key,
// clerks, residents), signed transactions, a civicd process on loopback, and a small
// blocking HTTP client that speaks raw HTTP/1.1 over a real socket.
#pragma once

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "civic/node/executor.h"
#include "civic/node/genesis.h"
#include "civic/node/key_file.h"
#include "civic/node/ledger.h"
#include "civic/node/replay.h"
#include "civic/proto/codec.h"
#include "civic/proto/ed25519.h"
#include "civic/proto/hash.h"
#include "civic/proto/payloads.h"
#include "civic/proto/schnorr.h"
#include "civic/proto/tx.h"
#include "civic/proto/vote.h"

extern char** environ;

namespace civic::node::testing {

inline proto::Secret32 Filled(std::uint8_t fill) {
  proto::Secret32 secret{};
  secret.fill(fill);
  return secret;
}

// A port that was free a moment ago (for configs that must name their ports in advance).
inline std::uint16_t FreePort() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address), 0);
  socklen_t size = sizeof address;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&address), &size);
  ::close(fd);
  return ntohs(address.sin_port);
}

inline std::uint64_t NowUnixMs() {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                        std::chrono::system_clock::now().time_since_epoch())
                                        .count());
}

// A fresh directory under the system's temporary folder, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("civic-node-test-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    if (std::getenv("CIVIC_KEEP_TEST_DIRS") != nullptr) {
      std::cerr << "kept " << path_ << "\n";
      return;
    }
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void WriteFile(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << "cannot write " << path;
}

inline std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The last `lines` lines of a node's log, for a failure message.
inline std::string LogTail(const std::filesystem::path& path, std::size_t lines = 40) {
  const std::string text = ReadFile(path);
  std::size_t start = text.size();
  for (std::size_t seen = 0; start > 0; --start) {
    if (text[start - 1] == '\n' && ++seen > lines) break;
  }
  return text.substr(start);
}

// One validator (seed 0x51), two clerks (0xC1, 0xC2), three districts.
struct TestNetwork {
  static constexpr std::uint8_t kValidatorSeed = 0x51;

  TestNetwork() : chain(proto::ChainId::Parse("civic-node-test").value()) {
    for (std::uint8_t seed : {std::uint8_t{0xC1}, std::uint8_t{0xC2}}) {
      clerks.push_back(proto::SchnorrKeyPair::FromSecret(Filled(seed)).value());
    }
    genesis.chain_id = chain;
    genesis.genesis_time_unix_ms = 1'790'000'000'000;
    genesis.validators.push_back(
        GenesisValidator{"test-validator", proto::Ed25519KeyPair::FromSeed(Filled(kValidatorSeed)).public_key(), 10});
    for (const auto& clerk : clerks) genesis.contracts.clerks.push_back(clerk.public_key());
    std::sort(genesis.contracts.clerks.begin(), genesis.contracts.clerks.end());
    genesis.contracts.districts = {{1, "North"}, {2, "South"}, {3, "Harbour"}};
    genesis.contracts.clerk_threshold = 1;
    genesis.consensus.commit_wait_ms = 10;
    // No heartbeat blocks during a test unless it asks: the state changes only with its txs.
    genesis.consensus.empty_block_interval_ms = 3'600'000;
  }

  const proto::SchnorrKeyPair& clerk() const { return clerks[0]; }

  const proto::SchnorrKeyPair& resident(std::uint32_t n) {
    auto it = residents.find(n);
    if (it == residents.end()) {
      proto::Secret32 secret = Filled(0x20);
      secret[28] = static_cast<std::uint8_t>(n >> 24);
      secret[29] = static_cast<std::uint8_t>(n >> 16);
      secret[30] = static_cast<std::uint8_t>(n >> 8);
      secret[31] = static_cast<std::uint8_t>(n);
      it = residents.emplace(n, proto::SchnorrKeyPair::FromSecret(secret).value()).first;
    }
    return it->second;
  }

  // A signed transaction with a fresh nonce (unless one is given).
  template <class Payload>
  proto::Tx Sign(const proto::SchnorrKeyPair& signer, proto::TxKind kind, const Payload& payload,
                 std::optional<std::uint64_t> nonce = std::nullopt, std::uint64_t valid_until_height = 500'000) {
    proto::TxBody body;
    body.kind = kind;
    body.chain_id = chain;
    body.signer = signer.public_key();
    body.nonce = nonce.value_or(next_nonce++);
    body.valid_until_height = valid_until_height;
    if constexpr (std::is_same_v<Payload, proto::Bytes>) {
      body.payload = payload;
    } else {
      body.payload = proto::Encode(payload).value();
    }
    return proto::SignTx(std::move(body), signer, Filled(0)).value();
  }

  proto::Tx Register(std::uint32_t resident_number, std::vector<std::uint32_t> districts = {1}) {
    return Sign(clerk(), proto::TxKind::kRegisterResident,
                proto::RegisterResident{resident(resident_number).public_key(), std::move(districts), 0});
  }

  proto::ChainId chain;
  Genesis genesis;
  std::vector<proto::SchnorrKeyPair> clerks;
  std::map<std::uint32_t, proto::SchnorrKeyPair> residents;
  std::uint64_t next_nonce = 1;
};

// A certificate for the block `hash` at `height`, signed by the test network's only validator.
inline proto::CommitCertificate Certify(const TestNetwork& network, std::uint64_t height, const proto::Hash32& hash) {
  const proto::Ed25519KeyPair key = proto::Ed25519KeyPair::FromSeed(Filled(TestNetwork::kValidatorSeed));
  proto::VoteBody body;
  body.type = proto::VoteType::kPrecommit;
  body.height = height;
  body.round = 0;
  body.block_hash = hash;
  body.validator = key.public_key();
  const proto::Vote vote = proto::SignVote(network.chain, body, key).value();
  proto::CommitCertificate certificate;
  certificate.height = height;
  certificate.round = 0;
  certificate.block_hash = hash;
  certificate.signatures.push_back({0, vote.signature});
  return certificate;
}

// Builds block tip+1 of `ledger` from `txs` (their signatures checked here) at `time_unix_ms`,
// proposed and certified by the test network's only validator, and commits it. `dropped` gets
// what the executor left out (nullptr: nobody asks).
inline ExecutedBlock BuildAndCommit(Ledger& ledger, const TestNetwork& network, const std::vector<proto::Tx>& txs,
                                    std::uint64_t time_unix_ms, const BlockLimits& limits, std::vector<Dropped>* dropped) {
  Executor executor(ledger);
  std::vector<proto::VerifiedTx> candidates;
  for (const proto::Tx& tx : txs) candidates.push_back(proto::VerifyTx(tx).value());
  ExecutedBlock block = executor.Build(candidates, {}, time_unix_ms, network.genesis.validators[0].key,
                                       consensus::ValidatorSchedule(1, network.genesis.ValidatorSet()), limits, dropped);
  EXPECT_TRUE(executor.Commit(block, Certify(network, block.block.header.height, block.hash)).has_value());
  return block;
}

inline std::string TxHex(const proto::Tx& tx) { return proto::ToHex(proto::Encode(tx).value()); }
inline std::string TxIdHex(const proto::Tx& tx) { return proto::ToHex(proto::TxId(tx).value()); }

// ---- HTTP over a real socket ----

struct HttpReply {
  int status = 0;  // 0: no answer (connection refused or closed early)
  std::string headers;
  std::string body;
  nlohmann::json Json() const { return nlohmann::json::parse(body, nullptr, false); }
};

// A TCP connection to 127.0.0.1:port (reads time out after `timeout_s`), or -1.
inline int ConnectLoopback(std::uint16_t port, int timeout_s = 30) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  timeval timeout{timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// Sends `raw` bytes as they are, reads until the server closes. For malformed requests.
inline HttpReply RawHttp(std::uint16_t port, const std::string& raw, int timeout_s = 30) {
  HttpReply reply;
  const int fd = ConnectLoopback(port, timeout_s);
  if (fd < 0) return reply;
  std::size_t sent = 0;
  while (sent < raw.size()) {
    const ssize_t n = ::send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<std::size_t>(n);
  }
  std::string received;
  char buffer[65536];
  for (;;) {
    const ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    received.append(buffer, static_cast<std::size_t>(n));
  }
  ::close(fd);
  const std::size_t header_end = received.find("\r\n\r\n");
  if (received.rfind("HTTP/1.1 ", 0) != 0 || header_end == std::string::npos) return reply;
  reply.status = std::stoi(received.substr(9, 3));
  reply.headers = received.substr(0, header_end);
  reply.body = received.substr(header_end + 4);
  return reply;
}

inline HttpReply Http(std::uint16_t port, const std::string& method, const std::string& target,
                      const std::string& body = "") {
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  if (!body.empty() || method == "POST") {
    raw += "Content-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  }
  raw += "\r\n" + body;
  return RawHttp(port, raw);
}

inline HttpReply SubmitTx(std::uint16_t port, const proto::Tx& tx) {
  return Http(port, "POST", "/v1/txs", nlohmann::json{{"tx", TxHex(tx)}}.dump());
}

// ---- civicd as a child process ----

struct NodeFiles {
  std::filesystem::path dir;
  std::filesystem::path config;
  std::filesystem::path log;
};

// Writes genesis.json, validator.key and civicd.toml into `dir`.
// `http_extra`: more lines of the [http] table; `extra_toml`: more tables.
inline NodeFiles WriteNodeFiles(const std::filesystem::path& dir, const Genesis& genesis, std::uint16_t port,
                                const std::string& extra_toml = "", const std::string& http_extra = "") {
  NodeFiles files{dir, dir / "civicd.toml", dir / "civicd.log"};
  WriteFile(dir / "genesis.json", GenesisToJson(genesis));
  if (!std::filesystem::exists(dir / "validator.key")) {
    EXPECT_TRUE(WriteValidatorKey(dir / "validator.key", Filled(TestNetwork::kValidatorSeed)).has_value());
  }
  WriteFile(files.config, "[node]\ndata_dir = \"data\"\ngenesis = \"genesis.json\"\nvalidator_key = \"validator.key\"\n"
                          "[http]\nlisten = \"127.0.0.1:" + std::to_string(port) + "\"\n" + http_extra + extra_toml);
  return files;
}

class CivicdProcess {
 public:
  // Starts `civicd ARGS...` (or another of our programs) with stdout and stderr appended to
  // `log`, in this process's environment with `env` ("NAME=value" each) set over it.
  CivicdProcess(const std::vector<std::string>& args, const std::filesystem::path& log,
                const std::string& binary = CIVICD_BINARY, const std::vector<std::string>& env = {}) {
    std::vector<std::string> argv_strings = {binary};
    argv_strings.insert(argv_strings.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (std::string& arg : argv_strings) argv.push_back(arg.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings = env;
    for (char** entry = environ; *entry != nullptr; ++entry) {
      const std::string_view line(*entry);
      const std::string_view name = line.substr(0, line.find('='));
      const bool overridden = std::any_of(env.begin(), env.end(), [&](const std::string& e) {
        return e.size() > name.size() && e.compare(0, name.size(), name) == 0 && e[name.size()] == '=';
      });
      if (!overridden) env_strings.emplace_back(line);
    }
    std::vector<char*> envp;
    for (std::string& entry : env_strings) envp.push_back(entry.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
    pid_t pid = -1;
    const int spawned = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    EXPECT_EQ(spawned, 0) << "cannot start " << binary;
    pid_ = spawned == 0 ? pid : -1;
  }
  ~CivicdProcess() {
    if (const pid_t pid = pid_; pid > 0) {
      ::kill(pid, SIGKILL);
      (void)Wait();
    }
  }
  CivicdProcess(const CivicdProcess&) = delete;
  CivicdProcess& operator=(const CivicdProcess&) = delete;

  void Signal(int signal) const {
    if (const pid_t pid = pid_; pid > 0) ::kill(pid, signal);
  }
  // The exit code (or 128 + signal), waiting at most `timeout`; nullopt if still running.
  // The only place that reaps it (from the test's main thread).
  std::optional<int> Wait(std::chrono::milliseconds timeout = std::chrono::seconds(60)) {
    const pid_t pid = pid_;
    if (pid <= 0) return exit_code_;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      int status = 0;
      const pid_t done = ::waitpid(pid, &status, WNOHANG);
      if (done == pid) {
        pid_ = -1;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exit_code_;
      }
      if (std::chrono::steady_clock::now() > deadline) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  // Whether it has not exited. It looks without reaping (Wait does that), so any thread may
  // ask, e.g. a load generator while the test kills the node.
  bool running() const {
    const pid_t pid = pid_;
    if (pid <= 0) return false;
    siginfo_t info{};
    return ::waitid(P_PID, static_cast<id_t>(pid), &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == 0;
  }
  pid_t pid() const { return pid_; }

 private:
  std::atomic<pid_t> pid_ = -1;  // -1 once reaped
  std::optional<int> exit_code_;
};

// The port civicd logged ("HTTP API on 127.0.0.1:PORT"), waiting for it up to 60 s.
inline std::uint16_t WaitForPort(const std::filesystem::path& log, std::size_t log_offset = 0) {
  const std::string marker = "HTTP API on 127.0.0.1:";
  for (int i = 0; i < 6000; ++i) {
    const std::string text = ReadFile(log);
    const std::size_t at = text.find(marker, log_offset);
    if (at != std::string::npos) {
      const std::size_t end = text.find_first_not_of("0123456789", at + marker.size());
      if (end != std::string::npos) return static_cast<std::uint16_t>(std::stoi(text.substr(at + marker.size())));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ADD_FAILURE() << "civicd did not start its HTTP API; log:\n" << ReadFile(log);
  return 0;
}

// Polls a transaction's status until it is no longer pending (or 60 s pass).
inline nlohmann::json WaitForTx(std::uint16_t port, const std::string& id) {
  nlohmann::json status;
  for (int i = 0; i < 6000; ++i) {
    const HttpReply reply = Http(port, "GET", "/v1/txs/" + id);
    status = reply.Json();
    if (reply.status == 200 && status.value("status", "") != "pending") return status;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return status;
}

// Registrations sent to a civicd in batches of 20, as fast as it takes them, and the ones it
// reported committed (polled until then).
class Traffic {
 public:
  Traffic(TestNetwork& network, std::uint16_t port, std::uint32_t first_resident)
      : network_(network), port_(port), next_(first_resident) {
    thread_ = std::thread([this] { Run(); });
  }
  ~Traffic() { Stop(); }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::set<std::string> confirmed() const {
    std::lock_guard lock(mutex_);
    return confirmed_;
  }
  // The highest height a committed transaction was reported at.
  std::uint64_t committed_height() const { return committed_height_.load(); }
  // The resident numbers used so far are below this (once stopped).
  std::uint32_t next_resident() const { return next_; }
  // The resident numbers whose registration was reported committed, in that order.
  std::vector<std::uint32_t> confirmed_residents() const {
    std::lock_guard lock(mutex_);
    return confirmed_residents_;
  }

 private:
  void Run() {
    std::vector<std::string> pending;
    while (!stop_) {
      nlohmann::json txs = nlohmann::json::array();
      std::vector<std::string> ids;
      for (int i = 0; i < 20; ++i) {
        const proto::Tx tx = network_.Register(next_);
        txs.push_back(TxHex(tx));
        ids.push_back(TxIdHex(tx));
        resident_of_[ids.back()] = next_++;
      }
      const HttpReply reply = Http(port_, "POST", "/v1/txs/batch", nlohmann::json{{"txs", txs}}.dump());
      if (reply.status == 200) pending.insert(pending.end(), ids.begin(), ids.end());
      std::vector<std::string> still;
      for (const std::string& id : pending) {
        if (stop_) break;
        const HttpReply answer = Http(port_, "GET", "/v1/txs/" + id);
        const nlohmann::json status = answer.Json();
        if (answer.status == 200 && status.value("status", "") == "committed") {
          std::lock_guard lock(mutex_);
          confirmed_.insert(id);
          confirmed_residents_.push_back(resident_of_.at(id));
          const std::uint64_t at = status["height"];
          if (at > committed_height_.load()) committed_height_.store(at);
        } else {
          still.push_back(id);
        }
      }
      pending = std::move(still);
    }
  }

  TestNetwork& network_;
  std::uint16_t port_;
  std::uint32_t next_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::set<std::string> confirmed_;
  std::map<std::string, std::uint32_t> resident_of_;  // the traffic thread only
  std::vector<std::uint32_t> confirmed_residents_;
  std::atomic<std::uint64_t> committed_height_{0};
};

// The ledger in `data` (opened read-only, the node stopped) holds every transaction in
// `confirmed`, and replaying its blocks from genesis gives its app hash. Returns the replay.
inline std::optional<ReplayReport> ExpectLedgerHolds(const std::filesystem::path& data, const Genesis& genesis,
                                                     const std::set<std::string>& confirmed) {
  proto::Result<std::unique_ptr<Ledger>> ledger = Ledger::Open(data, genesis, OpenMode::kReadOnly);
  EXPECT_TRUE(ledger.has_value()) << ledger.error().message;
  if (!ledger) return std::nullopt;
  for (const std::string& id : confirmed) {
    const std::optional<TxLocation> where = (*ledger)->FindTx(proto::FixedFromHex<proto::Hash32>(id).value()).value();
    EXPECT_TRUE(where.has_value()) << "transaction " << id << " was reported committed and is gone";
  }
  proto::Result<ReplayReport> replay = ReplayLedger(**ledger);
  EXPECT_TRUE(replay.has_value()) << replay.error().message;
  if (!replay) return std::nullopt;
  EXPECT_EQ(replay->app_hash, (*ledger)->app_hash());
  EXPECT_EQ(replay->blocks, (*ledger)->tip().height);
  return *replay;
}

}  // namespace civic::node::testing
