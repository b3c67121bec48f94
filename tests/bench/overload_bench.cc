// overload_bench: how a civicd node serves well-behaved clients while others misbehave. A
// program, not a test: it prints numbers for BENCHMARKS.md.
//
//   build/release/tests/bench/overload_bench [--seconds S] [--idle N] [--slow N] [--flooders N]
//
// One real civicd validator on loopback with its default HTTP limits (512 connections, 30 s
// idle timeout, 2 threads). Throughout, a well-behaved client asks GET /v1/status every 20 ms
// and sends one valid signed registration every 100 ms, each on a new connection, and
// records what it got and how long it took. Phases of S seconds (default 10), each after the
// previous one's clients are gone:
//   calm        nothing else;
//   idle        N connections (default 2,000) opened and left silent;
//   slowloris   N clients (default 400) sending a request one byte per second;
//   flood       N threads (default 4) posting transactions with broken signatures as fast as
//               the node answers.
// Per phase: the well-behaved requests answered 2xx, refused with 503, or not answered, their
// latency (p50, p99, max), what the misbehaving clients got through, and the node's memory.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>

#include "node_fixture.h"

namespace {

using namespace civic;
using namespace civic::node;
using namespace civic::node::testing;
using nlohmann::json;
using Clock = std::chrono::steady_clock;


std::uint64_t RssKiB(int pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::strtoull(line.c_str() + 6, nullptr, 10);
  }
  return 0;
}

struct Sample {
  int status;
  double ms;
};

// The well-behaved client: status reads every 20 ms, a valid registration every 100 ms.
class GoodClient {
 public:
  GoodClient(std::uint16_t port, TestNetwork& network, std::uint32_t first_resident) : port_(port) {
    for (std::uint32_t i = 0; i < 2000; ++i) txs_.push_back(TxHex(network.Register(first_resident + i)));
    thread_ = std::thread([this] { Run(); });
  }
  ~GoodClient() { Stop(); }
  std::vector<Sample> Take() {
    std::lock_guard lock(mutex_);
    return std::exchange(samples_, {});
  }
  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // The registrations the node accepted (202), by id.
  std::vector<std::string> accepted() {
    std::lock_guard lock(mutex_);
    return accepted_;
  }

 private:
  void Run() {
    std::size_t tick = 0;
    std::size_t next_tx = 0;
    while (!stop_) {
      const auto start = Clock::now();
      const bool post = tick % 5 == 4 && next_tx < txs_.size();
      HttpReply reply = post ? Http(port_, "POST", "/v1/txs", json{{"tx", txs_[next_tx++]}}.dump())
                             : Http(port_, "GET", "/v1/status");
      const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      {
        std::lock_guard lock(mutex_);
        samples_.push_back({reply.status, ms});
        if (post && reply.status == 202) accepted_.push_back(reply.Json().value("id", ""));
      }
      ++tick;
      std::this_thread::sleep_until(start + std::chrono::milliseconds(20));
    }
  }

  std::uint16_t port_;
  std::vector<std::string> txs_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::mutex mutex_;
  std::vector<Sample> samples_;
  std::vector<std::string> accepted_;
};

void Report(const std::string& phase, std::vector<Sample> samples, const std::string& others, std::uint64_t rss_kib) {
  std::size_t ok = 0, busy = 0, none = 0;
  std::vector<double> answered;
  for (const Sample& s : samples) {
    if (s.status >= 200 && s.status < 300) ++ok;
    else if (s.status == 503) ++busy;
    else if (s.status == 0) ++none;
    if (s.status != 0) answered.push_back(s.ms);
  }
  std::sort(answered.begin(), answered.end());
  const auto at = [&](double q) {
    return answered.empty() ? 0.0 : answered[std::min(answered.size() - 1, static_cast<std::size_t>(q * static_cast<double>(answered.size())))];
  };
  std::printf("%-10s good client: %4zu requests, %4zu ok, %3zu x 503, %3zu unanswered; latency p50 %6.1f ms, p99 %7.1f ms, max %7.1f ms; node RSS %5llu MiB; %s\n",
              phase.c_str(), samples.size(), ok, busy, none, at(0.5), at(0.99), answered.empty() ? 0.0 : answered.back(),
              static_cast<unsigned long long>(rss_kib / 1024), others.c_str());
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"overload_bench: how civicd serves a well-behaved client while others misbehave "
               "(numbers for BENCHMARKS.md; see the comment at the top of tests/bench/overload_bench.cc)"};
  std::uint64_t seconds = 10, idle = 2000, slow = 400, flooders = 4;
  app.add_option("--seconds", seconds, "length of each phase")->check(CLI::Range(std::uint64_t{1}, std::uint64_t{3600}));
  app.add_option("--idle", idle, "silent connections in the idle phase")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{100'000}));
  app.add_option("--slow", slow, "slowloris clients in the slowloris phase")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{100'000}));
  app.add_option("--flooders", flooders, "threads posting forged transactions in the flood phase")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{256}));
  CLI11_PARSE(app, argc, argv);
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  files.rlim_cur = files.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &files);
  if (files.rlim_cur < idle + slow + 256) {
    std::cerr << "overload_bench: raise the open-files limit (ulimit -n) to at least " << idle + slow + 256 << "\n";
    return 1;
  }

  TestNetwork network;
  TempDir dir;
  const NodeFiles files_written = WriteNodeFiles(dir.path(), network.genesis, 0);
  CivicdProcess node({"run", "--config", files_written.config.string()}, files_written.log);
  const std::uint16_t port = WaitForPort(files_written.log);
  if (port == 0) {
    std::cerr << "overload_bench: civicd did not start; its log: " << files_written.log << "\n";
    return 1;
  }
  std::cout << "overload_bench: civicd on 127.0.0.1:" << port << " (default limits: 512 connections, 30 s idle timeout, 2 HTTP threads), "
            << seconds << " s per phase\n";
  GoodClient good(port, network, 1);
  const auto phase = [&](const std::string& name, const std::function<std::string()>& run) {
    (void)good.Take();
    const std::string others = run();
    Report(name, good.Take(), others, RssKiB(node.pid()));
  };

  phase("calm", [&] {
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    return std::string("no other clients");
  });

  phase("idle", [&] {
    std::vector<int> fds;
    for (std::uint64_t i = 0; i < idle; ++i) {
      const int fd = ConnectLoopback(port);
      if (fd >= 0) fds.push_back(fd);
    }
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    // How many the node still holds open: a closed one reads as end of file at once.
    std::size_t held = 0;
    for (int fd : fds) {
      char byte;
      if (::recv(fd, &byte, 1, MSG_DONTWAIT) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) ++held;
      ::close(fd);
    }
    return std::to_string(fds.size()) + " idle connections opened, " + std::to_string(held) + " still held by the node";
  });

  phase("slowloris", [&] {
    std::vector<int> fds;
    for (std::uint64_t i = 0; i < slow; ++i) {
      const int fd = ConnectLoopback(port);
      if (fd >= 0) fds.push_back(fd);
    }
    const std::string request = "GET /v1/status HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + std::string(200, 'a') + "\r\n\r\n";
    for (std::uint64_t s = 0; s < seconds; ++s) {
      for (int fd : fds) (void)::send(fd, request.data() + std::min<std::size_t>(s, request.size() - 1), 1, MSG_NOSIGNAL | MSG_DONTWAIT);
      std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    for (int fd : fds) ::close(fd);
    return std::to_string(fds.size()) + " clients sending one byte a second";
  });

  phase("flood", [&] {
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> refused{0}, other{0};
    // A transaction whose signature does not verify: a registration with one signature byte flipped.
    proto::Tx bad = network.Register(900'000);
    bad.signature.bytes[0] ^= 1;
    const std::string body = json{{"tx", TxHex(bad)}}.dump();
    std::vector<std::thread> threads;
    for (std::uint64_t t = 0; t < flooders; ++t) {
      threads.emplace_back([&] {
        while (!stop) {
          const HttpReply reply = Http(port, "POST", "/v1/txs", body);
          (reply.status == 400 ? refused : other)++;
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    stop = true;
    for (std::thread& t : threads) t.join();
    return std::to_string(flooders) + " threads sent " + std::to_string(refused + other) + " bad transactions (" +
           std::to_string((refused + other) / seconds) + "/s), " + std::to_string(refused.load()) + " refused with 400";
  });

  good.Stop();
  // Nothing the node accepted may be lost: every accepted registration ends up committed.
  const std::vector<std::string> accepted = good.accepted();
  std::size_t committed = 0;
  for (const std::string& id : accepted) {
    if (WaitForTx(port, id).value("status", "") == "committed") ++committed;
  }
  std::cout << "afterwards: " << committed << " of the " << accepted.size()
            << " registrations the node accepted from the good client are committed\n";
  return committed == accepted.size() ? 0 : 1;
}
