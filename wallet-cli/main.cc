// civic-wallet: residents make keys, vote and check receipts; clerks and observers tally and
// audit. Each subcommand lives in its own file (commands.h lists them).
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <sodium.h>

#include "commands.h"

int main(int argc, char** argv) {
  if (sodium_init() < 0) {
    std::fprintf(stderr, "civic-wallet: libsodium failed to initialise\n");
    return civic::wallet::kExitBadInput;
  }
  CLI::App app{"civic-wallet: the command-line tool of the civic-ledger participatory budgeting network."};
  app.footer(civic::wallet::kExitCodesHelp);
  app.require_subcommand(1);
  int exit_code = civic::wallet::kExitOk;
  civic::wallet::AddKeyCommands(app, exit_code);
  civic::wallet::AddTxCommands(app, exit_code);
  civic::wallet::AddRoundCommands(app, exit_code);
  civic::wallet::AddTallyCommand(app, exit_code);
  civic::wallet::AddVerifyReceiptCommand(app, exit_code);
  civic::wallet::AddAuditCommand(app, exit_code);
  civic::wallet::AddGenesisCommand(app, exit_code);
  civic::wallet::AddValidatorCommands(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help is a ParseError too, with exit code 0; everything else is a usage error.
    return app.exit(e) == 0 ? civic::wallet::kExitOk : civic::wallet::kExitUsage;
  } catch (const nlohmann::json::exception& e) {
    // A node's answer or a file (round, receipt) that parsed as JSON but lacks a field or
    // has one of the wrong type. Commands read what they need before they sign or write;
    // those that send first (register --csv, the wait after sending) report what they sent.
    std::fprintf(stderr, "civic-wallet: an answer or file is not shaped as node/API.md describes: %s\n", e.what());
    return civic::wallet::kExitBadInput;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "civic-wallet: %s\n", e.what());
    return civic::wallet::kExitBadInput;
  }
  return exit_code;
}
