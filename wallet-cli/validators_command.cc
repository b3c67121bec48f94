// civic-wallet validators show | propose | cosign | submit: clerks change who validates.
//
// One clerk proposes the whole new set (the live set with --add and --remove applied) into a
// change file and signs it; other clerks co-sign that file, each reading exactly what they
// sign; any clerk submits it once enough clerks signed (the genesis's clerk_threshold). The
// file is JSON: {"format", "chain_id", "change" (hex of the canonical ValidatorChange),
// "based_on" (the set it was proposed against: for people only, cosign compares with the
// live set), "cosignatures": [{"clerk", "signature"}]}.
// Nothing in it is trusted: every command decodes the change and checks every signature.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <sodium.h>

#include "civic/node/read_file.h"
#include "civic/proto/codec.h"
#include "civic/proto/payloads.h"
#include "commands.h"
#include "send.h"

namespace civic::wallet {
namespace {

using nlohmann::json;

constexpr std::string_view kChangeFormat = "civic-ledger validator change v1";
constexpr std::size_t kChangeFileBytesMax = 1024 * 1024;
constexpr std::uint64_t kChangeValidityBlocks = 10'000;

struct ValidatorOptions {
  SignerOptions signer;
  std::vector<std::string> add;     // KEY[:POWER]
  std::vector<std::string> remove;  // KEY
  std::string reason;
  std::string out;
  std::string file;
  std::uint64_t valid_for = kChangeValidityBlocks;
  bool yes = false;  // cosign: sign without asking
};

struct ChangeFile {
  proto::ChainId chain;
  proto::ValidatorChange change;
  proto::ValidatorSet based_on;
  std::vector<proto::ClerkSignature> cosignatures;  // ascending by clerk, each checked
};

json SetJson(const proto::ValidatorSet& set) {
  json out = json::array();
  for (const proto::Validator& v : set.validators) out.push_back({{"ed25519", proto::ToHex(v.key)}, {"power", v.power}});
  return out;
}

proto::Result<proto::ValidatorSet> SetFromJson(const json& list) {
  const auto bad = [](const std::string& why) { return proto::Fail(proto::ErrorCode::kMalformed, why); };
  if (!list.is_array()) return bad("a validator set must be a list of {\"ed25519\", \"power\"}");
  proto::ValidatorSet set;
  for (const json& entry : list) {
    if (!entry.is_object() || !entry.contains("ed25519") || !entry["ed25519"].is_string() || !entry.contains("power") ||
        !entry["power"].is_number_unsigned()) {
      return bad("a validator must be {\"ed25519\": HEX, \"power\": N}");
    }
    proto::Result<proto::Validator> v = ParseValidatorKeyPower(entry["ed25519"].get<std::string>() + ":" +
                                                               std::to_string(entry["power"].get<std::uint64_t>()));
    if (!v) return bad("validator " + entry["ed25519"].get<std::string>() + ": " + v.error().message);
    set.validators.push_back(*v);
  }
  if (!proto::ValidatorSet::IsCanonical(set.validators)) return bad("a validator set needs 1 to 256 distinct validators in key order");
  return set;
}

// "+ KEY power P", "- KEY", "~ KEY power A -> B" for each difference, or "(no change)".
std::vector<std::string> Differences(const proto::ValidatorSet& before, const proto::ValidatorSet& after) {
  std::map<proto::Ed25519PublicKey, std::uint64_t> old_power, new_power;
  for (const proto::Validator& v : before.validators) old_power[v.key] = v.power;
  for (const proto::Validator& v : after.validators) new_power[v.key] = v.power;
  std::vector<std::string> out;
  for (const auto& [key, power] : new_power) {
    const auto found = old_power.find(key);
    if (found == old_power.end()) {
      out.push_back("+ " + proto::ToHex(key) + " power " + std::to_string(power) + " (added)");
    } else if (found->second != power) {
      out.push_back("~ " + proto::ToHex(key) + " power " + std::to_string(found->second) + " -> " + std::to_string(power));
    }
  }
  for (const auto& [key, power] : old_power) {
    if (!new_power.contains(key)) out.push_back("- " + proto::ToHex(key) + " power " + std::to_string(power) + " (removed)");
  }
  if (out.empty()) out.push_back("(no change)");
  return out;
}

// `live`: the network's latest set, read from a node just now.
void PrintChange(const ChangeFile& file, const proto::ValidatorSet& live) {
  std::printf("validator change %u on chain %s: \"%s\"\n", file.change.sequence, file.chain.str().c_str(),
              file.change.reason.c_str());
  std::printf("the clerks' signatures count in blocks up to height %llu\n",
              static_cast<unsigned long long>(file.change.valid_until_height));
  std::printf("against the network's validators now:\n");
  for (const std::string& line : Differences(live, file.change.validators)) std::printf("  %s\n", line.c_str());
  std::printf("the whole new set (%zu validators, voting power %llu):\n", file.change.validators.validators.size(),
              static_cast<unsigned long long>(file.change.validators.TotalPower()));
  for (const proto::Validator& v : file.change.validators.validators) {
    std::printf("  %s power %llu\n", proto::ToHex(v.key).c_str(), static_cast<unsigned long long>(v.power));
  }
  std::printf("signed by %zu clerk(s):\n", file.cosignatures.size());
  for (const proto::ClerkSignature& s : file.cosignatures) std::printf("  %s\n", proto::ToHex(s.clerk).c_str());
}

proto::Result<void> SaveChange(const std::string& path, const ChangeFile& file) {
  proto::Result<proto::Bytes> change = proto::Encode(file.change);
  if (!change) return tl::unexpected(change.error());
  json cosignatures = json::array();
  for (const proto::ClerkSignature& s : file.cosignatures) {
    cosignatures.push_back({{"clerk", proto::ToHex(s.clerk)}, {"signature", proto::ToHex(s.signature)}});
  }
  const json out = {{"format", kChangeFormat},
                    {"chain_id", file.chain.str()},
                    {"change", proto::ToHex(*change)},
                    {"sequence", file.change.sequence},
                    {"reason", file.change.reason},
                    {"valid_until_height", file.change.valid_until_height},
                    {"validators", SetJson(file.change.validators)},
                    {"based_on", SetJson(file.based_on)},
                    {"cosignatures", std::move(cosignatures)}};
  return WriteFileAtomically(path, out.dump(2) + "\n");
}

// Reads a change file back. The readable fields beside "change" are for people; what counts
// is the decoded change, and every co-signature must verify for it on its chain.
proto::Result<ChangeFile> LoadChange(const std::string& path) {
  proto::Result<std::string> text = node::ReadFileBounded(path, kChangeFileBytesMax, "validator change file");
  if (!text) return tl::unexpected(text.error());
  const auto bad = [&](const std::string& why) {
    return proto::Fail(proto::ErrorCode::kMalformed, path + " is not a validator change file: " + why);
  };
  const json in = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (in.is_discarded() || !in.is_object()) return bad("not JSON");
  const auto text_of = [&](const char* field) {
    return in.contains(field) && in[field].is_string() ? in[field].get<std::string>() : std::string();
  };
  if (text_of("format") != kChangeFormat) return bad("its format is not \"" + std::string(kChangeFormat) + "\"");
  ChangeFile file;
  proto::Result<proto::ChainId> chain = proto::ChainId::Parse(text_of("chain_id"));
  if (!chain) return bad("chain_id: " + chain.error().message);
  file.chain = *chain;
  proto::Result<proto::Bytes> bytes = proto::FromHex(text_of("change"));
  if (!bytes) return bad("change: " + bytes.error().message);
  proto::Result<proto::ValidatorChange> change = proto::Decode<proto::ValidatorChange>(*bytes);
  if (!change) return bad("the change does not decode: " + proto::ToString(change.error()));
  file.change = std::move(*change);
  proto::Result<proto::ValidatorSet> based_on = SetFromJson(in.contains("based_on") ? in["based_on"] : json());
  if (!based_on) return bad("based_on: " + based_on.error().message);
  file.based_on = std::move(*based_on);
  proto::Result<proto::Hash32> digest = proto::ValidatorChangeDigest(file.chain, file.change);
  if (!digest) return tl::unexpected(digest.error());
  const json cosignatures = in.contains("cosignatures") ? in["cosignatures"] : json();
  if (!cosignatures.is_array() || cosignatures.size() > proto::kCosignaturesMax) return bad("cosignatures must be a list");
  for (const json& entry : cosignatures) {
    const bool shaped = entry.is_object() && entry.contains("clerk") && entry["clerk"].is_string() &&
                        entry.contains("signature") && entry["signature"].is_string();
    if (!shaped) return bad("a co-signature must be {\"clerk\": HEX, \"signature\": HEX}");
    proto::Result<proto::SchnorrPublicKey> clerk =
        proto::FixedFromHex<proto::SchnorrPublicKey>(entry["clerk"].get<std::string>());
    proto::Result<proto::SchnorrSignature> signature =
        proto::FixedFromHex<proto::SchnorrSignature>(entry["signature"].get<std::string>());
    if (!clerk || !signature) return bad("a co-signature's clerk or signature is not hex of the right length");
    const proto::ClerkSignature cosignature{*clerk, *signature};
    if (!proto::VerifyCosignature(*digest, cosignature)) {
      return proto::Fail(proto::ErrorCode::kBadSignature,
                         path + ": the co-signature of " + proto::ToHex(*clerk) +
                             " does not verify for this change; the file was altered or mixes two changes");
    }
    file.cosignatures.push_back(cosignature);
  }
  std::sort(file.cosignatures.begin(), file.cosignatures.end(),
            [](const proto::ClerkSignature& a, const proto::ClerkSignature& b) { return a.clerk < b.clerk; });
  if (!proto::ChangeValidators::IsCanonical(file.cosignatures)) return bad("a clerk signed twice");
  return file;
}

proto::Secret32 FreshAux() {
  proto::Secret32 aux{};
  randombytes_buf(aux.data(), aux.size());
  return aux;
}

int FailLoad(const proto::Error& error) {
  return Fail(error.message, error.code == proto::ErrorCode::kBadSignature ? kExitInvalid : kExitBadInput);
}

// The node's /v1/validators.
tl::expected<std::pair<NodeAtTip, json>, int> ReadValidators(const std::string& url) {
  tl::expected<NodeAtTip, int> node = ReachNode(url);
  if (!node) return tl::unexpected(node.error());
  std::string error;
  std::optional<json> validators = GetOk(node->client, "/v1/validators", error, "the validator set");
  if (!validators) return tl::unexpected(Fail(error, kExitBadInput));
  return std::make_pair(std::move(*node), std::move(*validators));
}

// The set the next change replaces, and its number, as the node's state says.
struct Latest {
  proto::ValidatorSet set;
  std::uint32_t next_sequence = 0;
  std::uint64_t threshold = 0;
};
tl::expected<Latest, int> LatestOf(const json& validators) {
  proto::Result<proto::ValidatorSet> set = SetFromJson(validators.at("latest").at("validators"));
  if (!set) return tl::unexpected(Fail("the node's validator set: " + set.error().message, kExitBadInput));
  return Latest{std::move(*set), validators.at("next_change_sequence").get<std::uint32_t>(),
                validators.at("clerk_threshold").get<std::uint64_t>()};
}

int RunShow(const std::string& url, bool as_json) {
  auto read = ReadValidators(url);
  if (!read) return read.error();
  const json& v = read->second;
  if (as_json) {
    std::printf("%s\n", v.dump(2).c_str());
    return kExitOk;
  }
  std::printf("validators for block %llu (voting power %llu):\n",
              static_cast<unsigned long long>(v.at("height").get<std::uint64_t>() + 1),
              static_cast<unsigned long long>(v.at("total_power").get<std::uint64_t>()));
  for (const json& one : v.at("validators")) {
    std::printf("  %s power %llu %s\n", one.at("ed25519").get<std::string>().c_str(),
                static_cast<unsigned long long>(one.at("power").get<std::uint64_t>()), one.value("name", "").c_str());
  }
  if (!v.at("pending").is_null()) {
    std::printf("changing at height %llu to %zu validators\n",
                static_cast<unsigned long long>(v.at("pending").at("effective_from_height").get<std::uint64_t>()),
                v.at("pending").at("validators").size());
  }
  for (const json& change : v.at("changes")) {
    std::printf("change %llu at block %llu, effective from %llu, signed by %zu clerk(s): %s\n",
                static_cast<unsigned long long>(change.at("sequence").get<std::uint64_t>()),
                static_cast<unsigned long long>(change.at("decided_at_height").get<std::uint64_t>()),
                static_cast<unsigned long long>(change.at("effective_from_height").get<std::uint64_t>()),
                change.at("signed_by").size(), change.at("reason").get<std::string>().c_str());
  }
  std::printf("a change needs %llu clerk signature(s); the next is change %llu\n",
              static_cast<unsigned long long>(v.at("clerk_threshold").get<std::uint64_t>()),
              static_cast<unsigned long long>(v.at("next_change_sequence").get<std::uint64_t>()));
  return kExitOk;
}

int RunPropose(const ValidatorOptions& options) {
  if (options.add.empty() && options.remove.empty()) {
    return Fail("say what changes: --add KEY[:POWER] and/or --remove KEY", kExitUsage);
  }
  if (options.reason.empty() || options.reason.size() > proto::kReasonBytesMax) {
    return Fail("--reason must say why, in 1 to 1000 bytes; it is stored on the ledger", kExitUsage);
  }
  if (options.valid_for == 0 || options.valid_for > 1'000'000) return Fail("--valid-for is 1 to 1000000 blocks", kExitUsage);
  auto read = ReadValidators(options.signer.node);
  if (!read) return read.error();
  auto& [node, live] = *read;
  // A change builds on the set the last change made (in effect or still on its way).
  tl::expected<Latest, int> latest = LatestOf(live);
  if (!latest) return latest.error();
  const proto::ValidatorSet* based_on = &latest->set;
  std::map<proto::Ed25519PublicKey, std::uint64_t> next;
  for (const proto::Validator& v : based_on->validators) next[v.key] = v.power;
  for (const std::string& text : options.remove) {
    proto::Result<proto::Validator> v = ParseValidatorKeyPower(text);
    if (!v || text.find(':') != std::string::npos) return Fail("--remove takes a validator's key (64 hex digits)", kExitUsage);
    if (next.erase(v->key) == 0) return Fail("--remove " + text + ": not a validator now; nothing was written", kExitUsage);
  }
  for (const std::string& text : options.add) {
    proto::Result<proto::Validator> v = ParseValidatorKeyPower(text);
    if (!v) return Fail("--add " + text + ": " + v.error().message, kExitUsage);
    next[v->key] = v->power;  // a validator already in the set gets the new power
  }
  if (next.empty()) return Fail("the change would leave no validator; nothing was written", kExitUsage);
  ChangeFile file{node.chain, {}, *based_on, {}};
  file.change.sequence = latest->next_sequence;
  for (const auto& [key, power] : next) file.change.validators.validators.push_back({key, power});
  file.change.reason = options.reason;
  file.change.valid_until_height = node.height + options.valid_for;
  if (file.change.validators == *based_on) return Fail("the change changes nothing; nothing was written", kExitUsage);
  proto::Result<proto::SchnorrKeyPair> key = UnlockSigner(options.signer);
  if (!key) return Fail(key.error().message, kExitBadInput);
  proto::Result<proto::ClerkSignature> own = proto::CosignValidatorChange(file.chain, file.change, *key, FreshAux());
  if (!own) return Fail("cannot sign the change: " + own.error().message, kExitBadInput);
  file.cosignatures.push_back(*own);
  if (proto::Result<void> saved = SaveChange(options.out, file); !saved) return Fail(saved.error().message, kExitBadInput);
  PrintChange(file, *based_on);
  std::printf("written to %s. Next: %llu clerk(s) in all sign it (civic-wallet validators cosign %s), then one "
              "submits it (civic-wallet validators submit %s) before height %llu\n",
              options.out.c_str(), static_cast<unsigned long long>(latest->threshold),
              options.out.c_str(), options.out.c_str(), static_cast<unsigned long long>(file.change.valid_until_height));
  return kExitOk;
}

// A clerk signs only what she has read, compared with the network's set as a node shows it
// now (never with what the file says it was based on), and only a change that can still
// take effect: the next in sequence, its signatures not lapsed.
int RunCosign(const ValidatorOptions& options) {
  proto::Result<ChangeFile> file = LoadChange(options.file);
  if (!file) return FailLoad(file.error());
  auto read = ReadValidators(options.signer.node);
  if (!read) return read.error();
  const auto& [node, live] = *read;
  if (node.chain != file->chain) {
    return Fail("the change is for chain " + file->chain.str() + ", the node runs " + node.chain.str(), kExitInvalid);
  }
  tl::expected<Latest, int> latest = LatestOf(live);
  if (!latest) return latest.error();
  if (file->change.sequence != latest->next_sequence) {
    return Fail("this is validator change " + std::to_string(file->change.sequence) + " but the network's next is " +
                    std::to_string(latest->next_sequence) +
                    ": it was made already, or another change came first; propose it again on the current set",
                kExitInvalid);
  }
  if (node.height >= file->change.valid_until_height) {
    return Fail("the change's signatures count up to height " + std::to_string(file->change.valid_until_height) +
                    " and the chain is at " + std::to_string(node.height) + ": propose it again",
                kExitInvalid);
  }
  proto::Result<proto::SchnorrKeyPair> key = UnlockSigner(options.signer);
  if (!key) return Fail(key.error().message, kExitBadInput);
  PrintChange(*file, latest->set);
  if (std::any_of(file->cosignatures.begin(), file->cosignatures.end(),
                  [&](const proto::ClerkSignature& s) { return s.clerk == key->public_key(); })) {
    std::printf("you had signed it already; the file is unchanged\n");
    return kExitOk;
  }
  if (!options.yes) {
    if (::isatty(STDIN_FILENO) == 0) {
      return Fail("read the change above, then run again with --yes to sign it (no terminal to ask on)", kExitUsage);
    }
    std::printf("Sign validator change %u as printed above? [y/N] ", file->change.sequence);
    std::fflush(stdout);
    std::string answer;
    if (!std::getline(std::cin, answer) || (answer != "y" && answer != "yes")) {
      std::printf("not signed; the file is unchanged\n");
      return kExitOk;
    }
  }
  proto::Result<proto::ClerkSignature> own =
      proto::CosignValidatorChange(file->chain, file->change, *key, FreshAux());
  if (!own) return Fail("cannot sign the change: " + own.error().message, kExitBadInput);
  file->cosignatures.push_back(*own);
  std::sort(file->cosignatures.begin(), file->cosignatures.end(),
            [](const proto::ClerkSignature& a, const proto::ClerkSignature& b) { return a.clerk < b.clerk; });
  if (proto::Result<void> saved = SaveChange(options.file, *file); !saved) return Fail(saved.error().message, kExitBadInput);
  std::printf("your signature is added to %s (%zu of the %llu clerks needed have signed)\n", options.file.c_str(),
              file->cosignatures.size(), static_cast<unsigned long long>(latest->threshold));
  return kExitOk;
}

int RunSubmit(const ValidatorOptions& options) {
  proto::Result<ChangeFile> file = LoadChange(options.file);
  if (!file) return FailLoad(file.error());
  tl::expected<NodeAtTip, int> node = ReachNode(options.signer.node);
  if (!node) return node.error();
  if (node->chain != file->chain) {
    return Fail("the change is for chain " + file->chain.str() + ", the node runs " + node->chain.str(), kExitBadInput);
  }
  if (node->height >= file->change.valid_until_height) {
    return Fail("the clerks signed this change for blocks up to height " + std::to_string(file->change.valid_until_height) +
                    " and the chain is at " + std::to_string(node->height) + ": propose it again",
                kExitInvalid);
  }
  proto::Result<proto::SchnorrKeyPair> key = UnlockSigner(options.signer);
  if (!key) return Fail(key.error().message, kExitBadInput);
  proto::Result<proto::Bytes> payload = proto::Encode(proto::ChangeValidators{file->change, file->cosignatures});
  if (!payload) return Fail("the change does not encode: " + payload.error().message, kExitBadInput);
  proto::Result<proto::Tx> tx = SignNow(*key, node->chain, proto::TxKind::kChangeValidators, *payload,
                                        std::min(file->change.valid_until_height, node->height + kValidityBlocks));
  if (!tx) return Fail("cannot sign: " + tx.error().message, kExitBadInput);
  return SendAndWait(options.signer, node->client, *tx);
}

}  // namespace

void AddValidatorCommands(CLI::App& app, int& exit_code) {
  CLI::App* validators = app.add_subcommand(
      "validators", "Clerks: see who validates, and change it with the signatures of enough clerks");
  validators->require_subcommand(1);
  validators->footer(kExitCodesHelp);
  auto options = std::make_shared<ValidatorOptions>();
  auto show_json = std::make_shared<bool>(false);

  CLI::App* show = validators->add_subcommand("show", "The validators now, any change on its way, and every change so far");
  AddReaderOptions(show, options->signer.node, *show_json);
  show->callback([options, show_json, &exit_code] { exit_code = RunShow(options->signer.node, *show_json); });

  CLI::App* propose = validators->add_subcommand(
      "propose", "Write a change of the live set into a file, signed by you, for other clerks to co-sign");
  AddSignerOptions(propose, options->signer);
  propose->add_option("--add", options->add, "KEY[:POWER]: a validator to add, or a new power for one (repeat)");
  propose->add_option("--remove", options->remove, "KEY: a validator to remove (repeat)");
  propose->add_option("--reason", options->reason, "Why, stored on the ledger")->required();
  propose->add_option("--out", options->out, "The change file to write")->required()->type_name("FILE");
  propose->add_option("--valid-for", options->valid_for, "Blocks the signatures stay good for (default 10000)");
  propose->callback([options, &exit_code] { exit_code = RunPropose(*options); });

  CLI::App* cosign = validators->add_subcommand("cosign", "Read a change file, then add your signature to it");
  cosign->add_option("file", options->file, "The change file")->required()->type_name("FILE");
  AddSignerOptions(cosign, options->signer);
  cosign->add_flag("--yes", options->yes, "Sign without asking (for scripts; the change is printed all the same)");
  cosign->callback([options, &exit_code] { exit_code = RunCosign(*options); });

  CLI::App* submit = validators->add_subcommand("submit", "Send a change file that enough clerks signed");
  submit->add_option("file", options->file, "The change file")->required()->type_name("FILE");
  AddSignerOptions(submit, options->signer);
  submit->callback([options, &exit_code] { exit_code = RunSubmit(*options); });
}

}  // namespace civic::wallet
