// The subcommands of civic-wallet. Each one adds itself to the app and, when chosen, stores
// its exit code in `exit_code` (CLI11 runs the callback while parsing).
#pragma once

#include <CLI/CLI.hpp>

namespace civic::wallet {

// Exit codes, the same for every subcommand (listed in --help).
inline constexpr int kExitOk = 0;
inline constexpr int kExitBadInput = 1;  // an input file is missing, unreadable, malformed or cannot be used
inline constexpr int kExitUsage = 2;     // the command line itself is wrong
inline constexpr int kExitInvalid = 3;   // what was checked does not check out (e.g. a forged receipt)

inline constexpr const char* kExitCodesHelp =
    "Exit codes: 0 success; 1 an input file is missing, unreadable, malformed or cannot be tallied "
    "(the message names the line); 2 the command line is wrong (unknown subcommand, option or rule); "
    "3 what was checked does not check out (e.g. a receipt that proves nothing).";

// civic-wallet tally FILE.pb --rule RULE [--json]
void AddTallyCommand(CLI::App& app, int& exit_code);
// civic-wallet keygen --key FILE [--passphrase-file F | --passphrase-env NAME] [--json];
// civic-wallet whoami --key FILE [--json]
void AddKeyCommands(CLI::App& app, int& exit_code);
// civic-wallet register, register-paper, revoke, vote, assisted-ballot, submit, receipt:
// transactions sent to a node (or signed into a file), and their proofs.
void AddTxCommands(CLI::App& app, int& exit_code);
// civic-wallet rounds, round, open-round, propose, review, close-round, results, status.
void AddRoundCommands(CLI::App& app, int& exit_code);
// civic-wallet audit (--node URL | --ledger DIR) --genesis FILE [--json];
// civic-wallet export (--node URL | --ledger DIR) --genesis FILE --round N --out FILE
void AddAuditCommand(CLI::App& app, int& exit_code);
// civic-wallet genesis --chain-id ID --validator NAME=KEY[:POWER]... --clerk KEY... --district ID=NAME... --out FILE
void AddGenesisCommand(CLI::App& app, int& exit_code);
// civic-wallet validators show | propose | cosign FILE | submit FILE
void AddValidatorCommands(CLI::App& app, int& exit_code);
// civic-wallet verify-receipt FILE --genesis FILE [--json]
void AddVerifyReceiptCommand(CLI::App& app, int& exit_code);

}  // namespace civic::wallet
