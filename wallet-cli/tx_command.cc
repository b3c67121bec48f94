// civic-wallet register, vote and receipt: sign a transaction with a keystore's key, send it
// to a node, wait until it is committed, and fetch the receipt that proves it.
//
// Nonces are the signer's clock in milliseconds: they rise, as a ballot that replaces an
// earlier one must (contracts/state.h), and the node refuses one used before ("replayed").
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "civic/proto/codec.h"
#include "civic/proto/payloads.h"
#include "civic/proto/tx.h"
#include "civic/wallet/keystore.h"
#include "civic/wallet/node_client.h"
#include "commands.h"

namespace civic::wallet {
namespace {

using nlohmann::json;

// How far ahead a transaction stays valid, in blocks.
constexpr std::uint64_t kValidityBlocks = 10'000;

struct TxOptions {
  std::string key;
  std::string passphrase_file;
  std::string passphrase_env;
  std::string node = "http://127.0.0.1:8700";
  std::uint64_t wait_seconds = 60;
  bool json = false;
  // register
  std::string resident;
  std::vector<std::uint32_t> districts;
  // vote
  std::uint64_t round = 0;
  std::vector<std::uint32_t> approve;
  std::vector<std::string> points;
  // receipt
  std::string tx_id;
  std::string out;
};

int Fail(const std::string& message, int code = kExitBadInput) {
  std::fprintf(stderr, "civic-wallet: %s\n", message.c_str());
  return code;
}

std::optional<json> GetJson(const NodeClient& node, const std::string& target, std::string& error, unsigned* status = nullptr) {
  proto::Result<NodeReply> reply = node.Get(target);
  if (!reply) {
    error = reply.error().message;
    return std::nullopt;
  }
  if (status != nullptr) *status = reply->status;
  json body = json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    error = "the node answered " + target + " with something that is not JSON";
    return std::nullopt;
  }
  return body;
}

std::string ErrorText(const json& body) {
  if (body.is_object() && body.contains("error") && body["error"].is_object()) {
    return body["error"].value("code", std::string("error")) + ": " + body["error"].value("message", std::string());
  }
  return body.dump();
}

// Unlocks the key, builds, signs and sends the transaction, and waits for its fate.
int SignAndSend(const TxOptions& options, proto::TxKind kind, const proto::Bytes& payload) {
  proto::Result<NodeClient> node = NodeClient::Parse(options.node);
  if (!node) return Fail(node.error().message, kExitUsage);
  std::string error;
  const std::optional<json> status = GetJson(*node, "/v1/status", error);
  if (!status) return Fail(error);
  proto::Result<proto::ChainId> chain = proto::ChainId::Parse(status->value("chain_id", std::string()));
  if (!chain) return Fail("the node at " + options.node + " names no valid chain");

  const PassphraseSource source = !options.passphrase_file.empty() ? PassphraseSource(PassphraseFromFile{options.passphrase_file})
                                  : !options.passphrase_env.empty() ? PassphraseSource(PassphraseFromEnv{options.passphrase_env})
                                                                    : PassphraseSource(PassphraseFromPrompt{"Passphrase for " + options.key + ": "});
  KeystoreResult<Passphrase> passphrase = ReadPassphrase(source, PassphrasePurpose::kUnlock);
  if (!passphrase) return Fail(passphrase.error().message);
  KeystoreResult<proto::SchnorrKeyPair> key = Unlock(options.key, passphrase->view());
  if (!key) return Fail(key.error().message);

  proto::TxBody body;
  body.kind = kind;
  body.chain_id = *chain;
  body.signer = key->public_key();
  body.nonce = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
  body.valid_until_height = status->value("height", std::uint64_t{0}) + kValidityBlocks;
  body.payload = payload;
  proto::Secret32 aux{};
  randombytes_buf(aux.data(), aux.size());
  proto::Result<proto::Tx> tx = proto::SignTx(std::move(body), *key, aux);
  if (!tx) return Fail("cannot sign: " + tx.error().message);
  const std::string id = proto::ToHex(proto::TxId(*tx).value());
  proto::Result<NodeReply> sent = node->Post("/v1/txs", json{{"tx", proto::ToHex(proto::Encode(*tx).value())}}.dump());
  if (!sent) return Fail(sent.error().message);
  const json answer = json::parse(sent->body, nullptr, false);
  if (sent->status != 202) {
    return Fail("the node refused the transaction " + id + ": " + ErrorText(answer), kExitInvalid);
  }
  if (!options.json) std::printf("sent %s %s; waiting for a block...\n", std::string(proto::TxKindName(kind)).c_str(), id.c_str());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.wait_seconds);
  for (;;) {
    const std::optional<json> state = GetJson(*node, "/v1/txs/" + id, error);
    if (!state) return Fail(error);
    const std::string now = state->value("status", std::string());
    if (now == "committed") {
      if (options.json) {
        std::printf("%s\n", json{{"id", id}, {"status", "committed"}, {"height", (*state)["height"]}}.dump().c_str());
      } else {
        std::printf("committed in block %llu. Keep its receipt: civic-wallet receipt --node %s --tx %s --out receipt.json\n",
                    static_cast<unsigned long long>((*state)["height"].get<std::uint64_t>()), options.node.c_str(),
                    id.c_str());
      }
      return kExitOk;
    }
    if (now == "rejected") return Fail("the transaction " + id + " was left out: " + ErrorText(json{{"error", (*state)["reason"]}}), kExitInvalid);
    if (std::chrono::steady_clock::now() > deadline) {
      return Fail("the transaction " + id + " is still pending after " + std::to_string(options.wait_seconds) +
                  " s; ask again with: curl " + options.node + "/v1/txs/" + id);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
}

int RunRegister(const TxOptions& options) {
  proto::Result<proto::SchnorrPublicKey> resident = proto::FixedFromHex<proto::SchnorrPublicKey>(options.resident);
  if (!resident || !proto::IsValidSchnorrPublicKey(*resident)) {
    return Fail("--resident must be the resident's public key, 64 hex digits (civic-wallet whoami shows it)", kExitUsage);
  }
  std::vector<std::uint32_t> districts = options.districts;
  std::sort(districts.begin(), districts.end());
  districts.erase(std::unique(districts.begin(), districts.end()), districts.end());
  proto::Result<proto::Bytes> payload = proto::Encode(proto::RegisterResident{*resident, districts, 0});
  if (!payload) return Fail("cannot register: " + payload.error().message, kExitUsage);
  return SignAndSend(options, proto::TxKind::kRegisterResident, *payload);
}

// The ballot, checked against the round as the node describes it, before anything is signed.
int RunVote(const TxOptions& options) {
  proto::Result<NodeClient> node = NodeClient::Parse(options.node);
  if (!node) return Fail(node.error().message, kExitUsage);
  std::string error;
  unsigned status = 0;
  const std::optional<json> round = GetJson(*node, "/v1/rounds/" + std::to_string(options.round), error, &status);
  if (!round) return Fail(error);
  if (status != 200) return Fail("round " + std::to_string(options.round) + ": " + ErrorText(*round));
  const auto refuse = [&](const std::string& why) { return Fail("not signed: " + why, kExitInvalid); };
  if (round->value("phase", std::string()) != "voting") {
    return refuse("round " + std::to_string(options.round) + " is in its " + round->value("phase", std::string("?")) +
                  " phase, not voting");
  }
  const json& ballot_rules = (*round)["ballot"];
  const std::string type = ballot_rules.value("type", std::string());
  std::map<std::uint32_t, std::uint32_t> choices;  // project -> points
  if (type == "cumulative") {
    if (options.points.empty()) return refuse("this round takes points: use --points PROJECT=POINTS,...");
    for (const std::string& entry : options.points) {
      const std::size_t eq = entry.find('=');
      std::uint64_t project = 0, points = 0;
      if (eq == std::string::npos || !(std::istringstream(entry.substr(0, eq)) >> project) ||
          !(std::istringstream(entry.substr(eq + 1)) >> points) || project > UINT32_MAX || points == 0 || points > UINT32_MAX) {
        return Fail("--points takes PROJECT=POINTS with whole numbers above 0, got \"" + entry + "\"", kExitUsage);
      }
      if (!choices.emplace(static_cast<std::uint32_t>(project), static_cast<std::uint32_t>(points)).second) {
        return refuse("project " + std::to_string(project) + " is given twice");
      }
    }
  } else {
    if (options.approve.empty()) return refuse("this round takes approvals: use --approve PROJECT,...");
    for (std::uint32_t project : options.approve) {
      if (!choices.emplace(project, 1).second) return refuse("project " + std::to_string(project) + " is given twice");
    }
  }
  std::map<std::uint32_t, json> proposals;
  for (const json& proposal : (*round)["proposals"]) proposals.emplace(proposal["id"].get<std::uint32_t>(), proposal);
  std::uint64_t cost = 0, points_total = 0;
  for (const auto& [project, points] : choices) {
    const auto found = proposals.find(project);
    if (found == proposals.end()) return refuse("round " + std::to_string(options.round) + " has no project " + std::to_string(project));
    if (found->second.value("review", std::string()) != "feasible") {
      return refuse("project " + std::to_string(project) + " is not on the ballot (" +
                    found->second.value("review", std::string()) + ": " + found->second.value("review_reason", std::string()) + ")");
    }
    cost += found->second.value("cost", std::uint64_t{0});
    points_total += points;
    const std::uint64_t per_project = ballot_rules.value("points_per_project_max", std::uint64_t{0});
    if (type == "cumulative" && points > per_project) {
      return refuse("at most " + std::to_string(per_project) + " points per project; project " + std::to_string(project) +
                    " has " + std::to_string(points));
    }
  }
  const std::uint64_t min = ballot_rules.value("min_choices", std::uint64_t{0});
  const std::uint64_t max = ballot_rules.value("max_choices", std::uint64_t{0});
  if (choices.size() < min || choices.size() > max) {
    return refuse("this round takes " + std::to_string(min) + " to " + std::to_string(max) + " projects, not " +
                  std::to_string(choices.size()));
  }
  if (type == "cumulative" && points_total > ballot_rules.value("points_total_max", std::uint64_t{0})) {
    return refuse("at most " + std::to_string(ballot_rules.value("points_total_max", std::uint64_t{0})) +
                  " points in all, this ballot gives " + std::to_string(points_total));
  }
  if (type == "knapsack" && cost > round->value("total_budget", std::uint64_t{0})) {
    return refuse("the chosen projects cost " + std::to_string(cost) + ", more than the budget of " +
                  std::to_string(round->value("total_budget", std::uint64_t{0})));
  }
  proto::Ballot ballot{options.round, {}};
  for (const auto& [project, points] : choices) ballot.choices.push_back({project, points});  // std::map: ascending
  proto::Result<proto::Bytes> payload = proto::Encode(ballot);
  if (!payload) return refuse(payload.error().message);
  return SignAndSend(options, proto::TxKind::kCastBallot, *payload);
}

int RunReceipt(const TxOptions& options) {
  proto::Result<NodeClient> node = NodeClient::Parse(options.node);
  if (!node) return Fail(node.error().message, kExitUsage);
  if (!proto::FixedFromHex<proto::Hash32>(options.tx_id)) return Fail("--tx must be a transaction id, 64 hex digits", kExitUsage);
  proto::Result<NodeReply> reply = node->Get("/v1/txs/" + options.tx_id + "/receipt");
  if (!reply) return Fail(reply.error().message);
  if (reply->status != 200) return Fail("no receipt: " + ErrorText(json::parse(reply->body, nullptr, false)));
  // Written beside its final name, then renamed: a crash never leaves half a receipt.
  const std::string temporary = options.out + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    out << reply->body;
    out.flush();
    if (!out) return Fail("cannot write " + temporary);
  }
  if (std::rename(temporary.c_str(), options.out.c_str()) != 0) return Fail("cannot write " + options.out);
  if (options.json) {
    std::printf("%s\n", json{{"receipt", options.out}}.dump().c_str());
  } else {
    std::printf("saved the receipt of %s to %s; check it any time with: civic-wallet verify-receipt %s --genesis "
                "GENESIS.json\n",
                options.tx_id.c_str(), options.out.c_str(), options.out.c_str());
  }
  return kExitOk;
}

void AddSignerOptions(CLI::App* command, TxOptions& options) {
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

}  // namespace

void AddTxCommands(CLI::App& app, int& exit_code) {
  auto register_options = std::make_shared<TxOptions>();
  CLI::App* register_command = app.add_subcommand("register", "Clerks: put a resident on the voter roll of their districts.");
  AddSignerOptions(register_command, *register_options);
  register_command->add_option("--resident", register_options->resident, "The resident's public key (64 hex digits)")
      ->required();
  register_command->add_option("--district", register_options->districts, "A district id (repeat, or 1,2)")
      ->required()
      ->delimiter(',');
  register_command->callback([register_options, &exit_code] { exit_code = RunRegister(*register_options); });

  auto vote_options = std::make_shared<TxOptions>();
  CLI::App* vote = app.add_subcommand(
      "vote", "Residents: cast (or change) your ballot; it is checked against the round's rules before it is signed.");
  AddSignerOptions(vote, *vote_options);
  vote->add_option("--round", vote_options->round, "The round id")->required();
  vote->add_option("--approve", vote_options->approve, "Projects you approve (approval and knapsack rounds), e.g. 1,4")
      ->delimiter(',');
  vote->add_option("--points", vote_options->points, "PROJECT=POINTS pairs (cumulative rounds), e.g. 1=3,4=2")
      ->delimiter(',');
  vote->callback([vote_options, &exit_code] { exit_code = RunVote(*vote_options); });

  auto receipt_options = std::make_shared<TxOptions>();
  CLI::App* receipt = app.add_subcommand("receipt", "Fetch and save the receipt that proves a transaction is in the ledger.");
  receipt->add_option("--node", receipt_options->node, "The node to ask (default http://127.0.0.1:8700)")->type_name("URL");
  receipt->add_option("--tx", receipt_options->tx_id, "The transaction id")->required();
  receipt->add_option("--out", receipt_options->out, "Where to save it")->required()->type_name("FILE");
  receipt->add_flag("--json", receipt_options->json, "Print {\"receipt\": FILE}");
  receipt->footer(kExitCodesHelp);
  receipt->callback([receipt_options, &exit_code] { exit_code = RunReceipt(*receipt_options); });
}

}  // namespace civic::wallet
