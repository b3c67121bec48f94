// The Pabulib reader: what it accepts (quoting, CRLF, extra columns), every rejection with
// the line it names, and the step to a tally input (id order, points by rank).
#include "civic/contracts/pabulib.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "tally_test_util.h"

namespace civic::contracts {
namespace {

// A valid file, one line per entry: line numbers in the tests below are index + 1.
std::vector<std::string> SmallFile() {
  return {
      "META",                //  1
      "key;value",           //  2
      "budget;100",          //  3
      "vote_type;approval",  //  4
      "num_projects;3",      //  5
      "num_votes;2",         //  6
      "PROJECTS",            //  7
      "project_id;cost;name",  //  8
      "1;60;Park",           //  9
      "2;30;Library",        // 10
      "3;50;Pool",           // 11
      "VOTES",               // 12
      "voter_id;vote",       // 13
      "a;1,2",               // 14
      "b;3",                 // 15
  };
}

std::string Join(const std::vector<std::string>& lines, std::string_view end = "\n") {
  std::string out;
  for (const std::string& line : lines) out += line + std::string(end);
  return out;
}

// SmallFile with line `number` replaced (or removed, for nullopt).
std::string WithLine(std::size_t number, std::optional<std::string> line) {
  std::vector<std::string> lines = SmallFile();
  if (line) {
    lines.at(number - 1) = *line;
  } else {
    lines.erase(lines.begin() + static_cast<std::ptrdiff_t>(number - 1));
  }
  return Join(lines);
}

void ExpectRejected(const std::string& text, std::string_view says, proto::ErrorCode code = proto::ErrorCode::kMalformed) {
  const proto::Result<PabulibInstance> parsed = ParsePabulib(text);
  ASSERT_FALSE(parsed.has_value()) << "accepted; expected: " << says;
  EXPECT_EQ(parsed.error().code, code) << parsed.error().message;
  EXPECT_NE(parsed.error().message.find(says), std::string::npos) << parsed.error().message;
}

TEST(Pabulib, ReadsTheSmallFile) {
  const proto::Result<PabulibInstance> parsed = ParsePabulib(Join(SmallFile()));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(parsed->budget, 100U);
  EXPECT_EQ(parsed->vote_type, PabulibVoteType::kApproval);
  EXPECT_EQ(parsed->min_length, std::nullopt);
  ASSERT_EQ(parsed->projects.size(), 3U);
  EXPECT_EQ(parsed->projects[1].id, "2");
  EXPECT_EQ(parsed->projects[1].cost, 30U);
  EXPECT_EQ(parsed->projects[1].name, "Library");
  EXPECT_EQ(parsed->projects[1].line, 10U);
  EXPECT_EQ(parsed->projects[1].votes, std::nullopt);
  ASSERT_EQ(parsed->votes.size(), 2U);
  EXPECT_EQ(parsed->votes[0].voter_id, "a");
  EXPECT_EQ(parsed->votes[0].projects, (std::vector<std::uint32_t>{0, 1}));
  EXPECT_EQ(parsed->votes[1].line, 15U);
  ASSERT_NE(parsed->Meta("num_votes"), nullptr);
  EXPECT_EQ(*parsed->Meta("num_votes"), "2");
  EXPECT_EQ(parsed->Meta("currency"), nullptr);
}

TEST(Pabulib, ReadsQuotingCrlfByteOrderMarkExtraColumnsAndNoFinalNewline) {
  const std::string text =
      "\xEF\xBB\xBFMETA\r\n"
      "key;value\r\n"
      "description;\"A test; with \"\"quotes\"\"\"\r\n"
      "budget;100\r\n"
      "vote_type;approval\r\n"
      "PROJECTS\r\n"
      "project_id;cost;votes;name;selected;latitude\r\n"
      "10;60;2;\"Park; \"\"big\"\" benches\";1;\r\n"
      "9;30;1;Biblioteka Łąka;0;52.2\r\n"
      "100;50;0;;0;\r\n"
      "\r\n"
      "VOTES\r\n"
      "voter_id;vote;age\r\n"
      "a;10,9;33\r\n"
      "b;10;";
  const proto::Result<PabulibInstance> parsed = ParsePabulib(text);
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_EQ(*parsed->Meta("description"), "A test; with \"quotes\"");
  EXPECT_EQ(parsed->projects[0].name, "Park; \"big\" benches");
  EXPECT_EQ(parsed->projects[0].votes, 2U);
  EXPECT_EQ(parsed->projects[0].selected, 1U);
  EXPECT_EQ(parsed->projects[1].name, "Biblioteka Łąka");
  EXPECT_EQ(parsed->projects[2].name, "");
  EXPECT_EQ(parsed->votes[1].projects, (std::vector<std::uint32_t>{0}));
  EXPECT_EQ(parsed->votes[1].line, 15U);
}

TEST(Pabulib, AcceptsAnEmptyVoteWhenNoMinimumIsSet) {
  const proto::Result<PabulibInstance> parsed = ParsePabulib(WithLine(15, "b;"));
  ASSERT_TRUE(parsed.has_value()) << parsed.error().message;
  EXPECT_TRUE(parsed->votes[1].projects.empty());
}

// --- Rejections, each naming its line -----------------------------------------------------------

TEST(PabulibRejects, AVoteForAnUnknownProject) {
  ExpectRejected(WithLine(15, "b;4"), "line 15: the vote names project '4', which PROJECTS does not list");
}

TEST(PabulibRejects, AVoteNamingAProjectTwice) {
  ExpectRejected(WithLine(14, "a;1,2,1"), "line 14: the vote names project '1' twice");
}

TEST(PabulibRejects, ADuplicateProjectId) {
  ExpectRejected(WithLine(10, "1;30;Library"), "line 10: project id '1' appears twice (first on line 9)");
}

TEST(PabulibRejects, ADuplicateVoterId) { ExpectRejected(WithLine(15, "a;3"), "line 15: voter_id 'a' appears twice"); }

TEST(PabulibRejects, AMissingColumn) {
  ExpectRejected(WithLine(8, "project_id;price;name"), "line 8: the header has no column 'cost'");
  ExpectRejected(WithLine(13, "voter_id;votes"), "line 13: the header has no column 'vote'");
  ExpectRejected(WithLine(2, "key;val"), "line 2: the header has no column 'value'");
}

TEST(PabulibRejects, AColumnNamedTwice) {
  ExpectRejected(WithLine(8, "project_id;cost;cost"), "line 8: column 'cost' appears twice in the header");
}

TEST(PabulibRejects, ARowWithTheWrongNumberOfFields) {
  ExpectRejected(WithLine(9, "1;60"), "line 9: 2 fields, but the header has 3 columns");
  ExpectRejected(WithLine(14, "a;1,2;extra"), "line 14: 3 fields, but the header has 2 columns");
}

TEST(PabulibRejects, CostsThatAreNotWholeNumbersInRange) {
  ExpectRejected(WithLine(9, "1;60.5;Park"), "line 9: cost '60.5' is not a whole number");
  ExpectRejected(WithLine(9, "1;-60;Park"), "line 9: cost '-60' is not a whole number");
  ExpectRejected(WithLine(9, "1; 60;Park"), "line 9: cost ' 60' is not a whole number");
  ExpectRejected(WithLine(9, "1;;Park"), "line 9: cost '' is not a whole number");
  ExpectRejected(WithLine(9, "1;99999999999999999999;Park"), "line 9: cost 99999999999999999999 does not fit in 64 bits",
                 proto::ErrorCode::kTooLarge);
  ExpectRejected(WithLine(9, "1;0;Park"), "line 9: project 1 costs 0");
  ExpectRejected(WithLine(9, "1;9007199254740993;Park"), "line 9: project 1 costs 9007199254740993, above the limit",
                 proto::ErrorCode::kTooLarge);
}

TEST(PabulibRejects, ABudgetThatIsNotAWholeNumber) {
  ExpectRejected(WithLine(3, "budget;100.0"), "line 3: META budget '100.0' is not a whole number");
  ExpectRejected(WithLine(3, "budget;9007199254740993"), "line 3: budget 9007199254740993 is above the limit",
                 proto::ErrorCode::kTooLarge);
}

TEST(PabulibRejects, MissingBudgetOrVoteType) {
  ExpectRejected(WithLine(3, std::nullopt), "line 6: META has no 'budget'");
  ExpectRejected(WithLine(4, std::nullopt), "line 6: META has no 'vote_type'");
}

TEST(PabulibRejects, AnUnknownVoteType) {
  ExpectRejected(WithLine(4, "vote_type;scoring"), "line 4: vote_type 'scoring' is not one of approval");
}

TEST(PabulibRejects, ADuplicateMetaKey) {
  ExpectRejected(WithLine(5, "budget;200"), "line 5: META key 'budget' appears twice (first on line 3)");
}

TEST(PabulibRejects, SectionsOutOfOrderOrMissing) {
  ExpectRejected(WithLine(12, "PROJECTS"), "line 12: section PROJECTS is out of place");
  ExpectRejected(WithLine(1, "PROJECTS"), "line 1: section PROJECTS is out of place");
  ExpectRejected(WithLine(1, "hello"), "line 1: expected the line META");
  ExpectRejected("", "line 1: the file ends before its VOTES section");
  std::vector<std::string> no_votes = SmallFile();
  no_votes.resize(11);
  ExpectRejected(Join(no_votes), "line 11: the file ends before its VOTES section");
  std::vector<std::string> no_header = SmallFile();
  no_header.resize(12);
  ExpectRejected(Join(no_header), "the file ends before its VOTES section and header");
}

TEST(PabulibRejects, ATruncatedFileByItsDeclaredCounts) {
  ExpectRejected(WithLine(15, std::nullopt), "line 6: META num_votes says 2 but VOTES has 1 rows; the file may be truncated");
  ExpectRejected(WithLine(5, "num_projects;4"), "line 5: META num_projects says 4 but PROJECTS has 3 rows");
}

TEST(PabulibRejects, BadQuoting) {
  ExpectRejected(WithLine(11, "3;50;\"Pool"), "a quoted field is not closed before the end of the file");
  ExpectRejected(WithLine(11, "3;50;\"Pool\"x"), "line 11: bad quoting");
}

TEST(PabulibRejects, TextThatIsNotUtf8) {
  ExpectRejected(WithLine(11, "3;50;Po\xff"), "line 11: the text is not valid UTF-8");
  ExpectRejected(WithLine(11, "3;50;\xC0\xAF"), "line 11: the text is not valid UTF-8");  // overlong '/'
  ExpectRejected(WithLine(11, "3;50;\xED\xA0\x80"), "line 11: the text is not valid UTF-8");  // a surrogate
}

TEST(PabulibRejects, BallotsOutsideMetaLimits) {
  std::vector<std::string> lines = SmallFile();
  lines[4] = "min_length;2";
  lines[5] = "max_length;2";
  lines[13] = "a;1,2,3";
  ExpectRejected(Join(lines), "line 14: the vote names 3 projects, more than META max_length 2");
  lines[13] = "a;1,2";
  ExpectRejected(Join(lines), "line 15: the vote names 1 projects, fewer than META min_length 2");
  lines = SmallFile();
  lines[3] = "vote_type;choose-1";
  ExpectRejected(Join(lines), "line 14: a choose-1 vote names exactly one project, this one 2");
}

std::vector<std::string> CumulativeFile() {
  std::vector<std::string> lines = SmallFile();
  lines[3] = "vote_type;cumulative";
  lines[4] = "max_sum_points;10";
  lines[12] = "voter_id;vote;points";
  lines[13] = "a;1,2;3,7";
  lines[14] = "b;3;10";
  return lines;
}

TEST(PabulibRejects, PointsThatDoNotMatchTheVote) {
  ASSERT_TRUE(ParsePabulib(Join(CumulativeFile())).has_value());
  std::vector<std::string> lines = CumulativeFile();
  lines[14] = "b;3;1,1";
  ExpectRejected(Join(lines), "line 15: 2 points for 1 voted projects");
  lines[14] = "b;3;0";
  ExpectRejected(Join(lines), "line 15: 0 points for a voted project");
  lines[14] = "b;3;2.5";
  ExpectRejected(Join(lines), "line 15: points '2.5' is not a whole number");
  lines[14] = "b;3;11";
  ExpectRejected(Join(lines), "line 15: the points add up to 11, more than META max_sum_points 10");
  lines = CumulativeFile();
  lines[12] = "voter_id;vote";
  ExpectRejected(Join(lines), "line 13: the header has no column 'points'");
}

TEST(PabulibRejects, OversizedInput) {
  ExpectRejected(std::string(kPabulibFileBytesMax + 1, 'x'), "the file has 67108865 bytes", proto::ErrorCode::kTooLarge);
  ExpectRejected(WithLine(11, "3;50;" + std::string(kPabulibFieldBytesMax + 1, 'x')),
                 "line 11: a field of 65537 bytes", proto::ErrorCode::kTooLarge);
  std::string wide = "project_id;cost";
  for (std::size_t i = 0; i < kPabulibFieldsPerLineMax; ++i) wide += ";c" + std::to_string(i);
  ExpectRejected(WithLine(8, wide), "line 8: more than 256 fields on one line", proto::ErrorCode::kTooLarge);
}

// --- From an instance to a tally ------------------------------------------------------------------

PabulibTally ToTally(const std::string& text) {
  const proto::Result<PabulibInstance> parsed = ParsePabulib(text);
  EXPECT_TRUE(parsed.has_value()) << parsed.error().message;
  if (!parsed) return {};
  const proto::Result<PabulibTally> tally = ToTallyInput(*parsed);
  EXPECT_TRUE(tally.has_value()) << tally.error().message;
  return tally.value_or(PabulibTally{});
}

TEST(PabulibToTally, OrdersNumericIdsAsNumbers) {
  std::vector<std::string> lines = SmallFile();
  lines[8] = "10;60;Park";
  lines[9] = "9;30;Library";
  lines[10] = "100;50;Pool";
  lines[13] = "a;10,9";
  lines[14] = "b;100,10";
  const PabulibTally tally = ToTally(Join(lines));
  EXPECT_EQ(tally.project_ids, (std::vector<std::string>{"9", "10", "100"}));
  EXPECT_EQ(tally.file_project, (std::vector<std::uint32_t>{1, 0, 2}));
  EXPECT_EQ(tally.input.projects[0].cost, 30U);
  ASSERT_EQ(tally.input.ballots.size(), 2U);
  EXPECT_EQ(tally.input.ballots[0].projects, (std::vector<std::uint32_t>{0, 1}));
  EXPECT_EQ(tally.input.ballots[1].projects, (std::vector<std::uint32_t>{1, 2}));
  EXPECT_TRUE(tally.input.ballots[0].points.empty());
  EXPECT_EQ(tally.input.budget, 100U);
}

TEST(PabulibToTally, OrdersOtherIdsByUtf8Bytes) {
  std::vector<std::string> lines = SmallFile();
  lines[8] = "b;60;Park";
  lines[9] = "é;30;Library";
  lines[10] = "10;50;Pool";
  lines[13] = "a;b";
  lines[14] = "b;é,10";
  EXPECT_EQ(ToTally(Join(lines)).project_ids, (std::vector<std::string>{"10", "b", "é"}));
  EXPECT_TRUE(PabulibIdLess("2", "10", /*numeric=*/true));
  EXPECT_FALSE(PabulibIdLess("2", "10", /*numeric=*/false));
  EXPECT_TRUE(PabulibIdLess("B", "a", /*numeric=*/false));
  EXPECT_TRUE(PabulibIdLess("z", "\xC3\xA9", /*numeric=*/false));  // 'z' < 'é' as bytes
}

TEST(PabulibToTally, OrdinalBallotsScoreByRank) {
  std::vector<std::string> lines = SmallFile();
  lines[3] = "vote_type;ordinal";
  lines[4] = "max_length;3";
  lines[13] = "a;3,1,2";  // 3 points to project 3, 2 to project 1, 1 to project 2
  lines[14] = "b;2";
  const PabulibTally tally = ToTally(Join(lines));
  EXPECT_EQ(tally.input.ballots[0].projects, (std::vector<std::uint32_t>{0, 1, 2}));
  EXPECT_EQ(tally.input.ballots[0].points, (std::vector<std::uint64_t>{2, 1, 3}));
  EXPECT_EQ(tally.input.ballots[1].points, (std::vector<std::uint64_t>{3}));
  // Without max_length the longest ballot sets the scale.
  lines[4] = "num_projects;3";
  EXPECT_EQ(ToTally(Join(lines)).input.ballots[1].points, (std::vector<std::uint64_t>{3}));
  lines[13] = "a;3,1";
  EXPECT_EQ(ToTally(Join(lines)).input.ballots[0].points, (std::vector<std::uint64_t>{1, 2}));
}

TEST(PabulibToTally, CumulativePointsFollowTheirProjects) {
  std::vector<std::string> lines = CumulativeFile();
  lines[13] = "a;2,1;7,3";
  const PabulibTally tally = ToTally(Join(lines));
  EXPECT_EQ(tally.input.ballots[0].projects, (std::vector<std::uint32_t>{0, 1}));
  EXPECT_EQ(tally.input.ballots[0].points, (std::vector<std::uint64_t>{3, 7}));
  const TallyResult result = Tally(tally.input, OutcomeRule::kGreedyPoints).value();
  EXPECT_EQ(result.points, (std::vector<std::uint64_t>{3, 7, 10}));
}

TEST(PabulibToTally, EveryRealFileParses) {
  for (const std::string& name : testing::ExpectedFileNames()) {
    SCOPED_TRACE(name);
    const testing::LoadedInstance loaded = testing::LoadPabulib(name);
    EXPECT_EQ(loaded.tally.input.ballots.size(), loaded.instance.votes.size());
    EXPECT_EQ(loaded.tally.project_ids.size(), loaded.instance.projects.size());
  }
}

}  // namespace
}  // namespace civic::contracts

namespace civic::contracts {
namespace {

// What a reader sees of an instance: everything but the line numbers.
void ExpectSameInstance(const PabulibInstance& a, const PabulibInstance& b) {
  EXPECT_EQ(a.budget, b.budget);
  EXPECT_EQ(a.vote_type, b.vote_type);
  EXPECT_EQ(a.min_length, b.min_length);
  EXPECT_EQ(a.max_length, b.max_length);
  EXPECT_EQ(a.max_sum_points, b.max_sum_points);
  EXPECT_EQ(a.meta, b.meta);
  ASSERT_EQ(a.projects.size(), b.projects.size());
  for (std::size_t i = 0; i < a.projects.size(); ++i) {
    EXPECT_EQ(a.projects[i].id, b.projects[i].id);
    EXPECT_EQ(a.projects[i].cost, b.projects[i].cost);
    EXPECT_EQ(a.projects[i].name, b.projects[i].name);
    EXPECT_EQ(a.projects[i].votes, b.projects[i].votes);
    EXPECT_EQ(a.projects[i].selected, b.projects[i].selected);
  }
  ASSERT_EQ(a.votes.size(), b.votes.size());
  for (std::size_t i = 0; i < a.votes.size(); ++i) {
    EXPECT_EQ(a.votes[i].voter_id, b.votes[i].voter_id);
    EXPECT_EQ(a.votes[i].projects, b.votes[i].projects);
    EXPECT_EQ(a.votes[i].points, b.votes[i].points);
  }
}

// Every real instance in ../shared, written back out and read again, is the same instance:
// the writer the wallet's `export` uses speaks the format the reader (and pabulib.org) reads.
TEST(PabulibWriter, EveryRealInstanceReadsBackTheSame) {
  std::size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(CIVIC_SHARED_DIR) + "/data/pabulib")) {
    if (entry.path().extension() != ".pb") continue;
    ++files;
    std::ifstream in(entry.path(), std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const PabulibInstance original = ParsePabulib(text).value();
    const std::string written = WritePabulib(original);
    const proto::Result<PabulibInstance> again = ParsePabulib(written);
    ASSERT_TRUE(again.has_value()) << entry.path() << ": " << again.error().message;
    SCOPED_TRACE(entry.path().filename().string());
    ExpectSameInstance(original, *again);
  }
  EXPECT_EQ(files, 8U);
}

TEST(PabulibWriter, QuotesWhatNeedsQuoting) {
  PabulibInstance instance = ParsePabulib(Join(SmallFile())).value();
  instance.projects[0].name = "Park; \"the big one\"";
  instance.projects[1].name = " Library ";
  instance.meta.emplace_back("comment", "line one\nline two");
  const std::string written = WritePabulib(instance);
  EXPECT_NE(written.find("1;60;\"Park; \"\"the big one\"\"\""), std::string::npos) << written;
  const PabulibInstance again = ParsePabulib(written).value();
  ExpectSameInstance(instance, again);
}

}  // namespace
}  // namespace civic::contracts
