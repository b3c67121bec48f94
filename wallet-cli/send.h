// What the wallet's transaction commands share: the signer's options (keystore, passphrase,
// node), reading the node's JSON answers, building and signing a transaction, sending it and
// waiting for its block, and a signed transaction kept in a file for someone else to send
// ("store and forward").
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "civic/proto/chain.h"
#include "civic/proto/result.h"
#include "civic/proto/schnorr.h"
#include "civic/proto/tx.h"
#include "civic/proto/vote.h"
#include "civic/wallet/node_client.h"
#include "civic/wallet/node_json.h"

namespace civic::wallet {

// How far ahead a transaction stays valid, in blocks.
inline constexpr std::uint64_t kValidityBlocks = 10'000;

struct SignerOptions {
  std::string key;
  std::string passphrase_file;
  std::string passphrase_env;
  std::string node = "http://127.0.0.1:8700";
  std::uint64_t wait_seconds = 60;
  bool json = false;
};

// --key, --passphrase-file, --passphrase-env, --node, --wait, --json, and the exit codes.
void AddSignerOptions(CLI::App* command, SignerOptions& options);
// --node and --json only, for commands that read.
void AddReaderOptions(CLI::App* command, std::string& node, bool& json);

// Prints "civic-wallet: MESSAGE" to stderr and returns `code`.
int Fail(const std::string& message, int code);

// "code: message" of a node's error body.
std::string ErrorText(const nlohmann::json& body);

// Reads GET `target` and insists on a 200; `error` says what went wrong otherwise (the node's
// error text after `what` and ": ", when `what` is given).
std::optional<nlohmann::json> GetOk(const NodeClient& node, const std::string& target, std::string& error,
                                    const std::string& what = "");

// Unlocks the keystore of `options` (the passphrase from its file, variable or a prompt).
[[nodiscard]] proto::Result<proto::SchnorrKeyPair> UnlockSigner(const SignerOptions& options);

// A signed transaction of `kind`: nonce from the clock (milliseconds), valid until
// `valid_until_height`.
[[nodiscard]] proto::Result<proto::Tx> SignNow(const proto::SchnorrKeyPair& key, const proto::ChainId& chain,
                                               proto::TxKind kind, const proto::Bytes& payload,
                                               std::uint64_t valid_until_height);

// Sends `tx` and waits until it is committed, rejected, or the wait runs out; prints the
// outcome (as JSON with options.json). Returns the exit code.
int SendAndWait(const SignerOptions& options, const NodeClient& node, const proto::Tx& tx);

// A node and what its /v1/status said.
struct NodeAtTip {
  NodeClient client;
  proto::ChainId chain;
  std::uint64_t height = 0;
  nlohmann::json status;
};
// Parses `url` and reads the node's status; on failure prints why and gives the exit code.
tl::expected<NodeAtTip, int> ReachNode(const std::string& url);

// Asks the node for its chain and height, unlocks the key, signs and sends. The exit code.
int SignAndSend(const SignerOptions& options, proto::TxKind kind, const proto::Bytes& payload);

// A signed transaction saved for later: FILE holds {"format", "chain_id", "kind", "id", "tx",
// "summary"}; FILE.txt the same as printable text, which `submit` reads back too. Written
// beside their names and renamed, so no half-written file is ever left.
[[nodiscard]] proto::Result<void> SaveSigned(const std::string& path, const proto::Tx& tx, const std::string& summary);
// Reads either form back; checks the transaction decodes, its id matches the one written
// with it, and its signature holds.
[[nodiscard]] proto::Result<proto::Tx> LoadSigned(const std::string& path);

// "KEY[:POWER]": a validator's Ed25519 key (64 hex digits, as civicd keygen prints it) and
// its voting power (1 if not given). The error says what is wrong with `text`.
[[nodiscard]] proto::Result<proto::Validator> ParseValidatorKeyPower(std::string_view text);

// Writes `text` to `path` through a temporary file and a rename.
[[nodiscard]] proto::Result<void> WriteFileAtomically(const std::string& path, const std::string& text);

}  // namespace civic::wallet
