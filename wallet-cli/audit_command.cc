// civic-wallet audit: an observer re-derives the whole chain from the genesis file alone,
// against a node (--node URL) or a ledger directory (--ledger DIR), and prints a report that
// ends with a verdict (civic/wallet/audit.h says what is checked).
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "civic/node/genesis.h"
#include "civic/proto/bytes.h"
#include "civic/wallet/audit.h"
#include "commands.h"

namespace civic::wallet {
namespace {

using nlohmann::json;

struct AuditOptions {
  std::string node;
  std::string ledger;
  std::string genesis;
  bool json = false;
};

std::string Funded(const AuditedRound& round) {
  std::string text;
  for (std::uint32_t id : round.funded) text += (text.empty() ? "" : ", ") + std::to_string(id);
  return text.empty() ? "nothing" : text;
}

int RunAudit(const AuditOptions& options) {
  if (options.node.empty() == options.ledger.empty()) {
    std::fprintf(stderr, "civic-wallet audit: give exactly one of --node URL or --ledger DIR\n");
    return kExitUsage;
  }
  proto::Result<node::Genesis> genesis = node::LoadGenesisFile(options.genesis);
  if (!genesis) {
    std::fprintf(stderr, "civic-wallet audit: %s\n", genesis.error().message.c_str());
    return kExitBadInput;
  }
  const AuditProgress progress = [&](std::uint64_t height, std::uint64_t target) {
    if (!options.json) std::fprintf(stderr, "  checked block %llu of %llu\n", static_cast<unsigned long long>(height),
                                    static_cast<unsigned long long>(target));
  };
  if (!options.json) {
    std::printf("auditing %s against %s (chain %s, genesis hash %s)\n",
                options.node.empty() ? options.ledger.c_str() : options.node.c_str(), options.genesis.c_str(),
                genesis->chain_id.str().c_str(), proto::ToHex(node::GenesisHash(*genesis)).c_str());
    std::fflush(stdout);
  }
  AuditReport report;
  if (!options.node.empty()) {
    proto::Result<NodeClient> node = NodeClient::Parse(options.node);
    if (!node) {
      std::fprintf(stderr, "civic-wallet audit: %s\n", node.error().message.c_str());
      return kExitUsage;
    }
    report = AuditNode(*node, *genesis, progress);
  } else {
    report = AuditLedger(options.ledger, *genesis, progress);
  }
  const char* verdict = report.verdict == AuditVerdict::kPass   ? "PASS"
                        : report.verdict == AuditVerdict::kFail ? "FAIL"
                                                                : "INCOMPLETE";
  if (options.json) {
    json rounds = json::array();
    for (const AuditedRound& round : report.rounds) {
      rounds.push_back({{"id", round.id}, {"title", round.title}, {"closed", round.closed}, {"ballots", round.ballots},
                        {"funded", round.funded}, {"spent", round.spent}});
    }
    json out = {{"verdict", verdict},
                {"source", report.source},
                {"blocks", report.blocks},
                {"txs", report.txs},
                {"signatures", report.signatures},
                {"tip_hash", proto::ToHex(report.tip_hash)},
                {"app_hash", proto::ToHex(report.app_hash)},
                {"rounds", std::move(rounds)},
                {"elapsed_ms", report.elapsed_ms}};
    if (report.verdict != AuditVerdict::kPass) out["failure"] = report.failure;
    std::printf("%s\n", out.dump().c_str());
  } else {
    std::printf("checked %llu blocks in %.1f s: every header, commit certificate and signature (%llu in all), and "
                "every one of %llu transactions re-executed\n",
                static_cast<unsigned long long>(report.blocks), static_cast<double>(report.elapsed_ms) / 1000.0,
                static_cast<unsigned long long>(report.signatures), static_cast<unsigned long long>(report.txs));
    if (report.verdict == AuditVerdict::kPass) {
      std::printf("tip: block %llu, hash %s, app hash %s\n", static_cast<unsigned long long>(report.blocks),
                  proto::ToHex(report.tip_hash).c_str(), proto::ToHex(report.app_hash).c_str());
      for (const AuditedRound& round : report.rounds) {
        if (round.closed) {
          std::printf("round %llu \"%s\": closed; %llu ballots; funded %s (spent %llu); the served tally is the one "
                      "recomputed\n",
                      static_cast<unsigned long long>(round.id), round.title.c_str(),
                      static_cast<unsigned long long>(round.ballots), Funded(round).c_str(),
                      static_cast<unsigned long long>(round.spent));
        } else {
          std::printf("round %llu \"%s\": not closed yet; its record matches\n", static_cast<unsigned long long>(round.id),
                      round.title.c_str());
        }
      }
      std::printf("VERDICT: PASS: %s holds a chain that checks out against %s: every block, certificate, signature, "
                  "transaction and tally\n",
                  report.source.c_str(), options.genesis.c_str());
    } else {
      std::printf("VERDICT: %s: %s\n", verdict, report.failure.c_str());
    }
  }
  return report.verdict == AuditVerdict::kPass   ? kExitOk
         : report.verdict == AuditVerdict::kFail ? kExitInvalid
                                                 : kExitBadInput;
}

}  // namespace

void AddAuditCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<AuditOptions>();
  CLI::App* audit = app.add_subcommand(
      "audit",
      "Observers: re-derive the whole chain from the genesis file alone (every block, commit certificate, signature, "
      "transaction and tally) against a node or a ledger directory, and print a verdict.");
  audit->add_option("--node", options->node, "The node to audit, e.g. http://127.0.0.1:8700")->type_name("URL");
  audit->add_option("--ledger", options->ledger, "Or: a ledger directory (of a stopped node; read only)")->type_name("DIR");
  audit->add_option("--genesis", options->genesis, "The network's genesis file, obtained independently")
      ->required()
      ->type_name("FILE");
  audit->add_flag("--json", options->json, "Print one JSON object: verdict, counts, hashes, rounds, failure");
  audit->footer(
      "Exit codes: 0 PASS; 3 FAIL (the message names the height, transaction or round and field); 1 INCOMPLETE (the "
      "node or ledger could not be read to the end, or the genesis file is unusable); 2 the command line is wrong.");
  audit->callback([options, &exit_code] { exit_code = RunAudit(*options); });
}

}  // namespace civic::wallet
