// civic-wallet tally: recompute a budget round's outcome from a Pabulib file, so that anyone
// can check what a city (or this network) published.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "civic/contracts/pabulib.h"
#include "civic/contracts/tally.h"
#include "civic/node/read_file.h"
#include "commands.h"

namespace civic::wallet {
namespace {

using contracts::OutcomeRule;

struct TallyOptions {
  std::string file;
  std::string rule;
  bool json = false;
};

constexpr const char* kRuleList = "greedy, greedy-points, mes, mes-add1, mes-approval, mes-approval-add1";

std::string_view Describe(OutcomeRule rule) {
  switch (rule) {
    case OutcomeRule::kGreedy: return "greedy by approvals";
    case OutcomeRule::kGreedyPoints: return "greedy by points";
    case OutcomeRule::kMesCost: return "Method of Equal Shares, cost utilities";
    case OutcomeRule::kMesCostAdd1: return "Method of Equal Shares, cost utilities, add1 completion";
    case OutcomeRule::kMesApprovalCount: return "Method of Equal Shares, approval-count utilities";
    case OutcomeRule::kMesApprovalCountAdd1: return "Method of Equal Shares, approval-count utilities, add1 completion";
  }
  return "unknown rule";
}

const char* Add1StopExplained(contracts::Add1Stop stop) {
  switch (stop) {
    case contracts::Add1Stop::kExhaustive: return "the outcome is exhaustive";
    case contracts::Add1Stop::kNextStepOverBudget: return "the next raise would have overspent the budget";
    case contracts::Add1Stop::kRaiseLimit: return "the raise limit was reached (see contracts/tally.h)";
    case contracts::Add1Stop::kNotApplicable: break;
  }
  return "not applicable";
}

bool IsAdd1(OutcomeRule rule) {
  return rule == OutcomeRule::kMesCostAdd1 || rule == OutcomeRule::kMesApprovalCountAdd1;
}


void PrintHuman(const TallyOptions& options, OutcomeRule rule, const contracts::PabulibInstance& instance,
                const contracts::PabulibTally& tally, const contracts::TallyResult& result) {
  const bool by_points = rule == OutcomeRule::kGreedyPoints;
  std::printf("%s: %.*s\n", options.file.c_str(), static_cast<int>(Describe(rule).size()), Describe(rule).data());
  std::printf("budget %llu, %zu voters, %zu projects, %s ballots\n\n", static_cast<unsigned long long>(tally.input.budget),
              tally.input.ballots.size(), tally.input.projects.size(),
              std::string(contracts::PabulibVoteTypeName(instance.vote_type)).c_str());
  std::size_t id_width = std::string_view("project").size();
  for (std::uint32_t j : result.funded_in_order) id_width = std::max(id_width, tally.project_ids[j].size());
  std::printf("funded, in the order chosen:\n");
  std::printf("  %4s  %-*s  %12s  %9s  %s\n", "#", static_cast<int>(id_width), "project", "cost",
              by_points ? "points" : "approvals", "name");
  for (std::size_t i = 0; i < result.funded_in_order.size(); ++i) {
    const std::uint32_t j = result.funded_in_order[i];
    const contracts::PabulibProject& project = instance.projects[tally.file_project[j]];
    std::printf("  %4zu  %-*s  %12llu  %9llu  %s\n", i + 1, static_cast<int>(id_width), project.id.c_str(),
                static_cast<unsigned long long>(project.cost),
                static_cast<unsigned long long>(by_points ? result.points[j] : result.approvals[j]),
                project.name.c_str());
  }
  if (result.funded_in_order.empty()) std::printf("  (none)\n");
  std::printf("\nspent %llu of %llu, %llu left\n", static_cast<unsigned long long>(result.spent),
              static_cast<unsigned long long>(tally.input.budget),
              static_cast<unsigned long long>(tally.input.budget - result.spent));
  if (contracts::IsEqualShares(rule) && !result.per_voter_budget.empty()) {
    std::printf("each voter started with %s\n", result.per_voter_budget.c_str());
  }
  if (IsAdd1(rule)) {
    std::printf("add1: %llu raises of one currency unit; stopped: %s\n",
                static_cast<unsigned long long>(result.add1_steps),
                Add1StopExplained(result.add1_stop));
  }
}

void PrintJson(const TallyOptions& options, OutcomeRule rule, const contracts::PabulibInstance& instance,
               const contracts::PabulibTally& tally, const contracts::TallyResult& result) {
  nlohmann::ordered_json out;
  out["file"] = options.file;
  out["rule"] = std::string(contracts::OutcomeRuleName(rule));
  out["budget"] = tally.input.budget;
  out["voters"] = tally.input.ballots.size();
  out["projects"] = tally.input.projects.size();
  std::vector<std::uint32_t> by_id = result.funded_in_order;
  std::sort(by_id.begin(), by_id.end());  // tally indices are in id order
  out["funded"] = nlohmann::ordered_json::array();
  for (std::uint32_t j : by_id) out["funded"].push_back(tally.project_ids[j]);
  out["selection_order"] = nlohmann::ordered_json::array();
  out["funded_projects"] = nlohmann::ordered_json::array();
  for (std::uint32_t j : result.funded_in_order) {
    const contracts::PabulibProject& project = instance.projects[tally.file_project[j]];
    out["selection_order"].push_back(project.id);
    out["funded_projects"].push_back({{"id", project.id},
                                      {"cost", project.cost},
                                      {"approvals", result.approvals[j]},
                                      {"points", result.points[j]},
                                      {"name", project.name}});
  }
  out["spent"] = result.spent;
  out["left"] = tally.input.budget - result.spent;
  if (contracts::IsEqualShares(rule)) out["per_voter_budget"] = result.per_voter_budget;
  if (IsAdd1(rule)) {
    out["add1_steps"] = result.add1_steps;
    out["add1_stop"] = std::string(contracts::Add1StopName(result.add1_stop));
  }
  std::printf("%s\n", out.dump(2).c_str());
}

int RunTally(const TallyOptions& options) {
  const std::optional<OutcomeRule> rule = contracts::OutcomeRuleFromName(options.rule);
  if (!rule) {  // the option's check already refused it; kept for safety
    std::fprintf(stderr, "civic-wallet tally: unknown rule '%s'; use one of %s\n", options.rule.c_str(), kRuleList);
    return kExitUsage;
  }
  const proto::Result<std::string> text =
      node::ReadFileBounded(options.file, contracts::kPabulibFileBytesMax, "cannot read the Pabulib file");
  if (!text) {
    std::fprintf(stderr, "civic-wallet tally: %s\n", text.error().message.c_str());
    return kExitBadInput;
  }
  const proto::Result<contracts::PabulibInstance> instance = contracts::ParsePabulib(*text);
  if (!instance) {
    std::fprintf(stderr, "civic-wallet tally: %s is not a valid Pabulib file: %s\n", options.file.c_str(),
                 instance.error().message.c_str());
    return kExitBadInput;
  }
  const proto::Result<contracts::PabulibTally> tally = contracts::ToTallyInput(*instance);
  if (!tally) {
    std::fprintf(stderr, "civic-wallet tally: %s: %s\n", options.file.c_str(), tally.error().message.c_str());
    return kExitBadInput;
  }
  const proto::Result<contracts::TallyResult> result = contracts::Tally(tally->input, *rule);
  if (!result) {
    std::fprintf(stderr, "civic-wallet tally: %s cannot be tallied with %s: %s\n", options.file.c_str(),
                 options.rule.c_str(), result.error().message.c_str());
    return kExitBadInput;
  }
  if (options.json) {
    PrintJson(options, *rule, *instance, *tally, *result);
  } else {
    PrintHuman(options, *rule, *instance, *tally, *result);
  }
  return kExitOk;
}

}  // namespace

void AddTallyCommand(CLI::App& app, int& exit_code) {
  auto options = std::make_shared<TallyOptions>();
  CLI::App* tally = app.add_subcommand(
      "tally", "Recompute a participatory budgeting outcome from a Pabulib (.pb) file, exactly (no rounding).");
  tally->add_option("file", options->file, "The Pabulib file (pabulib.org/format), UTF-8, at most 64 MiB")
      ->required()
      ->type_name("FILE.pb");
  const CLI::Validator known_rule(
      [](std::string& name) -> std::string {
        if (contracts::OutcomeRuleFromName(name)) return "";
        return "unknown rule '" + name + "'; use one of " + kRuleList;
      },
      "", "RULE");
  tally
      ->add_option("--rule", options->rule,
                   "The outcome rule:\n"
                   "  greedy             most approvals first, skip what does not fit\n"
                   "  greedy-points      the same by total points (cumulative or ordinal ballots)\n"
                   "  mes                Method of Equal Shares, cost utilities\n"
                   "  mes-add1           the same, with add1 completion\n"
                   "  mes-approval       Method of Equal Shares, approval-count utilities\n"
                   "  mes-approval-add1  the same, with add1 completion")
      ->required()
      ->type_name("RULE")
      ->check(known_rule);
  tally->add_flag("--json", options->json,
                  "Print one JSON object: funded (ids in id order), selection_order, funded_projects, spent, "
                  "left, budget, rule, and per_voter_budget, add1_steps, add1_stop for MES rules");
  tally->footer(
      std::string("Prints the funded projects in the order the rule chose them (id, cost, approvals or points, "
                  "name), the money spent and left, and for MES each voter's start money and add1's raises.\n") +
      kExitCodesHelp);
  tally->callback([options, &exit_code] { exit_code = RunTally(*options); });
}

}  // namespace civic::wallet
