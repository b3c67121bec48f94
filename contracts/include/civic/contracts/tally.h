// The outcome rules: who gets funded, in exact arithmetic.
//
// Deterministic and pure: no clock, randomness, floating point, threads or I/O. The same
// input gives the same result bytes on every machine. Rules are defined precisely in
// ../shared/data/pabulib/README.md; every rule works on the approval projection of the
// ballots (a voter approves every project she names), except kGreedyPoints, which ranks by
// total points.
//
// Tie-break order, for exact ties of support (or of MES effectiveness): lower cost first,
// then lower project index. Callers list projects in their id order (a round's proposal
// ids; a Pabulib file's ids, numerically when every id is a number, otherwise by UTF-8
// bytes), so "lower index" is "smaller id". Precisely, as the Pabulib README defines it:
// kGreedy ranks by (approvals desc, cost asc, index asc), kGreedyPoints by (points desc,
// cost asc, index asc), and the MES rules break an exact tie of effectiveness by the kGreedy
// rank (more approvals first, then the order above).
//
// A project that no ballot names is never funded, by any rule.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "civic/proto/result.h"

namespace civic::contracts {

// Values are part of the ledger encoding (a round's constitution): never renumber.
enum class OutcomeRule : std::uint8_t {
  kGreedy = 1,                  // by approvals, skip what does not fit, go on
  kGreedyPoints = 2,            // the same, by total points
  kMesCost = 3,                 // Method of Equal Shares, cost utilities
  kMesCostAdd1 = 4,             // the same with add1 completion
  kMesApprovalCount = 5,        // Method of Equal Shares, approval-count utilities
  kMesApprovalCountAdd1 = 6,    // the same with add1 completion
};
bool IsKnownValue(OutcomeRule rule);
// A Method of Equal Shares rule (else one of the greedy rules).
bool IsEqualShares(OutcomeRule rule);
std::string_view OutcomeRuleName(OutcomeRule rule);  // "greedy", "greedy-points", "mes", "mes-add1", ...
// The rule whose OutcomeRuleName is `name` ("mes-approval-add1", ...), or nullopt.
std::optional<OutcomeRule> OutcomeRuleFromName(std::string_view name);

// Limits that keep a tally bounded (checked by Tally; the contracts enforce them earlier).
inline constexpr std::uint32_t kTallyProjectsMax = 4096;
inline constexpr std::uint32_t kTallyBallotsMax = 10'000'000;
inline constexpr std::uint64_t kTallyBudgetMax = std::uint64_t{1} << 53;  // also caps every cost
// add1 completion reruns MES once per raise of one currency unit; real rounds need hundreds
// of raises, but a round where, say, one voter alone backs a costly project could need
// millions, and every validator must finish the tally within a block. So add1 stops after
// Add1RaisesMax(input) raises: at most kTallyAdd1RaisesMax, and fewer for large rounds, so
// that raises times approvals stays within kTallyAdd1ApprovalRaisesMax (about 4 s of work
// at worst on the 2-core machine). It then keeps the outcome of the last raise, which is
// within budget, and says so (Add1Stop::kRaiseLimit) on the ledger for anyone to see. No
// real Pabulib instance comes near the limit (Mokotów: 348 raises of 3,636 allowed).
inline constexpr std::uint64_t kTallyAdd1RaisesMax = 100'000;
inline constexpr std::uint64_t kTallyAdd1ApprovalRaisesMax = 200'000'000;

struct TallyProject {
  std::uint64_t cost = 0;  // at least 1
};

struct TallyBallot {
  std::vector<std::uint32_t> projects;  // indices into TallyInput::projects, strictly ascending
  std::vector<std::uint64_t> points;    // empty: one point each; else one entry (>= 1) per project
};

struct TallyInput {
  std::uint64_t budget = 0;
  std::vector<TallyProject> projects;
  std::vector<TallyBallot> ballots;
};

enum class Add1Stop : std::uint8_t {
  kNotApplicable = 0,      // the rule has no add1 completion
  kExhaustive = 1,         // the first exhaustive outcome
  kNextStepOverBudget = 2,  // the last outcome before a raise that would overspend
  kRaiseLimit = 3           // not exhaustive after Add1RaisesMax(input) raises: that raise's outcome
};

// "not_applicable", "exhaustive", "next_step_over_budget", "raise_limit".
std::string_view Add1StopName(Add1Stop stop);

struct TallyResult {
  std::vector<std::uint32_t> funded_in_order;  // project indices, in the order the rule chose them
  std::uint64_t spent = 0;                     // sum of the funded projects' costs; <= budget
  std::vector<std::uint64_t> approvals;        // per project: ballots that name it
  std::vector<std::uint64_t> points;           // per project: total points
  // Per ballot, what the rule spent on this voter's behalf, as an exact fraction in lowest
  // terms ("0", "1200", "42703/21"). MES: what she paid. Greedy rules: each funded project's
  // cost shared among its supporters in proportion to their points (equally for approval:
  // kGreedy always shares equally, kGreedyPoints by points).
  std::vector<std::string> voter_spent;
  Add1Stop add1_stop = Add1Stop::kNotApplicable;
  std::uint64_t add1_steps = 0;       // raises of one currency unit made by add1
  std::string per_voter_budget;       // MES: each voter's starting money, exact ("42703/21");
                                      // empty for the greedy rules and when there are no ballots
};

// Errors (kInvalidArgument) for input outside the documented limits: a cost of 0, a
// project index out of range or not ascending, points of the wrong length or 0, a budget
// or cost above kTallyBudgetMax, too many projects or ballots, an unknown rule, a project
// whose total points do not fit in 64 bits.
[[nodiscard]] proto::Result<TallyResult> Tally(const TallyInput& input, OutcomeRule rule);

// How many raises add1 may make for `input` (see kTallyAdd1RaisesMax).
std::uint64_t Add1RaisesMax(const TallyInput& input);

}  // namespace civic::contracts
