// Pabulib (.pb) files: a bounded reader, and the step from a file to a tally.
//
// The format (pabulib.org/format; ../shared/data/pabulib/README.md): UTF-8 text with ';'
// between fields, quoted CSV-style where needed, in three sections. Each section is a line
// holding just META, PROJECTS or VOTES, then a header row naming its columns, then one row
// per meta key, project or voter. Required: META `budget` and `vote_type`; PROJECTS
// `project_id` and `cost`; VOTES `voter_id` and `vote` (and `points` for cumulative ballots).
//
// Pure: no file I/O. The caller reads the file and hands over its text. Every rejection is a
// proto::Error whose message names the line ("line 42: ...") and what is wrong; nothing is
// returned for a file that breaks a rule below, so a PabulibInstance is always consistent.
//
// What the reader checks, beyond the shape of each section: whole, non-negative numbers
// that fit (budget and costs at most kTallyBudgetMax, costs at least 1); unique project ids
// and voter ids; every voted project listed in PROJECTS, at most once per vote; points,
// where given, one per voted project and each at least 1; META's min_length, max_length and
// max_sum_points; choose-1 ballots naming exactly one project; META num_projects and
// num_votes, when present, equal to what the file holds (a truncated file fails here).
// Columns the reader does not use (category, latitude, age, ...) are accepted and ignored.
// A project's `votes` and `score` columns are kept as the file says, not checked.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "civic/contracts/tally.h"
#include "civic/proto/result.h"

namespace civic::contracts {

inline constexpr std::size_t kPabulibFileBytesMax = std::size_t{64} << 20;
inline constexpr std::size_t kPabulibFieldBytesMax = std::size_t{64} << 10;
inline constexpr std::size_t kPabulibFieldsPerLineMax = 256;
inline constexpr std::size_t kPabulibMetaKeysMax = 1024;
inline constexpr std::size_t kPabulibProjectsMax = kTallyProjectsMax;
inline constexpr std::size_t kPabulibVotersMax = kTallyBallotsMax;

enum class PabulibVoteType : std::uint8_t {
  kApproval,    // "approval": a set of projects
  kChoose1,     // "choose-1": exactly one project
  kOrdinal,     // "ordinal": a ranking, best first
  kCumulative,  // "cumulative": points per project (`points` column)
};
std::string_view PabulibVoteTypeName(PabulibVoteType type);  // as the file spells it

struct PabulibProject {
  std::string id;
  std::uint64_t cost = 0;
  std::string name;                       // empty when the file has no `name` column
  std::optional<std::uint64_t> votes;     // the file's own columns, when present and not empty
  std::optional<std::uint64_t> score;
  std::optional<std::uint64_t> selected;  // 1: the city funded it; 0: not; 2: see META comment
  std::size_t line = 0;
};

struct PabulibVote {
  std::string voter_id;
  std::vector<std::uint32_t> projects;  // indices into PabulibInstance::projects, as the file orders
                                        // them (ordinal: best first)
  std::vector<std::uint64_t> points;    // cumulative: one per project; otherwise empty
  std::size_t line = 0;
};

struct PabulibInstance {
  std::vector<std::pair<std::string, std::string>> meta;  // every META row, in file order
  std::uint64_t budget = 0;
  PabulibVoteType vote_type = PabulibVoteType::kApproval;
  std::optional<std::uint64_t> min_length;  // absent: no limit
  std::optional<std::uint64_t> max_length;
  std::optional<std::uint64_t> max_sum_points;
  std::vector<PabulibProject> projects;  // in file order
  std::vector<PabulibVote> votes;        // in file order

  // The META value for `key`, or nullptr.
  const std::string* Meta(std::string_view key) const;
};

// REQUIRES nothing of `text`: any bytes are either an instance or an error.
[[nodiscard]] proto::Result<PabulibInstance> ParsePabulib(std::string_view text);

// The text of `instance` as a .pb file: META rows as given (num_projects and num_votes set
// from the instance; budget, vote_type, min_length, max_length and max_sum_points from its
// fields), PROJECTS with project_id, cost, and name, votes, selected where any project has
// them, VOTES with voter_id, vote and (cumulative) points. Fields holding ';', a quote, a line
// break, or spaces at either end are quoted. ParsePabulib reads back an equal instance (line
// numbers aside). REQUIRES: `instance` is one ParsePabulib would accept.
std::string WritePabulib(const PabulibInstance& instance);

// A tally input built from an instance, with the way back to the file's project ids.
struct PabulibTally {
  TallyInput input;                         // projects in id order (below)
  std::vector<std::string> project_ids;     // tally index -> the file's project id
  std::vector<std::uint32_t> file_project;  // tally index -> index into PabulibInstance::projects
};

// Projects in id order: numerically when every id is a decimal number, otherwise by UTF-8
// bytes. Ballots in file order, their projects ascending. Points: cumulative ballots keep
// theirs; ordinal ballots give the first choice T points, the next T - 1, and so on, where T
// is META max_length (or, without one, the longest ballot in the file), so that Kraków's
// exactly-3 ballots score 3, 2, 1 as its `score` column says; approval ballots carry none.
[[nodiscard]] proto::Result<PabulibTally> ToTallyInput(const PabulibInstance& instance);

// True if `a` comes before `b` in the id order above; `numeric` says whether every id is a
// decimal number.
bool PabulibIdLess(std::string_view a, std::string_view b, bool numeric);

}  // namespace civic::contracts
