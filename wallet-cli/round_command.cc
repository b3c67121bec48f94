// civic-wallet's budget-round commands. Everyone: rounds, round (show, or save for offline
// voting), results (--explain: how the rule spent one resident's share), status (a
// resident's registration and ballots). Residents: propose. Clerks: open-round (from a TOML
// or JSON file), review, close-round.
#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include <nlohmann/json.hpp>
#include <toml++/toml.h>

#include "civic/contracts/tally.h"
#include "civic/node/read_file.h"
#include "civic/proto/codec.h"
#include "civic/proto/hash.h"
#include "civic/proto/payloads.h"
#include "civic/wallet/keystore.h"
#include "commands.h"
#include "send.h"

namespace civic::wallet {
namespace {

using nlohmann::json;

constexpr std::size_t kRoundFileBytesMax = 64 * 1024;
constexpr std::size_t kDescriptionBytesMax = 16 * 1024 * 1024;
constexpr std::size_t kStatusRoundsMax = 100;

struct RoundOptions {
  SignerOptions signer;
  std::uint64_t round = 0;
  std::string file;
  std::string out;
  // propose
  std::string title;
  std::uint64_t cost = 0;
  std::uint32_t district = 0;
  std::string description;
  std::string description_file;
  // review
  std::uint32_t proposal = 0;
  bool feasible = false;
  bool infeasible = false;
  std::string reason;
  std::uint64_t adjusted_cost = 0;
  // results, status
  bool explain = false;
  std::string resident;
};

// ---- open-round: the round file ----------------------------------------------------------

std::optional<std::uint64_t> UnsignedOf(const json& value) {
  if (value.is_number_unsigned()) return value.get<std::uint64_t>();
  if (value.is_number_integer() && value.get<std::int64_t>() >= 0) return static_cast<std::uint64_t>(value.get<std::int64_t>());
  return std::nullopt;
}

// A phase limit: an absolute height or Unix time in milliseconds, or "+N" relative to the
// next block: N blocks for a height round; N followed by s, m, h or d from now for a time
// round.
proto::Result<std::uint64_t> PhaseLimit(const json& value, const std::string& name, bool by_height,
                                        std::uint64_t next_height, std::uint64_t now_ms) {
  const auto bad = [&](const std::string& why) {
    return proto::Fail(proto::ErrorCode::kInvalidArgument, "phases." + name + ": " + why);
  };
  if (std::optional<std::uint64_t> absolute = UnsignedOf(value)) return *absolute;
  if (!value.is_string()) return bad("a whole number or a relative \"+N\" string");
  const std::string text = value.get<std::string>();
  if (text.size() < 2 || text.front() != '+') return bad("\"" + text + "\" is neither a number nor \"+N\"");
  std::string digits = text.substr(1);
  std::uint64_t unit = 1;
  if (!by_height) {
    const char suffix = digits.back();
    unit = suffix == 's' ? 1000 : suffix == 'm' ? 60'000 : suffix == 'h' ? 3'600'000 : suffix == 'd' ? 86'400'000 : 0;
    if (unit == 0) return bad("a time round takes \"+N\" with s, m, h or d, e.g. \"+10m\"; got \"" + text + "\"");
    digits.pop_back();
  }
  std::uint64_t amount = 0;
  std::istringstream in(digits);
  // At most 2^32 units (136 years in seconds), so that amount * unit cannot overflow.
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
      !(in >> amount) || amount > (std::uint64_t{1} << 32)) {
    return bad("\"" + text + "\" is not \"+N\" with a whole N");
  }
  return (by_height ? next_height : now_ms) + amount * unit;
}

// The constitution a round file describes. The file is TOML (or JSON, with the same keys):
//
//   round = 1
//   title = "Parks and streets 2027"
//   total_budget = 250000
//   ballot = "approval"            # approval | knapsack | cumulative
//   min_choices = 1
//   max_choices = 5
//   points_total_max = 0           # cumulative only
//   points_per_project_max = 0     # cumulative only
//   outcome_rule = "mes-add1"      # civic-wallet tally --help lists the rules
//   [phases]
//   basis = "height"               # or "time" (Unix milliseconds)
//   proposals_start = "+1"         # absolute, or relative to the next block
//   review_start = "+100"
//   voting_start = "+200"
//   voting_end = "+400"
//   [[district_budgets]]           # optional
//   district = 1
//   budget = 100000
proto::Result<proto::Constitution> ReadRoundFile(const std::string& path, std::uint64_t next_height, std::uint64_t now_ms) {
  proto::Result<std::string> text = node::ReadFileBounded(path, kRoundFileBytesMax, "round file");
  if (!text) return tl::unexpected(text.error());
  json file = json::parse(*text, nullptr, /*allow_exceptions=*/false);
  if (file.is_discarded()) {
    const auto describe = [&](const toml::parse_error& error) {
      return proto::Fail(proto::ErrorCode::kMalformed, path + " line " + std::to_string(error.source().begin.line) + ": " +
                                                           std::string(error.description()) + " (the file is TOML or JSON)");
    };
    toml::table table;
#if TOML_EXCEPTIONS
    try {
      table = toml::parse(*text, path);
    } catch (const toml::parse_error& error) {
      return describe(error);
    }
#else
    toml::parse_result parsed = toml::parse(*text, path);
    if (!parsed) return describe(parsed.error());
    table = std::move(parsed).table();
#endif
    // One reader for both forms: the TOML table as JSON.
    std::ostringstream as_json;
    as_json << toml::json_formatter{table};
    file = json::parse(as_json.str(), nullptr, false);
  }
  const auto bad = [&](const std::string& why) { return proto::Fail(proto::ErrorCode::kInvalidArgument, path + ": " + why); };
  if (!file.is_object()) return bad("expected a table of round settings");
  static const std::vector<std::string> kKeys = {"round", "title", "total_budget", "ballot", "min_choices", "max_choices",
                                                 "points_total_max", "points_per_project_max", "outcome_rule", "phases",
                                                 "district_budgets"};
  for (const auto& [key, value] : file.items()) {
    if (std::find(kKeys.begin(), kKeys.end(), key) == kKeys.end()) return bad("unknown setting \"" + key + "\"");
  }
  const auto number = [&](const char* key, bool required) -> proto::Result<std::uint64_t> {
    if (!file.contains(key)) {
      if (required) return bad("\"" + std::string(key) + "\" is missing");
      return 0;
    }
    std::optional<std::uint64_t> value = UnsignedOf(file[key]);
    if (!value) return bad("\"" + std::string(key) + "\" must be a whole number");
    return *value;
  };
  proto::Constitution c;
  proto::Result<std::uint64_t> value = number("round", true);
  if (!value) return tl::unexpected(value.error());
  c.round_id = *value;
  if (!file.contains("title") || !file.at("title").is_string()) return bad("\"title\" is missing (a string)");
  c.title = file.at("title").get<std::string>();
  if (!(value = number("total_budget", true))) return tl::unexpected(value.error());
  c.total_budget = *value;
  const std::string ballot = file.value("ballot", std::string());
  if (ballot == "approval") c.ballot_type = proto::BallotType::kApproval;
  else if (ballot == "knapsack") c.ballot_type = proto::BallotType::kKnapsack;
  else if (ballot == "cumulative") c.ballot_type = proto::BallotType::kCumulative;
  else return bad("\"ballot\" must be \"approval\", \"knapsack\" or \"cumulative\"");
  const auto small = [&](const char* key, bool required, std::uint32_t& out) -> proto::Result<void> {
    proto::Result<std::uint64_t> v = number(key, required);
    if (!v) return tl::unexpected(v.error());
    if (*v > UINT32_MAX) return bad("\"" + std::string(key) + "\" is too large");
    out = static_cast<std::uint32_t>(*v);
    return {};
  };
  for (auto [key, required, field] : {std::tuple{"min_choices", true, &c.min_choices}, std::tuple{"max_choices", true, &c.max_choices},
                                      std::tuple{"points_total_max", false, &c.points_total_max},
                                      std::tuple{"points_per_project_max", false, &c.points_per_project_max}}) {
    if (proto::Result<void> read = small(key, required, *field); !read) return tl::unexpected(read.error());
  }
  const std::optional<contracts::OutcomeRule> rule = contracts::OutcomeRuleFromName(file.value("outcome_rule", std::string()));
  if (!rule) return bad("\"outcome_rule\" must name a rule, e.g. \"greedy\" or \"mes-add1\" (civic-wallet tally --help lists them)");
  c.outcome_rule = static_cast<std::uint8_t>(*rule);
  if (!file.contains("phases") || !file.at("phases").is_object()) return bad("the [phases] table is missing");
  const json& phases = file.at("phases");
  const std::string basis = phases.value("basis", std::string());
  if (basis != "height" && basis != "time") return bad("phases.basis must be \"height\" or \"time\"");
  c.phase_basis = basis == "height" ? proto::PhaseBasis::kHeight : proto::PhaseBasis::kTimeUnixMs;
  for (const auto& [key, v] : phases.items()) {
    if (key != "basis" && key != "proposals_start" && key != "review_start" && key != "voting_start" && key != "voting_end") {
      return bad("unknown setting phases." + key);
    }
  }
  for (auto [key, field] : {std::pair{"proposals_start", &c.proposals_start}, std::pair{"review_start", &c.review_start},
                            std::pair{"voting_start", &c.voting_start}, std::pair{"voting_end", &c.voting_end}}) {
    if (!phases.contains(key)) return bad("phases." + std::string(key) + " is missing");
    proto::Result<std::uint64_t> limit = PhaseLimit(phases[key], key, basis == "height", next_height, now_ms);
    if (!limit) return bad(limit.error().message);
    *field = *limit;
  }
  if (file.contains("district_budgets")) {
    if (!file.at("district_budgets").is_array()) return bad("district_budgets must be a list of {district, budget}");
    for (const json& entry : file.at("district_budgets")) {
      const bool shaped = entry.is_object() && entry.size() == 2 && entry.contains("district") && entry.contains("budget") &&
                          UnsignedOf(entry.at("district")).has_value() && UnsignedOf(entry.at("budget")).has_value();
      const std::uint64_t district = shaped ? UnsignedOf(entry.at("district")).value_or(0) : 0;
      if (district == 0 || district > UINT32_MAX) {
        return bad("each district_budgets entry is {district = N (from 1), budget = N}");
      }
      c.district_budgets.push_back({static_cast<std::uint32_t>(district), UnsignedOf(entry.at("budget")).value_or(0)});
    }
    std::sort(c.district_budgets.begin(), c.district_budgets.end(),
              [](const proto::DistrictBudget& a, const proto::DistrictBudget& b) { return a.district < b.district; });
  }
  if (proto::Result<void> checked = c.Check(); !checked) return bad(checked.error().message);
  return c;
}

int RunOpenRound(const RoundOptions& options) {
  tl::expected<NodeAtTip, int> node = ReachNode(options.signer.node);
  if (!node) return node.error();
  const std::uint64_t now_ms = static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
  proto::Result<proto::Constitution> constitution =
      ReadRoundFile(options.file, node->height + 1, now_ms);
  if (!constitution) return Fail(constitution.error().message, kExitBadInput);
  if (!options.signer.json) {
    const bool by_height = constitution->phase_basis == proto::PhaseBasis::kHeight;
    std::printf("round %llu \"%s\": proposals from %s %llu, review from %llu, voting from %llu to %llu\n",
                static_cast<unsigned long long>(constitution->round_id), constitution->title.c_str(),
                by_height ? "height" : "Unix ms", static_cast<unsigned long long>(constitution->proposals_start),
                static_cast<unsigned long long>(constitution->review_start),
                static_cast<unsigned long long>(constitution->voting_start),
                static_cast<unsigned long long>(constitution->voting_end));
  }
  return SignAndSend(options.signer, proto::TxKind::kOpenRound, proto::Encode(proto::OpenRound{*constitution}).value());
}

// ---- propose, review, close-round --------------------------------------------------------

int RunPropose(const RoundOptions& options) {
  std::string description = options.description;
  if (!options.description_file.empty()) {
    proto::Result<std::string> text = node::ReadFileBounded(options.description_file, kDescriptionBytesMax, "description file");
    if (!text) return Fail(text.error().message, kExitBadInput);
    description = std::move(*text);
  }
  if (description.empty()) {
    return Fail("a proposal needs its full description: --description TEXT or --description-file FILE (only its SHA-256 "
                "goes on the ledger)",
                kExitUsage);
  }
  const proto::SubmitProposal proposal{options.round, options.title, proto::Sha256(proto::AsBytes(description)), options.cost,
                                       options.district};
  proto::Result<proto::Bytes> payload = proto::Encode(proposal);
  if (!payload) return Fail("cannot propose: " + payload.error().message, kExitUsage);
  if (!options.signer.json) {
    std::printf("description digest (SHA-256) %s\n", proto::ToHex(proposal.description_digest).c_str());
  }
  return SignAndSend(options.signer, proto::TxKind::kSubmitProposal, *payload);
}

int RunReview(const RoundOptions& options) {
  if (options.feasible == options.infeasible) return Fail("say --feasible or --infeasible (one of them)", kExitUsage);
  proto::ReviewProposal review{options.round, options.proposal, options.feasible, options.reason, std::nullopt};
  if (options.adjusted_cost != 0) review.adjusted_cost = options.adjusted_cost;
  proto::Result<proto::Bytes> payload = proto::Encode(review);
  if (!payload) return Fail("cannot review: " + payload.error().message, kExitUsage);
  return SignAndSend(options.signer, proto::TxKind::kReviewProposal, *payload);
}

int RunCloseRound(const RoundOptions& options) {
  return SignAndSend(options.signer, proto::TxKind::kCloseRound, proto::Encode(proto::CloseRound{options.round}).value());
}

// ---- rounds, round, results, status -----------------------------------------------------

int RunRounds(const RoundOptions& options) {
  proto::Result<NodeClient> node = NodeClient::Parse(options.signer.node);
  if (!node) return Fail(node.error().message, kExitUsage);
  std::string error;
  const std::optional<json> rounds = GetOk(*node, "/v1/rounds", error);
  if (!rounds) return Fail(error, kExitBadInput);
  if (options.signer.json) {
    std::printf("%s\n", rounds->dump().c_str());
    return kExitOk;
  }
  if ((*rounds).at("rounds").empty()) std::printf("no rounds yet\n");
  for (const json& round : (*rounds).at("rounds")) {
    std::printf("round %llu  %-12s  budget %llu  %u proposals  %s\n",
                static_cast<unsigned long long>(round.value("id", std::uint64_t{0})),
                round.value("phase", std::string()).c_str(),
                static_cast<unsigned long long>(round.value("total_budget", std::uint64_t{0})),
                round.value("proposals", 0u), round.value("title", std::string()).c_str());
  }
  return kExitOk;
}

std::map<std::uint32_t, json> ProposalsById(const json& round) {
  std::map<std::uint32_t, json> out;
  for (const json& proposal : round.at("proposals")) out.emplace(proposal.value("id", 0u), proposal);
  return out;
}

int RunRound(const RoundOptions& options) {
  tl::expected<NodeAtTip, int> node = ReachNode(options.signer.node);
  if (!node) return node.error();
  std::string error;
  std::optional<json> round = GetOk(node->client, "/v1/rounds/" + std::to_string(options.round), error);
  if (!round) return Fail(error, kExitBadInput);
  if (!options.out.empty()) {
    // What an offline ballot needs: the rules, the chain, and the height they were read at.
    (*round)["chain_id"] = node->chain.str();
    (*round)["saved_at_height"] = node->height;
    if (proto::Result<void> saved = WriteFileAtomically(options.out, round->dump(2) + "\n"); !saved) {
      return Fail(saved.error().message, kExitBadInput);
    }
  }
  if (options.signer.json) {
    std::printf("%s\n", round->dump().c_str());
    return kExitOk;
  }
  const json& ballot = (*round).at("ballot");
  std::printf("round %llu: %s\n  phase %s, budget %llu, ballot %s (%llu to %llu projects), rule %s\n",
              static_cast<unsigned long long>(options.round), round->value("title", std::string()).c_str(),
              round->value("phase", std::string()).c_str(),
              static_cast<unsigned long long>(round->value("total_budget", std::uint64_t{0})),
              ballot.value("type", std::string()).c_str(),
              static_cast<unsigned long long>(ballot.value("min_choices", std::uint64_t{0})),
              static_cast<unsigned long long>(ballot.value("max_choices", std::uint64_t{0})),
              round->value("outcome_rule", std::string()).c_str());
  for (const auto& [id, proposal] : ProposalsById(*round)) {
    std::printf("  %3u  %-40s  cost %-10llu district %-3u %s%s%s\n", id, proposal.value("title", std::string()).c_str(),
                static_cast<unsigned long long>(proposal.value("cost", std::uint64_t{0})), proposal.value("district", 0u),
                proposal.value("review", std::string()).c_str(), proposal.value("review_reason", std::string()).empty() ? "" : ": ",
                proposal.value("review_reason", std::string()).c_str());
  }
  if (!options.out.empty()) {
    std::printf("saved to %s; sign a ballot without a connection with: civic-wallet vote --key KEY --round %llu "
                "--approve ... --round-file %s --out ballot.json\n",
                options.out.c_str(), static_cast<unsigned long long>(options.round), options.out.c_str());
  }
  return kExitOk;
}

// The resident id of --resident, or of --key's keystore (no passphrase needed).
proto::Result<std::string> ResidentOf(const RoundOptions& options) {
  if (!options.resident.empty()) {
    if (!proto::FixedFromHex<proto::ResidentId>(options.resident)) {
      return proto::Fail(proto::ErrorCode::kInvalidArgument, "--resident must be 64 hex digits (civic-wallet whoami shows it)");
    }
    return options.resident;
  }
  if (options.signer.key.empty()) return proto::Fail(proto::ErrorCode::kInvalidArgument, "name the resident: --key FILE or --resident KEY");
  KeystoreResult<proto::SchnorrPublicKey> key = ReadPublicKey(options.signer.key);
  if (!key) return proto::Fail(proto::ErrorCode::kIo, key.error().message);
  return proto::ToHex(*key);
}

int RunResults(const RoundOptions& options) {
  proto::Result<NodeClient> node = NodeClient::Parse(options.signer.node);
  if (!node) return Fail(node.error().message, kExitUsage);
  std::string error;
  const std::optional<json> round = GetOk(*node, "/v1/rounds/" + std::to_string(options.round), error);
  if (!round) return Fail(error, kExitBadInput);
  if (!round->contains("tally")) {
    return Fail("round " + std::to_string(options.round) + " is in its " + round->value("phase", std::string()) +
                    " phase; results exist once a clerk closes it (civic-wallet close-round)",
                kExitInvalid);
  }
  const json& tally = (*round).at("tally");
  std::optional<json> mine;
  std::string resident;
  if (options.explain) {
    proto::Result<std::string> who = ResidentOf(options);
    if (!who) return Fail(who.error().message, who.error().code == proto::ErrorCode::kIo ? kExitBadInput : kExitUsage);
    resident = *who;
    unsigned status = 0;
    mine = GetJson(*node, "/v1/rounds/" + std::to_string(options.round) + "/ballots/" + resident, error, &status);
    if (!mine) return Fail(error, kExitBadInput);
    if (status == 404) {
      return Fail("resident " + resident + " cast no ballot in round " + std::to_string(options.round) +
                      ", so there is nothing to explain",
                  kExitInvalid);
    }
    if (status != 200) return Fail(ErrorText(*mine), kExitBadInput);
  }
  if (options.signer.json) {
    json out = {{"round", options.round}, {"title", (*round).at("title")}, {"tally", tally}, {"proposals", (*round).at("proposals")}};
    if (mine) out["explain"] = *mine;
    std::printf("%s\n", out.dump().c_str());
    return kExitOk;
  }
  const std::map<std::uint32_t, json> proposals = ProposalsById(*round);
  std::printf("round %llu: %s; closed at height %llu; %llu ballots counted; rule %s\n",
              static_cast<unsigned long long>(options.round), round->value("title", std::string()).c_str(),
              static_cast<unsigned long long>(tally.value("closed_at_height", std::uint64_t{0})),
              static_cast<unsigned long long>(tally.value("ballots", std::uint64_t{0})),
              tally.value("outcome_rule", std::string()).c_str());
  std::map<std::uint32_t, std::uint64_t> support;
  for (const json& unit : tally.at("units")) {
    for (const json& s : unit.at("support")) support[s.value("proposal", 0u)] = s.value("approvals", std::uint64_t{0});
  }
  for (const json& unit : tally.at("units")) {
    const std::uint32_t district = unit.value("district", 0u);
    std::printf("%s: budget %llu, spent %llu, %llu voters\n",
                district == 0 ? "city-wide" : ("district " + std::to_string(district)).c_str(),
                static_cast<unsigned long long>(unit.value("budget", std::uint64_t{0})),
                static_cast<unsigned long long>(unit.value("spent", std::uint64_t{0})),
                static_cast<unsigned long long>(unit.value("voters", std::uint64_t{0})));
    for (const json& funded : unit.at("funded_in_order")) {
      const std::uint32_t id = funded.get<std::uint32_t>();
      const auto found = proposals.find(id);
      std::printf("  funded %3u  %-40s  cost %-10llu %llu vote%s\n", id,
                  found == proposals.end() ? "?" : found->second.value("title", std::string()).c_str(),
                  static_cast<unsigned long long>(found == proposals.end() ? 0 : found->second.value("cost", std::uint64_t{0})),
                  static_cast<unsigned long long>(support[id]), support[id] == 1 ? "" : "s");
    }
  }
  if (mine) {
    std::set<std::uint32_t> funded;
    for (const json& unit : tally.at("units")) {
      for (const json& id : unit.at("funded_in_order")) funded.insert(id.get<std::uint32_t>());
    }
    const json& counted = mine->at("counted");
    if (mine->contains("void")) {
      std::printf("\nresident %s: the ballot %s did NOT count: %s\n", resident.c_str(), counted.value("tx", std::string()).c_str(),
                  mine->value("void", std::string()).c_str());
      return kExitOk;
    }
    std::printf("\nresident %s: the ballot that counts is %s (block %llu%s)\n", resident.c_str(),
                counted.value("tx", std::string()).c_str(),
                static_cast<unsigned long long>(counted.value("cast_at_height", std::uint64_t{0})),
                counted.contains("paper_ballot_reference") ? ", entered from a paper ballot" : "");
    for (const json& choice : counted.at("choices")) {
      const std::uint32_t id = choice.value("proposal", 0u);
      const auto found = proposals.find(id);
      std::printf("  %s %3u  %s\n", funded.count(id) != 0 ? "funded    " : "not funded", id,
                  found == proposals.end() ? "?" : found->second.value("title", std::string()).c_str());
    }
    if (!(*mine).at("replaced").empty()) {
      std::printf("  (it replaced %zu earlier ballot(s), kept on record)\n", (*mine).at("replaced").size());
    }
    if (mine->contains("spending")) {
      for (const json& entry : (*mine).at("spending")) {
        const std::uint32_t district = entry.value("district", 0u);
        std::string share;
        for (const json& unit : tally.at("units")) {
          if (unit.value("district", 0u) == district && !unit.value("per_voter_budget", std::string()).empty()) {
            share = " of an equal share of " + unit.value("per_voter_budget", std::string());
          }
        }
        std::printf("  the rule spent %s%s on your behalf in %s\n", entry.value("spent", std::string()).c_str(), share.c_str(),
                    district == 0 ? "the city-wide pool" : ("district " + std::to_string(district)).c_str());
      }
    }
  }
  return kExitOk;
}

int RunStatus(const RoundOptions& options) {
  proto::Result<std::string> who = ResidentOf(options);
  if (!who) return Fail(who.error().message, who.error().code == proto::ErrorCode::kIo ? kExitBadInput : kExitUsage);
  proto::Result<NodeClient> node = NodeClient::Parse(options.signer.node);
  if (!node) return Fail(node.error().message, kExitUsage);
  std::string error;
  unsigned status = 0;
  const std::optional<json> record = GetJson(*node, "/v1/residents/" + *who, error, &status);
  if (!record) return Fail(error, kExitBadInput);
  if (status != 200 && status != 404) return Fail(ErrorText(*record), kExitBadInput);
  const std::optional<json> rounds = GetOk(*node, "/v1/rounds", error);
  if (!rounds) return Fail(error, kExitBadInput);
  json ballots = json::array();
  const json& listed = rounds->at("rounds");
  // The latest rounds only: one request each, and a node may list many.
  const std::size_t first = listed.size() > kStatusRoundsMax ? listed.size() - kStatusRoundsMax : 0;
  for (std::size_t i = first; i < listed.size(); ++i) {
    const json& round = listed.at(i);
    const std::uint64_t id = round.value("id", std::uint64_t{0});
    unsigned ballot_status = 0;
    const std::optional<json> ballot = GetJson(*node, "/v1/rounds/" + std::to_string(id) + "/ballots/" + *who, error, &ballot_status);
    if (!ballot) return Fail(error, kExitBadInput);
    ballots.push_back({{"round", id},
                       {"title", round.value("title", std::string())},
                       {"phase", round.value("phase", std::string())},
                       {"ballot", ballot_status == 200 ? ballot->at("counted") : json(nullptr)},
                       {"void", ballot_status == 200 ? ballot->value("void", json(nullptr)) : json(nullptr)}});
  }
  if (options.signer.json) {
    std::printf("%s\n", json{{"resident", *who}, {"registration", status == 200 ? *record : json(nullptr)}, {"rounds", ballots}}
                            .dump()
                            .c_str());
    return kExitOk;
  }
  std::printf("resident %s\n", who->c_str());
  if (status == 404) {
    std::printf("  not on the voter roll; a clerk registers you with: civic-wallet register --resident %s --district N\n",
                who->c_str());
  } else {
    std::string districts;
    for (const json& d : (*record).at("districts")) districts += (districts.empty() ? "" : ", ") + std::to_string(d.get<std::uint32_t>());
    std::printf("  %s on the roll since block %llu, districts %s%s\n", record->value("status", std::string()).c_str(),
                static_cast<unsigned long long>(record->value("registered_at_height", std::uint64_t{0})), districts.c_str(),
                record->contains("revoke_reason") ? (" (revoked: " + record->value("revoke_reason", std::string()) + ")").c_str() : "");
  }
  for (const json& entry : ballots) {
    std::printf("  round %llu (%s, %s): %s\n", static_cast<unsigned long long>(entry.value("round", std::uint64_t{0})),
                entry.value("title", std::string()).c_str(), entry.value("phase", std::string()).c_str(),
                entry.at("ballot").is_null() ? "no ballot"
                : entry.at("void").is_string()
                    ? ("ballot " + entry.at("ballot").value("tx", std::string()) + " does NOT count: " + entry.at("void").get<std::string>()).c_str()
                    : ("ballot " + entry.at("ballot").value("tx", std::string()) + " counts").c_str());
  }
  return kExitOk;
}

template <class Run>
std::shared_ptr<RoundOptions> Add(CLI::App& app, int& exit_code, const char* name, const char* help, Run run,
                                  CLI::App** command_out, bool signer) {
  auto options = std::make_shared<RoundOptions>();
  CLI::App* command = app.add_subcommand(name, help);
  if (signer) {
    AddSignerOptions(command, options->signer);
  } else {
    AddReaderOptions(command, options->signer.node, options->signer.json);
  }
  command->callback([options, &exit_code, run] { exit_code = run(*options); });
  *command_out = command;
  return options;
}

}  // namespace

void AddRoundCommands(CLI::App& app, int& exit_code) {
  CLI::App* command = nullptr;
  Add(app, exit_code, "rounds", "List the budget rounds and their phases.", RunRounds, &command, false);

  auto round = Add(app, exit_code, "round",
                   "Show a round: phase, budget, ballot rules and proposals with their reviews. With --out, save it for "
                   "signing a ballot offline (civic-wallet vote --out).",
                   RunRound, &command, false);
  command->add_option("--round", round->round, "The round id")->required();
  command->add_option("--out", round->out, "Also save the round, with the chain id and height, to FILE")->type_name("FILE");

  auto open = Add(app, exit_code, "open-round",
                  "Clerks: open a round (or amend it before voting) from a TOML or JSON file of its budget, districts, "
                  "phases, ballot type and outcome rule.",
                  RunOpenRound, &command, true);
  command->add_option("--file", open->file, "The round file (see the example in the README)")->required()->type_name("FILE");

  auto propose = Add(app, exit_code, "propose", "Residents: propose a project during the round's proposals phase.", RunPropose,
                     &command, true);
  command->add_option("--round", propose->round, "The round id")->required();
  command->add_option("--title", propose->title, "A short title (at most 200 bytes)")->required();
  command->add_option("--cost", propose->cost, "What it costs, in the round's currency units")->required();
  command->add_option("--district", propose->district, "Its district (default 0: city-wide)");
  command->add_option("--description", propose->description, "The full description (only its SHA-256 goes on the ledger)");
  command->add_option("--description-file", propose->description_file, "Or: a file with the full description")->type_name("FILE");

  auto review = Add(app, exit_code, "review",
                    "Clerks: decide whether a proposal is feasible, with a reason kept on the ledger (review phase).",
                    RunReview, &command, true);
  command->add_option("--round", review->round, "The round id")->required();
  command->add_option("--proposal", review->proposal, "The proposal id")->required();
  command->add_flag("--feasible", review->feasible, "It goes on the ballot");
  command->add_flag("--infeasible", review->infeasible, "It does not");
  command->add_option("--reason", review->reason, "Why (stored on the ledger)")->required();
  command->add_option("--adjusted-cost", review->adjusted_cost, "With --feasible: the cost the tally will use");

  auto close = Add(app, exit_code, "close-round", "Clerks: close a round once its voting has ended; the tally is stored.",
                   RunCloseRound, &command, true);
  command->add_option("--round", close->round, "The round id")->required();

  auto results = Add(app, exit_code, "results",
                     "The outcome of a closed round: funded projects, costs and votes per district. --explain with --key or "
                     "--resident: which of that resident's projects were funded and what the rule spent on her behalf.",
                     RunResults, &command, false);
  command->add_option("--round", results->round, "The round id")->required();
  command->add_flag("--explain", results->explain, "Explain one resident's part (needs --key or --resident)");
  command->add_option("--key", results->signer.key, "The resident's keystore (no passphrase needed)")->type_name("FILE");
  command->add_option("--resident", results->resident, "Or: the resident's public key");

  auto status = Add(app, exit_code, "status",
                    "A resident's registration (districts, active, revoked) and her ballot in each round.", RunStatus,
                    &command, false);
  command->add_option("--key", status->signer.key, "The resident's keystore (no passphrase needed)")->type_name("FILE");
  command->add_option("--resident", status->resident, "Or: the resident's public key");
}

}  // namespace civic::wallet
