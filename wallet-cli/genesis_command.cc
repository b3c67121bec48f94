// civic-wallet genesis: the clerks' offices write the document a network starts from (its
// chain id, validators, clerks and their threshold, districts), checked by the same strict
// reader every node uses (node/GENESIS.md), and print its hash for everyone to compare.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "civic/node/genesis.h"
#include "civic/proto/bytes.h"
#include "commands.h"
#include "send.h"

namespace civic::wallet {
namespace {

struct GenesisOptions {
  std::string chain_id;
  std::vector<std::string> validators;  // NAME=ED25519HEX[:POWER]
  std::vector<std::string> clerks;      // 64 hex
  std::uint32_t clerk_threshold = 1;
  std::vector<std::string> districts;   // ID=NAME
  std::uint64_t time_unix_ms = 0;
  std::string out;
};

int Usage(const std::string& message) { return Fail(message, kExitUsage); }

int RunGenesis(const GenesisOptions& options) {
  node::Genesis genesis;
  proto::Result<proto::ChainId> chain = proto::ChainId::Parse(options.chain_id);
  if (!chain) return Usage("--chain-id: " + chain.error().message);
  genesis.chain_id = *chain;
  genesis.genesis_time_unix_ms =
      options.time_unix_ms != 0
          ? options.time_unix_ms
          : static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
  for (const std::string& entry : options.validators) {
    const std::size_t eq = entry.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Usage("--validator takes NAME=KEY[:POWER] (KEY: the 64 hex digits civicd keygen printed), got \"" + entry + "\"");
    }
    proto::Result<proto::Validator> validator = ParseValidatorKeyPower(std::string_view(entry).substr(eq + 1));
    if (!validator) return Usage("--validator " + entry + ": " + validator.error().message);
    genesis.validators.push_back({entry.substr(0, eq), validator->key, validator->power});
  }
  for (const std::string& hex : options.clerks) {
    proto::Result<proto::SchnorrPublicKey> key = proto::FixedFromHex<proto::SchnorrPublicKey>(hex);
    if (!key) return Usage("--clerk: \"" + hex + "\" is not a public key of 64 hex digits (civic-wallet whoami shows it)");
    genesis.contracts.clerks.push_back(*key);
  }
  std::sort(genesis.contracts.clerks.begin(), genesis.contracts.clerks.end());
  genesis.contracts.clerk_threshold = options.clerk_threshold;
  for (const std::string& entry : options.districts) {
    const std::size_t eq = entry.find('=');
    const std::string id = entry.substr(0, eq);
    if (eq == std::string::npos || id.empty() || id.find_first_not_of("0123456789") != std::string::npos || id.size() > 9) {
      return Usage("--district takes ID=NAME with a whole-number ID from 1, got \"" + entry + "\"");
    }
    genesis.contracts.districts.push_back({static_cast<std::uint32_t>(std::stoul(id)), entry.substr(eq + 1)});
  }
  std::sort(genesis.contracts.districts.begin(), genesis.contracts.districts.end(),
            [](const contracts::District& a, const contracts::District& b) { return a.id < b.id; });
  // The strict reader every node uses decides: what it refuses, no node would start from.
  const std::string text = node::GenesisToJson(genesis);
  proto::Result<node::Genesis> checked = node::ParseGenesis(text);
  if (!checked) return Fail("not written: " + checked.error().message, kExitInvalid);
  if (std::filesystem::exists(options.out)) {
    return Fail(options.out + " exists; a genesis is never overwritten (choose another --out)", kExitBadInput);
  }
  if (proto::Result<void> saved = WriteFileAtomically(options.out, text); !saved) return Fail(saved.error().message, kExitBadInput);
  std::printf("wrote %s for chain %s: %zu validators, %zu clerks (any %u of them sign clerk-only changes), %zu districts\n"
              "genesis hash %s: every office, node and observer must see this same hash\n",
              options.out.c_str(), checked->chain_id.str().c_str(), checked->validators.size(),
              checked->contracts.clerks.size(), checked->contracts.clerk_threshold, checked->contracts.districts.size(),
              proto::ToHex(node::GenesisHash(*checked)).c_str());
  return kExitOk;
}

}  // namespace

void AddGenesisCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<GenesisOptions>();
  CLI::App* command = app.add_subcommand(
      "genesis", "Clerks: write a network's genesis file (validators, clerks, districts), checked as every node checks it.");
  command->add_option("--chain-id", options->chain_id, "The network's name, e.g. assen-2027")->required();
  command->add_option("--validator", options->validators, "NAME=ED25519KEY[:POWER] of a validator (repeat); civicd keygen makes keys")
      ->required();
  command->add_option("--clerk", options->clerks, "A clerk's public key (repeat); civic-wallet keygen makes keys")->required();
  command->add_option("--clerk-threshold", options->clerk_threshold, "How many clerks must co-sign validator changes (default 1)");
  command->add_option("--district", options->districts, "ID=NAME of a district (repeat), e.g. 1=Centrum")->required();
  command->add_option("--time-unix-ms", options->time_unix_ms, "The genesis time (default: now)");
  command->add_option("--out", options->out, "Where to write it (must not exist)")->required()->type_name("FILE");
  command->footer(kExitCodesHelp);
  command->callback([options, &exit_code] { exit_code = RunGenesis(*options); });
}

}  // namespace civic::wallet
