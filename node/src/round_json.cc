#include "civic/node/round_json.h"

#include <nlohmann/json.hpp>

#include "civic/contracts/tally.h"
#include "civic/node/clock.h"
#include "civic/proto/bytes.h"

namespace civic::node {
namespace {

using nlohmann::json;

tl::unexpected<proto::Error> Corrupt(const contracts::Rejection& rejection) {
  return proto::Fail(proto::ErrorCode::kIo, rejection.message);
}

std::string_view ReviewName(contracts::ReviewState review) {
  switch (review) {
    case contracts::ReviewState::kPending: return "pending";
    case contracts::ReviewState::kFeasible: return "feasible";
    case contracts::ReviewState::kInfeasible: return "infeasible";
  }
  return "unknown";
}

std::string_view BallotTypeName(proto::BallotType type) {
  switch (type) {
    case proto::BallotType::kApproval: return "approval";
    case proto::BallotType::kKnapsack: return "knapsack";
    case proto::BallotType::kCumulative: return "cumulative";
  }
  return "unknown";
}

std::string RuleName(std::uint8_t rule) {
  return std::string(contracts::OutcomeRuleName(static_cast<contracts::OutcomeRule>(rule)));
}

}  // namespace

// The phase the next block would see (as admission checks it), not the tip's: with no block
// since voting opened, a ballot sent now is still counted as cast in voting.
std::string RoundPhase(const contracts::RoundRecord& round, const Tip& tip) {
  if (round.closed) return "closed";
  return std::string(contracts::PhaseName(contracts::PhaseAt(round.constitution, NextBlockContext(tip, NowUnixMs()))));
}

proto::Result<std::optional<json>> RoundJson(const contracts::BudgetContracts& contracts, const contracts::KvView& state,
                                             std::uint64_t round_id, const Tip& tip) {
  contracts::Result<std::optional<contracts::RoundRecord>> round = contracts.Round(state, round_id);
  if (!round) return Corrupt(round.error());
  if (!round->has_value()) return std::nullopt;
  const proto::Constitution& constitution = (*round)->constitution;
  contracts::Result<std::vector<std::pair<std::uint32_t, contracts::ProposalRecord>>> proposals =
      contracts.Proposals(state, round_id);
  if (!proposals) return Corrupt(proposals.error());
  json proposals_json = json::array();
  for (const auto& [proposal_id, record] : *proposals) {
    proposals_json.push_back({{"id", proposal_id},
                              {"title", record.proposal.title},
                              {"district", record.proposal.district},
                              {"cost", record.cost},
                              {"proposed_cost", record.proposal.cost},
                              {"proposer", proto::ToHex(record.proposer)},
                              {"description_digest", proto::ToHex(record.proposal.description_digest)},
                              {"review", ReviewName(record.review)},
                              {"review_reason", record.review_reason}});
  }
  json district_budgets = json::array();
  for (const proto::DistrictBudget& budget : constitution.district_budgets) {
    district_budgets.push_back({{"district", budget.district}, {"budget", budget.budget}});
  }
  json result = {{"id", round_id},
                 {"title", constitution.title},
                 {"total_budget", constitution.total_budget},
                 {"phase", RoundPhase(**round, tip)},
                 {"district_budgets", std::move(district_budgets)},
                 {"phases",
                  {{"basis", constitution.phase_basis == proto::PhaseBasis::kHeight ? "height" : "time_unix_ms"},
                   {"proposals_start", constitution.proposals_start},
                   {"review_start", constitution.review_start},
                   {"voting_start", constitution.voting_start},
                   {"voting_end", constitution.voting_end}}},
                 {"ballot",
                  {{"type", BallotTypeName(constitution.ballot_type)},
                   {"min_choices", constitution.min_choices},
                   {"max_choices", constitution.max_choices},
                   {"points_total_max", constitution.points_total_max},
                   {"points_per_project_max", constitution.points_per_project_max}}},
                 {"outcome_rule", RuleName(constitution.outcome_rule)},
                 {"opened_at_height", (*round)->opened_at_height},
                 {"proposals", std::move(proposals_json)},
                 {"closed", (*round)->closed},
                 {"closed_at_height", (*round)->closed_at_height}};
  contracts::Result<std::optional<contracts::TallyRecord>> tally = contracts.Tally(state, round_id);
  if (!tally) return Corrupt(tally.error());
  if (tally->has_value()) {
    json units = json::array();
    for (const contracts::UnitResult& unit : (*tally)->units) {
      json support = json::array();
      for (const contracts::ProjectSupport& project : unit.support) {
        support.push_back({{"proposal", project.proposal_id}, {"approvals", project.approvals}, {"points", project.points}});
      }
      units.push_back({{"district", unit.district},
                       {"budget", unit.budget},
                       {"spent", unit.spent},
                       {"voters", unit.voters},
                       {"funded_in_order", unit.funded_in_order},
                       {"support", std::move(support)},
                       {"per_voter_budget", unit.per_voter_budget}});
    }
    json districts = json::array();
    for (const contracts::DistrictSummary& district : (*tally)->districts) {
      districts.push_back({{"district", district.district},
                           {"registered", district.registered},
                           {"ballots", district.ballots},
                           {"funded", district.funded}});
    }
    result["tally"] = {{"ballots", (*tally)->ballots},
                       {"outcome_rule", RuleName((*tally)->outcome_rule)},
                       {"closed_at_height", (*tally)->closed_at_height},
                       {"units", std::move(units)},
                       {"districts", std::move(districts)}};
  }
  return result;
}

json PabulibToJson(const contracts::PabulibInstance& instance) {
  json meta = json::object();
  for (const auto& [key, value] : instance.meta) meta[key] = value;
  meta["budget"] = instance.budget;
  meta["vote_type"] = std::string(contracts::PabulibVoteTypeName(instance.vote_type));
  json projects = json::array();
  for (const contracts::PabulibProject& p : instance.projects) {
    projects.push_back({{"project_id", p.id}, {"cost", p.cost}, {"name", p.name}, {"votes", p.votes.value_or(0)},
                        {"selected", p.selected.value_or(0)}});
  }
  json votes = json::array();
  for (const contracts::PabulibVote& v : instance.votes) {
    json ids = json::array();
    for (std::uint32_t p : v.projects) ids.push_back(instance.projects[p].id);
    json vote = {{"voter_id", v.voter_id}, {"vote", std::move(ids)}};
    if (!v.points.empty()) vote["points"] = v.points;
    votes.push_back(std::move(vote));
  }
  return json{{"meta", std::move(meta)}, {"projects", std::move(projects)}, {"votes", std::move(votes)}};
}

}  // namespace civic::node
