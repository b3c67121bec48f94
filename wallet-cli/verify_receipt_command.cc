// civic-wallet verify-receipt: check, offline and with the genesis file alone, that a saved
// receipt proves its transaction is in a committed block (civic/wallet/receipt.h says how).
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "civic/node/genesis.h"
#include "civic/wallet/receipt.h"
#include "commands.h"

namespace civic::wallet {
namespace {

struct VerifyReceiptOptions {
  std::string receipt;
  std::string genesis;
  bool json = false;
};

int RunVerifyReceipt(const VerifyReceiptOptions& options) {
  proto::Result<node::Genesis> genesis = node::LoadGenesisFile(options.genesis);
  if (!genesis) {
    std::fprintf(stderr, "civic-wallet: %s\n", genesis.error().message.c_str());
    return kExitBadInput;
  }
  std::FILE* file = std::fopen(options.receipt.c_str(), "rb");
  if (file == nullptr) {
    std::fprintf(stderr, "civic-wallet: cannot open the receipt %s\n", options.receipt.c_str());
    return kExitBadInput;
  }
  std::string text(kReceiptBytesMax + 1, '\0');
  const std::size_t size = std::fread(text.data(), 1, text.size(), file);
  std::fclose(file);
  text.resize(size);
  proto::Result<VerifiedReceipt> verified = VerifyReceipt(text, *genesis);
  if (!verified) {
    const bool malformed = verified.error().code != proto::ErrorCode::kBadProof;
    if (options.json) {
      std::printf("%s\n", nlohmann::json{{"valid", false}, {"reason", verified.error().message}}.dump().c_str());
    } else {
      std::fprintf(stderr, "civic-wallet: INVALID: %s\n", verified.error().message.c_str());
    }
    return malformed ? kExitBadInput : kExitInvalid;
  }
  const std::string tx_id = proto::ToHex(verified->tx_id);
  const std::string block = proto::ToHex(verified->block_hash);
  if (options.json) {
    std::printf("%s\n", nlohmann::json{{"valid", true},
                                       {"tx_id", tx_id},
                                       {"kind", proto::TxKindName(verified->tx.body.kind)},
                                       {"signer", proto::ToHex(verified->tx.body.signer)},
                                       {"height", verified->header.height},
                                       {"index", verified->index},
                                       {"block_hash", block},
                                       {"block_time_unix_ms", verified->header.time_unix_ms},
                                       {"signed_power", verified->signed_power},
                                       {"total_power", verified->total_power},
                                       {"validator_changes", verified->validator_changes}}
                            .dump()
                            .c_str());
  } else {
    std::printf("VALID: transaction %s (%s, signed by %s)\n", tx_id.c_str(),
                std::string(proto::TxKindName(verified->tx.body.kind)).c_str(),
                proto::ToHex(verified->tx.body.signer).c_str());
    std::printf("is transaction %u of block %llu (%s) on chain %s,\n", verified->index,
                static_cast<unsigned long long>(verified->header.height), block.c_str(),
                genesis->chain_id.str().c_str());
    std::printf("committed by validators holding %llu of %llu voting power (more than 2/3 needed).\n",
                static_cast<unsigned long long>(verified->signed_power),
                static_cast<unsigned long long>(verified->total_power));
    if (verified->validator_changes > 0) {
      std::printf("That validator set is the genesis set after %u validator change(s), each proven in the receipt and "
                  "signed by enough clerks.\n",
                  verified->validator_changes);
    }
  }
  return kExitOk;
}

}  // namespace

void AddVerifyReceiptCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<VerifyReceiptOptions>();
  CLI::App* command = app.add_subcommand(
      "verify-receipt",
      "Check offline, with the genesis file alone, that a receipt proves its transaction is in a committed block.");
  command->add_option("receipt", options->receipt, "The receipt (JSON, as GET /v1/txs/ID/receipt served it)")
      ->required()
      ->type_name("FILE");
  command->add_option("--genesis", options->genesis, "The network's genesis file (node/GENESIS.md)")
      ->required()
      ->type_name("FILE");
  command->add_flag("--json", options->json,
                    "Print one JSON object: valid, and tx_id, kind, signer, height, index, block_hash, "
                    "block_time_unix_ms, signed_power, total_power, validator_changes (or reason)");
  command->footer(std::string("Checks the signature, the Merkle inclusion proof, the header and the commit "
                              "certificate against the validators in effect at its height: the genesis set, changed by the validator changes the receipt carries (each checked the same way, and for its clerks' signatures).\n") +
                  kExitCodesHelp);
  command->callback([options, &exit_code] { exit_code = RunVerifyReceipt(*options); });
}

}  // namespace civic::wallet
