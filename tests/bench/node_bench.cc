// node_bench: committed, signature-verified ballots per second on civicd validators, and
// the commit latency (admission to durable commit) of those ballots. A program, not a test:
// it prints numbers for BENCHMARKS.md.
//
//   build/release/tests/bench/node_bench [--ballots N] [--clients C] [--commit-wait-ms W]
//                                        [--validators V] [--rate R]
//
// Setup (not timed): V real civicd validators on loopback (V > 1: a network written by
// WriteTestnet, talking over the p2p protocol), each with a fresh RocksDB ledger; N
// residents registered; a round with five proposals in its voting phase; N ballots signed
// in advance. Then the validators are restarted (so their latency figures cover the ballots
// only), and C client threads submit the ballots in batches of 1000 over HTTP, client c to
// validator c mod V, as fast as the nodes take them (retrying on 503). Timed from the first
// submission until every validator has committed the last ballot.
//
// With --rate R, the clients offer R ballots a second in all, on a fixed schedule (each client
// a batch of about R / C / 10 every 100 ms, the clients' batches spread over those 100 ms),
// instead of as fast as the nodes take them: the
// latency then is that of a network carrying R a second, not of a queue of N. A batch that
// falls behind its schedule goes at once; how far the clients fell behind is printed, and a
// network that keeps up stays within a fraction of a second of it.
#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "civic/node/testnet.h"
#include "node_fixture.h"

namespace {

using namespace civic;
using namespace civic::node;
using namespace civic::node::testing;
using nlohmann::json;


// Submits `txs` (hex) in batches of `batch_max`, retrying what the node refuses with 503.
void SubmitAll(std::uint16_t port, const std::vector<std::string>& txs, std::size_t first, std::size_t end,
               std::size_t batch_max = 1000) {
  std::size_t next = first;
  while (next < end) {
    const std::size_t stop = std::min(end, next + batch_max);
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

// Submits txs[first, end) at `rate` a second in batches of about a tenth of a second's worth:
// batch k of `batch` ballots is due at `start` + k * batch / rate (or goes at once, when
// behind). Returns the most any batch was late: when it went, or, for the last, when it was
// taken (ms). A client that falls behind and catches up shows here.
double SubmitAtRate(std::uint16_t port, const std::vector<std::string>& txs, std::size_t first, std::size_t end,
                    double rate, std::chrono::steady_clock::time_point start) {
  using Micros = std::chrono::duration<double, std::micro>;
  const std::size_t batch = std::max<std::size_t>(1, static_cast<std::size_t>(rate / 10 + 0.5));
  const Micros interval(static_cast<double>(batch) * 1e6 / rate);
  double late_ms = 0;
  const auto late_now = [&](std::chrono::steady_clock::time_point due) {
    late_ms = std::max(late_ms, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - due).count());
  };
  std::size_t k = 0;
  for (; first + k * batch < end; ++k) {
    const auto due = start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(interval * static_cast<double>(k));
    std::this_thread::sleep_until(due);
    late_now(due);
    const std::size_t from = first + k * batch;
    SubmitAll(port, txs, from, std::min(end, from + batch), batch);
  }
  late_now(start + std::chrono::duration_cast<std::chrono::steady_clock::duration>(interval * static_cast<double>(k)));
  return late_ms;
}

std::uint64_t Committed(std::uint16_t port) {
  return Http(port, "GET", "/v1/status").Json().value("committed_txs", std::uint64_t{0});
}

void WaitCommitted(std::uint16_t port, std::uint64_t count) {
  while (Committed(port) < count) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

}  // namespace

struct BenchNode {
  std::filesystem::path config;
  std::filesystem::path log;
  std::uint16_t port = 0;
  std::unique_ptr<CivicdProcess> process;
};

void StartAll(std::vector<BenchNode>& nodes) {
  for (BenchNode& node : nodes) {
    const std::size_t offset = std::filesystem::exists(node.log) ? ReadFile(node.log).size() : 0;
    node.process = std::make_unique<CivicdProcess>(std::vector<std::string>{"run", "--config", node.config.string()},
                                                   node.log);
    node.port = WaitForPort(node.log, offset);
  }
}

bool StopAll(std::vector<BenchNode>& nodes) {
  for (BenchNode& node : nodes) node.process->Signal(SIGTERM);
  bool clean = true;
  for (BenchNode& node : nodes) {
    if (node.process->Wait() != 0) {
      std::cerr << "node_bench: civicd did not stop cleanly\n" << ReadFile(node.log);
      clean = false;
    }
    node.process.reset();
  }
  return clean;
}

int main(int argc, char** argv) {
  CLI::App app{"node_bench: committed ballots per second, and their commit latency, on civicd validators "
               "(numbers for BENCHMARKS.md; see the comment at the top of tests/bench/node_bench.cc)"};
  std::size_t ballots = 20000, clients = 2, validators = 1;
  std::uint64_t rate = 0, commit_wait_ms = 100;
  app.add_option("--ballots", ballots, "ballots to submit")->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  app.add_option("--clients", clients, "client threads, client c sending to validator c mod V")
      ->check(CLI::Range(std::size_t{1}, std::size_t{64}));
  app.add_option("--validators", validators, "civicd validators (more than 1: a p2p network on loopback)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{16}));
  app.add_option("--rate", rate, "ballots a second offered in all, on a fixed schedule; 0: as fast as taken")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{1'000'000}));
  app.add_option("--commit-wait-ms", commit_wait_ms, "the genesis's commit wait")
      ->check(CLI::Range(std::uint64_t{0}, std::uint64_t{60'000}));
  CLI11_PARSE(app, argc, argv);
  TempDir dir;
  TestNetwork network;
  network.genesis.consensus.commit_wait_ms = commit_wait_ms;
  network.genesis.consensus.block_txs_max = 20000;
  network.genesis.consensus.empty_block_interval_ms = 500;  // a heartbeat, so the timing starts on a live network
  const std::string toml = "[mempool]\ntxs_max = 200000\n";
  const std::string http = "body_bytes_max = 4194304\n";
  std::vector<BenchNode> nodes;
  if (validators == 1) {
    const NodeFiles files = WriteNodeFiles(dir.path(), network.genesis, 0, toml, http);
    nodes.push_back(BenchNode{files.config, files.log, 0, nullptr});
  } else {
    Genesis genesis = network.genesis;
    genesis.validators.clear();
    TestnetLayout layout;
    layout.validators = static_cast<std::uint32_t>(validators);
    layout.observers = 0;
    layout.http_ports.assign(validators, 0);  // any free port; read back from the log
    for (std::size_t i = 0; i < validators; ++i) layout.p2p_ports.push_back(FreePort());
    layout.extra_toml = toml;  // batches of 1000 ballots fit the default HTTP body bound
    proto::Result<std::vector<TestnetNode>> written = WriteTestnet(dir.path() / "net", genesis, layout);
    if (!written) {
      std::cerr << "node_bench: " << written.error().message << "\n";
      return 1;
    }
    for (const TestnetNode& node : *written) nodes.push_back(BenchNode{node.dir / "civicd.toml", node.dir / "civicd.log", 0, nullptr});
    network.genesis = LoadGenesisFile(dir.path() / "net" / "genesis.json").value();
  }

  std::cout << "node_bench: " << ballots << " ballots, " << clients << " client threads, " << validators
            << " validator(s), commit wait " << network.genesis.consensus.commit_wait_ms << " ms, offered "
            << (rate == 0 ? std::string("as fast as taken") : std::to_string(rate) + " a second") << "\n";
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
  // Proposals (and registrations) until review_start: more time for more residents.
  const std::uint64_t setup_ms = 3000 + ballots / 2;
  round.review_start = t0 + setup_ms;
  round.voting_start = t0 + setup_ms + 3000;
  round.voting_end = t0 + 3'600'000;
  round.ballot_type = proto::BallotType::kApproval;
  round.min_choices = 1;
  round.max_choices = 3;
  round.outcome_rule = 1;

  {
    StartAll(nodes);
    const std::uint16_t port = nodes[0].port;
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
    const std::uint64_t review = round.review_start + 300;
    while (NowUnixMs() < review) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    std::vector<std::string> reviews;
    for (std::uint32_t id = 1; id <= 5; ++id) {
      reviews.push_back(TxHex(network.Sign(network.clerk(), proto::TxKind::kReviewProposal,
                                           proto::ReviewProposal{1, id, true, "feasible", std::nullopt})));
    }
    SubmitAll(port, reviews, 0, reviews.size());
    for (const BenchNode& node : nodes) WaitCommitted(node.port, 12 + ballots);
    if (!StopAll(nodes)) return 1;
  }
  std::vector<std::string> ballot_txs;
  for (std::size_t i = 0; i < ballots; ++i) {
    proto::Ballot ballot{1, {}};
    for (std::uint32_t p = 1; p <= 1 + i % 3; ++p) ballot.choices.push_back({p, 1});
    ballot_txs.push_back(TxHex(network.Sign(network.resident(static_cast<std::uint32_t>(i + 1)),
                                            proto::TxKind::kCastBallot, ballot)));
  }
  while (NowUnixMs() < round.voting_start + 300) std::this_thread::sleep_for(std::chrono::milliseconds(10));

  StartAll(nodes);
  // Timed from a running network: validators that have just started must first find each
  // other, and the first round after a restart may have to time out.
  const std::uint64_t started_at = Http(nodes[0].port, "GET", "/v1/status").Json()["height"];
  while (Http(nodes[0].port, "GET", "/v1/status").Json()["height"].get<std::uint64_t>() < started_at + 2) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  const std::uint64_t height_before = Http(nodes[0].port, "GET", "/v1/status").Json()["height"];
  std::cout << "submitting (timed from here)" << std::endl;  // e.g. for attaching a profiler

  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  std::vector<double> late_ms(clients, 0);
  for (std::size_t c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      const std::uint16_t port = nodes[c % nodes.size()].port;
      const std::size_t first = ballots * c / clients, end = ballots * (c + 1) / clients;
      if (rate == 0) {
        SubmitAll(port, ballot_txs, first, end);
      } else {
        // The clients' batches are spread over the interval, not all due at once.
        const double per_client = static_cast<double>(rate) / static_cast<double>(clients);
        const auto offset = std::chrono::microseconds(static_cast<std::int64_t>(100'000.0 * static_cast<double>(c) /
                                                                                static_cast<double>(clients)));
        late_ms[c] = SubmitAtRate(port, ballot_txs, first, end, per_client, start + offset);
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  const auto submitted = std::chrono::steady_clock::now();
  for (const BenchNode& node : nodes) WaitCommitted(node.port, ballots);
  const auto done = std::chrono::steady_clock::now();

  const json status = Http(nodes[0].port, "GET", "/v1/status").Json();
  const double seconds = std::chrono::duration<double>(done - start).count();
  const double submit_seconds = std::chrono::duration<double>(submitted - start).count();
  const std::uint64_t blocks = status["height"].get<std::uint64_t>() - height_before;
  std::cout << "committed " << ballots << " signature-verified ballots in " << seconds << " s: "
            << static_cast<std::uint64_t>(static_cast<double>(ballots) / seconds) << " ballots/s (submission took "
            << submit_seconds << " s; " << blocks << " blocks)\n";
  if (rate != 0) {
    std::cout << "offered " << rate << " a second; the clients fell "
              << static_cast<std::uint64_t>(*std::max_element(late_ms.begin(), late_ms.end()))
              << " ms behind their schedule at most, over every batch (a network that keeps up: well under a second)\n";
  }
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const json latency = Http(nodes[i].port, "GET", "/v1/status").Json()["commit_latency_ms"];
    std::cout << "commit latency on validator " << i << ", admission there to durable commit there (ms): p50 "
              << latency["p50"] << ", p99 " << latency["p99"] << ", max " << latency["max"] << " over "
              << latency["samples"] << " ballots\n";
  }
  const json round_info = Http(nodes[0].port, "GET", "/v1/rounds/1").Json();
  std::cout << "round 1 phase: " << round_info.value("phase", "?") << "\n";
  return StopAll(nodes) ? 0 : 1;
}
