#include "send.h"

#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <thread>

#include "civic/node/read_file.h"
#include "civic/proto/codec.h"
#include "civic/wallet/keystore.h"
#include "commands.h"

namespace civic::wallet {

using nlohmann::json;

namespace {

constexpr std::string_view kSignedFormat = "civic-ledger signed transaction v1";
constexpr std::size_t kSignedFileBytesMax = 4 * proto::kTxEncodedBytesMax + 64 * 1024;
constexpr std::size_t kHexLineChars = 64;

}  // namespace

void AddSignerOptions(CLI::App* command, SignerOptions& options) {
  command->add_option("--key", options.key, "Your keystore (civic-wallet keygen)")->required()->type_name("FILE");
  command->add_option("--passphrase-file", options.passphrase_file, "Read the passphrase from this file (mode 0600)")
      ->type_name("FILE");
  command->add_option("--passphrase-env", options.passphrase_env, "Read the passphrase from this environment variable")
      ->type_name("NAME");
  command->add_option("--node", options.node, "The node to send to (default http://127.0.0.1:8700)")->type_name("URL");
  command->add_option("--wait", options.wait_seconds, "Seconds to wait for the block (default 60)");
  command->add_flag("--json", options.json, "Print {\"id\", \"status\", \"height\"}");
  command->footer(kExitCodesHelp);
}

void AddReaderOptions(CLI::App* command, std::string& node, bool& json_output) {
  command->add_option("--node", node, "The node to ask (default http://127.0.0.1:8700)")->type_name("URL");
  command->add_flag("--json", json_output, "Print JSON for machines");
  command->footer(kExitCodesHelp);
}

int Fail(const std::string& message, int code) {
  std::fprintf(stderr, "civic-wallet: %s\n", message.c_str());
  return code;
}

std::string ErrorText(const json& body) {
  if (body.is_object() && body.contains("error") && body.at("error").is_object()) {
    return body.at("error").value("code", std::string("error")) + ": " + body.at("error").value("message", std::string());
  }
  return body.dump();
}

std::optional<json> GetOk(const NodeClient& node, const std::string& target, std::string& error, const std::string& what) {
  unsigned status = 0;
  std::optional<json> body = GetJson(node, target, error, &status);
  if (body && status != 200) {
    error = (what.empty() ? "" : what + ": ") + ErrorText(*body);
    return std::nullopt;
  }
  return body;
}

proto::Result<proto::SchnorrKeyPair> UnlockSigner(const SignerOptions& options) {
  const PassphraseSource source = !options.passphrase_file.empty() ? PassphraseSource(PassphraseFromFile{options.passphrase_file})
                                  : !options.passphrase_env.empty() ? PassphraseSource(PassphraseFromEnv{options.passphrase_env})
                                                                    : PassphraseSource(PassphraseFromPrompt{"Passphrase for " + options.key + ": "});
  KeystoreResult<Passphrase> passphrase = ReadPassphrase(source, PassphrasePurpose::kUnlock);
  if (!passphrase) return proto::Fail(proto::ErrorCode::kInvalidArgument, passphrase.error().message);
  KeystoreResult<proto::SchnorrKeyPair> key = Unlock(options.key, passphrase->view());
  if (!key) return proto::Fail(proto::ErrorCode::kInvalidArgument, key.error().message);
  return std::move(*key);
}

proto::Result<proto::Tx> SignNow(const proto::SchnorrKeyPair& key, const proto::ChainId& chain, proto::TxKind kind,
                                 const proto::Bytes& payload, std::uint64_t valid_until_height) {
  proto::TxBody body;
  body.kind = kind;
  body.chain_id = chain;
  body.signer = key.public_key();
  // The clock in microseconds, and within one run strictly rising: a batch gets a nonce each
  // (the ledger refuses a signer's nonce used twice) without running ahead of the clock, so a
  // later command by the same signer still gets a higher one.
  static std::uint64_t last_nonce = 0;
  const auto now = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  last_nonce = std::max(now, last_nonce + 1);
  body.nonce = last_nonce;
  body.valid_until_height = valid_until_height;
  body.payload = payload;
  proto::Secret32 aux{};
  randombytes_buf(aux.data(), aux.size());
  return proto::SignTx(std::move(body), key, aux);
}

int SendAndWait(const SignerOptions& options, const NodeClient& node, const proto::Tx& tx) {
  const std::string id = proto::ToHex(proto::TxId(tx).value());
  const std::string kind(proto::TxKindName(tx.body.kind));
  proto::Result<NodeReply> sent = node.Post("/v1/txs", json{{"tx", proto::ToHex(proto::Encode(tx).value())}}.dump());
  if (!sent) return Fail(sent.error().message, kExitBadInput);
  const json answer = json::parse(sent->body, nullptr, false);
  if (sent->status != 202) {
    return Fail("the node refused the " + kind + " transaction " + id + ": " + ErrorText(answer), kExitInvalid);
  }
  if (!options.json) std::printf("sent %s %s; waiting for a block...\n", kind.c_str(), id.c_str());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.wait_seconds);
  std::string error;
  for (;;) {
    const std::optional<json> state = GetJson(node, "/v1/txs/" + id, error);
    if (!state) {
      return Fail("sent " + id + ", but its fate is unknown: " + error + "; ask again with: curl " + node.url() + "/v1/txs/" + id,
                  kExitBadInput);
    }
    const std::string now = state->is_object() ? state->value("status", std::string()) : std::string();
    if (now == "committed") {
      const std::uint64_t height =
          state->contains("height") && state->at("height").is_number_unsigned() ? state->at("height").get<std::uint64_t>() : 0;
      if (options.json) {
        std::printf("%s\n", json{{"id", id}, {"kind", kind}, {"status", "committed"}, {"height", height}}.dump().c_str());
      } else {
        std::printf("committed in block %llu. Keep its receipt: civic-wallet receipt --node %s --tx %s --out receipt.json\n",
                    static_cast<unsigned long long>(height), node.url().c_str(), id.c_str());
      }
      return kExitOk;
    }
    if (now == "rejected") {
      return Fail("the transaction " + id + " was left out: " + ErrorText(json{{"error", state->value("reason", json())}}),
                  kExitInvalid);
    }
    if (std::chrono::steady_clock::now() > deadline) {
      return Fail("the transaction " + id + " is still pending after " + std::to_string(options.wait_seconds) +
                      " s; ask again with: curl " + node.url() + "/v1/txs/" + id,
                  kExitBadInput);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

tl::expected<NodeAtTip, int> ReachNode(const std::string& url) {
  proto::Result<NodeClient> node = NodeClient::Parse(url);
  if (!node) return tl::unexpected(Fail(node.error().message, kExitUsage));
  std::string error;
  std::optional<json> status = GetJson(*node, "/v1/status", error);
  if (!status) return tl::unexpected(Fail(error, kExitBadInput));
  proto::Result<proto::ChainId> chain = proto::ChainId::Parse(status->value("chain_id", std::string()));
  if (!chain) return tl::unexpected(Fail("the node at " + url + " names no valid chain", kExitBadInput));
  const std::uint64_t height = status->value("height", std::uint64_t{0});
  return NodeAtTip{std::move(*node), std::move(*chain), height, std::move(*status)};
}

int SignAndSend(const SignerOptions& options, proto::TxKind kind, const proto::Bytes& payload) {
  tl::expected<NodeAtTip, int> node = ReachNode(options.node);
  if (!node) return node.error();
  proto::Result<proto::SchnorrKeyPair> key = UnlockSigner(options);
  if (!key) return Fail(key.error().message, kExitBadInput);
  proto::Result<proto::Tx> tx = SignNow(*key, node->chain, kind, payload, node->height + kValidityBlocks);
  if (!tx) return Fail("cannot sign: " + tx.error().message, kExitBadInput);
  return SendAndWait(options, node->client, *tx);
}

proto::Result<proto::Validator> ParseValidatorKeyPower(std::string_view text) {
  const std::size_t colon = text.find(':');
  proto::Result<proto::Ed25519PublicKey> key = proto::FixedFromHex<proto::Ed25519PublicKey>(text.substr(0, colon));
  if (!key) {
    return proto::Fail(proto::ErrorCode::kInvalidArgument,
                       "the key is not 64 hex digits (the key civicd keygen printed)");
  }
  proto::Validator validator{*key, 1};
  if (colon != std::string_view::npos) {
    const std::string_view power = text.substr(colon + 1);
    if (power.empty() || power.find_first_not_of("0123456789") != std::string_view::npos || power.size() > 16 ||
        std::stoull(std::string(power)) == 0 || std::stoull(std::string(power)) > proto::kVotingPowerMax) {
      return proto::Fail(proto::ErrorCode::kInvalidArgument, "the power must be a whole number from 1 to 2^50");
    }
    validator.power = std::stoull(std::string(power));
  }
  return validator;
}

proto::Result<void> WriteFileAtomically(const std::string& path, const std::string& text) {
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << text;
    out.flush();
    if (!out) {
      std::remove(temporary.c_str());
      return proto::Fail(proto::ErrorCode::kIo, "cannot write " + temporary + "; check the folder exists and is writable");
    }
  }
  if (std::rename(temporary.c_str(), path.c_str()) != 0) {
    std::remove(temporary.c_str());
    return proto::Fail(proto::ErrorCode::kIo, "cannot write " + path);
  }
  return {};
}

proto::Result<void> SaveSigned(const std::string& path, const proto::Tx& tx, const std::string& summary) {
  const std::string id = proto::ToHex(proto::TxId(tx).value());
  const std::string hex = proto::ToHex(proto::Encode(tx).value());
  const json file = {{"format", kSignedFormat},
                     {"chain_id", tx.body.chain_id.str()},
                     {"kind", proto::TxKindName(tx.body.kind)},
                     {"id", id},
                     {"summary", summary},
                     {"tx", hex}};
  // The printable form: what a person can carry on paper and type back in. The id on it is
  // the hash of the transaction, so a mistyped digit is found before anything is sent.
  std::ostringstream text;
  text << kSignedFormat << "\n"
       << "chain: " << tx.body.chain_id.str() << "\n"
       << "kind: " << proto::TxKindName(tx.body.kind) << "\n"
       << "summary: " << summary << "\n"
       << "id: " << id << "\n"
       << "tx:\n";
  for (std::size_t at = 0; at < hex.size(); at += kHexLineChars) text << hex.substr(at, kHexLineChars) << "\n";
  text << "end\n";
  if (proto::Result<void> saved = WriteFileAtomically(path, file.dump(2) + "\n"); !saved) return saved;
  return WriteFileAtomically(path + ".txt", text.str());
}

proto::Result<proto::Tx> LoadSigned(const std::string& path) {
  proto::Result<std::string> text = node::ReadFileBounded(path, kSignedFileBytesMax, "signed transaction file");
  if (!text) return tl::unexpected(text.error());
  std::string hex;
  std::string id;
  const json file = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (file.is_object()) {
    if (file.value("format", std::string()) != kSignedFormat || !file.contains("tx") || !file.at("tx").is_string()) {
      return proto::Fail(proto::ErrorCode::kMalformed,
                         path + " is JSON but not a signed transaction (civic-wallet vote --out writes them)");
    }
    hex = file.at("tx").get<std::string>();
    id = file.value("id", std::string());
  } else {
    std::istringstream lines(*text);
    std::string line;
    std::getline(lines, line);
    if (line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);  // a byte-order mark, as some editors save
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line != kSignedFormat) {
      return proto::Fail(proto::ErrorCode::kMalformed,
                         path + " is not a signed transaction: its first line must be \"" + std::string(kSignedFormat) + "\"");
    }
    bool in_tx = false;
    bool ended = false;
    while (std::getline(lines, line)) {
      std::erase_if(line, [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
      if (in_tx) {
        if (line == "end") {
          ended = true;
          break;
        }
        hex += line;
      } else if (line.starts_with("id:")) {
        id = line.substr(3);
      } else if (line == "tx:") {
        in_tx = true;
      }
    }
    if (!ended) return proto::Fail(proto::ErrorCode::kMalformed, path + " is cut short: no \"end\" line after the transaction");
  }
  proto::Result<proto::Bytes> bytes = proto::FromHex(hex);
  if (!bytes) return proto::Fail(proto::ErrorCode::kMalformed, path + ": the transaction is not hex: " + bytes.error().message);
  proto::Result<proto::Tx> tx = proto::Decode<proto::Tx>(*bytes);
  if (!tx) return proto::Fail(tx.error().code, path + ": the transaction does not decode: " + tx.error().message);
  if (proto::Result<void> signature = proto::VerifyTxSignature(*tx); !signature) {
    return proto::Fail(proto::ErrorCode::kBadSignature, path + ": the signature does not match the transaction; it was changed or mistyped");
  }
  const std::string actual = proto::ToHex(proto::TxId(*tx).value());
  if (id != actual) {
    return proto::Fail(proto::ErrorCode::kBadProof,
                       path + ": the id written with the transaction (" + id + ") is not its hash (" + actual +
                           "); a digit was changed or mistyped");
  }
  return std::move(*tx);
}

}  // namespace civic::wallet
