// A whole budget round driven by civic-wallet alone against a real civicd: clerks register a
// CSV of residents, open the round from a TOML file, review proposals (one refused with its
// reason), enter a paper ballot and close the round; residents propose, vote, change their
// vote, sign a ballot offline for someone else to send, and read the results with an
// explanation of their own part. Bad input at each step is refused with a clear message.
#include <gtest/gtest.h>

#include <fstream>

#include "civic/contracts/pabulib.h"
#include "civic/wallet/keystore.h"
#include "node_fixture.h"

namespace civic::node {
namespace {

using nlohmann::json;
using testing::CivicdProcess;
using testing::TempDir;
using testing::TestNetwork;

struct Outcome {
  int code = -1;
  std::string out;  // stdout and stderr together
  json Json() const {
    const std::size_t brace = out.find('{');
    return brace == std::string::npos ? json() : json::parse(out.substr(brace), nullptr, false);
  }
};

class WalletRound : public ::testing::Test {
 protected:
  void SetUp() override {
    files_ = testing::WriteNodeFiles(dir_.path(), network_.genesis, 0, "");
    node_ = std::make_unique<CivicdProcess>(std::vector<std::string>{"run", "--config", files_.config.string()}, files_.log);
    port_ = testing::WaitForPort(files_.log);
    ASSERT_NE(port_, 0);
    url_ = "http://127.0.0.1:" + std::to_string(port_);
    ::setenv("CIVIC_TEST_PASSPHRASE", "a test passphrase", 1);
    ASSERT_TRUE(wallet::Create(Key("clerk"), testing::Filled(0xC1), "a test passphrase", wallet::kKdfMinimum).has_value());
    ana_ = proto::ToHex(wallet::Create(Key("ana"), testing::Filled(0x0A), "a test passphrase", wallet::kKdfMinimum).value());
    ben_ = proto::ToHex(wallet::Create(Key("ben"), testing::Filled(0x0B), "a test passphrase", wallet::kKdfMinimum).value());
  }

  std::string Key(const std::string& who) const { return (dir_.path() / (who + ".key")).string(); }
  std::string File(const std::string& name) const { return (dir_.path() / name).string(); }

  Outcome Wallet(std::vector<std::string> args) {
    const std::filesystem::path log = dir_.path() / "wallet.log";
    std::filesystem::remove(log);
    CivicdProcess run(args, log, CIVIC_WALLET_BINARY);
    Outcome result;
    result.code = run.Wait().value_or(-1);
    result.out = testing::ReadFile(log);
    return result;
  }

  // A signed command by `who`, against the node.
  Outcome Signed(const std::string& who, std::vector<std::string> args) {
    args.insert(args.end(), {"--key", Key(who), "--passphrase-env", "CIVIC_TEST_PASSPHRASE", "--node", url_});
    return Wallet(args);
  }

  void WriteText(const std::string& name, const std::string& text) const { std::ofstream(File(name)) << text; }

  // tests/browser/tally_page.mjs on round 1; its screenshots are named after `phase`.
  void RunBrowserTest(const std::string& phase) {
    ASSERT_STRNE(CIVIC_NODEJS, "") << "the browser test needs Node.js: run testnet/install-deps, then reconfigure";
    const std::filesystem::path browser_dir = std::filesystem::path(CIVIC_SOURCE_DIR) / "tests" / "browser";
    ASSERT_TRUE(std::filesystem::exists(browser_dir / "node_modules" / "playwright-core"))
        << "the browser test needs its npm packages: (cd tests/browser && npm ci), or run tests/run";
    const std::filesystem::path log = dir_.path() / ("browser-" + phase + ".log");
    CivicdProcess browser({(browser_dir / "tally_page.mjs").string(), url_, "1", CIVIC_TEST_ARTIFACTS_DIR, phase}, log,
                          CIVIC_NODEJS);
    EXPECT_EQ(browser.Wait().value_or(-1), 0) << testing::ReadFile(log);
  }

  TempDir dir_;
  TestNetwork network_;
  testing::NodeFiles files_;
  std::unique_ptr<CivicdProcess> node_;
  std::uint16_t port_ = 0;
  std::string url_;
  std::string ana_;
  std::string ben_;
};

void SleepUntil(std::uint64_t unix_ms) {
  const std::uint64_t now = testing::NowUnixMs();
  if (unix_ms > now) std::this_thread::sleep_for(std::chrono::milliseconds(unix_ms - now));
}

TEST_F(WalletRound, ClerksAndResidentsRunAWholeRoundWithTheWallet) {
  // The roll, from a CSV: a header, Ana in North (1), Ben in South (2).
  WriteText("roll.csv", "key,districts\n" + ana_ + ",1\n" + ben_ + ",2\n");
  WriteText("bad-roll.csv", ana_ + ",1\nnot-a-key,2\n");
  Outcome bad_roll = Signed("clerk", {"register", "--csv", File("bad-roll.csv")});
  EXPECT_EQ(bad_roll.code, 1) << bad_roll.out;
  EXPECT_NE(bad_roll.out.find("bad-roll.csv line 2"), std::string::npos) << bad_roll.out;
  EXPECT_NE(bad_roll.out.find("nothing was sent"), std::string::npos) << bad_roll.out;
  Outcome unregistered = Wallet({"status", "--key", Key("ana"), "--node", url_});
  ASSERT_EQ(unregistered.code, 0) << unregistered.out;
  EXPECT_NE(unregistered.out.find("not on the voter roll"), std::string::npos) << unregistered.out;

  Outcome roll = Signed("clerk", {"register", "--csv", File("roll.csv")});
  ASSERT_EQ(roll.code, 0) << roll.out;
  EXPECT_NE(roll.out.find("registered 2 of 2 residents"), std::string::npos) << roll.out;
  Outcome paper = Signed("clerk", {"register-paper", "--reference", "N-0017", "--district", "1"});
  ASSERT_EQ(paper.code, 0) << paper.out;

  // The round, from TOML, on the wall clock: proposals now, review from +8 s, voting +16..+30 s.
  WriteText("bad-round.toml", "round = 1\ntitle = \"x\"\ntotal_budget = 10\nbudget_cap = 3\n");
  Outcome bad_round = Signed("clerk", {"open-round", "--file", File("bad-round.toml")});
  EXPECT_EQ(bad_round.code, 1) << bad_round.out;
  EXPECT_NE(bad_round.out.find("unknown setting \"budget_cap\""), std::string::npos) << bad_round.out;
  const std::uint64_t t0 = testing::NowUnixMs();
  WriteText("round.toml", "round = 1\n"
                          "title = \"Parks and streets\"\n"
                          "total_budget = 100000\n"
                          "ballot = \"approval\"\n"
                          "min_choices = 1\n"
                          "max_choices = 2\n"
                          "outcome_rule = \"mes-add1\"\n"
                          "[phases]\n"
                          "basis = \"time\"\n"
                          "proposals_start = " + std::to_string(t0 - 1000) + "\n"
                          "review_start = " + std::to_string(t0 + 8000) + "\n"
                          "voting_start = " + std::to_string(t0 + 16000) + "\n"
                          "voting_end = \"+30s\"\n");
  Outcome opened = Signed("clerk", {"open-round", "--file", File("round.toml")});
  ASSERT_EQ(opened.code, 0) << opened.out;

  // Proposals: 1 and 2 by Ana (city-wide), 3 by Ana (to be refused), 4 by Ben in South.
  const std::vector<std::tuple<std::string, std::string, std::string, std::string>> projects = {
      {"ana", "Benches on the square", "30000", "0"},
      {"ana", "Trees & shade <Elm Street> \"green\"", "40000", "0"},  // markup characters, shown as text
      {"ana", "A bridge over the river", "90000", "0"},
      {"ben", "South playground", "20000", "0"}};
  for (const auto& [who, title, cost, district] : projects) {
    Outcome proposed = Signed(who, {"propose", "--round", "1", "--title", title, "--cost", cost, "--district", district,
                                "--description", title + ": the full text lives with the city"});
    ASSERT_EQ(proposed.code, 0) << proposed.out;
  }
  Outcome no_description = Signed("ana", {"propose", "--round", "1", "--title", "Lamps", "--cost", "5"});
  EXPECT_EQ(no_description.code, 2) << no_description.out;
  EXPECT_NE(no_description.out.find("--description"), std::string::npos) << no_description.out;

  SleepUntil(t0 + 8200);
  for (const std::string id : {"1", "2", "4"}) {
    Outcome reviewed = Signed("clerk", {"review", "--round", "1", "--proposal", id, "--feasible", "--reason", "checked"});
    ASSERT_EQ(reviewed.code, 0) << reviewed.out;
  }
  Outcome refused = Signed("clerk", {"review", "--round", "1", "--proposal", "3", "--infeasible", "--reason",
                                 "the river bank is not city land"});
  ASSERT_EQ(refused.code, 0) << refused.out;
  Outcome both = Signed("clerk", {"review", "--round", "1", "--proposal", "3", "--feasible", "--infeasible", "--reason", "x"});
  EXPECT_EQ(both.code, 2) << both.out;

  // Ben saves the round for signing offline.
  Outcome saved = Wallet({"round", "--round", "1", "--out", File("round-1.json"), "--node", url_});
  ASSERT_EQ(saved.code, 0) << saved.out;
  EXPECT_NE(saved.out.find("the river bank is not city land"), std::string::npos) << saved.out;

  SleepUntil(t0 + 16200);
  // Ana votes, then changes her vote.
  Outcome first = Signed("ana", {"vote", "--round", "1", "--approve", "1"});
  ASSERT_EQ(first.code, 0) << first.out;
  Outcome second = Signed("ana", {"vote", "--round", "1", "--approve", "1,2", "--json"});
  ASSERT_EQ(second.code, 0) << second.out;
  const std::string ana_ballot = second.Json().value("id", "");

  // Ben signs without a connection; someone else sends the printable form later, once.
  Outcome offline = Wallet({"vote", "--key", Key("ben"), "--passphrase-env", "CIVIC_TEST_PASSPHRASE", "--round", "1",
                        "--approve", "4", "--round-file", File("round-1.json"), "--out", File("ben-ballot.json")});
  ASSERT_EQ(offline.code, 0) << offline.out;
  std::string text = testing::ReadFile(File("ben-ballot.json.txt"));
  const std::size_t digit = text.find("\nend") - 10;  // inside the signature
  std::string tampered = text;
  tampered[digit] = tampered[digit] == '0' ? '1' : '0';
  WriteText("tampered.txt", tampered);
  Outcome changed = Wallet({"submit", File("tampered.txt"), "--node", url_});
  EXPECT_EQ(changed.code, 3) << changed.out;
  EXPECT_TRUE(changed.out.find("mistyped") != std::string::npos || changed.out.find("does not decode") != std::string::npos)
      << changed.out;
  Outcome forwarded = Wallet({"submit", File("ben-ballot.json.txt"), "--node", url_});
  ASSERT_EQ(forwarded.code, 0) << forwarded.out;
  Outcome replayed = Wallet({"submit", File("ben-ballot.json"), "--node", url_});
  EXPECT_EQ(replayed.code, 3) << replayed.out;
  EXPECT_NE(replayed.out.find("refused"), std::string::npos) << replayed.out;

  // A paper ballot, entered by the clerk for the paper resident N-0017.
  Outcome assisted = Signed("clerk", {"assisted-ballot", "--round", "1", "--reference", "N-0017", "--paper-ballot",
                                  "box-1/0001", "--approve", "2"});
  ASSERT_EQ(assisted.code, 0) << assisted.out;
  Outcome off_ballot = Signed("clerk", {"assisted-ballot", "--round", "1", "--reference", "N-0017", "--paper-ballot",
                                    "box-1/0002", "--approve", "3"});
  EXPECT_EQ(off_ballot.code, 3) << off_ballot.out;
  EXPECT_NE(off_ballot.out.find("not on the ballot"), std::string::npos) << off_ballot.out;

  // The public page during voting: turnout per district, never votes per project.
  const testing::HttpReply voting_page = testing::Http(port_, "GET", "/rounds/1");
  ASSERT_EQ(voting_page.status, 200) << voting_page.body;
  EXPECT_NE(voting_page.body.find("voting open"), std::string::npos) << voting_page.body;
  EXPECT_NE(voting_page.body.find("3 of 3 registered residents have voted"), std::string::npos) << voting_page.body;
  EXPECT_NE(voting_page.body.find("the river bank is not city land"), std::string::npos);
  EXPECT_EQ(voting_page.body.find("Votes</th>"), std::string::npos) << "no running counts during voting";
  EXPECT_NE(voting_page.body.find("Trees &amp; shade &lt;Elm Street&gt; &quot;green&quot;"), std::string::npos);

  Outcome early = Wallet({"results", "--round", "1", "--node", url_});
  EXPECT_EQ(early.code, 3) << early.out;
  EXPECT_NE(early.out.find("voting phase"), std::string::npos) << early.out;
  // The same in a real browser (headless Chromium): what it says against the API, axe-core
  // with no violations (light and dark, and at 200%), nothing loaded from elsewhere, no
  // JavaScript needed; screenshots go to the build's test-artifacts folder.
  RunBrowserTest("voting");

  SleepUntil(t0 + 30500);
  Outcome closed = Signed("clerk", {"close-round", "--round", "1"});
  ASSERT_EQ(closed.code, 0) << closed.out;

  Outcome results = Wallet({"results", "--round", "1", "--node", url_, "--json"});
  ASSERT_EQ(results.code, 0) << results.out;
  const json tally = results.Json()["tally"];
  EXPECT_EQ(tally["ballots"], 3);
  EXPECT_EQ(tally["outcome_rule"], "mes-add1");
  std::set<std::uint32_t> funded;
  for (const json& unit : tally["units"]) {
    for (const json& id : unit["funded_in_order"]) funded.insert(id.get<std::uint32_t>());
  }
  // 100,000 for three voters: every approved feasible project fits (30k + 40k + 20k).
  EXPECT_EQ(funded, (std::set<std::uint32_t>{1, 2, 4}));

  Outcome explained = Wallet({"results", "--round", "1", "--node", url_, "--explain", "--key", Key("ana")});
  ASSERT_EQ(explained.code, 0) << explained.out;
  EXPECT_NE(explained.out.find("the ballot that counts is " + ana_ballot), std::string::npos) << explained.out;
  EXPECT_NE(explained.out.find("funded       1"), std::string::npos) << explained.out;
  EXPECT_NE(explained.out.find("replaced 1 earlier ballot"), std::string::npos) << explained.out;
  EXPECT_NE(explained.out.find("the rule spent"), std::string::npos) << explained.out;

  // An observer re-derives everything from the genesis file and checks what the node serves.
  Outcome audit = Wallet({"audit", "--node", url_, "--genesis", File("genesis.json")});
  ASSERT_EQ(audit.code, 0) << audit.out;
  EXPECT_NE(audit.out.find("round 1 \"Parks and streets\": closed; 3 ballots; funded 2, 4, 1 (spent 90000)"),
            std::string::npos)
      << audit.out;
  EXPECT_NE(audit.out.find("VERDICT: PASS"), std::string::npos) << audit.out;

  // The public page once closed: the funded projects, both rules, the anchor block, downloads.
  const testing::HttpReply index = testing::Http(port_, "GET", "/");
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_NE(index.body.find("<a href=\"/rounds/1\">Parks and streets</a>"), std::string::npos) << index.body;
  const testing::HttpReply page = testing::Http(port_, "GET", "/rounds/1");
  ASSERT_EQ(page.status, 200) << page.body;
  EXPECT_NE(page.body.find("3 ballots counted"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("Spent 90,000 of 100,000"), std::string::npos) << page.body;
  EXPECT_NE(page.body.find("For comparison, the same ballots under greedy by number of approvals"), std::string::npos)
      << page.body;
  EXPECT_NE(page.body.find("recorded in block " + std::to_string(tally.value("closed_at_height", 0))), std::string::npos)
      << page.body;
  EXPECT_NE(page.body.find("/v1/rounds/1/export.pb"), std::string::npos);
  EXPECT_EQ(testing::Http(port_, "GET", "/rounds/9").status, 404);
  const testing::HttpReply served_pb = testing::Http(port_, "GET", "/v1/rounds/1/export.pb");
  ASSERT_EQ(served_pb.status, 200) << served_pb.body;
  RunBrowserTest("closed");

  // The round as a Pabulib file, from the audited chain; an independent tally of the file
  // funds what the ledger funded.
  Outcome exported = Wallet({"export", "--node", url_, "--genesis", File("genesis.json"), "--round", "1", "--out",
                             File("round-1.pb")});
  ASSERT_EQ(exported.code, 0) << exported.out;
  EXPECT_NE(exported.out.find("exported round 1 (3 projects, 3 voters"), std::string::npos) << exported.out;
  Outcome retallied = Wallet({"tally", File("round-1.pb"), "--rule", "mes-add1", "--json"});
  ASSERT_EQ(retallied.code, 0) << retallied.out;
  std::set<std::string> refunded;
  const json retally = retallied.Json();
  for (const json& id : retally["funded"]) refunded.insert(id.get<std::string>());
  EXPECT_EQ(refunded, (std::set<std::string>{"1", "2", "4"})) << retallied.out;
  // What the node serves and what the wallet exported from its own audit hold the same
  // projects and votes (META differs: each says where it comes from).
  const contracts::PabulibInstance from_node = contracts::ParsePabulib(served_pb.body).value();
  const contracts::PabulibInstance from_audit = contracts::ParsePabulib(testing::ReadFile(File("round-1.pb"))).value();
  ASSERT_EQ(from_node.votes.size(), from_audit.votes.size());
  for (std::size_t i = 0; i < from_node.votes.size(); ++i) {
    EXPECT_EQ(from_node.votes[i].voter_id, from_audit.votes[i].voter_id);
    EXPECT_EQ(from_node.votes[i].projects, from_audit.votes[i].projects);
  }
  ASSERT_EQ(from_node.projects.size(), from_audit.projects.size());
  Outcome open_round = Wallet({"export", "--node", url_, "--genesis", File("genesis.json"), "--round", "2", "--out",
                               File("round-2.pb")});
  EXPECT_EQ(open_round.code, 3) << open_round.out;
  EXPECT_NE(open_round.out.find("no round 2"), std::string::npos) << open_round.out;

  Outcome status = Wallet({"status", "--key", Key("ben"), "--node", url_, "--json"});
  ASSERT_EQ(status.code, 0) << status.out;
  const json ben = status.Json();
  EXPECT_EQ(ben["registration"]["status"], "active");
  EXPECT_EQ(ben["registration"]["districts"], json::array({2}));
  ASSERT_EQ(ben["rounds"].size(), 1u);
  EXPECT_EQ(ben["rounds"][0]["phase"], "closed");
  EXPECT_EQ(ben["rounds"][0]["ballot"]["choices"], json::parse(R"([{"proposal":4,"points":1}])"));
}

// A genesis written by the clerks' command is the one every node reads; a bad one is refused
// before anything is written, and a good one is never overwritten.
TEST(WalletGenesis, ClerksWriteAGenesisThatNodesRead) {
  TempDir dir;
  TestNetwork network;
  const std::string out = (dir.path() / "genesis.json").string();
  const std::string validator = proto::ToHex(network.genesis.validators[0].key);
  const std::string clerk_a = proto::ToHex(network.clerks[0].public_key());
  const std::string clerk_b = proto::ToHex(network.clerks[1].public_key());
  const auto run = [&](std::vector<std::string> args) {
    const std::filesystem::path log = dir.path() / "wallet.log";
    std::filesystem::remove(log);
    CivicdProcess process(args, log, CIVIC_WALLET_BINARY);
    return Outcome{process.Wait().value_or(-1), testing::ReadFile(log)};
  };
  const std::vector<std::string> base = {"genesis", "--chain-id", "harbour-2027", "--validator", "office-1=" + validator + ":10",
                                         "--clerk", clerk_a, "--clerk", clerk_b, "--district", "2=South", "--district",
                                         "1=North", "--time-unix-ms", "1790000000000", "--out", out};
  std::vector<std::string> too_many = base;
  too_many.insert(too_many.end(), {"--clerk-threshold", "3"});
  const Outcome refused = run(too_many);
  EXPECT_EQ(refused.code, 3) << refused.out;
  EXPECT_NE(refused.out.find("clerk_threshold"), std::string::npos) << refused.out;
  EXPECT_FALSE(std::filesystem::exists(out));

  std::vector<std::string> good = base;
  good.insert(good.end(), {"--clerk-threshold", "2"});
  const Outcome written = run(good);
  ASSERT_EQ(written.code, 0) << written.out;
  const Genesis genesis = LoadGenesisFile(out).value();
  EXPECT_EQ(genesis.chain_id.str(), "harbour-2027");
  EXPECT_EQ(genesis.validators.size(), 1u);
  EXPECT_EQ(genesis.validators[0].power, 10u);
  EXPECT_EQ(genesis.contracts.clerk_threshold, 2u);
  ASSERT_EQ(genesis.contracts.districts.size(), 2u);
  EXPECT_EQ(genesis.contracts.districts[0].name, "North");
  EXPECT_NE(written.out.find("genesis hash " + proto::ToHex(GenesisHash(genesis))), std::string::npos) << written.out;

  const std::string before = testing::ReadFile(out);
  const Outcome again = run(good);
  EXPECT_EQ(again.code, 1) << again.out;
  EXPECT_NE(again.out.find("never overwritten"), std::string::npos) << again.out;
  EXPECT_EQ(testing::ReadFile(out), before);
}

}  // namespace
}  // namespace civic::node
