// civic-wallet audit: an observer re-derives the whole chain from the genesis file alone,
// against a node (--node URL) or a ledger directory (--ledger DIR), and prints a report that
// ends with a verdict (civic/wallet/audit.h says what is checked). civic-wallet export: the
// same audit, then a closed round written as a Pabulib file from the re-derived state.
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "civic/node/genesis.h"
#include "civic/node/round_json.h"
#include "civic/proto/bytes.h"
#include "civic/contracts/pabulib.h"
#include "civic/contracts/round_export.h"
#include "civic/wallet/audit.h"
#include "commands.h"
#include "send.h"

namespace civic::wallet {
namespace {

using nlohmann::json;

struct AuditOptions {
  std::string node;
  std::string ledger;
  std::string genesis;
  bool json = false;
  // export
  std::uint64_t round = 0;
  std::optional<std::uint32_t> district;
  std::string out;
  std::string format = "pb";
};

std::string Funded(const AuditedRound& round) {
  std::string text;
  for (std::uint32_t id : round.funded) text += (text.empty() ? "" : ", ") + std::to_string(id);
  return text.empty() ? "nothing" : text;
}

const char* VerdictName(AuditVerdict verdict) {
  return verdict == AuditVerdict::kPass ? "PASS" : verdict == AuditVerdict::kFail ? "FAIL" : "INCOMPLETE";
}

int ExitCode(AuditVerdict verdict) {
  return verdict == AuditVerdict::kPass ? kExitOk : verdict == AuditVerdict::kFail ? kExitInvalid : kExitBadInput;
}

// Loads the genesis and audits --node or --ledger, with progress lines on stderr unless
// `quiet`. On a usage or file error, prints it and gives the exit code.
tl::expected<AuditReport, int> Audit(const AuditOptions& options, bool quiet) {
  if (options.node.empty() == options.ledger.empty()) {
    std::fprintf(stderr, "civic-wallet: give exactly one of --node URL or --ledger DIR\n");
    return tl::unexpected(kExitUsage);
  }
  proto::Result<node::Genesis> genesis = node::LoadGenesisFile(options.genesis);
  if (!genesis) {
    std::fprintf(stderr, "civic-wallet: %s\n", genesis.error().message.c_str());
    return tl::unexpected(kExitBadInput);
  }
  const AuditProgress progress = [quiet](std::uint64_t height, std::uint64_t target) {
    if (!quiet) {
      std::fprintf(stderr, "  checked block %llu of %llu\n", static_cast<unsigned long long>(height),
                   static_cast<unsigned long long>(target));
    }
  };
  if (!quiet) {
    std::printf("auditing %s against %s (chain %s, genesis hash %s)\n",
                options.node.empty() ? options.ledger.c_str() : options.node.c_str(), options.genesis.c_str(),
                genesis->chain_id.str().c_str(), proto::ToHex(node::GenesisHash(*genesis)).c_str());
    std::fflush(stdout);
  }
  if (options.node.empty()) return AuditLedger(options.ledger, *genesis, progress);
  proto::Result<NodeClient> node = NodeClient::Parse(options.node);
  if (!node) {
    std::fprintf(stderr, "civic-wallet: %s\n", node.error().message.c_str());
    return tl::unexpected(kExitUsage);
  }
  return AuditNode(*node, *genesis, progress);
}

int RunAudit(const AuditOptions& options) {
  tl::expected<AuditReport, int> audited = Audit(options, /*quiet=*/options.json);
  if (!audited) return audited.error();
  const AuditReport& report = *audited;
  if (options.json) {
    json rounds = json::array();
    for (const AuditedRound& round : report.rounds) {
      rounds.push_back({{"id", round.id}, {"title", round.title}, {"closed", round.closed}, {"ballots", round.ballots},
                        {"funded", round.funded}, {"spent", round.spent}});
    }
    json out = {{"verdict", VerdictName(report.verdict)},
                {"source", report.source},
                {"blocks", report.blocks},
                {"txs", report.txs},
                {"signatures", report.signatures},
                {"tip_hash", proto::ToHex(report.tip_hash)},
                {"app_hash", proto::ToHex(report.app_hash)},
                {"rounds", std::move(rounds)},
                {"open_rounds_compared", report.open_rounds_compared},
                {"elapsed_ms", report.elapsed_ms}};
    if (report.verdict != AuditVerdict::kPass) out["failure"] = report.failure;
    std::printf("%s\n", out.dump().c_str());
    return ExitCode(report.verdict);
  }
  std::printf("checked %llu blocks in %.1f s: every header, commit certificate and signature (%llu in all), and "
              "every one of %llu transactions re-executed\n",
              static_cast<unsigned long long>(report.blocks), static_cast<double>(report.elapsed_ms) / 1000.0,
              static_cast<unsigned long long>(report.signatures), static_cast<unsigned long long>(report.txs));
  if (report.verdict != AuditVerdict::kPass) {
    std::printf("VERDICT: %s: %s\n", VerdictName(report.verdict), report.failure.c_str());
    return ExitCode(report.verdict);
  }
  std::printf("tip: block %llu, hash %s, app hash %s\n", static_cast<unsigned long long>(report.blocks),
              proto::ToHex(report.tip_hash).c_str(), proto::ToHex(report.app_hash).c_str());
  for (const AuditedRound& round : report.rounds) {
    if (round.closed) {
      std::printf("round %llu \"%s\": closed; %llu ballots; funded %s (spent %llu); the served tally is the one "
                  "recomputed\n",
                  static_cast<unsigned long long>(round.id), round.title.c_str(), static_cast<unsigned long long>(round.ballots),
                  Funded(round).c_str(), static_cast<unsigned long long>(round.spent));
    } else {
      std::printf("round %llu \"%s\": not closed yet; %s\n", static_cast<unsigned long long>(round.id), round.title.c_str(),
                  report.open_rounds_compared ? "its record matches"
                                              : "not compared (the node kept committing during the audit; run it again)");
    }
  }
  if (report.blocks == 0) std::printf("note: the chain has no blocks yet; only the genesis state was checked\n");
  std::printf("VERDICT: PASS: %s holds a chain, up to block %llu, that checks out against %s: every block, certificate, "
              "signature, transaction and tally\n",
              report.source.c_str(), static_cast<unsigned long long>(report.blocks), options.genesis.c_str());
  return kExitOk;
}

// export: audit first, then write the round from the re-derived state, never from what a
// node merely says.
int RunExport(const AuditOptions& options) {
  if (options.format != "pb" && options.format != "json" && options.format != "csv") {
    std::fprintf(stderr, "civic-wallet export: --format is pb, json or csv, not \"%s\"\n", options.format.c_str());
    return kExitUsage;
  }
  tl::expected<AuditReport, int> audited = Audit(options, /*quiet=*/true);
  if (!audited) return audited.error();
  if (audited->verdict != AuditVerdict::kPass) {
    std::fprintf(stderr, "civic-wallet export: nothing exported: the audit says %s: %s\n", VerdictName(audited->verdict),
                 audited->failure.c_str());
    return ExitCode(audited->verdict);
  }
  const node::ChainVerifier& chain = *audited->chain;
  proto::Result<contracts::PabulibInstance> instance = contracts::RoundAsPabulib(
      chain.contracts(), chain.state(), options.round, options.district,
      {{"civic_ledger_audited_tip", std::to_string(chain.tip().height) + " " + proto::ToHex(chain.tip().block_hash)},
       {"comment", "exported by civic-wallet export from a chain it re-derived from its genesis; voter_id is the "
                   "resident's public key (pseudonymous)"}});
  if (!instance) {
    std::fprintf(stderr, "civic-wallet export: %s\n", instance.error().message.c_str());
    return kExitInvalid;
  }
  std::string text;
  if (options.format == "pb") {
    text = contracts::WritePabulib(*instance);
  } else if (options.format == "json") {
    text = node::PabulibToJson(*instance).dump(1) + "\n";
  } else {
    text = "voter_id,project_id,points\n";
    for (const contracts::PabulibVote& v : instance->votes) {
      for (std::size_t i = 0; i < v.projects.size(); ++i) {
        text += v.voter_id + "," + instance->projects[v.projects[i]].id + "," +
                std::to_string(v.points.empty() ? 1 : v.points[i]) + "\n";
      }
    }
  }
  if (proto::Result<void> saved = WriteFileAtomically(options.out, text); !saved) {
    std::fprintf(stderr, "civic-wallet export: %s\n", saved.error().message.c_str());
    return kExitBadInput;
  }
  std::printf("exported round %llu (%zu projects, %zu voters, audited up to block %llu) to %s\n",
              static_cast<unsigned long long>(options.round), instance->projects.size(), instance->votes.size(),
              static_cast<unsigned long long>(audited->blocks), options.out.c_str());
  return kExitOk;
}

void AddSourceOptions(CLI::App* command, AuditOptions& options) {
  command->add_option("--node", options.node, "The node to audit, e.g. http://127.0.0.1:8700")->type_name("URL");
  command->add_option("--ledger", options.ledger, "Or: a ledger directory (of a stopped node; read only)")->type_name("DIR");
  command->add_option("--genesis", options.genesis, "The network's genesis file, obtained independently")
      ->required()
      ->type_name("FILE");
}

}  // namespace

void AddAuditCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<AuditOptions>();
  CLI::App* audit = app.add_subcommand(
      "audit",
      "Observers: re-derive the whole chain from the genesis file alone (every block, commit certificate, signature, "
      "transaction and tally) against a node or a ledger directory, and print a verdict.");
  AddSourceOptions(audit, *options);
  audit->add_flag("--json", options->json, "Print one JSON object: verdict, counts, hashes, rounds, failure");
  audit->footer(
      "Exit codes: 0 PASS; 3 FAIL (the message names the height, transaction or round and field); 1 INCOMPLETE (the "
      "node or ledger could not be read to the end, or the genesis file is unusable); 2 the command line is wrong.");
  audit->callback([options, &exit_code] { exit_code = RunAudit(*options); });

  auto export_options = std::make_shared<AuditOptions>();
  CLI::App* command = app.add_subcommand(
      "export",
      "Observers: write a closed round as a Pabulib .pb file (or JSON, or CSV of votes), from the chain re-derived "
      "and audited first, so that anyone can recompute the outcome with other tools.");
  AddSourceOptions(command, *export_options);
  command->add_option("--round", export_options->round, "The round id")->required();
  command->add_option("--district", export_options->district,
                      "For a round with district budgets: the unit to export (0: the city-wide pool)");
  command->add_option("--out", export_options->out, "The file to write")->required()->type_name("FILE");
  command->add_option("--format", export_options->format, "pb (default), json or csv");
  command->footer(kExitCodesHelp);
  command->callback([export_options, &exit_code] { exit_code = RunExport(*export_options); });
}

}  // namespace civic::wallet
