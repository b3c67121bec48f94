// The Pabulib reader. libcsv splits fields and undoes the quoting; this file knows the
// sections. libcsv is fed one line at a time, so that every record knows its line number.
#include "civic/contracts/pabulib.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <map>
#include <numeric>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include <csv.h>

#include "civic/proto/assert.h"

namespace civic::contracts {
namespace {

using proto::ErrorCode;
using proto::Fail;
using proto::Result;

constexpr std::array<std::pair<PabulibVoteType, std::string_view>, 4> kVoteTypes = {{
    {PabulibVoteType::kApproval, "approval"},
    {PabulibVoteType::kChoose1, "choose-1"},
    {PabulibVoteType::kOrdinal, "ordinal"},
    {PabulibVoteType::kCumulative, "cumulative"},
}};

std::string At(std::size_t line) { return "line " + std::to_string(std::max<std::size_t>(line, 1)) + ": "; }

// Length of the well-formed UTF-8 sequence at text[i], or 0 (overlong forms, surrogates and
// code points above U+10FFFF are not well formed).
std::size_t Utf8SequenceAt(std::string_view text, std::size_t i) {
  const auto at = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
  const unsigned char lead = at(i);
  if (lead < 0x80) return 1;
  std::size_t length = 0;
  unsigned char second_min = 0x80;
  unsigned char second_max = 0xBF;
  if (lead >= 0xC2 && lead <= 0xDF) {
    length = 2;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    if (lead == 0xE0) second_min = 0xA0;  // overlong
    if (lead == 0xED) second_max = 0x9F;  // surrogates
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    if (lead == 0xF0) second_min = 0x90;  // overlong
    if (lead == 0xF4) second_max = 0x8F;  // above U+10FFFF
  } else {
    return 0;
  }
  if (text.size() - i < length) return 0;
  if (at(i + 1) < second_min || at(i + 1) > second_max) return 0;
  for (std::size_t k = 2; k < length; ++k) {
    if ((at(i + k) & 0xC0) != 0x80) return 0;
  }
  return length;
}

[[nodiscard]] Result<void> CheckUtf8(std::string_view text) {
  std::size_t line = 1;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t length = Utf8SequenceAt(text, i);
    if (length == 0) {
      return Fail(ErrorCode::kMalformed, At(line) + "the text is not valid UTF-8 (byte " + std::to_string(i) +
                                             "); save the file as UTF-8");
    }
    if (text[i] == '\n') ++line;
    i += length;
  }
  return {};
}

// A whole number written with digits only: no sign, no decimal point, no exponent.
[[nodiscard]] Result<std::uint64_t> ParseCount(std::string_view field, std::size_t line, std::string_view what) {
  std::uint64_t value = 0;
  const char* end = field.data() + field.size();
  const auto [stop, error] = std::from_chars(field.data(), end, value);
  const bool digits_only = !field.empty() && std::all_of(field.begin(), field.end(), [](char c) {
    return c >= '0' && c <= '9';
  });
  if (!digits_only) {
    return Fail(ErrorCode::kMalformed, At(line) + std::string(what) + " '" + std::string(field) +
                                           "' is not a whole number (digits only: no sign, decimals or spaces)");
  }
  if (error == std::errc::result_out_of_range || stop != end) {
    return Fail(ErrorCode::kTooLarge, At(line) + std::string(what) + " " + std::string(field) +
                                          " does not fit in 64 bits");
  }
  return value;
}

// Splits a comma-separated list ("3,12,7"); an empty field is an empty list.
std::vector<std::string_view> SplitCommas(std::string_view field) {
  std::vector<std::string_view> out;
  if (field.empty()) return out;
  std::size_t start = 0;
  while (true) {
    const std::size_t comma = field.find(',', start);
    out.push_back(field.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) return out;
    start = comma + 1;
  }
}

bool IsDecimal(std::string_view id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) { return c >= '0' && c <= '9'; });
}

enum class Section : std::uint8_t { kNone, kMeta, kProjects, kVotes };

// One section's header row: column name -> position.
struct Columns {
  std::map<std::string, std::size_t, std::less<>> index;
  std::size_t count = 0;
  std::optional<std::size_t> Find(std::string_view name) const {
    auto it = index.find(name);
    return it == index.end() ? std::nullopt : std::optional<std::size_t>(it->second);
  }
};

class Reader {
 public:
  Result<PabulibInstance> Read(std::string_view text);

 private:
  static void OnField(void* data, std::size_t length, void* self);
  static void OnRecordEnd(int terminator, void* self);
  void SetError(ErrorCode code, std::string message);
  [[nodiscard]] Result<void> OnRecord();
  [[nodiscard]] Result<void> OnHeader();
  [[nodiscard]] Result<void> OnMeta();
  [[nodiscard]] Result<void> OnProject();
  [[nodiscard]] Result<void> OnVote();
  [[nodiscard]] Result<void> FinishMeta();
  [[nodiscard]] Result<void> FinishFile();
  [[nodiscard]] Result<std::size_t> Require(std::string_view column) const;
  std::optional<std::uint64_t> MetaCount(std::string_view key) const;

  std::size_t line_ = 0;         // the physical line being fed to libcsv
  std::size_t record_line_ = 0;  // the line the current record started on
  std::vector<std::string> fields_;
  std::optional<proto::Error> error_;

  Section section_ = Section::kNone;
  bool header_pending_ = false;
  Columns columns_;
  std::map<std::string, std::size_t, std::less<>> meta_lines_;  // key -> line
  std::unordered_map<std::string, std::uint32_t> project_index_;  // lookups only, never iterated
  std::unordered_set<std::string> voter_ids_;
  std::vector<std::uint8_t> seen_;  // per project, for duplicates within one vote
  PabulibInstance out_;
};

void Reader::OnField(void* data, std::size_t length, void* self) {
  auto* reader = static_cast<Reader*>(self);
  if (reader->error_) return;
  if (reader->fields_.empty()) reader->record_line_ = reader->line_;
  if (reader->fields_.size() >= kPabulibFieldsPerLineMax) {
    return reader->SetError(ErrorCode::kTooLarge, At(reader->record_line_) + "more than " +
                                                  std::to_string(kPabulibFieldsPerLineMax) + " fields on one line");
  }
  if (length > kPabulibFieldBytesMax) {
    return reader->SetError(ErrorCode::kTooLarge, At(reader->record_line_) + "a field of " + std::to_string(length) +
                                                  " bytes, at most " + std::to_string(kPabulibFieldBytesMax) +
                                                  " are allowed");
  }
  reader->fields_.emplace_back(static_cast<const char*>(data), length);
}

void Reader::OnRecordEnd(int /*terminator*/, void* self) {
  auto* reader = static_cast<Reader*>(self);
  if (reader->error_) return;
  if (Result<void> done = reader->OnRecord(); !done) reader->error_ = done.error();
  reader->fields_.clear();
}

void Reader::SetError(ErrorCode code, std::string message) {
  if (!error_) error_ = proto::Error{code, std::move(message)};
}

// libcsv trims spaces and tabs around unquoted fields by default; ids and numbers are taken
// exactly as written instead.
int NoSpaces(unsigned char /*c*/) { return 0; }

Result<PabulibInstance> Reader::Read(std::string_view text) {
  if (text.size() > kPabulibFileBytesMax) {
    return proto::Fail(ErrorCode::kTooLarge, "the file has " + std::to_string(text.size()) + " bytes, at most " +
                                                 std::to_string(kPabulibFileBytesMax) + " are read");
  }
  if (Result<void> utf8 = CheckUtf8(text); !utf8) return tl::unexpected(utf8.error());
  constexpr std::string_view kByteOrderMark = "\xEF\xBB\xBF";
  if (text.substr(0, kByteOrderMark.size()) == kByteOrderMark) text.remove_prefix(kByteOrderMark.size());

  csv_parser parser;
  CIVIC_ASSERT(csv_init(&parser, CSV_STRICT | CSV_STRICT_FINI) == 0);
  csv_set_delim(&parser, ';');
  csv_set_space_func(&parser, NoSpaces);
  struct Free {
    csv_parser* p;
    ~Free() { csv_free(p); }
  } free_parser{&parser};

  std::size_t start = 0;
  while (start < text.size() && !error_) {
    ++line_;
    const std::size_t newline = text.find('\n', start);
    const std::size_t end = newline == std::string_view::npos ? text.size() : newline + 1;
    const std::size_t length = end - start;
    if (csv_parse(&parser, text.data() + start, length, OnField, OnRecordEnd, this) != length && !error_) {
      if (csv_error(&parser) == CSV_EPARSE) {
        SetError(ErrorCode::kMalformed, At(line_) + "bad quoting: a field holding a quote must be quoted whole "
                                                    "(\"like this\"), with \"\" for each quote inside");
      } else {
        SetError(ErrorCode::kTooLarge, At(line_) + "the CSV reader failed: " + csv_strerror(csv_error(&parser)));
      }
    }
    start = end;
  }
  if (!error_ && csv_fini(&parser, OnField, OnRecordEnd, this) != 0 && !error_) {
    SetError(ErrorCode::kMalformed, At(line_) + "a quoted field is not closed before the end of the file");
  }
  if (error_) return tl::unexpected(*error_);
  if (Result<void> finished = FinishFile(); !finished) return tl::unexpected(finished.error());
  return std::move(out_);
}

Result<void> Reader::OnRecord() {
  const std::size_t line = record_line_;
  if (fields_.size() == 1) {
    const std::string& name = fields_[0];
    Section next = Section::kNone;
    if (name == "META") next = Section::kMeta;
    if (name == "PROJECTS") next = Section::kProjects;
    if (name == "VOTES") next = Section::kVotes;
    if (next != Section::kNone) {
      // Exactly META, PROJECTS, VOTES, in this order.
      if (static_cast<int>(next) != static_cast<int>(section_) + 1) {
        return proto::Fail(ErrorCode::kMalformed, At(line) + "section " + name +
                                                      " is out of place; a file has META, PROJECTS and VOTES, "
                                                      "once each and in this order");
      }
      if (header_pending_) {
        return proto::Fail(ErrorCode::kMalformed, At(line) + "the previous section has no header row");
      }
      if (next == Section::kProjects) {
        if (Result<void> meta = FinishMeta(); !meta) return meta;
      }
      section_ = next;
      header_pending_ = true;
      return {};
    }
  }
  if (section_ == Section::kNone) {
    return proto::Fail(ErrorCode::kMalformed, At(line) + "expected the line META that opens a Pabulib file");
  }
  if (header_pending_) return OnHeader();
  if (fields_.size() != columns_.count) {
    return proto::Fail(ErrorCode::kMalformed, At(line) + std::to_string(fields_.size()) + " fields, but the header has " +
                                                  std::to_string(columns_.count) + " columns");
  }
  switch (section_) {
    case Section::kMeta: return OnMeta();
    case Section::kProjects: return OnProject();
    case Section::kVotes: return OnVote();
    case Section::kNone: break;
  }
  CIVIC_ASSERT(false && "unreachable section");
  return {};
}

Result<void> Reader::OnHeader() {
  header_pending_ = false;
  columns_ = Columns{};
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    if (!columns_.index.emplace(fields_[i], i).second) {
      return proto::Fail(ErrorCode::kMalformed, At(record_line_) + "column '" + fields_[i] + "' appears twice in the header");
    }
  }
  columns_.count = fields_.size();
  std::vector<std::string_view> required;
  if (section_ == Section::kMeta) required = {"key", "value"};
  if (section_ == Section::kProjects) required = {"project_id", "cost"};
  if (section_ == Section::kVotes) {
    required = {"voter_id", "vote"};
    if (out_.vote_type == PabulibVoteType::kCumulative) required.push_back("points");
  }
  for (std::string_view column : required) {
    if (Result<std::size_t> found = Require(column); !found) return tl::unexpected(found.error());
  }
  return {};
}

Result<std::size_t> Reader::Require(std::string_view column) const {
  if (std::optional<std::size_t> at = columns_.Find(column)) return *at;
  return proto::Fail(ErrorCode::kMalformed, At(record_line_) + "the header has no column '" + std::string(column) + "'");
}

Result<void> Reader::OnMeta() {
  const std::string& key = fields_[*columns_.Find("key")];
  const std::string& value = fields_[*columns_.Find("value")];
  if (out_.meta.size() >= kPabulibMetaKeysMax) {
    return proto::Fail(ErrorCode::kTooLarge, At(record_line_) + "more than " + std::to_string(kPabulibMetaKeysMax) +
                                                 " META rows");
  }
  if (!meta_lines_.emplace(key, record_line_).second) {
    return proto::Fail(ErrorCode::kMalformed, At(record_line_) + "META key '" + key + "' appears twice (first on line " +
                                                  std::to_string(meta_lines_[key]) + ")");
  }
  out_.meta.emplace_back(key, value);
  return {};
}

std::optional<std::uint64_t> Reader::MetaCount(std::string_view key) const {
  const std::string* value = out_.Meta(key);
  if (value == nullptr) return std::nullopt;
  return ParseCount(*value, meta_lines_.find(key)->second, "META " + std::string(key)).value_or(0);
}

Result<void> Reader::FinishMeta() {
  for (std::string_view key : {"budget", "vote_type"}) {
    if (out_.Meta(key) == nullptr) {
      return proto::Fail(ErrorCode::kMalformed, At(record_line_) + "META has no '" + std::string(key) + "'");
    }
  }
  // Every numeric key we use must parse; MetaCount then reads them without failing.
  for (std::string_view key : {"budget", "min_length", "max_length", "max_sum_points", "num_projects", "num_votes"}) {
    const std::string* value = out_.Meta(key);
    if (value == nullptr) continue;
    const std::size_t line = meta_lines_.find(key)->second;
    Result<std::uint64_t> number = ParseCount(*value, line, "META " + std::string(key));
    if (!number) return tl::unexpected(number.error());
  }
  const std::size_t budget_line = meta_lines_.find("budget")->second;
  out_.budget = *MetaCount("budget");
  if (out_.budget > kTallyBudgetMax) {
    return proto::Fail(ErrorCode::kTooLarge, At(budget_line) + "budget " + std::to_string(out_.budget) +
                                                 " is above the limit of " + std::to_string(kTallyBudgetMax));
  }
  const std::string& vote_type = *out_.Meta("vote_type");
  const auto type = std::find_if(kVoteTypes.begin(), kVoteTypes.end(),
                                 [&](const auto& entry) { return entry.second == vote_type; });
  if (type == kVoteTypes.end()) {
    return proto::Fail(ErrorCode::kMalformed, At(meta_lines_.find("vote_type")->second) + "vote_type '" + vote_type +
                                                  "' is not one of approval, choose-1, ordinal, cumulative");
  }
  out_.vote_type = type->first;
  out_.min_length = MetaCount("min_length");
  out_.max_length = MetaCount("max_length");
  out_.max_sum_points = MetaCount("max_sum_points");
  return {};
}

Result<void> Reader::OnProject() {
  const std::size_t line = record_line_;
  if (out_.projects.size() >= kPabulibProjectsMax) {
    return proto::Fail(ErrorCode::kTooLarge, At(line) + "more than " + std::to_string(kPabulibProjectsMax) + " projects");
  }
  PabulibProject project;
  project.line = line;
  project.id = fields_[*columns_.Find("project_id")];
  if (project.id.empty()) return proto::Fail(ErrorCode::kMalformed, At(line) + "empty project_id");
  Result<std::uint64_t> cost = ParseCount(fields_[*columns_.Find("cost")], line, "cost");
  if (!cost) return tl::unexpected(cost.error());
  if (*cost == 0) {
    return proto::Fail(ErrorCode::kMalformed, At(line) + "project " + project.id + " costs 0; a project costs at least 1");
  }
  if (*cost > kTallyBudgetMax) {
    return proto::Fail(ErrorCode::kTooLarge, At(line) + "project " + project.id + " costs " + std::to_string(*cost) +
                                                 ", above the limit of " + std::to_string(kTallyBudgetMax));
  }
  project.cost = *cost;
  if (std::optional<std::size_t> name = columns_.Find("name")) project.name = fields_[*name];
  const std::array<std::pair<std::string_view, std::optional<std::uint64_t>*>, 3> counts = {{
      {"votes", &project.votes}, {"score", &project.score}, {"selected", &project.selected}}};
  for (const auto& [column, target] : counts) {
    const std::optional<std::size_t> at = columns_.Find(column);
    if (!at || fields_[*at].empty()) continue;
    Result<std::uint64_t> value = ParseCount(fields_[*at], line, column);
    if (!value) return tl::unexpected(value.error());
    *target = *value;
  }
  const auto index = static_cast<std::uint32_t>(out_.projects.size());
  if (!project_index_.emplace(project.id, index).second) {
    return proto::Fail(ErrorCode::kMalformed, At(line) + "project id '" + project.id + "' appears twice (first on line " +
                                                  std::to_string(out_.projects[project_index_[project.id]].line) + ")");
  }
  out_.projects.push_back(std::move(project));
  return {};
}

Result<void> Reader::OnVote() {
  const std::size_t line = record_line_;
  if (out_.votes.size() >= kPabulibVotersMax) {
    return proto::Fail(ErrorCode::kTooLarge, At(line) + "more than " + std::to_string(kPabulibVotersMax) + " votes");
  }
  PabulibVote vote;
  vote.line = line;
  vote.voter_id = fields_[*columns_.Find("voter_id")];
  if (vote.voter_id.empty()) return proto::Fail(ErrorCode::kMalformed, At(line) + "empty voter_id");
  if (!voter_ids_.insert(vote.voter_id).second) {
    return proto::Fail(ErrorCode::kMalformed, At(line) + "voter_id '" + vote.voter_id + "' appears twice");
  }
  seen_.resize(out_.projects.size(), 0);  // all 0 between votes: each vote clears what it set
  for (std::string_view id : SplitCommas(fields_[*columns_.Find("vote")])) {
    auto it = project_index_.find(std::string(id));
    if (it == project_index_.end()) {
      return proto::Fail(ErrorCode::kMalformed,
                         At(line) + "the vote names project '" + std::string(id) + "', which PROJECTS does not list");
    }
    if (seen_[it->second] != 0) {
      return proto::Fail(ErrorCode::kMalformed, At(line) + "the vote names project '" + std::string(id) + "' twice");
    }
    seen_[it->second] = 1;
    vote.projects.push_back(it->second);
  }
  for (std::uint32_t j : vote.projects) seen_[j] = 0;
  const std::size_t length = vote.projects.size();
  if (out_.vote_type == PabulibVoteType::kChoose1 && length != 1) {
    return proto::Fail(ErrorCode::kMalformed, At(line) + "a choose-1 vote names exactly one project, this one " +
                                                  std::to_string(length));
  }
  if (out_.min_length && length < *out_.min_length) {
    return proto::Fail(ErrorCode::kMalformed, At(line) + "the vote names " + std::to_string(length) +
                                                  " projects, fewer than META min_length " +
                                                  std::to_string(*out_.min_length));
  }
  if (out_.max_length && length > *out_.max_length) {
    return proto::Fail(ErrorCode::kMalformed, At(line) + "the vote names " + std::to_string(length) +
                                                  " projects, more than META max_length " +
                                                  std::to_string(*out_.max_length));
  }
  if (out_.vote_type == PabulibVoteType::kCumulative) {
    const std::vector<std::string_view> points = SplitCommas(fields_[*columns_.Find("points")]);
    if (points.size() != length) {
      return proto::Fail(ErrorCode::kMalformed, At(line) + std::to_string(points.size()) + " points for " +
                                                    std::to_string(length) + " voted projects; give one per project");
    }
    std::uint64_t sum = 0;
    for (std::string_view field : points) {
      Result<std::uint64_t> value = ParseCount(field, line, "points");
      if (!value) return tl::unexpected(value.error());
      if (*value == 0) {
        return proto::Fail(ErrorCode::kMalformed, At(line) + "0 points for a voted project; points are at least 1");
      }
      if (__builtin_add_overflow(sum, *value, &sum)) {
        return proto::Fail(ErrorCode::kTooLarge, At(line) + "the points add up to more than 2^64 - 1");
      }
      vote.points.push_back(*value);
    }
    if (out_.max_sum_points && sum > *out_.max_sum_points) {
      return proto::Fail(ErrorCode::kMalformed, At(line) + "the points add up to " + std::to_string(sum) +
                                                    ", more than META max_sum_points " +
                                                    std::to_string(*out_.max_sum_points));
    }
  }
  out_.votes.push_back(std::move(vote));
  return {};
}

Result<void> Reader::FinishFile() {
  if (section_ != Section::kVotes || header_pending_) {
    return proto::Fail(ErrorCode::kMalformed, At(line_) + "the file ends before its VOTES section and header; "
                                                          "it may be truncated");
  }
  const std::array<std::tuple<std::string_view, std::size_t, std::string_view>, 2> counts = {{
      {"num_projects", out_.projects.size(), "PROJECTS"}, {"num_votes", out_.votes.size(), "VOTES"}}};
  for (const auto& [key, actual, section] : counts) {
    const std::optional<std::uint64_t> declared = MetaCount(key);
    if (declared && *declared != actual) {
      return proto::Fail(ErrorCode::kMalformed, At(meta_lines_.find(key)->second) + "META " + std::string(key) +
                                                    " says " + std::to_string(*declared) + " but " +
                                                    std::string(section) + " has " + std::to_string(actual) +
                                                    " rows; the file may be truncated");
    }
  }
  return {};
}

}  // namespace

std::string_view PabulibVoteTypeName(PabulibVoteType type) {
  for (const auto& [value, name] : kVoteTypes) {
    if (value == type) return name;
  }
  return "unknown";
}

namespace {

std::string PabulibField(std::string_view text) {
  const bool plain = text.find_first_of(";\"\r\n") == std::string_view::npos &&
                     (text.empty() || (text.front() != ' ' && text.front() != '\t' && text.back() != ' ' &&
                                       text.back() != '\t'));
  if (plain) return std::string(text);
  std::string out = "\"";
  for (char c : text) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string JoinNumbers(const std::vector<std::uint64_t>& numbers) {
  std::string out;
  for (std::uint64_t n : numbers) out += (out.empty() ? "" : ",") + std::to_string(n);
  return out;
}

}  // namespace

std::string WritePabulib(const PabulibInstance& instance) {
  // META: the instance's own fields win over rows of the same key.
  std::vector<std::pair<std::string, std::string>> meta;
  const auto set = [&](const std::string& key, const std::string& value) {
    for (auto& [k, v] : meta) {
      if (k == key) {
        v = value;
        return;
      }
    }
    meta.emplace_back(key, value);
  };
  for (const auto& [key, value] : instance.meta) set(key, value);
  set("num_projects", std::to_string(instance.projects.size()));
  set("num_votes", std::to_string(instance.votes.size()));
  set("budget", std::to_string(instance.budget));
  set("vote_type", std::string(PabulibVoteTypeName(instance.vote_type)));
  if (instance.min_length) set("min_length", std::to_string(*instance.min_length));
  if (instance.max_length) set("max_length", std::to_string(*instance.max_length));
  if (instance.max_sum_points) set("max_sum_points", std::to_string(*instance.max_sum_points));
  std::string out = "META\nkey;value\n";
  for (const auto& [key, value] : meta) out += PabulibField(key) + ";" + PabulibField(value) + "\n";

  bool names = false, votes = false, selected = false;
  for (const PabulibProject& project : instance.projects) {
    names = names || !project.name.empty();
    votes = votes || project.votes.has_value();
    selected = selected || project.selected.has_value();
  }
  const auto optional = [](const std::optional<std::uint64_t>& value) { return value ? std::to_string(*value) : std::string(); };
  out += "PROJECTS\nproject_id;cost";
  out += std::string(votes ? ";votes" : "") + (names ? ";name" : "") + (selected ? ";selected" : "") + "\n";
  for (const PabulibProject& project : instance.projects) {
    out += PabulibField(project.id) + ";" + std::to_string(project.cost);
    if (votes) out += ";" + optional(project.votes);
    if (names) out += ";" + PabulibField(project.name);
    if (selected) out += ";" + optional(project.selected);
    out += "\n";
  }

  const bool points = instance.vote_type == PabulibVoteType::kCumulative;
  out += std::string("VOTES\nvoter_id;vote") + (points ? ";points" : "") + "\n";
  for (const PabulibVote& vote : instance.votes) {
    std::string ids;
    for (std::uint32_t project : vote.projects) ids += (ids.empty() ? "" : ",") + instance.projects[project].id;
    out += PabulibField(vote.voter_id) + ";" + PabulibField(ids);
    if (points) out += ";" + JoinNumbers(vote.points);
    out += "\n";
  }
  return out;
}

const std::string* PabulibInstance::Meta(std::string_view key) const {
  for (const auto& [k, value] : meta) {
    if (k == key) return &value;
  }
  return nullptr;
}

Result<PabulibInstance> ParsePabulib(std::string_view text) {
  try {
    return Reader().Read(text);
  } catch (const std::bad_alloc&) {
    return proto::Fail(ErrorCode::kTooLarge, "out of memory while reading the file");
  }
}

bool PabulibIdLess(std::string_view a, std::string_view b, bool numeric) {
  if (numeric) {
    // Compare as numbers of any length: without leading zeros, a shorter number is smaller.
    const auto significant = [](std::string_view id) {
      const std::size_t first = id.find_first_not_of('0');
      return first == std::string_view::npos ? std::string_view() : id.substr(first);
    };
    const std::string_view x = significant(a);
    const std::string_view y = significant(b);
    if (x.size() != y.size()) return x.size() < y.size();
    if (x != y) return x < y;
  }
  // std::string_view compares as unsigned bytes (char_traits<char>::lt), i.e. UTF-8 order.
  return a < b;
}

Result<PabulibTally> ToTallyInput(const PabulibInstance& instance) {
  const std::size_t projects = instance.projects.size();
  if (projects > kTallyProjectsMax) {
    return proto::Fail(ErrorCode::kTooLarge, std::to_string(projects) + " projects, at most " +
                                                 std::to_string(kTallyProjectsMax) + " can be tallied");
  }
  const bool numeric = std::all_of(instance.projects.begin(), instance.projects.end(),
                                   [](const PabulibProject& p) { return IsDecimal(p.id); });
  PabulibTally out;
  out.file_project.resize(projects);
  std::iota(out.file_project.begin(), out.file_project.end(), std::uint32_t{0});
  std::sort(out.file_project.begin(), out.file_project.end(), [&](std::uint32_t a, std::uint32_t b) {
    return PabulibIdLess(instance.projects[a].id, instance.projects[b].id, numeric);
  });
  std::vector<std::uint32_t> tally_index(projects);
  for (std::uint32_t i = 0; i < projects; ++i) {
    const PabulibProject& project = instance.projects[out.file_project[i]];
    tally_index[out.file_project[i]] = i;
    out.project_ids.push_back(project.id);
    out.input.projects.push_back(TallyProject{project.cost});
  }
  out.input.budget = instance.budget;

  std::uint64_t top_points = 0;  // ordinal: what the first choice is worth
  if (instance.vote_type == PabulibVoteType::kOrdinal) {
    for (const PabulibVote& vote : instance.votes) top_points = std::max<std::uint64_t>(top_points, vote.projects.size());
    if (instance.max_length) top_points = std::max(top_points, *instance.max_length);
  }
  out.input.ballots.reserve(instance.votes.size());
  std::vector<std::pair<std::uint32_t, std::uint64_t>> choices;
  for (const PabulibVote& vote : instance.votes) {
    choices.clear();
    for (std::size_t rank = 0; rank < vote.projects.size(); ++rank) {
      const std::uint32_t file_index = vote.projects[rank];
      if (file_index >= projects) {
        return proto::Fail(ErrorCode::kInvalidArgument, At(vote.line) + "the vote names project index " +
                                                            std::to_string(file_index) + ", out of range");
      }
      std::uint64_t points = 0;
      if (instance.vote_type == PabulibVoteType::kCumulative) {
        if (vote.points.size() != vote.projects.size()) {
          return proto::Fail(ErrorCode::kInvalidArgument, At(vote.line) + "points do not match the voted projects");
        }
        points = vote.points[rank];
        if (points == 0) {
          return proto::Fail(ErrorCode::kInvalidArgument, At(vote.line) + "0 points for a voted project");
        }
      } else if (instance.vote_type == PabulibVoteType::kOrdinal) {
        points = top_points - rank;
      }
      choices.emplace_back(tally_index[file_index], points);
    }
    std::sort(choices.begin(), choices.end());
    TallyBallot ballot;
    for (const auto& [index, points] : choices) {
      ballot.projects.push_back(index);
      if (points != 0) ballot.points.push_back(points);
    }
    out.input.ballots.push_back(std::move(ballot));
  }
  return out;
}

}  // namespace civic::contracts
