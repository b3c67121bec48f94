// End to end: the real civic-wallet binary (built beside this test; wallet-cli/CMakeLists.txt
// passes its path) tallies real Pabulib files and refuses bad ones with the right exit code.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "tally_test_util.h"

namespace civic::contracts {
namespace {

struct Outcome {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Quoted(const std::string& word) {
  std::string out = "'";
  for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

class WalletTally : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef CIVIC_WALLET_BINARY
    GTEST_SKIP() << "built without wallet-cli (CIVIC_FUZZ), so there is no civic-wallet to run";
#else
    binary_ = CIVIC_WALLET_BINARY;
#endif
    dir_ = std::filesystem::temp_directory_path() / ("civic-wallet-test-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  Outcome Wallet(const std::vector<std::string>& args) const {
    const std::filesystem::path err_file = dir_ / "stderr.txt";
    std::string command = Quoted(binary_);
    for (const std::string& arg : args) command += " " + Quoted(arg);
    command += " 2>" + Quoted(err_file.string());
    Outcome outcome;
    FILE* pipe = ::popen(command.c_str(), "r");
    if (pipe == nullptr) {
      ADD_FAILURE() << "cannot run " << command;
      return outcome;
    }
    char buffer[4096];
    std::size_t n = 0;
    while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) outcome.out.append(buffer, n);
    const int status = ::pclose(pipe);
    outcome.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream err(err_file);
    outcome.err.assign(std::istreambuf_iterator<char>(err), std::istreambuf_iterator<char>());
    return outcome;
  }

  static std::string Shared(const std::string& file) { return std::string(CIVIC_SHARED_DIR) + "/data/pabulib/" + file; }

  std::vector<std::string> FundedByJson(const std::string& file, const std::string& rule) const {
    const Outcome run = Wallet({"tally", Shared(file), "--rule", rule, "--json"});
    EXPECT_EQ(run.exit_code, 0) << run.err;
    EXPECT_EQ(run.err, "");
    const nlohmann::json json = nlohmann::json::parse(run.out, nullptr, /*allow_exceptions=*/false);
    EXPECT_FALSE(json.is_discarded()) << run.out;
    if (json.is_discarded() || !json.contains("funded")) return {};
    EXPECT_EQ(json["rule"], rule);
    EXPECT_EQ(json["spent"].get<std::uint64_t>() + json["left"].get<std::uint64_t>(), json["budget"].get<std::uint64_t>());
    return json["funded"].get<std::vector<std::string>>();
  }

  std::string binary_;
  std::filesystem::path dir_;
};

TEST_F(WalletTally, JsonFundedMatchesExpectedJsonForEveryRealFile) {
  for (const std::string& file : testing::ExpectedFileNames()) {
    SCOPED_TRACE(file);
    const nlohmann::json& expected = testing::Expected()[file];
    EXPECT_EQ(FundedByJson(file, "greedy"), expected["greedy"].get<std::vector<std::string>>());
    EXPECT_EQ(FundedByJson(file, "mes"), expected["mes_plain"].get<std::vector<std::string>>());
  }
  // add1 on the two files whose cities used it (the data test runs it on all eight).
  for (const std::string file : {"Netherlands_Assen_2024.pb", "Poland_Swiecie_2023.pb"}) {
    EXPECT_EQ(FundedByJson(file, "mes-add1"), testing::Expected()[file]["mes_completed"].get<std::vector<std::string>>());
  }
  EXPECT_EQ(FundedByJson("Poland_Krakow_2020_Debniki.pb", "greedy-points"),
            testing::Expected()["Poland_Krakow_2020_Debniki.pb"]["greedy_points"].get<std::vector<std::string>>());
}

TEST_F(WalletTally, JsonReportsAdd1) {
  const Outcome run = Wallet({"tally", Shared("Netherlands_Assen_2024.pb"), "--rule", "mes-add1", "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  const nlohmann::json json = nlohmann::json::parse(run.out);
  EXPECT_EQ(json["add1_steps"], 843);
  EXPECT_EQ(json["per_voter_budget"], "42703/21");
  EXPECT_EQ(json["add1_stop"], "next_step_over_budget");
  EXPECT_EQ(json["selection_order"][0], "3");
  EXPECT_EQ(json["funded_projects"][0]["name"], "PopUp Podium");
}

TEST_F(WalletTally, HumanOutputListsTheFundedProjectsAndTheMoney) {
  const Outcome run = Wallet({"tally", Shared("Netherlands_Assen_2024.pb"), "--rule", "greedy"});
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_NE(run.out.find("PopUp Podium"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("spent 99200 of 100000, 800 left"), std::string::npos) << run.out;
}

TEST_F(WalletTally, AMalformedFileFailsNamingTheLine) {
  const std::filesystem::path file = dir_ / "bad.pb";
  std::ofstream(file) << "META\nkey;value\nbudget;100\nvote_type;approval\nPROJECTS\nproject_id;cost\n"
                         "1;10\n2;12.5\nVOTES\nvoter_id;vote\na;1\n";
  const Outcome run = Wallet({"tally", file.string(), "--rule", "greedy"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_EQ(run.out, "");
  EXPECT_NE(run.err.find("line 8: cost '12.5' is not a whole number"), std::string::npos) << run.err;
}

TEST_F(WalletTally, AMissingFileIsBadInput) {
  const Outcome run = Wallet({"tally", (dir_ / "absent.pb").string(), "--rule", "mes"});
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_NE(run.err.find("cannot read"), std::string::npos) << run.err;
  EXPECT_NE(run.err.find("does not exist"), std::string::npos) << run.err;
}

TEST_F(WalletTally, UsageErrorsExitWithTwo) {
  const Outcome unknown_rule = Wallet({"tally", Shared("Netherlands_Assen_2024.pb"), "--rule", "borda"});
  EXPECT_EQ(unknown_rule.exit_code, 2);
  EXPECT_NE(unknown_rule.err.find("unknown rule 'borda'; use one of greedy"), std::string::npos) << unknown_rule.err;
  EXPECT_EQ(Wallet({"tally", Shared("Netherlands_Assen_2024.pb")}).exit_code, 2);  // --rule is required
  EXPECT_EQ(Wallet({}).exit_code, 2);
}

TEST_F(WalletTally, HelpDocumentsRulesAndExitCodes) {
  const Outcome top = Wallet({"--help"});
  EXPECT_EQ(top.exit_code, 0);
  EXPECT_NE(top.out.find("tally"), std::string::npos);
  EXPECT_NE(top.out.find("Exit codes"), std::string::npos);
  const Outcome tally = Wallet({"tally", "--help"});
  EXPECT_EQ(tally.exit_code, 0);
  EXPECT_NE(tally.out.find("mes-approval-add1"), std::string::npos) << tally.out;
  EXPECT_NE(tally.out.find("Exit codes"), std::string::npos);
}

}  // namespace
}  // namespace civic::contracts
