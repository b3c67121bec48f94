// The observer's audit of a round of N ballots (issue: wallet; target for 100,000 ballots: at
// most 10 s on the 2-core machine). Builds a real RocksDB ledger: a round with 20 proposals,
// N residents registered, N signed approval ballots, the round closed, every block with a
// validator's commit certificate; then times
//   1. civic-wallet's AuditLedger on the directory, and
//   2. AuditNode against a civicd serving that directory over HTTP on loopback,
// and reports how long that civicd's background check of every table file took (it starts
// with civicd and runs beside the audit; node/src/node.cc).
// Run:
//   build/release/wallet-cli/audit_bench [--ballots N]     (default 100000)
// Prints numbers; never fails on timing.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "civic/node/executor.h"
#include "civic/node/ledger.h"
#include "civic/wallet/audit.h"
#include "node_fixture.h"

namespace civic {
namespace {

using node::testing::TestNetwork;

constexpr std::uint32_t kPerBlock = 2000;
constexpr std::uint32_t kProposals = 20;

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

void Must(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "audit_bench: %s failed\n", what);
    std::exit(1);
  }
}

int Run(std::uint32_t ballots) {
  node::testing::TempDir dir;
  TestNetwork network;
  const node::testing::NodeFiles files = node::testing::WriteNodeFiles(dir.path(), network.genesis, 0);
  const auto build_start = std::chrono::steady_clock::now();
  {
    std::unique_ptr<node::Ledger> ledger =
        node::Ledger::Open(dir.path() / "data", network.genesis, node::OpenMode::kReadWrite).value();
    const std::uint64_t blocks_each = (ballots + kPerBlock - 1) / kPerBlock;
    // Heights: 1 open, 2 proposals, 3 reviews, 4.. registrations, then voting, then close.
    const std::uint64_t voting_start = 4 + blocks_each;
    const std::uint64_t voting_end = voting_start + blocks_each;
    proto::Constitution c;
    c.round_id = 1;
    c.title = "Audit bench";
    c.total_budget = 1'000'000;
    c.phase_basis = proto::PhaseBasis::kHeight;
    c.proposals_start = 1;
    c.review_start = 3;
    c.voting_start = voting_start;
    c.voting_end = voting_end;
    c.ballot_type = proto::BallotType::kApproval;
    c.min_choices = 1;
    c.max_choices = 5;
    c.outcome_rule = 4;  // mes-add1
    const auto sign = [&](const proto::SchnorrKeyPair& key, proto::TxKind kind, const auto& payload) {
      return network.Sign(key, kind, payload, std::nullopt, 1'000'000);
    };
    std::vector<std::vector<proto::Tx>> blocks;
    blocks.push_back({sign(network.clerk(), proto::TxKind::kOpenRound, proto::OpenRound{c}), network.Register(0)});
    blocks.emplace_back();
    for (std::uint32_t p = 1; p <= kProposals; ++p) {
      blocks.back().push_back(sign(network.resident(0), proto::TxKind::kSubmitProposal,
                                   proto::SubmitProposal{1, "Project " + std::to_string(p), proto::Sha256(proto::AsBytes("d")),
                                                         10'000 + 5'000 * p, 0}));
    }
    blocks.emplace_back();
    for (std::uint32_t p = 1; p <= kProposals; ++p) {
      blocks.back().push_back(sign(network.clerk(), proto::TxKind::kReviewProposal,
                                   proto::ReviewProposal{1, p, true, "checked", std::nullopt}));
    }
    for (std::uint32_t first = 1; first <= ballots; first += kPerBlock) {
      blocks.emplace_back();
      for (std::uint32_t r = first; r < first + kPerBlock && r <= ballots; ++r) blocks.back().push_back(network.Register(r));
    }
    for (std::uint32_t first = 1; first <= ballots; first += kPerBlock) {
      blocks.emplace_back();
      for (std::uint32_t r = first; r < first + kPerBlock && r <= ballots; ++r) {
        // Three projects each, spread over the twenty.
        std::vector<std::uint32_t> picks = {1 + r % kProposals, 1 + (r * 7 + 3) % kProposals, 1 + (r * 13 + 5) % kProposals};
        std::sort(picks.begin(), picks.end());
        picks.erase(std::unique(picks.begin(), picks.end()), picks.end());
        proto::Ballot ballot{1, {}};
        for (std::uint32_t p : picks) ballot.choices.push_back({p, 1});
        blocks.back().push_back(sign(network.resident(r), proto::TxKind::kCastBallot, ballot));
      }
    }
    blocks.push_back({sign(network.clerk(), proto::TxKind::kCloseRound, proto::CloseRound{1})});
    Must(blocks.size() == voting_end, "the block plan (the close-round block at voting_end)");
    std::uint64_t time = network.genesis.genesis_time_unix_ms;
    const node::BlockLimits limits{kPerBlock + kProposals, 64 * 1024 * 1024};
    for (const std::vector<proto::Tx>& txs : blocks) {
      std::vector<node::Dropped> dropped;
      const node::ExecutedBlock block = node::testing::BuildAndCommit(*ledger, network, txs, time += 1000, limits, &dropped);
      if (!dropped.empty()) {
        std::fprintf(stderr, "audit_bench: block %llu dropped a transaction: %s\n",
                     static_cast<unsigned long long>(block.block.header.height), dropped[0].reason.message.c_str());
        return 1;
      }
    }
    Must(ledger->tip().height == blocks.size(), "committing every block");
    std::printf("built a ledger of %llu blocks: %u residents, %u ballots, round closed, in %.1f s\n",
                static_cast<unsigned long long>(ledger->tip().height), ballots, ballots, Seconds(build_start));
  }

  const auto ledger_start = std::chrono::steady_clock::now();
  const wallet::AuditReport on_disk = wallet::AuditLedger(dir.path() / "data", network.genesis, nullptr);
  const double ledger_seconds = Seconds(ledger_start);
  Must(on_disk.verdict == wallet::AuditVerdict::kPass, ("the ledger audit: " + on_disk.failure).c_str());
  std::printf("audit --ledger: %llu blocks, %llu transactions, %llu signatures, tally recomputed: %.2f s\n",
              static_cast<unsigned long long>(on_disk.blocks), static_cast<unsigned long long>(on_disk.txs),
              static_cast<unsigned long long>(on_disk.signatures), ledger_seconds);

  const std::uint16_t port = node::testing::FreePort();
  node::testing::WriteNodeFiles(dir.path(), network.genesis, port);
  node::testing::CivicdProcess civicd({"run", "--config", files.config.string()}, files.log);
  Must(node::testing::WaitForPort(files.log) != 0, "starting civicd");
  const wallet::NodeClient client = wallet::NodeClient::Parse("http://127.0.0.1:" + std::to_string(port)).value();
  const auto node_start = std::chrono::steady_clock::now();
  const wallet::AuditReport served = wallet::AuditNode(client, network.genesis, nullptr);
  const double node_seconds = Seconds(node_start);
  Must(served.verdict == wallet::AuditVerdict::kPass, ("the node audit: " + served.failure).c_str());
  std::printf("audit --node (HTTP on loopback): %llu blocks, %llu transactions: %.2f s\n",
              static_cast<unsigned long long>(served.blocks), static_cast<unsigned long long>(served.txs), node_seconds);

  std::string log;
  for (int i = 0; i < 1200 && log.find("ledger files checked") == std::string::npos; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    log = node::testing::ReadFile(files.log);
  }
  const std::size_t at = log.find("ledger files checked");
  Must(at != std::string::npos, "civicd's background check of the table files finishing within 120 s");
  std::uintmax_t bytes = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path() / "data")) {
    if (entry.is_regular_file()) bytes += entry.file_size();
  }
  std::printf("civicd's background check, beside the audit: %s (the data folder: %.0f MiB)\n",
              log.substr(at, log.find('\n', at) - at).c_str(), static_cast<double>(bytes) / (1024.0 * 1024.0));
  return 0;
}

}  // namespace
}  // namespace civic

int main(int argc, char** argv) {
  CLI::App app{"audit_bench: the observer's audit of a round of N ballots on a real ledger (numbers for "
               "BENCHMARKS.md; see the comment at the top of tests/bench/audit_bench.cc)"};
  std::uint32_t ballots = 100'000;
  app.add_option("--ballots", ballots, "ballots (and residents) in the round")
      ->check(CLI::Range(std::uint32_t{1}, std::uint32_t{1'000'000}));
  CLI11_PARSE(app, argc, argv);
  return civic::Run(ballots);
}
