// civic-wallet register (one resident or a CSV batch), register-paper, revoke, vote (sent now
// or signed into a file for later), assisted-ballot, submit and receipt: sign with a
// keystore's key, send to a node, wait until committed, fetch the proof.
//
// Nonces are the signer's clock in microseconds: they rise, as a ballot that replaces an
// earlier one must (contracts/state.h), and the node refuses one used before ("replayed").
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "civic/contracts/state.h"
#include "civic/node/read_file.h"
#include "civic/wallet/receipt.h"
#include "civic/proto/codec.h"
#include "civic/proto/payloads.h"
#include "civic/proto/tx.h"
#include "commands.h"
#include "send.h"

namespace civic::wallet {
namespace {

using nlohmann::json;

constexpr std::size_t kCsvFileBytesMax = 64 * 1024 * 1024;
constexpr std::size_t kBatchTxs = 1000;  // POST /v1/txs/batch takes at most this many
// An offline ballot stays valid this many blocks past the height its round file was saved
// at: well inside the ledger's window (contracts::kTxValidityWindowMax), and long enough
// for a ballot to travel by hand.
constexpr std::uint64_t kOfflineValidityBlocks = 900'000;

struct TxOptions {
  SignerOptions signer;
  // register, register-paper, revoke, assisted-ballot
  std::string resident;
  std::string reference;
  std::vector<std::uint32_t> districts;
  std::uint64_t expires_at_height = 0;
  std::string csv;
  std::string reason;
  // vote, assisted-ballot
  std::uint64_t round = 0;
  std::vector<std::uint32_t> approve;
  std::vector<std::string> points;
  std::string paper_ballot;
  std::string out;         // vote: sign into this file instead of sending
  std::string round_file;  // vote --out: the round as `civic-wallet round --out` saved it
  // receipt, submit
  std::string tx_id;
  std::string file;
};

proto::Result<proto::SchnorrPublicKey> ParseResidentKey(const std::string& hex) {
  proto::Result<proto::SchnorrPublicKey> key = proto::FixedFromHex<proto::SchnorrPublicKey>(hex);
  if (!key || !proto::IsValidSchnorrPublicKey(*key)) {
    return proto::Fail(proto::ErrorCode::kInvalidArgument,
                       "a resident is named by her public key, 64 hex digits (civic-wallet whoami shows it); got \"" +
                           hex + "\"");
  }
  return *key;
}

std::vector<std::uint32_t> SortedDistricts(std::vector<std::uint32_t> districts) {
  std::sort(districts.begin(), districts.end());
  districts.erase(std::unique(districts.begin(), districts.end()), districts.end());
  return districts;
}

int RunRegisterOne(const TxOptions& options) {
  proto::Result<proto::SchnorrPublicKey> resident = ParseResidentKey(options.resident);
  if (!resident) return Fail("--resident: " + resident.error().message, kExitUsage);
  proto::Result<proto::Bytes> payload =
      proto::Encode(proto::RegisterResident{*resident, SortedDistricts(options.districts), options.expires_at_height});
  if (!payload) return Fail("cannot register: " + payload.error().message, kExitUsage);
  return SignAndSend(options.signer, proto::TxKind::kRegisterResident, *payload);
}

// register --csv FILE: one resident per line, "KEY,DISTRICT[;DISTRICT...]" (a first line
// "key,districts" is a header). Every line is checked before anything is signed; then all
// are signed, sent in batches, and followed until each is committed or refused.
int RunRegisterBatch(const TxOptions& options) {
  proto::Result<std::string> text = node::ReadFileBounded(options.csv, kCsvFileBytesMax, "CSV file");
  if (!text) return Fail(text.error().message, kExitBadInput);
  std::vector<proto::RegisterResident> rows;
  std::istringstream lines(*text);
  std::string line;
  for (std::size_t number = 1; std::getline(lines, line); ++number) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || (number == 1 && line.starts_with("key"))) continue;
    const auto bad = [&](const std::string& why) {
      return Fail(options.csv + " line " + std::to_string(number) + ": " + why + "; nothing was sent", kExitBadInput);
    };
    const std::size_t comma = line.find(',');
    if (comma == std::string::npos) return bad("expected KEY,DISTRICTS (e.g. <64 hex digits>,1;3)");
    proto::Result<proto::SchnorrPublicKey> key = ParseResidentKey(line.substr(0, comma));
    if (!key) return bad(key.error().message);
    std::vector<std::uint32_t> districts;
    std::istringstream list(line.substr(comma + 1));
    std::string item;
    while (std::getline(list, item, ';')) {
      std::uint64_t district = 0;
      std::istringstream number_in(item);
      if (!(number_in >> district) || !number_in.eof() || district == 0 || district > UINT32_MAX) {
        return bad("district \"" + item + "\" is not a whole number from 1");
      }
      districts.push_back(static_cast<std::uint32_t>(district));
    }
    proto::RegisterResident row{*key, SortedDistricts(districts), options.expires_at_height};
    if (!proto::IsDistrictList(row.districts, proto::kDistrictsPerResidentMax)) {
      return bad("a resident needs 1 to " + std::to_string(proto::kDistrictsPerResidentMax) + " districts");
    }
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return Fail(options.csv + " names no residents", kExitBadInput);

  tl::expected<NodeAtTip, int> reached = ReachNode(options.signer.node);
  if (!reached) return reached.error();
  const NodeClient& node = reached->client;
  proto::Result<proto::SchnorrKeyPair> key = UnlockSigner(options.signer);
  if (!key) return Fail(key.error().message, kExitBadInput);
  const std::uint64_t valid_until = reached->height + kValidityBlocks;
  std::string error;

  // Once the first batch is out, every failure ends in the report below, one line per
  // resident, so that the clerk knows what was sent and what was not.
  std::vector<std::string> ids(rows.size());
  std::vector<std::string> outcome(rows.size());  // "" while pending
  for (std::size_t first = 0; first < rows.size(); first += kBatchTxs) {
    json batch = json::array();
    const std::size_t end = std::min(rows.size(), first + kBatchTxs);
    for (std::size_t i = first; i < end; ++i) {
      proto::Result<proto::Tx> tx =
          SignNow(*key, reached->chain, proto::TxKind::kRegisterResident, proto::Encode(rows[i]).value(), valid_until);
      if (!tx) return Fail("cannot sign: " + tx.error().message, kExitBadInput);
      ids[i] = proto::ToHex(proto::TxId(*tx).value());
      batch.push_back(proto::ToHex(proto::Encode(*tx).value()));
    }
    proto::Result<NodeReply> sent = node.Post("/v1/txs/batch", json{{"txs", std::move(batch)}}.dump());
    const json answer = sent ? json::parse(sent->body, nullptr, false) : json();
    const bool shaped = sent && sent->status == 200 && answer.is_object() && answer.contains("results") &&
                        answer.at("results").is_array() && answer.at("results").size() == end - first;
    for (std::size_t i = first; i < end; ++i) {
      if (!shaped) {
        outcome[i] = "not sent: " + (sent ? "the node refused the batch: " + ErrorText(answer) : sent.error().message);
        continue;
      }
      const json& result = answer.at("results")[i - first];
      if (!result.is_object() || result.value("http_status", 0) != 202) outcome[i] = "refused: " + ErrorText(result);
    }
    if (!shaped) {
      for (std::size_t i = end; i < rows.size(); ++i) outcome[i] = "not sent: an earlier batch failed";
      break;
    }
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(options.signer.wait_seconds);
  for (std::size_t i = 0; i < rows.size();) {
    if (!outcome[i].empty()) {
      ++i;
      continue;
    }
    const std::optional<json> state = GetJson(node, "/v1/txs/" + ids[i], error);
    const std::string now = state && state->is_object() ? state->value("status", std::string()) : std::string();
    if (!state) {
      outcome[i] = "sent as " + ids[i] + ", fate unknown: " + error;
    } else if (now == "committed" && state->contains("height") && state->at("height").is_number_unsigned()) {
      outcome[i] = "committed in block " + std::to_string(state->at("height").get<std::uint64_t>());
    } else if (now == "rejected") {
      outcome[i] = "left out: " + ErrorText(json{{"error", state->value("reason", json())}});
    } else if (std::chrono::steady_clock::now() > deadline) {
      outcome[i] = "still pending after " + std::to_string(options.signer.wait_seconds) + " s";
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  std::size_t committed = 0;
  json report = json::array();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const bool ok = outcome[i].starts_with("committed");
    committed += ok ? 1 : 0;
    const std::string resident = proto::ToHex(rows[i].key);
    if (options.signer.json) {
      report.push_back({{"resident", resident}, {"id", ids[i]}, {"outcome", outcome[i]}});
    } else if (!ok) {
      std::printf("%s: %s\n", resident.c_str(), outcome[i].c_str());
    }
  }
  if (options.signer.json) {
    std::printf("%s\n", json{{"registered", committed}, {"failed", rows.size() - committed}, {"residents", report}}.dump().c_str());
  } else {
    std::printf("registered %zu of %zu residents from %s\n", committed, rows.size(), options.csv.c_str());
  }
  return committed == rows.size() ? kExitOk : kExitInvalid;
}

int RunRegisterPaper(const TxOptions& options) {
  proto::Result<proto::Bytes> payload = proto::Encode(
      proto::RegisterPaperResident{options.reference, SortedDistricts(options.districts), options.expires_at_height});
  if (!payload) return Fail("cannot register: " + payload.error().message, kExitUsage);
  tl::expected<NodeAtTip, int> node = ReachNode(options.signer.node);
  if (!node) return node.error();
  if (!options.signer.json) {
    std::printf("paper resident %s is resident %s on the ledger\n", options.reference.c_str(),
                proto::ToHex(proto::PaperResidentId(node->chain, options.reference)).c_str());
  }
  return SignAndSend(options.signer, proto::TxKind::kRegisterPaperResident, *payload);
}

int RunRevoke(const TxOptions& options) {
  if (options.resident.empty() == options.reference.empty()) {
    return Fail("name the resident with exactly one of --resident ID or --reference REF (a paper resident)", kExitUsage);
  }
  proto::Result<proto::ResidentId> resident = proto::FixedFromHex<proto::ResidentId>(options.resident);
  if (!options.reference.empty()) {
    tl::expected<NodeAtTip, int> node = ReachNode(options.signer.node);
    if (!node) return node.error();
    resident = proto::PaperResidentId(node->chain, options.reference);
  }
  if (!resident) return Fail("--resident must be a resident id, 64 hex digits", kExitUsage);
  proto::Result<proto::Bytes> payload = proto::Encode(proto::RevokeResident{*resident, options.reason});
  if (!payload) return Fail("cannot revoke: " + payload.error().message, kExitUsage);
  return SignAndSend(options.signer, proto::TxKind::kRevokeResident, *payload);
}

// The ballot of --approve / --points, checked against the round as the node describes it
// (GET /v1/rounds/ID) before anything is signed. On refusal, the message says what is wrong.
proto::Result<proto::Ballot> CheckedBallot(const TxOptions& options, const json& round) {
  const auto refuse = [](const std::string& why) { return proto::Fail(proto::ErrorCode::kInvalidArgument, why); };
  const std::string round_name = "round " + std::to_string(options.round);
  if (round.value("phase", std::string()) != "voting") {
    return refuse(round_name + " is in its " + round.value("phase", std::string("?")) + " phase, not voting");
  }
  const json& rules = round.at("ballot");
  const std::string type = rules.value("type", std::string());
  std::map<std::uint32_t, std::uint32_t> choices;  // project -> points
  if (type == "cumulative") {
    if (options.points.empty()) return refuse("this round takes points: use --points PROJECT=POINTS,...");
    for (const std::string& entry : options.points) {
      const std::size_t eq = entry.find('=');
      std::uint64_t project = 0, points = 0;
      if (eq == std::string::npos || !(std::istringstream(entry.substr(0, eq)) >> project) ||
          !(std::istringstream(entry.substr(eq + 1)) >> points) || project > UINT32_MAX || points == 0 || points > UINT32_MAX) {
        return refuse("--points takes PROJECT=POINTS with whole numbers above 0, got \"" + entry + "\"");
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
  for (const json& proposal : round.at("proposals")) proposals.emplace(proposal.at("id").get<std::uint32_t>(), proposal);
  std::uint64_t cost = 0, points_total = 0;
  const std::uint64_t per_project = rules.value("points_per_project_max", std::uint64_t{0});
  for (const auto& [project, points] : choices) {
    const auto found = proposals.find(project);
    if (found == proposals.end()) return refuse(round_name + " has no project " + std::to_string(project));
    if (found->second.value("review", std::string()) != "feasible") {
      return refuse("project " + std::to_string(project) + " is not on the ballot (" +
                    found->second.value("review", std::string()) + ": " + found->second.value("review_reason", std::string()) + ")");
    }
    cost += found->second.value("cost", std::uint64_t{0});
    points_total += points;
    if (type == "cumulative" && points > per_project) {
      return refuse("at most " + std::to_string(per_project) + " points per project; project " + std::to_string(project) +
                    " has " + std::to_string(points));
    }
  }
  const std::uint64_t min = rules.value("min_choices", std::uint64_t{0});
  const std::uint64_t max = rules.value("max_choices", std::uint64_t{0});
  if (choices.size() < min || choices.size() > max) {
    return refuse("this round takes " + std::to_string(min) + " to " + std::to_string(max) + " projects, not " +
                  std::to_string(choices.size()));
  }
  const std::uint64_t points_max = rules.value("points_total_max", std::uint64_t{0});
  if (type == "cumulative" && points_total > points_max) {
    return refuse("at most " + std::to_string(points_max) + " points in all, this ballot gives " + std::to_string(points_total));
  }
  const std::uint64_t budget = round.value("total_budget", std::uint64_t{0});
  if (type == "knapsack" && cost > budget) {
    return refuse("the chosen projects cost " + std::to_string(cost) + ", more than the budget of " + std::to_string(budget));
  }
  proto::Ballot ballot{options.round, {}};
  for (const auto& [project, points] : choices) ballot.choices.push_back({project, points});  // std::map: ascending
  return ballot;
}

std::string BallotSummary(const proto::Ballot& ballot) {
  std::string text = "ballot for round " + std::to_string(ballot.round_id) + ":";
  for (const proto::BallotChoice& choice : ballot.choices) {
    text += " project " + std::to_string(choice.project_id);
    if (choice.points != 1) text += "=" + std::to_string(choice.points) + " points";
    text += ",";
  }
  text.pop_back();
  return text;
}

std::optional<json> FetchRound(const NodeClient& node, std::uint64_t round_id, std::string& error) {
  return GetOk(node, "/v1/rounds/" + std::to_string(round_id), error, "round " + std::to_string(round_id));
}

// vote --out FILE: no node needed. The round comes from a file that `civic-wallet round
// --out` saved (with the chain id and the height it was saved at); the signed ballot goes to
// FILE and FILE.txt, for anyone to send later with `civic-wallet submit`.
int RunVoteOffline(const TxOptions& options) {
  if (options.round_file.empty()) {
    return Fail("--out signs without a node, so it needs the round's rules: --round-file FILE (saved by civic-wallet round "
                "--round N --out FILE while online, or given by the clerk's office)",
                kExitUsage);
  }
  proto::Result<std::string> text = node::ReadFileBounded(options.round_file, 4 * 1024 * 1024, "round file");
  if (!text) return Fail(text.error().message, kExitBadInput);
  json round = json::parse(*text, nullptr, false);
  if (!round.is_object() || !round.contains("ballot") || !round.contains("proposals") || !round.contains("chain_id") ||
      !round.contains("saved_at_height") || round.value("id", std::uint64_t{0}) != options.round) {
    return Fail(options.round_file + " is not round " + std::to_string(options.round) +
                    " as civic-wallet round --out saves it (it needs id, chain_id, saved_at_height, ballot, proposals)",
                kExitBadInput);
  }
  proto::Result<proto::ChainId> chain = proto::ChainId::Parse(round.value("chain_id", std::string()));
  if (!chain) return Fail(options.round_file + " names no valid chain", kExitBadInput);
  // Signed now, sent later: the phase in the file is the one at saving time, so a round saved
  // before its voting opened can still be voted on. Only a round whose voting had already
  // ended when it was saved is refused here; the ledger decides the rest when it arrives.
  if (round.value("phase", std::string()) != "closed" && round.value("phase", std::string()) != "voting-ended") {
    round["phase"] = "voting";
  }
  proto::Result<proto::Ballot> ballot = CheckedBallot(options, round);
  if (!ballot) return Fail("not signed: " + ballot.error().message, kExitInvalid);
  std::uint64_t valid_until = round.value("saved_at_height", std::uint64_t{0}) + kOfflineValidityBlocks;
  if (round.at("phases").value("basis", std::string()) == "height") {
    valid_until = std::min(valid_until, round.at("phases").value("voting_end", valid_until));
  }
  proto::Result<proto::SchnorrKeyPair> key = UnlockSigner(options.signer);
  if (!key) return Fail(key.error().message, kExitBadInput);
  proto::Result<proto::Tx> tx = SignNow(*key, *chain, proto::TxKind::kCastBallot, proto::Encode(*ballot).value(), valid_until);
  if (!tx) return Fail("cannot sign: " + tx.error().message, kExitBadInput);
  if (proto::Result<void> saved = SaveSigned(options.out, *tx, BallotSummary(*ballot)); !saved) {
    return Fail(saved.error().message, kExitBadInput);
  }
  const std::string id = proto::ToHex(proto::TxId(*tx).value());
  if (options.signer.json) {
    std::printf("%s\n", json{{"id", id}, {"file", options.out}, {"text", options.out + ".txt"}, {"valid_until_height", valid_until}}.dump().c_str());
  } else {
    std::printf("signed %s (%s) into %s and %s.txt; anyone can send it later with: civic-wallet submit %s --node URL\n",
                id.c_str(), BallotSummary(*ballot).c_str(), options.out.c_str(), options.out.c_str(), options.out.c_str());
  }
  return kExitOk;
}

int RunVote(const TxOptions& options) {
  if (!options.out.empty()) return RunVoteOffline(options);
  proto::Result<NodeClient> node = NodeClient::Parse(options.signer.node);
  if (!node) return Fail(node.error().message, kExitUsage);
  std::string error;
  const std::optional<json> round = FetchRound(*node, options.round, error);
  if (!round) return Fail(error, kExitBadInput);
  proto::Result<proto::Ballot> ballot = CheckedBallot(options, *round);
  if (!ballot) return Fail("not signed: " + ballot.error().message, kExitInvalid);
  return SignAndSend(options.signer, proto::TxKind::kCastBallot, proto::Encode(*ballot).value());
}

// A clerk enters a paper ballot for a resident (by key, or a paper resident by reference).
int RunAssistedBallot(const TxOptions& options) {
  if (options.resident.empty() == options.reference.empty()) {
    return Fail("name the resident with exactly one of --resident KEY or --reference REF (a paper resident)", kExitUsage);
  }
  tl::expected<NodeAtTip, int> node = ReachNode(options.signer.node);
  if (!node) return node.error();
  const proto::ChainId& chain = node->chain;
  proto::ResidentId resident;
  if (!options.resident.empty()) {
    proto::Result<proto::SchnorrPublicKey> key = ParseResidentKey(options.resident);
    if (!key) return Fail("--resident: " + key.error().message, kExitUsage);
    resident = proto::ResidentIdOfKey(*key);
  } else {
    resident = proto::PaperResidentId(chain, options.reference);
  }
  std::string error;
  const std::optional<json> round = FetchRound(node->client, options.round, error);
  if (!round) return Fail(error, kExitBadInput);
  proto::Result<proto::Ballot> ballot = CheckedBallot(options, *round);
  if (!ballot) return Fail("not signed: " + ballot.error().message, kExitInvalid);
  proto::Result<proto::Bytes> payload = proto::Encode(proto::AssistedBallot{resident, options.paper_ballot, *ballot});
  if (!payload) return Fail("not signed: " + payload.error().message, kExitUsage);
  return SignAndSend(options.signer, proto::TxKind::kAssistedBallot, *payload);
}

// submit FILE: sends a transaction someone signed earlier (vote --out), exactly as signed.
int RunSubmit(const TxOptions& options) {
  proto::Result<proto::Tx> tx = LoadSigned(options.file);
  // A file that cannot be read or parsed is bad input; one whose signature or id does not
  // check out is a transaction that was changed.
  if (!tx) {
    const bool changed = tx.error().code == proto::ErrorCode::kBadSignature || tx.error().code == proto::ErrorCode::kBadProof;
    return Fail(tx.error().message, changed ? kExitInvalid : kExitBadInput);
  }
  proto::Result<NodeClient> node = NodeClient::Parse(options.signer.node);
  if (!node) return Fail(node.error().message, kExitUsage);
  return SendAndWait(options.signer, *node, *tx);
}

int RunReceipt(const TxOptions& options) {
  proto::Result<NodeClient> node = NodeClient::Parse(options.signer.node);
  if (!node) return Fail(node.error().message, kExitUsage);
  if (!proto::FixedFromHex<proto::Hash32>(options.tx_id)) return Fail("--tx must be a transaction id, 64 hex digits", kExitUsage);
  proto::Result<NodeReply> reply = node->Get("/v1/txs/" + options.tx_id + "/receipt", kReceiptBytesMax);
  if (!reply) return Fail(reply.error().message, kExitBadInput);
  if (reply->status != 200) return Fail("no receipt: " + ErrorText(json::parse(reply->body, nullptr, false)), kExitBadInput);
  // Written beside its final name, then renamed: a crash never leaves half a receipt.
  if (proto::Result<void> saved = WriteFileAtomically(options.out, reply->body); !saved) {
    return Fail(saved.error().message, kExitBadInput);
  }
  if (options.signer.json) {
    std::printf("%s\n", json{{"receipt", options.out}}.dump().c_str());
  } else {
    std::printf("saved the receipt of %s to %s; check it any time with: civic-wallet verify-receipt %s --genesis "
                "GENESIS.json\n",
                options.tx_id.c_str(), options.out.c_str(), options.out.c_str());
  }
  return kExitOk;
}

void AddBallotOptions(CLI::App* command, TxOptions& options) {
  command->add_option("--round", options.round, "The round id")->required();
  command->add_option("--approve", options.approve, "Projects approved (approval and knapsack rounds), e.g. 1,4")
      ->delimiter(',');
  command->add_option("--points", options.points, "PROJECT=POINTS pairs (cumulative rounds), e.g. 1=3,4=2")
      ->delimiter(',');
}

template <class Run>
std::shared_ptr<TxOptions> Add(CLI::App& app, int& exit_code, const char* name, const char* help, Run run,
                               CLI::App** command_out, bool signer = true) {
  auto options = std::make_shared<TxOptions>();
  CLI::App* command = app.add_subcommand(name, help);
  if (signer) AddSignerOptions(command, options->signer);
  command->callback([options, &exit_code, run] { exit_code = run(*options); });
  *command_out = command;
  return options;
}

}  // namespace

void AddTxCommands(CLI::App& app, int& exit_code) {
  CLI::App* command = nullptr;

  auto reg = Add(app, exit_code, "register",
                 "Clerks: put a resident on the voter roll of their districts, or a whole CSV of them (--csv).",
                 [](const TxOptions& o) {
                   if (!o.csv.empty()) return RunRegisterBatch(o);
                   if (o.resident.empty() || o.districts.empty()) {
                     return Fail("register needs --resident KEY --district N, or --csv FILE", kExitUsage);
                   }
                   return RunRegisterOne(o);
                 },
                 &command);
  CLI::Option* resident = command->add_option("--resident", reg->resident, "The resident's public key (64 hex digits)");
  CLI::Option* district = command->add_option("--district", reg->districts, "A district id (repeat, or 1,2)")->delimiter(',');
  CLI::Option* csv = command->add_option("--csv", reg->csv, "A file of lines KEY,DISTRICT[;DISTRICT...] (header optional)")
                         ->type_name("FILE");
  csv->excludes(resident)->excludes(district);
  command->add_option("--expires-at-height", reg->expires_at_height, "The registration ends before this height (default never)");

  auto paper = Add(app, exit_code, "register-paper",
                   "Clerks: put a resident without a key on the roll, by the office's reference (for assisted ballots).",
                   RunRegisterPaper, &command);
  command->add_option("--reference", paper->reference, "The office's reference for this person (never a name)")->required();
  command->add_option("--district", paper->districts, "A district id (repeat, or 1,2)")->required()->delimiter(',');
  command->add_option("--expires-at-height", paper->expires_at_height, "The registration ends before this height (default never)");

  auto revoke = Add(app, exit_code, "revoke", "Clerks: take a resident off the roll, with a reason kept on the ledger.",
                    RunRevoke, &command);
  command->add_option("--resident", revoke->resident, "The resident id (64 hex digits: her public key)");
  command->add_option("--reference", revoke->reference, "Or: a paper resident's office reference");
  command->add_option("--reason", revoke->reason, "Why (stored on the ledger)")->required();

  auto vote = Add(app, exit_code, "vote",
                  "Residents: cast (or change) your ballot; it is checked against the round's rules before it is signed. "
                  "With --out, sign it into a file that anyone can send later (civic-wallet submit).",
                  RunVote, &command);
  AddBallotOptions(command, *vote);
  command->add_option("--out", vote->out, "Sign without sending: write the ballot to FILE and FILE.txt")->type_name("FILE");
  command->add_option("--round-file", vote->round_file, "With --out: the round as civic-wallet round --out saved it")
      ->type_name("FILE");

  auto assisted = Add(app, exit_code, "assisted-ballot",
                      "Clerks: enter a resident's paper ballot, with the reference of where the paper is filed.",
                      RunAssistedBallot, &command);
  AddBallotOptions(command, *assisted);
  command->add_option("--resident", assisted->resident, "The resident's public key, if she has one");
  command->add_option("--reference", assisted->reference, "Or: the paper resident's reference (register-paper)");
  command->add_option("--paper-ballot", assisted->paper_ballot, "Where the paper ballot is filed, e.g. box-3/0042")->required();

  auto submit = Add(app, exit_code, "submit",
                    "Send a transaction that was signed earlier into a file (civic-wallet vote --out), exactly as signed.",
                    RunSubmit, &command, /*signer=*/false);
  command->add_option("file", submit->file, "The signed file, or its printable .txt form")->required()->type_name("FILE");
  command->add_option("--node", submit->signer.node, "The node to send to (default http://127.0.0.1:8700)")->type_name("URL");
  command->add_option("--wait", submit->signer.wait_seconds, "Seconds to wait for the block (default 60)");
  command->add_flag("--json", submit->signer.json, "Print {\"id\", \"status\", \"height\"}");
  command->footer(kExitCodesHelp);

  auto receipt = Add(app, exit_code, "receipt", "Fetch and save the receipt that proves a transaction is in the ledger.",
                     RunReceipt, &command, /*signer=*/false);
  AddReaderOptions(command, receipt->signer.node, receipt->signer.json);
  command->add_option("--tx", receipt->tx_id, "The transaction id")->required();
  command->add_option("--out", receipt->out, "Where to save it")->required()->type_name("FILE");
}

}  // namespace civic::wallet
