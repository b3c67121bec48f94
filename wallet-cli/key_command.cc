// civic-wallet keygen and whoami: a resident's (or clerk's) key, kept in an encrypted keystore
// (civic/wallet/keystore.h).
#include <sodium.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "civic/proto/schnorr.h"
#include "civic/wallet/keystore.h"
#include "commands.h"

namespace civic::wallet {
namespace {

struct KeyOptions {
  std::string key;
  std::string passphrase_file;
  std::string passphrase_env;
  bool json = false;
};

PassphraseSource SourceOf(const KeyOptions& options, const std::string& prompt) {
  if (!options.passphrase_file.empty()) return PassphraseFromFile{options.passphrase_file};
  if (!options.passphrase_env.empty()) return PassphraseFromEnv{options.passphrase_env};
  return PassphraseFromPrompt{prompt};
}

int Failed(const KeystoreFailure& failure) {
  std::fprintf(stderr, "civic-wallet: %s\n", failure.message.c_str());
  return kExitBadInput;
}

void PrintKey(const proto::SchnorrPublicKey& key, const std::string& path, bool json) {
  if (json) {
    std::printf("%s\n", nlohmann::json{{"public_key", proto::ToHex(key)}, {"keystore", path}}.dump().c_str());
  } else {
    std::printf("public key (your resident id): %s\nkeystore: %s\n", proto::ToHex(key).c_str(), path.c_str());
  }
}

int RunKeygen(const KeyOptions& options) {
  KeystoreResult<Passphrase> passphrase =
      ReadPassphrase(SourceOf(options, "New passphrase for " + options.key + ": "), PassphrasePurpose::kNew);
  if (!passphrase) return Failed(passphrase.error());
  // A uniformly random secret below the curve order (FromSecret refuses the rare others).
  proto::Secret32 secret{};
  for (;;) {
    randombytes_buf(secret.data(), secret.size());
    if (proto::SchnorrKeyPair::FromSecret(secret)) break;
  }
  KeystoreResult<proto::SchnorrPublicKey> key = Create(options.key, secret, passphrase->view());
  sodium_memzero(secret.data(), secret.size());
  if (!key) return Failed(key.error());
  PrintKey(*key, options.key, options.json);
  return kExitOk;
}

int RunWhoami(const KeyOptions& options) {
  KeystoreResult<proto::SchnorrPublicKey> key = ReadPublicKey(options.key);
  if (!key) return Failed(key.error());
  PrintKey(*key, options.key, options.json);
  return kExitOk;
}

void AddKeyOption(CLI::App* command, KeyOptions& options) {
  command->add_option("--key", options.key, "The keystore file")->required()->type_name("FILE");
}

}  // namespace

void AddKeyCommands(CLI::App& app, int& exit_code) {
  auto keygen_options = std::make_shared<KeyOptions>();
  CLI::App* keygen = app.add_subcommand(
      "keygen", "Make a new key and keep it in a keystore encrypted with your passphrase (Argon2id, XChaCha20-Poly1305).");
  AddKeyOption(keygen, *keygen_options);
  keygen->add_option("--passphrase-file", keygen_options->passphrase_file,
                     "Read the passphrase from the first line of this file (mode 0600) instead of asking")
      ->type_name("FILE");
  keygen->add_option("--passphrase-env", keygen_options->passphrase_env,
                     "Read the passphrase from this environment variable instead of asking")
      ->type_name("NAME");
  keygen->add_flag("--json", keygen_options->json, "Print {\"public_key\", \"keystore\"}");
  keygen->footer(std::string("Refuses to overwrite an existing file. Give your public key to a clerk to be "
                             "registered.\n") +
                 kExitCodesHelp);
  keygen->callback([keygen_options, &exit_code] { exit_code = RunKeygen(*keygen_options); });

  auto whoami_options = std::make_shared<KeyOptions>();
  CLI::App* whoami = app.add_subcommand("whoami", "Show the public key (resident id) of a keystore; no passphrase needed.");
  AddKeyOption(whoami, *whoami_options);
  whoami->add_flag("--json", whoami_options->json, "Print {\"public_key\", \"keystore\"}");
  whoami->footer(kExitCodesHelp);
  whoami->callback([whoami_options, &exit_code] { exit_code = RunWhoami(*whoami_options); });
}

}  // namespace civic::wallet
