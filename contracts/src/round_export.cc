#include "civic/contracts/round_export.h"

#include <algorithm>
#include <map>
#include <string>

#include "civic/contracts/tally.h"
#include "civic/proto/bytes.h"

namespace civic::contracts {
namespace {

// The META `rule` as pabulib.org spells the rules it knows.
std::string PabulibRule(OutcomeRule rule) {
  switch (rule) {
    case OutcomeRule::kGreedy:
    case OutcomeRule::kGreedyPoints: return "greedy";
    case OutcomeRule::kMesCost: return "equalshares";
    case OutcomeRule::kMesCostAdd1: return "equalshares/add1";
    // Pabulib's "equalshares" means cost utilities; these have no standard name.
    case OutcomeRule::kMesApprovalCount:
    case OutcomeRule::kMesApprovalCountAdd1: break;
  }
  return std::string(OutcomeRuleName(rule));
}

}  // namespace

proto::Result<PabulibInstance> RoundAsPabulib(const BudgetContracts& contracts, const KvView& state, std::uint64_t round_id,
                                              std::optional<std::uint32_t> district,
                                              const std::vector<std::pair<std::string, std::string>>& extra_meta) {
  const auto fail = [](const std::string& why) { return proto::Fail(proto::ErrorCode::kInvalidArgument, why); };
  const auto corrupt = [](const Rejection& r) { return proto::Fail(proto::ErrorCode::kIo, r.message); };
  Result<std::optional<RoundRecord>> round = contracts.Round(state, round_id);
  if (!round) return corrupt(round.error());
  if (!round->has_value()) return fail("there is no round " + std::to_string(round_id));
  Result<std::optional<TallyRecord>> tally = contracts.Tally(state, round_id);
  if (!tally) return corrupt(tally.error());
  if (!(*round)->closed || !tally->has_value()) {
    return fail("round " + std::to_string(round_id) + " is not closed; a round is exported with its tally, once a clerk closes it");
  }
  const std::vector<UnitResult>& units = (*tally)->units;
  std::string unit_list;
  for (const UnitResult& unit : units) unit_list += (unit_list.empty() ? "" : ", ") + std::to_string(unit.district);
  if (!district && units.size() != 1) {
    return fail("round " + std::to_string(round_id) + " is tallied per district; choose one with --district (units: " +
                unit_list + "; 0 is the city-wide pool)");
  }
  const auto unit = std::find_if(units.begin(), units.end(), [&](const UnitResult& u) {
    return !district || u.district == *district;
  });
  if (unit == units.end()) {
    return fail("round " + std::to_string(round_id) + " has no unit " + std::to_string(*district) + " (units: " + unit_list + ")");
  }
  Result<std::vector<std::pair<std::uint32_t, ProposalRecord>>> proposals =
      contracts.Proposals(state, round_id);
  if (!proposals) return corrupt(proposals.error());
  Result<std::vector<std::pair<proto::ResidentId, BallotRecord>>> ballots =
      contracts.Ballots(state, round_id);
  if (!ballots) return corrupt(ballots.error());

  const proto::Constitution& constitution = (*round)->constitution;
  const bool cumulative = constitution.ballot_type == proto::BallotType::kCumulative;
  const auto rule = static_cast<OutcomeRule>((*tally)->outcome_rule);
  PabulibInstance out;
  out.budget = unit->budget;
  out.vote_type = cumulative ? PabulibVoteType::kCumulative : PabulibVoteType::kApproval;
  out.meta = {{"description", constitution.title},
              {"unit", contracts.chain_id().str()},
              {"instance", "round " + std::to_string(round_id)},
              {"subunit", unit->district == 0 ? std::string("city-wide") : "district " + std::to_string(unit->district)},
              {"rule", PabulibRule(rule)},
              {"civic_ledger_rule", std::string(OutcomeRuleName(rule))},
              {"civic_ledger_closed_at_height", std::to_string((*tally)->closed_at_height)}};
  out.meta.insert(out.meta.end(), extra_meta.begin(), extra_meta.end());
  if (units.size() == 1) {
    // The ballot rules hold for the whole ballot, so only when the file holds whole ballots.
    out.min_length = constitution.min_choices;
    out.max_length = constitution.max_choices;
    if (cumulative) out.max_sum_points = constitution.points_total_max;
  }

  std::map<std::uint32_t, std::uint32_t> index;  // proposal id -> project index
  std::map<std::uint32_t, const ProposalRecord*> records;
  for (const auto& [id, record] : *proposals) records.emplace(id, &record);
  for (const ProjectSupport& support : unit->support) {
    const auto record = records.find(support.proposal_id);
    if (record == records.end()) return fail("the tally names proposal " + std::to_string(support.proposal_id) + " that is not stored");
    PabulibProject project;
    project.id = std::to_string(support.proposal_id);
    project.cost = record->second->cost;
    project.name = record->second->proposal.title;
    project.votes = support.approvals;
    project.selected = std::count(unit->funded_in_order.begin(), unit->funded_in_order.end(), support.proposal_id) != 0 ? 1 : 0;
    index.emplace(support.proposal_id, static_cast<std::uint32_t>(out.projects.size()));
    out.projects.push_back(std::move(project));
  }
  for (const auto& [resident, ballot] : *ballots) {
    // Only the ballots the close counted: they are the ones with a spending record.
    Result<std::optional<VoterSpending>> spent = contracts.Spending(state, round_id, resident);
    if (!spent) return corrupt(spent.error());
    if (!spent->has_value()) continue;
    PabulibVote vote;
    vote.voter_id = proto::ToHex(resident);
    for (const proto::BallotChoice& choice : ballot.choices) {
      const auto found = index.find(choice.project_id);
      if (found == index.end()) continue;
      vote.projects.push_back(found->second);
      if (cumulative) vote.points.push_back(choice.points);
    }
    if (!vote.projects.empty()) out.votes.push_back(std::move(vote));
  }
  return out;
}

}  // namespace civic::contracts
