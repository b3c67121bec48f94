// The outcome rules: input checks, the two greedy rules, and MES with its add1 completion
// (the MES engine itself is tally_mes.cc).
#include "civic/contracts/tally.h"

#include <algorithm>
#include <array>
#include <map>
#include <numeric>
#include <utility>

#include "civic/proto/assert.h"
#include "tally_mes.h"

namespace civic::contracts {
namespace {

using detail::Int;
using detail::Rational;
using proto::ErrorCode;
using proto::Fail;
using proto::Result;

struct RuleName {
  OutcomeRule rule;
  std::string_view name;
};
constexpr std::array<RuleName, 6> kRuleNames = {{
    {OutcomeRule::kGreedy, "greedy"},
    {OutcomeRule::kGreedyPoints, "greedy-points"},
    {OutcomeRule::kMesCost, "mes"},
    {OutcomeRule::kMesCostAdd1, "mes-add1"},
    {OutcomeRule::kMesApprovalCount, "mes-approval"},
    {OutcomeRule::kMesApprovalCountAdd1, "mes-approval-add1"},
}};

std::string Number(std::uint64_t value) { return std::to_string(value); }

[[nodiscard]] Result<void> Validate(const TallyInput& input, OutcomeRule rule) {
  if (!IsKnownValue(rule)) {
    return Fail(ErrorCode::kInvalidArgument,
                "unknown outcome rule " + Number(static_cast<std::uint8_t>(rule)) + "; known rules are 1 to 6");
  }
  if (input.budget > kTallyBudgetMax) {
    return Fail(ErrorCode::kInvalidArgument,
                "budget " + Number(input.budget) + " is above the limit of " + Number(kTallyBudgetMax));
  }
  if (input.projects.size() > kTallyProjectsMax) {
    return Fail(ErrorCode::kInvalidArgument, Number(input.projects.size()) + " projects, at most " +
                                                 Number(kTallyProjectsMax) + " can be tallied at once");
  }
  if (input.ballots.size() > kTallyBallotsMax) {
    return Fail(ErrorCode::kInvalidArgument, Number(input.ballots.size()) + " ballots, at most " +
                                                 Number(kTallyBallotsMax) + " can be tallied at once");
  }
  for (std::size_t j = 0; j < input.projects.size(); ++j) {
    const std::uint64_t cost = input.projects[j].cost;
    if (cost == 0) {
      return Fail(ErrorCode::kInvalidArgument,
                  "project " + Number(j) + " has cost 0; every project must cost at least 1");
    }
    if (cost > kTallyBudgetMax) {
      return Fail(ErrorCode::kInvalidArgument, "project " + Number(j) + " costs " + Number(cost) +
                                                   ", above the limit of " + Number(kTallyBudgetMax));
    }
  }
  for (std::size_t b = 0; b < input.ballots.size(); ++b) {
    const TallyBallot& ballot = input.ballots[b];
    const std::string which = "ballot " + Number(b);
    for (std::size_t i = 0; i < ballot.projects.size(); ++i) {
      const std::uint32_t j = ballot.projects[i];
      if (j >= input.projects.size()) {
        return Fail(ErrorCode::kInvalidArgument, which + " names project " + Number(j) + ", but there are only " +
                                                     Number(input.projects.size()) + " projects");
      }
      if (i > 0 && j <= ballot.projects[i - 1]) {
        return Fail(ErrorCode::kInvalidArgument, which + " lists project " + Number(j) + " after project " +
                                                     Number(ballot.projects[i - 1]) +
                                                     "; project indices must be strictly ascending");
      }
    }
    if (!ballot.points.empty() && ballot.points.size() != ballot.projects.size()) {
      return Fail(ErrorCode::kInvalidArgument, which + " has " + Number(ballot.points.size()) + " points for " +
                                                   Number(ballot.projects.size()) +
                                                   " projects; give one entry per project, or none");
    }
    for (std::size_t i = 0; i < ballot.points.size(); ++i) {
      if (ballot.points[i] == 0) {
        return Fail(ErrorCode::kInvalidArgument, which + " gives 0 points to project " +
                                                     Number(ballot.projects[i]) +
                                                     "; points must be at least 1 (leave the project out instead)");
      }
    }
  }
  return {};
}

struct Support {
  std::vector<std::uint64_t> approvals;
  std::vector<std::uint64_t> points;
};

[[nodiscard]] Result<Support> CountSupport(const TallyInput& input) {
  Support support;
  support.approvals.assign(input.projects.size(), 0);
  support.points.assign(input.projects.size(), 0);
  for (const TallyBallot& ballot : input.ballots) {
    for (std::size_t i = 0; i < ballot.projects.size(); ++i) {
      const std::uint32_t j = ballot.projects[i];
      ++support.approvals[j];
      const std::uint64_t points = ballot.points.empty() ? 1 : ballot.points[i];
      if (__builtin_add_overflow(support.points[j], points, &support.points[j])) {
        return Fail(ErrorCode::kInvalidArgument,
                    "the points given to project " + Number(j) + " add up to more than 2^64 - 1");
      }
    }
  }
  return support;
}

// Projects by more support first, then lower cost, then lower index.
std::vector<std::uint32_t> RankBy(const std::vector<std::uint64_t>& support, const TallyInput& input) {
  std::vector<std::uint32_t> order(input.projects.size());
  std::iota(order.begin(), order.end(), std::uint32_t{0});
  std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    if (support[a] != support[b]) return support[a] > support[b];
    if (input.projects[a].cost != input.projects[b].cost) return input.projects[a].cost < input.projects[b].cost;
    return a < b;
  });
  return order;
}

// Greedy rules: each funded project's cost is shared among its supporters in proportion to
// their weight (1 each for kGreedy, points for kGreedyPoints).
std::vector<std::string> GreedyVoterSpent(const TallyInput& input, const std::vector<std::uint8_t>& funded,
                                          const std::vector<std::uint64_t>& total_weight, bool by_points,
                                          std::uint64_t spent) {
  struct Group {
    Rational paid;
    std::string text;
    std::uint64_t voters = 0;
  };
  std::map<std::vector<std::pair<std::uint32_t, std::uint64_t>>, Group> groups;
  std::vector<std::pair<std::uint32_t, std::uint64_t>> key;
  std::vector<std::string> out;
  out.reserve(input.ballots.size());
  for (const TallyBallot& ballot : input.ballots) {
    key.clear();
    for (std::size_t i = 0; i < ballot.projects.size(); ++i) {
      const std::uint32_t j = ballot.projects[i];
      if (funded[j] == 0) continue;
      key.emplace_back(j, by_points && !ballot.points.empty() ? ballot.points[i] : 1);
    }
    auto [it, added] = groups.try_emplace(key);
    Group& group = it->second;
    if (added) {
      for (const auto& [j, weight] : key) {
        group.paid += Rational(Int(input.projects[j].cost) * weight, Int(total_weight[j]));
      }
      group.text = group.paid.str();
    }
    ++group.voters;
    out.push_back(group.text);
  }
  Rational total = 0;
  for (const auto& [unused, group] : groups) total += group.paid * group.voters;
  CIVIC_ASSERT(total == spent);
  return out;
}

TallyResult Greedy(const TallyInput& input, Support support, OutcomeRule rule) {
  const bool by_points = rule == OutcomeRule::kGreedyPoints;
  const std::vector<std::uint64_t>& score = by_points ? support.points : support.approvals;
  TallyResult result;
  std::vector<std::uint8_t> funded(input.projects.size(), 0);
  std::uint64_t left = input.budget;
  for (std::uint32_t j : RankBy(score, input)) {
    if (score[j] == 0) break;  // ranked last: nobody asked for the rest
    if (input.projects[j].cost > left) continue;
    left -= input.projects[j].cost;
    funded[j] = 1;
    result.funded_in_order.push_back(j);
  }
  result.spent = input.budget - left;
  result.voter_spent = GreedyVoterSpent(input, funded, score, by_points, result.spent);
  result.approvals = std::move(support.approvals);
  result.points = std::move(support.points);
  return result;
}

[[nodiscard]] Result<TallyResult> Mes(const TallyInput& input, Support support, OutcomeRule rule) {
  const bool add1 = rule == OutcomeRule::kMesCostAdd1 || rule == OutcomeRule::kMesApprovalCountAdd1;
  const detail::MesUtility utility = rule == OutcomeRule::kMesCost || rule == OutcomeRule::kMesCostAdd1
                                         ? detail::MesUtility::kCost
                                         : detail::MesUtility::kApprovalCount;
  TallyResult result;
  if (add1) result.add1_stop = Add1Stop::kExhaustive;
  if (!input.ballots.empty()) {
    // Ties of effectiveness go to the kGreedy order.
    std::vector<std::uint32_t> tie_rank(input.projects.size());
    const std::vector<std::uint32_t> order = RankBy(support.approvals, input);
    for (std::uint32_t position = 0; position < order.size(); ++position) tie_rank[order[position]] = position;
    detail::MesEngine engine(input, utility, std::move(tie_rank));
    if (!add1) {
      engine.Run(0);
    } else {
      // add1: raise every voter's start money by one unit at a time until the outcome is
      // exhaustive; if a raise would overspend, keep the outcome before it; after
      // Add1RaisesMax raises, keep that raise's outcome (tally.h says why).
      const std::uint64_t raises_max = Add1RaisesMax(input);
      for (std::uint64_t raise = 0;; ++raise) {
        engine.Run(raise);
        if (engine.spent() > input.budget) {
          CIVIC_ASSERT(raise > 0);  // at budget / n each, the voters hold exactly the budget
          engine.Run(raise - 1);
          result.add1_stop = Add1Stop::kNextStepOverBudget;
          result.add1_steps = raise - 1;
          break;
        }
        if (engine.Exhaustive()) {
          result.add1_steps = raise;
          break;
        }
        if (raise == raises_max) {
          result.add1_stop = Add1Stop::kRaiseLimit;
          result.add1_steps = raise;
          break;
        }
      }
    }
    result.funded_in_order = engine.funded_in_order();
    result.spent = engine.spent();
    result.voter_spent = engine.VoterSpentTexts();
    result.per_voter_budget = engine.StartBudgetText();
  }
  result.approvals = std::move(support.approvals);
  result.points = std::move(support.points);
  return result;
}

}  // namespace

std::string_view Add1StopName(Add1Stop stop) {
  switch (stop) {
    case Add1Stop::kNotApplicable: return "not_applicable";
    case Add1Stop::kExhaustive: return "exhaustive";
    case Add1Stop::kNextStepOverBudget: return "next_step_over_budget";
    case Add1Stop::kRaiseLimit: return "raise_limit";
  }
  return "unknown";
}

std::uint64_t Add1RaisesMax(const TallyInput& input) {
  std::uint64_t approvals = 0;
  for (const TallyBallot& ballot : input.ballots) approvals += ballot.projects.size();  // <= 2^23 * 2^12
  return std::min(kTallyAdd1RaisesMax, kTallyAdd1ApprovalRaisesMax / std::max<std::uint64_t>(approvals, 1));
}

bool IsEqualShares(OutcomeRule rule) { return rule != OutcomeRule::kGreedy && rule != OutcomeRule::kGreedyPoints; }

bool IsKnownValue(OutcomeRule rule) {
  return std::any_of(kRuleNames.begin(), kRuleNames.end(), [rule](const RuleName& r) { return r.rule == rule; });
}

std::string_view OutcomeRuleName(OutcomeRule rule) {
  for (const RuleName& r : kRuleNames) {
    if (r.rule == rule) return r.name;
  }
  return "unknown";
}

std::optional<OutcomeRule> OutcomeRuleFromName(std::string_view name) {
  for (const RuleName& r : kRuleNames) {
    if (r.name == name) return r.rule;
  }
  return std::nullopt;
}

Result<TallyResult> Tally(const TallyInput& input, OutcomeRule rule) {
  if (Result<void> valid = Validate(input, rule); !valid) return tl::unexpected(valid.error());
  Result<Support> support = CountSupport(input);
  if (!support) return tl::unexpected(support.error());
  Result<TallyResult> result = IsEqualShares(rule) ? Mes(input, std::move(*support), rule)
                                                  : Result<TallyResult>(Greedy(input, std::move(*support), rule));
  if (result) {
    CIVIC_ASSERT(result->spent <= input.budget);
    CIVIC_ASSERT(result->voter_spent.size() == input.ballots.size());
    CIVIC_ASSERT(result->approvals.size() == input.projects.size());
  }
  return result;
}

}  // namespace civic::contracts
