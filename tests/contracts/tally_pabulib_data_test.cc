// Every real Pabulib instance in ../shared/data/pabulib, under every rule expected.json
// records: the funded sets, the order each rule picked them in, and add1's raises, start
// money and stop reason (README.md there defines the rules and the file).
#include <algorithm>
#include <filesystem>
#include <set>

#include "tally_test_util.h"

namespace civic::contracts {
namespace {

using testing::Expected;
using testing::ExpectedFileNames;
using testing::FundedIds;
using testing::LoadedInstance;
using testing::LoadPabulib;
using testing::SelectionOrder;
using testing::SumOf;

class RealInstance : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    loaded_ = LoadPabulib(GetParam());
    ASSERT_FALSE(loaded_.tally.project_ids.empty());
  }
  const nlohmann::json& expected() const { return Expected()[GetParam()]; }

  TallyResult Run(OutcomeRule rule) const {
    proto::Result<TallyResult> result = Tally(loaded_.tally.input, rule);
    EXPECT_TRUE(result.has_value()) << result.error().message;
    if (!result) return {};
    // Invariants every rule keeps.
    EXPECT_LE(result->spent, loaded_.tally.input.budget);
    EXPECT_EQ(result->voter_spent.size(), loaded_.tally.input.ballots.size());
    EXPECT_EQ(SumOf(result->voter_spent), result->spent);
    std::uint64_t cost = 0;
    for (std::uint32_t j : result->funded_in_order) cost += loaded_.tally.input.projects[j].cost;
    EXPECT_EQ(cost, result->spent);
    return *result;
  }

  // The funded set, and the selection order where expected.json gives one.
  void ExpectOutcome(const TallyResult& result, const std::string& key) const {
    EXPECT_EQ(FundedIds(loaded_.tally, result), expected()[key].get<std::vector<std::string>>()) << key;
    const nlohmann::json& orders = expected()["selection_order"];
    if (orders.contains(key)) {
      EXPECT_EQ(SelectionOrder(loaded_.tally, result), orders[key].get<std::vector<std::string>>()) << key;
    }
  }

  LoadedInstance loaded_;
};

TEST_P(RealInstance, FileAgreesWithExpectedJsonAndWithItsOwnCounts) {
  const PabulibInstance& instance = loaded_.instance;
  EXPECT_EQ(instance.budget, expected()["budget"].get<std::uint64_t>());
  EXPECT_EQ(instance.projects.size(), expected()["n_projects"].get<std::size_t>());
  EXPECT_EQ(instance.votes.size(), expected()["n_voters"].get<std::size_t>());
  EXPECT_EQ(PabulibVoteTypeName(instance.vote_type), expected()["vote_type"].get<std::string>());
  // The file's votes and score columns agree with the ballots; for Kraków's ordinal ballots
  // that confirms the 3, 2, 1 points by rank.
  const TallyResult result = Run(OutcomeRule::kGreedy);
  for (std::size_t i = 0; i < loaded_.tally.project_ids.size(); ++i) {
    const PabulibProject& project = instance.projects[loaded_.tally.file_project[i]];
    EXPECT_EQ(project.id, loaded_.tally.project_ids[i]);
    if (project.votes) {
      EXPECT_EQ(*project.votes, result.approvals[i]) << project.id;
    }
    if (project.score) {
      EXPECT_EQ(*project.score, result.points[i]) << project.id;
    }
  }
  // selected = 1 is the city's own outcome.
  if (!expected()["city_selected"].is_null()) {
    std::vector<std::string> selected;
    for (std::size_t i = 0; i < loaded_.tally.project_ids.size(); ++i) {
      const PabulibProject& project = instance.projects[loaded_.tally.file_project[i]];
      if (project.selected == 1) selected.push_back(project.id);
    }
    EXPECT_EQ(selected, expected()["city_selected"].get<std::vector<std::string>>());
  }
}

TEST_P(RealInstance, Greedy) { ExpectOutcome(Run(OutcomeRule::kGreedy), "greedy"); }

TEST_P(RealInstance, GreedyPoints) {
  const TallyResult result = Run(OutcomeRule::kGreedyPoints);
  if (expected().contains("greedy_points")) {
    EXPECT_EQ(FundedIds(loaded_.tally, result), expected()["greedy_points"].get<std::vector<std::string>>());
  } else {
    // Approval ballots: one point per project, so the same as greedy.
    EXPECT_EQ(FundedIds(loaded_.tally, result), expected()["greedy"].get<std::vector<std::string>>());
  }
}

TEST_P(RealInstance, MesPlain) {
  const TallyResult result = Run(OutcomeRule::kMesCost);
  ExpectOutcome(result, "mes_plain");
  EXPECT_EQ(result.add1_stop, Add1Stop::kNotApplicable);
  EXPECT_EQ(result.add1_steps, 0U);
  const std::uint64_t n = loaded_.tally.input.ballots.size();
  EXPECT_EQ(testing::ParseFraction(result.per_voter_budget), testing::Fraction(expected()["budget"].get<std::uint64_t>(), n));
}

TEST_P(RealInstance, MesAdd1) {
  const TallyResult result = Run(OutcomeRule::kMesCostAdd1);
  ExpectOutcome(result, "mes_completed");
  EXPECT_EQ(result.add1_steps, expected()["add1_steps"].get<std::uint64_t>());
  EXPECT_EQ(result.per_voter_budget, expected()["add1_final_per_voter_budget"].get<std::string>());
  const std::string stop = expected()["add1_stop"].get<std::string>();
  EXPECT_EQ(result.add1_stop, stop == "exhaustive" ? Add1Stop::kExhaustive : Add1Stop::kNextStepOverBudget) << stop;
  for (const std::string& paid : result.voter_spent) ASSERT_TRUE(testing::InLowestTerms(paid)) << paid;
}

INSTANTIATE_TEST_SUITE_P(Pabulib, RealInstance, ::testing::ValuesIn(ExpectedFileNames()),
                         [](const ::testing::TestParamInfo<std::string>& param) { return testing::TestName(param.param); });

TEST(RealInstances, ExpectedJsonCoversEveryFileInTheFolder) {
  std::set<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(CIVIC_SHARED_DIR) + "/data/pabulib")) {
    if (entry.path().extension() == ".pb") files.insert(entry.path().filename().string());
  }
  const std::vector<std::string> names = ExpectedFileNames();
  EXPECT_EQ(files, std::set<std::string>(names.begin(), names.end()));
  EXPECT_EQ(files.size(), 8U);
}

}  // namespace
}  // namespace civic::contracts
