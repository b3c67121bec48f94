// node_bench: committed, signature-verified ballots per second on one civicd validator, and
// the commit latency (admission to durable commit) of those ballots. A program, not a test:
// it prints numbers for BENCHMARKS.md.
//
//   build/release/tests/bench/node_bench [--ballots N] [--clients C] [--commit-wait-ms W]
//
// Setup (not timed): a real civicd process on loopback with a fresh RocksDB ledger; N
// residents registered; a round with five proposals in its voting phase; N ballots signed
// in advance. Then civicd is restarted (so its latency figures cover the ballots only), and
// C client threads submit the ballots in batches of 1000 over HTTP as fast as the node takes
// them (retrying on 503). Timed from the first submission to the commit of the last ballot.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include "node_fixture.h"

namespace {

using namespace civic;
using namespace civic::node::testing;
using nlohmann::json;

std::uint64_t Flag(int argc, char** argv, const std::string& name, std::uint64_t fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (argv[i] == name) return std::strtoull(argv[i + 1], nullptr, 10);
  }
  return fallback;
}

// Submits `txs` (hex) in batches of 1000, retrying what the node refuses with 503.
void SubmitAll(std::uint16_t port, const std::vector<std::string>& txs, std::size_t first, std::size_t end) {
  std::size_t next = first;
  while (next < end) {
    const std::size_t stop = std::min(end, next + 1000);
    json batch = json::array();
    for (std::size_t i = next; i < stop; ++i) batch.push_back(txs[i]);
    const HttpReply reply = Http(port, "POST", "/v1/txs/batch", json{{"txs", batch}}.dump());
    if (reply.status != 200) {
      std::cerr << "node_bench: batch refused (" << reply.status << "): " << reply.body.substr(0, 300) << "\n";
      std::exit(1);
    }
    const json results = reply.Json()["results"];
    std::size_t accepted = 0;
    for (const json& result : results) {
      const int status = result.value("http_status", 0);
      if (status == 202 || status == 409) {
        ++accepted;
        continue;
      }
      if (status == 503) break;  // the mempool is full: resend the rest of the batch
      std::cerr << "node_bench: a transaction was refused: " << result.dump() << "\n";
      std::exit(1);
    }
    next += accepted;
    if (accepted < stop - (next - accepted)) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

std::uint64_t Committed(std::uint16_t port) {
  return Http(port, "GET", "/v1/status").Json().value("committed_txs", std::uint64_t{0});
}

void WaitCommitted(std::uint16_t port, std::uint64_t count) {
  while (Committed(port) < count) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t ballots = Flag(argc, argv, "--ballots", 20000);
  const std::size_t clients = std::max<std::uint64_t>(1, Flag(argc, argv, "--clients", 2));
  TempDir dir;
  TestNetwork network;
  network.genesis.consensus.commit_wait_ms = Flag(argc, argv, "--commit-wait-ms", 100);
  network.genesis.consensus.block_txs_max = 20000;
  const std::string toml = "[mempool]\ntxs_max = 200000\n";
  const std::string http = "body_bytes_max = 4194304\n";
  NodeFiles files = WriteNodeFiles(dir.path(), network.genesis, 0, toml, http);

  std::cout << "node_bench: " << ballots << " ballots, " << clients << " client threads, commit wait "
            << network.genesis.consensus.commit_wait_ms << " ms\n";
  std::vector<std::string> registrations;
  for (std::size_t i = 0; i < ballots; ++i) {
    registrations.push_back(TxHex(network.Register(static_cast<std::uint32_t>(i + 1), {1})));
  }
  const std::uint64_t t0 = NowUnixMs();
  proto::Constitution round;
  round.round_id = 1;
  round.title = "Benchmark round";
  round.total_budget = 1'000'000;
  round.phase_basis = proto::PhaseBasis::kTimeUnixMs;
  round.proposals_start = t0;
  round.review_start = t0 + 3000;
  round.voting_start = t0 + 6000;
  round.voting_end = t0 + 3'600'000;
  round.ballot_type = proto::BallotType::kApproval;
  round.min_choices = 1;
  round.max_choices = 3;
  round.outcome_rule = 1;

  std::uint16_t port = 0;
  {
    CivicdProcess setup({"run", "--config", files.config.string()}, files.log);
    port = WaitForPort(files.log);
    files = WriteNodeFiles(dir.path(), network.genesis, port, toml, http);
    SubmitAll(port, {TxHex(network.Sign(network.clerk(), proto::TxKind::kOpenRound, proto::OpenRound{round}))}, 0, 1);
    WaitCommitted(port, 1);
    std::vector<std::string> proposals;
    for (int i = 1; i <= 5; ++i) {
      proposals.push_back(TxHex(network.Sign(network.resident(1'000'000), proto::TxKind::kSubmitProposal,
                                             proto::SubmitProposal{1, "Project " + std::to_string(i),
                                                                   proto::Sha256(proto::AsBytes("d")), 50'000, 0})));
    }
    SubmitAll(port, {TxHex(network.Register(1'000'000, {1}))}, 0, 1);
    WaitCommitted(port, 2);
    SubmitAll(port, proposals, 0, proposals.size());
    SubmitAll(port, registrations, 0, registrations.size());
    WaitCommitted(port, 7 + ballots);
    const std::uint64_t review = t0 + 3300;
    while (NowUnixMs() < review) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::vector<std::string> reviews;
    for (std::uint32_t id = 1; id <= 5; ++id) {
      reviews.push_back(TxHex(network.Sign(network.clerk(), proto::TxKind::kReviewProposal,
                                           proto::ReviewProposal{1, id, true, "feasible", std::nullopt})));
    }
    SubmitAll(port, reviews, 0, reviews.size());
    WaitCommitted(port, 12 + ballots);
    setup.Signal(SIGTERM);
    if (setup.Wait() != 0) {
      std::cerr << "node_bench: civicd did not stop cleanly\n" << ReadFile(files.log);
      return 1;
    }
  }
  std::vector<std::string> ballot_txs;
  for (std::size_t i = 0; i < ballots; ++i) {
    proto::Ballot ballot{1, {}};
    for (std::uint32_t p = 1; p <= 1 + i % 3; ++p) ballot.choices.push_back({p, 1});
    ballot_txs.push_back(TxHex(network.Sign(network.resident(static_cast<std::uint32_t>(i + 1)),
                                            proto::TxKind::kCastBallot, ballot)));
  }
  while (NowUnixMs() < t0 + 6300) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  const std::size_t log_offset = ReadFile(files.log).size();
  CivicdProcess node({"run", "--config", files.config.string()}, files.log);
  port = WaitForPort(files.log, log_offset);
  const std::uint64_t height_before = Http(port, "GET", "/v1/status").Json()["height"];

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (std::size_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      SubmitAll(port, ballot_txs, ballots * c / clients, ballots * (c + 1) / clients);
    });
  }
  for (std::thread& thread : threads) thread.join();
  const auto submitted = std::chrono::steady_clock::now();
  WaitCommitted(port, ballots);
  const auto done = std::chrono::steady_clock::now();

  const json status = Http(port, "GET", "/v1/status").Json();
  const double seconds = std::chrono::duration<double>(done - start).count();
  const double submit_seconds = std::chrono::duration<double>(submitted - start).count();
  const std::uint64_t blocks = status["height"].get<std::uint64_t>() - height_before;
  std::cout << "committed " << ballots << " signature-verified ballots in " << seconds << " s: "
            << static_cast<std::uint64_t>(static_cast<double>(ballots) / seconds) << " ballots/s (submission took "
            << submit_seconds << " s; " << blocks << " blocks)\n";
  std::cout << "commit latency, admission to durable commit (ms): p50 " << status["commit_latency_ms"]["p50"]
            << ", p99 " << status["commit_latency_ms"]["p99"] << ", max " << status["commit_latency_ms"]["max"]
            << " over " << status["commit_latency_ms"]["samples"] << " ballots\n";
  const json round_info = Http(port, "GET", "/v1/rounds/1").Json();
  std::cout << "round 1 phase: " << round_info.value("phase", "?") << "\n";
  node.Signal(SIGTERM);
  return node.Wait() == 0 ? 0 : 1;
}
