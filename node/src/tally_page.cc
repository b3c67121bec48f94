#include "civic/node/tally_page.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>

#include "civic/contracts/pabulib.h"
#include "civic/contracts/round_export.h"
#include "civic/contracts/tally.h"
#include "civic/node/clock.h"
#include "civic/node/round_json.h"
#include "civic/proto/bytes.h"

namespace civic::node {
namespace {

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// 1234567 -> "1,234,567"
std::string Number(std::uint64_t n) {
  std::string digits = std::to_string(n);
  std::string out;
  for (std::size_t i = 0; i < digits.size(); ++i) {
    if (i != 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// "12.5%" with one decimal, from integers (no floating point needed), rounded to nearest, except
// that 100.0% means all and 0.0% means none: 9,996 of 10,000 is "99.9%", 1 of 10,000 "under 0.1%".
std::string Percent(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0) return "not applicable";
  part = std::min(part, whole);
  const bool all = part == whole, none = part == 0;
  while (whole > UINT64_MAX / 2000) {  // keep part * 1000 + whole / 2 in range
    part /= 2;
    whole /= 2;
  }
  std::uint64_t tenths = (part * 1000 + whole / 2) / whole;
  if (tenths == 1000 && !all) tenths = 999;
  if (tenths == 0 && !none) return "under 0.1%";
  return std::to_string(tenths / 10) + "." + std::to_string(tenths % 10) + "%";
}

std::string UtcTime(std::uint64_t unix_ms) {
  const std::time_t seconds = static_cast<std::time_t>(unix_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%d %H:%M UTC", &tm);
  return text;
}

std::string RuleDescription(contracts::OutcomeRule rule) {
  switch (rule) {
    case contracts::OutcomeRule::kGreedy: return "greedy by number of approvals";
    case contracts::OutcomeRule::kGreedyPoints: return "greedy by points";
    case contracts::OutcomeRule::kMesCost: return "Method of Equal Shares (cost utilities)";
    case contracts::OutcomeRule::kMesCostAdd1: return "Method of Equal Shares (cost utilities), add1 completion";
    case contracts::OutcomeRule::kMesApprovalCount: return "Method of Equal Shares (approval-count utilities)";
    case contracts::OutcomeRule::kMesApprovalCountAdd1:
      return "Method of Equal Shares (approval-count utilities), add1 completion";
  }
  return std::string(contracts::OutcomeRuleName(rule));
}

// The column header's short name for a rule's family.
std::string RuleFamily(contracts::OutcomeRule rule) { return contracts::IsEqualShares(rule) ? "equal shares" : "greedy"; }

std::string_view BallotTypeText(proto::BallotType type) {
  switch (type) {
    case proto::BallotType::kApproval: return "approval";
    case proto::BallotType::kKnapsack: return "knapsack (approved projects within the budget)";
    case proto::BallotType::kCumulative: return "cumulative points";
  }
  return "unknown";
}

std::string_view ReviewText(contracts::ReviewState review) {
  switch (review) {
    case contracts::ReviewState::kPending: return "not reviewed yet";
    case contracts::ReviewState::kFeasible: return "on the ballot";
    case contracts::ReviewState::kInfeasible: return "not feasible";
  }
  return "unknown";
}

const char* kStyle =
    "*{box-sizing:border-box}code{overflow-wrap:anywhere}td,th{overflow-wrap:break-word}td.n{white-space:nowrap}th{hyphens:auto}"
    "body{font-family:system-ui,sans-serif;font-size:1rem;line-height:1.5;color:#000;background:#fff;margin:0 auto;"
    "max-width:60rem;padding:1rem}"
    "a{color:#00379e;text-decoration:underline}a:focus{outline:3px solid #000;outline-offset:2px}"
    "table{border-collapse:collapse;margin:1rem 0;width:100%}caption{text-align:left;font-weight:bold;padding:.25rem 0}"
    "th,td{border:1px solid #000;padding:.25rem .5rem;text-align:left;vertical-align:top}"
    "td.n,th.n{text-align:right}"
    ".bar{border:2px solid #000;height:1.5rem;width:100%;max-width:30rem;background:#fff}"
    ".bar>div{height:100%;background:#000}"
    "dt{font-weight:bold}dd{margin:0 0 .5rem 1rem}"
    "@media (max-width:40rem){td,th{overflow-wrap:anywhere}}"
    "@media (prefers-color-scheme:dark){body{color:#fff;background:#000}a{color:#9cc3ff}a:focus{outline-color:#fff}"
    "th,td{border-color:#fff}.bar{border-color:#fff;background:#000}.bar>div{background:#fff}}";

std::string Page(const std::string& title, const std::string& body) {
  return "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>" +
         Escape(title) + "</title>\n<style>" + kStyle + "</style>\n</head>\n<body>\n" + body + "</body>\n</html>\n";
}

HttpResponse Html(unsigned status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.content_type = "text/html; charset=utf-8";
  // The page loads nothing and runs nothing: only its own inline style is allowed.
  response.headers.emplace_back("Content-Security-Policy",
                                "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; "
                                "frame-ancestors 'none'");
  response.headers.emplace_back("Referrer-Policy", "no-referrer");
  response.body = std::move(body);
  return response;
}

HttpResponse ErrorPage(unsigned status, const std::string& message) {
  return Html(status, Page("civic-ledger", "<main>\n<h1>" + Escape(message) + "</h1>\n<p><a href=\"/\">All rounds</a></p>\n</main>\n"));
}

std::string PhaseText(std::string_view phase) {
  if (phase == "not-started") return "not started";
  if (phase == "proposals") return "collecting proposals";
  if (phase == "review") return "proposals under review";
  if (phase == "voting") return "voting open";
  if (phase == "voting-ended") return "voting ended, waiting to be closed";
  if (phase == "closed") return "closed: results below";
  return std::string(phase);
}

std::string DistrictName(const Genesis& genesis, std::uint32_t district) {
  if (district == 0) return "City-wide";
  for (const contracts::District& d : genesis.contracts.districts) {
    if (d.id == district) return d.name;
  }
  return "District " + std::to_string(district);
}

struct DistrictRow {
  std::uint32_t district = 0;
  std::uint64_t registered = 0;
  std::uint64_t voted = 0;
  std::optional<std::uint64_t> funded;  // once closed: the money funded in the district
};

// One table for turnout during voting and for the closed round, so that "share of the roll"
// means the same in both: the district's registrations over all districts' registrations (a
// resident registered in two districts counts in each).
std::string DistrictTable(const Genesis& genesis, const std::vector<DistrictRow>& rows, const std::string& caption) {
  std::uint64_t registered = 0, funded = 0;
  const bool closed = !rows.empty() && rows.front().funded.has_value();
  for (const DistrictRow& row : rows) {
    registered += row.registered;
    funded += row.funded.value_or(0);
  }
  std::string out = "<table>\n<caption>" + Escape(caption) + "</caption>\n<thead><tr><th scope=\"col\">District</th>"
                    "<th scope=\"col\" class=\"n\">Registered</th><th scope=\"col\" class=\"n\">Share of the roll</th>"
                    "<th scope=\"col\" class=\"n\">Voted</th><th scope=\"col\" class=\"n\">Turnout</th>";
  if (closed) out += "<th scope=\"col\" class=\"n\">Funded in the district</th><th scope=\"col\" class=\"n\">Share of funding</th>";
  out += "</tr></thead>\n<tbody>\n";
  for (const DistrictRow& row : rows) {
    out += "<tr><th scope=\"row\">" + Escape(DistrictName(genesis, row.district)) + "</th><td class=\"n\">" +
           Number(row.registered) + "</td><td class=\"n\">" + Percent(row.registered, registered) + "</td><td class=\"n\">" +
           Number(row.voted) + "</td><td class=\"n\">" + Percent(row.voted, row.registered) + "</td>";
    if (closed) {
      out += "<td class=\"n\">" + Number(row.funded.value_or(0)) + "</td><td class=\"n\">" +
             Percent(row.funded.value_or(0), funded) + "</td>";
    }
    out += "</tr>\n";
  }
  return out + "</tbody>\n</table>\n";
}

}  // namespace

std::optional<HttpResponse> TallyPage::Handle(std::string_view path) {
  if (path == "/" || path.empty()) return Index();
  constexpr std::string_view kRounds = "/rounds/";
  if (!path.starts_with(kRounds)) return std::nullopt;
  std::string_view id_text = path.substr(kRounds.size());
  if (!id_text.empty() && id_text.back() == '/') id_text.remove_suffix(1);
  std::uint64_t round_id = 0;
  const auto [end, error] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), round_id);
  if (error != std::errc() || end != id_text.data() + id_text.size() || round_id == 0) {
    return ErrorPage(404, "There is no such round");
  }
  return Round(round_id);
}

HttpResponse TallyPage::Index() {
  std::unique_ptr<const contracts::KvView> state = ledger_.StateSnapshot();
  const Tip tip = ledger_.tip();
  contracts::Result<std::vector<std::pair<std::uint64_t, contracts::RoundRecord>>> rounds = contracts_.Rounds(*state);
  if (!rounds) return ErrorPage(500, "The ledger state does not read back: " + rounds.error().message);
  std::string body = "<header>\n<h1>Participatory budgeting: " + Escape(genesis_.chain_id.str()) + "</h1>\n";
  body += "<p>The public record of this network's budget rounds, served by one of its nodes from its ledger. Ledger at "
          "block " + Number(tip.height) + (tip.height == 0 ? "" : " (hash <code>" + proto::ToHex(tip.block_hash) + "</code>)") +
          ".</p>\n</header>\n<main>\n<h2>Rounds</h2>\n";
  if (rounds->empty()) {
    body += "<p>No round has been opened yet.</p>\n";
  } else {
    body += "<table>\n<caption>Every budget round on the ledger</caption>\n<thead><tr><th scope=\"col\">Round</th>"
            "<th scope=\"col\">Title</th><th scope=\"col\">Phase</th><th scope=\"col\" class=\"n\">Budget</th>"
            "<th scope=\"col\" class=\"n\">Proposals</th></tr></thead>\n<tbody>\n";
    for (const auto& [id, round] : *rounds) {
      body += "<tr><td>" + std::to_string(id) + "</td><td><a href=\"/rounds/" + std::to_string(id) + "\">" +
              Escape(round.constitution.title) + "</a></td><td>" + Escape(PhaseText(RoundPhase(round, tip))) +
              "</td><td class=\"n\">" + Number(round.constitution.total_budget) + "</td><td class=\"n\">" +
              Number(round.proposal_count) + "</td></tr>\n";
    }
    body += "</tbody>\n</table>\n";
  }
  body += "<h2>Check it yourself</h2>\n<p>Every number here can be re-derived from the ledger and the genesis file "
          "alone: <code>civic-wallet audit --node URL --genesis genesis.json</code>. The machine-readable API is under "
          "<a href=\"/v1/rounds\">/v1/rounds</a>.</p>\n</main>\n";
  return Html(200, Page("Budget rounds: " + genesis_.chain_id.str(), body));
}

HttpResponse TallyPage::Round(std::uint64_t round_id) {
  const Tip tip = ledger_.tip();  // read first: the snapshot is then at this height or later
  std::unique_ptr<const contracts::KvView> state = ledger_.StateSnapshot();
  contracts::Result<std::optional<contracts::RoundRecord>> record = contracts_.Round(*state, round_id);
  if (!record) return ErrorPage(500, "The ledger state does not read back: " + record.error().message);
  if (!record->has_value()) return ErrorPage(404, "There is no round " + std::to_string(round_id));
  const contracts::RoundRecord& round = **record;
  const proto::Constitution& c = round.constitution;
  const std::string phase = RoundPhase(round, tip);
  contracts::Result<std::vector<std::pair<std::uint32_t, contracts::ProposalRecord>>> proposals =
      contracts_.Proposals(*state, round_id);
  if (!proposals) return ErrorPage(500, "The ledger state does not read back: " + proposals.error().message);

  std::string body = "<header>\n<p><a href=\"/\">All rounds</a></p>\n<h1>" + Escape(c.title) + "</h1>\n<p>Round " +
                     std::to_string(round_id) + " of " + Escape(genesis_.chain_id.str()) + ": <strong>" +
                     Escape(PhaseText(phase)) + "</strong>.</p>\n</header>\n<main>\n";
  body += "<section aria-labelledby=\"rules\">\n<h2 id=\"rules\">Budget and rules</h2>\n<dl>\n<dt>Budget</dt><dd>" +
          Number(c.total_budget);
  for (const proto::DistrictBudget& budget : c.district_budgets) {
    body += "; " + Escape(DistrictName(genesis_, budget.district)) + ": " + Number(budget.budget);
  }
  body += "</dd>\n<dt>Ballot</dt><dd>" + std::string(BallotTypeText(c.ballot_type)) + ", " + std::to_string(c.min_choices) +
          " to " + std::to_string(c.max_choices) + " projects";
  if (c.ballot_type == proto::BallotType::kCumulative) {
    body += ", at most " + std::to_string(c.points_total_max) + " points in all and " +
            std::to_string(c.points_per_project_max) + " per project";
  }
  body += "</dd>\n<dt>How the winners are chosen</dt><dd>" +
          Escape(RuleDescription(static_cast<contracts::OutcomeRule>(c.outcome_rule))) + "</dd>\n<dt>Phases</dt><dd>";
  const bool by_height = c.phase_basis == proto::PhaseBasis::kHeight;
  const auto when = [&](std::uint64_t v) { return by_height ? "block " + Number(v) : UtcTime(v); };
  body += "proposals from " + when(c.proposals_start) + ", review from " + when(c.review_start) + ", voting from " +
          when(c.voting_start) + " until " + when(c.voting_end) + "</dd>\n</dl>\n</section>\n";

  body += "<section aria-labelledby=\"proposals\">\n<h2 id=\"proposals\">Proposals</h2>\n";
  if (proposals->empty()) {
    body += "<p>No proposals yet.</p>\n";
  } else {
    body += "<table>\n<caption>Proposals and the clerks' review of each</caption>\n<thead><tr><th scope=\"col\">No.</th>"
            "<th scope=\"col\">Title</th><th scope=\"col\">District</th><th scope=\"col\" class=\"n\">Cost</th>"
            "<th scope=\"col\">Review</th><th scope=\"col\">Reason</th></tr></thead>\n<tbody>\n";
    for (const auto& [id, p] : *proposals) {
      std::string cost = Number(p.cost);
      if (p.cost != p.proposal.cost) cost += " (proposed " + Number(p.proposal.cost) + ")";
      body += "<tr><td>" + std::to_string(id) + "</td><th scope=\"row\">" + Escape(p.proposal.title) + "</th><td>" +
              Escape(DistrictName(genesis_, p.proposal.district)) + "</td><td class=\"n\">" + cost + "</td><td>" +
              std::string(ReviewText(p.review)) + "</td><td>" + Escape(p.review_reason) + "</td></tr>\n";
    }
    body += "</tbody>\n</table>\n";
  }
  body += "</section>\n";

  if (round.closed || phase == "voting" || phase == "voting-ended") {
    const std::shared_ptr<const std::string> section =
        round.closed ? closed_results_.Get(round_id, [&] { return ClosedResults(round_id, *state); })
                     : turnout_.Get({round_id, tip.height}, [&] { return Turnout(round_id, *state); });
    if (section == nullptr) return ErrorPage(500, "The ledger state does not read back");
    body += *section;
  }
  body += "</main>\n";
  return Html(200, Page(c.title + ": round " + std::to_string(round_id), body));
}

std::shared_ptr<const std::string> TallyPage::Turnout(std::uint64_t round_id, const contracts::KvView& state) {
  // Turnout per district, never running counts: who voted, not for what. As closing would
  // count them: the current roll, and the ballots that count now.
  std::map<std::uint32_t, std::pair<std::uint64_t, std::uint64_t>> districts;  // registered, voted
  contracts::Result<std::vector<std::pair<proto::ResidentId, contracts::ResidentRecord>>> roll = contracts_.Roll(state);
  contracts::Result<std::vector<std::pair<proto::ResidentId, contracts::BallotRecord>>> ballots =
      contracts_.Ballots(state, round_id);
  if (!roll || !ballots) return nullptr;
  std::map<proto::ResidentId, const contracts::ResidentRecord*> current;
  for (const auto& [id, resident] : *roll) {
    if (resident.revoked) continue;
    current.emplace(id, &resident);
    for (std::uint32_t d : resident.districts) ++districts[d].first;
  }
  std::uint64_t total_ballots = 0;
  for (const auto& [resident, ballot] : *ballots) {
    const auto found = current.find(resident);
    if (found == current.end() || contracts::BallotVoidReason(*found->second, ballot)) continue;
    ++total_ballots;
    for (std::uint32_t d : found->second->districts) ++districts[d].second;
  }
  std::vector<DistrictRow> rows;
  for (const auto& [d, counts] : districts) rows.push_back({d, counts.first, counts.second, std::nullopt});
  return std::make_shared<const std::string>(
      "<section aria-labelledby=\"turnout\">\n<h2 id=\"turnout\">Turnout so far</h2>\n<p>" + Number(total_ballots) +
      " of " + Number(current.size()) + " registered residents have voted (" + Percent(total_ballots, current.size()) +
      "). How many votes each project has is shown only once the round is closed.</p>\n" +
      DistrictTable(genesis_, rows, "Turnout per district, next to each district's share of the roll") + "</section>\n");
}

std::shared_ptr<const std::string> TallyPage::ClosedResults(std::uint64_t round_id, const contracts::KvView& state) {
  contracts::Result<std::optional<contracts::TallyRecord>> stored = contracts_.Tally(state, round_id);
  contracts::Result<std::vector<std::pair<std::uint32_t, contracts::ProposalRecord>>> proposals =
      contracts_.Proposals(state, round_id);
  contracts::Result<std::optional<contracts::RoundRecord>> round = contracts_.Round(state, round_id);
  if (!stored || !stored->has_value() || !proposals || !round || !round->has_value()) return nullptr;
  const contracts::TallyRecord& tally = **stored;
  std::map<std::uint32_t, const contracts::ProposalRecord*> by_id;
  for (const auto& [id, p] : *proposals) by_id.emplace(id, &p);
  const auto rule = static_cast<contracts::OutcomeRule>(tally.outcome_rule);
  const bool points = (*round)->constitution.ballot_type == proto::BallotType::kCumulative;
  const contracts::OutcomeRule other =
      contracts::IsEqualShares(rule) ? (points ? contracts::OutcomeRule::kGreedyPoints : contracts::OutcomeRule::kGreedy)
          : contracts::OutcomeRule::kMesCostAdd1;

  // What is cached is kept: a block that does not read back now is an error, not a page
  // without its anchor.
  proto::Result<std::optional<proto::Block>> block = ledger_.BlockAt(tally.closed_at_height);
  if (!block || !block->has_value()) return nullptr;
  proto::Result<proto::Hash32> hash = proto::BlockHash((*block)->header);
  if (!hash) return nullptr;
  const std::string anchor = "block " + Number(tally.closed_at_height) + " (hash <code>" + proto::ToHex(*hash) + "</code>)";
  std::string out = "<section aria-labelledby=\"results\">\n<h2 id=\"results\">Results</h2>\n<p>" + Number(tally.ballots) +
                    " ballots counted. The result was computed when the round was closed and is recorded in " + anchor +
                    "; every node computed the same.</p>\n";
  for (const contracts::UnitResult& unit : tally.units) {
    const std::string unit_name = DistrictName(genesis_, unit.district);
    const std::optional<std::uint32_t> district =
        tally.units.size() == 1 ? std::nullopt : std::optional<std::uint32_t>(unit.district);
    // The same ballots under the other family of rules, for comparison (the round's own rule
    // decided).
    std::set<std::uint32_t> other_funded;
    bool other_ok = false;
    proto::Result<contracts::PabulibInstance> instance = contracts::RoundAsPabulib(contracts_, state, round_id, district, {});
    if (!instance && instance.error().code == proto::ErrorCode::kIo) return nullptr;  // the state, not the rule: try again later
    if (instance) {
      if (proto::Result<contracts::PabulibTally> input = contracts::ToTallyInput(*instance)) {
        if (proto::Result<contracts::TallyResult> result = contracts::Tally(input->input, other)) {
          for (std::uint32_t index : result->funded_in_order) {
            other_funded.insert(static_cast<std::uint32_t>(std::stoul(input->project_ids[index])));
          }
          other_ok = true;
        }
      }
    }
    const std::string id = "unit-" + std::to_string(unit.district);
    out += "<section aria-labelledby=\"" + id + "\">\n<h3 id=\"" + id + "\">" + Escape(unit_name) + "</h3>\n";
    const std::uint64_t percent = unit.budget == 0 ? 0 : unit.spent * 100 / unit.budget;
    out += "<p>Spent " + Number(unit.spent) + " of " + Number(unit.budget) + " (" + Percent(unit.spent, unit.budget) + "), by " +
           Number(unit.voters) + " voters.</p>\n<div class=\"bar\" aria-hidden=\"true\"><div style=\"width:" +
           std::to_string(percent) + "%\"></div></div>\n";
    out += "<p>This round's rule: " + Escape(RuleDescription(rule)) + ". For comparison, the same ballots under " +
           Escape(RuleDescription(other)) + ".</p>\n";
    out += "<table>\n<caption>Projects in " + Escape(unit_name) + ": votes and what each rule funds</caption>\n<thead><tr>"
           "<th scope=\"col\">No.</th><th scope=\"col\">Title</th><th scope=\"col\" class=\"n\">Cost</th>"
           "<th scope=\"col\" class=\"n\">Votes</th>" +
           std::string(points ? "<th scope=\"col\" class=\"n\">Points</th>" : "") + "<th scope=\"col\">Funded: " +
           RuleFamily(rule) + " (this round's rule)</th><th scope=\"col\">Funded: " + RuleFamily(other) +
           " (comparison)</th></tr></thead>\n<tbody>\n";
    std::vector<contracts::ProjectSupport> support = unit.support;
    std::stable_sort(support.begin(), support.end(), [](const auto& a, const auto& b) { return a.approvals > b.approvals; });
    for (const contracts::ProjectSupport& s : support) {
      const auto found = by_id.find(s.proposal_id);
      const auto order = std::find(unit.funded_in_order.begin(), unit.funded_in_order.end(), s.proposal_id);
      const std::string funded = order == unit.funded_in_order.end()
                                     ? "no"
                                     : "yes (chosen " + std::to_string(order - unit.funded_in_order.begin() + 1) + ")";
      out += "<tr><td>" + std::to_string(s.proposal_id) + "</td><th scope=\"row\">" +
             (found == by_id.end() ? std::string("unknown") : Escape(found->second->proposal.title)) + "</th><td class=\"n\">" +
             (found == by_id.end() ? std::string("unknown") : Number(found->second->cost)) + "</td><td class=\"n\">" +
             Number(s.approvals) + "</td>" + (points ? "<td class=\"n\">" + Number(s.points) + "</td>" : std::string()) +
             "<td>" + funded + "</td><td>" + (other_ok ? (other_funded.count(s.proposal_id) != 0 ? "yes" : "no") : "not computed") +
             "</td></tr>\n";
    }
    out += "</tbody>\n</table>\n";
    const std::string query = district ? "?district=" + std::to_string(*district) : "";
    out += "<p>Download the ballots and projects of " + Escape(unit_name) + " to recompute this yourself: <a href=\"/v1/rounds/" +
           std::to_string(round_id) + "/export.pb" + query + "\">Pabulib file (.pb)</a>, <a href=\"/v1/rounds/" +
           std::to_string(round_id) + "/export.json" + query + "\">JSON</a>.</p>\n</section>\n";
  }
  if (!tally.districts.empty()) {
    std::vector<DistrictRow> rows;
    for (const contracts::DistrictSummary& d : tally.districts) rows.push_back({d.district, d.registered, d.ballots, d.funded});
    out += "<section aria-labelledby=\"districts\">\n<h3 id=\"districts\">Per district</h3>\n" +
           DistrictTable(genesis_, rows, "Turnout and funding per district, next to each district's share of the roll") +
           "<p>City-wide projects are not located in a district and are not counted here.</p>\n</section>\n";
  }
  out += "</section>\n";
  return std::make_shared<const std::string>(std::move(out));
}

}  // namespace civic::node
