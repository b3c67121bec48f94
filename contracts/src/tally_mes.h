// The Method of Equal Shares, exact, and fast enough to rerun hundreds of times for add1.
// Private to contracts/src: Boost.Multiprecision and GMP stay out of every public header.
//
// How it stays exact without paying for rationals at every step:
// - Every exact amount of a run is an integer numerator over one common denominator D
//   (GMP): the start money b0, and each funded project's payment p_f per rich supporter.
//   A voter who still has money holds exactly b0 - (sum of p_f over the funded projects she
//   approves): she paid each of them in full, or she would have nothing left. So no
//   per-voter rational is ever stored.
// - Decisions (who pays all she has, which project is most effective, who is left with
//   nothing) are made on fixed-point bounds (64-bit integers counting units of 2^-frac_bits_;
//   sums and products in 128 bits) whose error is known: a voter's true money lies in
//   [lo, lo + slack_]. A decision the bounds
//   cannot settle (exact equality, or a near tie) falls back to the exact numerators. So the
//   result is exact; the bounds only decide how often the slow path runs.
// - A project's payment only grows as voters spend, so its last lower bound stays valid:
//   each round evaluates projects in the order of that bound and stops as soon as the bound
//   is certainly worse than the best project found (the equalshares.net trick).
//
// Invariants of a run (checked by CIVIC_ASSERT where they are used):
// - lo_[v] == kBroke exactly when voter v has no money left; otherwise her money is
//   ExactBudget(v) / denominator_ > 0, and lo_[v] <= that * 2^frac_bits_ <= lo_[v] + slack_.
// - bound_[j] * 2^-frac_bits_ <= the payment p project j would need now.
// - For every funded project, its supporters paid exactly its cost.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <boost/multiprecision/gmp.hpp>

#include "civic/contracts/tally.h"

namespace civic::contracts::detail {

using Int = boost::multiprecision::mpz_int;
using Rational = boost::multiprecision::mpq_rational;
using U128 = unsigned __int128;
using Fixed = std::uint64_t;  // money in units of 2^-frac_bits_, always below 2^62

enum class MesUtility : std::uint8_t {
  kCost,           // a voter's utility for a project she approves is its cost: compare p / cost
  kApprovalCount,  // ... is 1: compare p
};

class MesEngine {
 public:
  // REQUIRES: `input` passed Tally's validation and has at least one ballot; `tie_rank[j]` is
  // project j's position in the kGreedy order (the tie-break for equal effectiveness).
  MesEngine(const TallyInput& input, MesUtility utility, std::vector<std::uint32_t> tie_rank);

  // One full MES run in which every voter starts with budget / n + raise.
  void Run(std::uint64_t raise);

  // The last run's outcome.
  const std::vector<std::uint32_t>& funded_in_order() const { return funded_; }
  std::uint64_t spent() const { return spent_; }
  // True if no unfunded project that someone approves fits in budget - spent.
  bool Exhaustive() const;
  std::string StartBudgetText() const;  // b0 in lowest terms: "42703/21"
  // Per ballot, what she paid, in lowest terms. Asserts that the payments add up to spent().
  std::vector<std::string> VoterSpentTexts() const;

 private:
  // One project priced against the voters' money at the start of a round.
  struct Evaluation {
    std::uint32_t project = 0;
    std::vector<Fixed> lo;              // its supporters with money, and a lower bound of it;
    std::vector<std::uint32_t> voter;   // [0, poor) pay all they have, the rich pay p
    std::size_t poor = 0;
    Fixed lo_min = 0;                   // the least of lo, from Gather
    Fixed p_lo = 0;                     // p_lo <= p * 2^frac_bits_ <= p_hi
    Fixed p_hi = 0;
    bool exact = false;                 // rest_num is set
    Int rest_num;                       // cost - poor money, over D: p = rest / (D * rich)
    std::size_t size() const { return voter.size(); }
    std::size_t rich() const { return voter.size() - poor; }
  };
  static constexpr Fixed kBroke = ~Fixed{0};
  enum class State : std::uint8_t { kOpen, kFunded, kDropped, kUnsupported };

  bool Round();
  bool Gather(Evaluation& e);  // false: the supporters cannot pay the cost, now or later
  void Price(Evaluation& e);
  void PriceExactly(Evaluation& e);
  void MakeExact(Evaluation& e);
  bool Better(Evaluation& a, Evaluation& b);  // a is strictly preferred to b
  void Fund(Evaluation& e);
  Int ExactBudget(std::uint32_t voter) const;  // over denominator_; REQUIRES: not broke
  Int ExactMoney(const Evaluation& e, std::size_t begin, std::size_t end);  // of voter[begin, end)
  Fixed FloorFixed(const Int& numerator, const Int& denominator) const;
  U128 Utility(std::uint32_t project) const { return utility_[project]; }

  // The input, as flat arrays (fixed for all runs).
  std::uint64_t budget_ = 0;
  std::size_t voters_ = 0;
  std::vector<std::uint64_t> cost_;
  std::vector<std::uint64_t> utility_;
  std::vector<std::uint32_t> tie_rank_;
  std::vector<std::size_t> ballot_begin_;  // voter v approves ballot_projects_[begin[v], begin[v+1])
  std::vector<std::uint32_t> ballot_projects_;
  std::vector<std::size_t> supporter_begin_;  // project j: supporters_[begin[j], begin[j+1])
  std::vector<std::uint32_t> supporters_;
  unsigned frac_bits_ = 0;

  // One run's state.
  Int denominator_;  // D
  Int start_num_;    // b0 * D
  std::vector<Int> payment_num_;  // funded project f: p_f * D
  std::vector<Fixed> lo_;  // kBroke: nothing left
  std::vector<std::uint32_t> active_;       // per project, supporters not yet known to be broke
  std::vector<std::size_t> active_size_;
  std::vector<State> state_;
  std::vector<Fixed> bound_;
  Fixed slack_ = 1;
  std::vector<std::uint32_t> funded_;
  std::uint64_t spent_ = 0;

  // Scratch, kept to reuse its memory.
  Evaluation best_;
  Evaluation candidate_;
  std::vector<std::uint32_t> open_;
  std::vector<std::uint64_t> count_;
  std::vector<Int> exact_budgets_;
  std::vector<std::size_t> order_;
  std::vector<Fixed> reordered_lo_;
  std::vector<std::uint32_t> reordered_voter_;
};

}  // namespace civic::contracts::detail
