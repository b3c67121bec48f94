#include "tally_mes.h"

#include <algorithm>
#include <bit>
#include <limits>
#include <map>
#include <utility>

#include <gmp.h>

#include "civic/proto/assert.h"

namespace civic::contracts::detail {
namespace {

// The certified passes of Price usually settle within three; an adversarial spread of
// budgets could need one pass per voter, so after this many we sort and scan once.
constexpr int kPricePassesMax = 8;

// Shorthand for the 128-bit products and sums of fixed-point amounts.
U128 Wide(std::uint64_t value) { return value; }

}  // namespace

MesEngine::MesEngine(const TallyInput& input, MesUtility utility, std::vector<std::uint32_t> tie_rank)
    : budget_(input.budget), voters_(input.ballots.size()), tie_rank_(std::move(tie_rank)) {
  CIVIC_ASSERT(voters_ > 0);
  const std::size_t projects = input.projects.size();
  CIVIC_ASSERT(tie_rank_.size() == projects);
  std::uint64_t cost_max = 0;
  for (const TallyProject& project : input.projects) {
    cost_.push_back(project.cost);
    utility_.push_back(utility == MesUtility::kCost ? project.cost : 1);
    cost_max = std::max(cost_max, project.cost);
  }

  std::vector<std::size_t> approvals(projects, 0);
  ballot_begin_.reserve(voters_ + 1);
  for (const TallyBallot& ballot : input.ballots) {
    ballot_begin_.push_back(ballot_projects_.size());
    for (std::uint32_t j : ballot.projects) {
      ballot_projects_.push_back(j);
      ++approvals[j];
    }
  }
  ballot_begin_.push_back(ballot_projects_.size());
  supporter_begin_.assign(projects + 1, 0);
  for (std::size_t j = 0; j < projects; ++j) supporter_begin_[j + 1] = supporter_begin_[j] + approvals[j];
  supporters_.resize(ballot_projects_.size());
  std::vector<std::size_t> fill(supporter_begin_.begin(), supporter_begin_.end() - 1);
  for (std::size_t v = 0; v < voters_; ++v) {
    for (std::size_t i = ballot_begin_[v]; i < ballot_begin_[v + 1]; ++i) {
      supporters_[fill[ballot_projects_[i]]++] = static_cast<std::uint32_t>(v);
    }
  }

  // Fixed point: every amount of money (a voter's, a payment, a cost) is below 2^(W-1), since
  // b0 <= budget / n + kTallyAdd1RaisesMax. With F = 63 - W fraction bits each is below 2^62,
  // a sum over up to 2^24 voters below 2^86 and a payment times a utility below 2^116.
  const std::uint64_t money_max = std::max(budget_, cost_max) + kTallyAdd1RaisesMax + 1;
  const int width = static_cast<int>(std::bit_width(money_max)) + 1;
  static_assert(kTallyBallotsMax < (std::uint32_t{1} << 24));
  static_assert(std::bit_width(kTallyBudgetMax + kTallyAdd1RaisesMax + 1) + 1 <= 55);
  frac_bits_ = static_cast<unsigned>(63 - width);
  CIVIC_ASSERT(frac_bits_ >= 8);

  lo_.resize(voters_);
  active_size_.resize(projects);
  state_.resize(projects);
  bound_.resize(projects);
  count_.assign(projects, 0);
  payment_num_.resize(projects);
}

void MesEngine::Run(std::uint64_t raise) {
  // b0 = budget / n + raise = (budget + raise * n) / n.
  denominator_ = static_cast<std::uint64_t>(voters_);
  start_num_ = Int(raise) * static_cast<std::uint64_t>(voters_) + budget_;
  const Fixed start_lo = FloorFixed(start_num_, denominator_);
  std::fill(lo_.begin(), lo_.end(), start_num_ > 0 ? start_lo : kBroke);
  active_ = supporters_;
  for (std::size_t j = 0; j < cost_.size(); ++j) {
    const std::size_t approvals = supporter_begin_[j + 1] - supporter_begin_[j];
    active_size_[j] = approvals;
    state_[j] = approvals > 0 ? State::kOpen : State::kUnsupported;
    // Each supporter pays at most p, so p >= cost / approvals.
    bound_[j] = approvals > 0 ? (cost_[j] << frac_bits_) / approvals : 0;
  }
  funded_.clear();
  spent_ = 0;
  slack_ = 1;
  // Every round funds or drops a project, so this ends within one round per project.
  for (std::size_t round = 0; round <= cost_.size(); ++round) {
    if (!Round()) return;
  }
  CIVIC_ASSERT(false && "MES ran more rounds than there are projects");
}

bool MesEngine::Round() {
  open_.clear();
  for (std::uint32_t j = 0; j < cost_.size(); ++j) {
    if (state_[j] == State::kOpen) open_.push_back(j);
  }
  // Most promising first: lowest lower bound of p / utility.
  std::sort(open_.begin(), open_.end(), [this](std::uint32_t a, std::uint32_t b) {
    const U128 lhs = Wide(bound_[a]) * Utility(b);
    const U128 rhs = Wide(bound_[b]) * Utility(a);
    return lhs != rhs ? lhs < rhs : tie_rank_[a] < tie_rank_[b];
  });
  bool have_best = false;
  for (std::uint32_t j : open_) {
    // Projects come in the order of their bounds, and a project's p / u is at least its bound
    // / u: once a bound is certainly worse than the best found, no later project can win or tie.
    if (have_best && Wide(bound_[j]) * Utility(best_.project) > Wide(best_.p_hi) * Utility(j)) break;
    candidate_.project = j;
    if (!Gather(candidate_)) {
      state_[j] = State::kDropped;  // money only shrinks: it will never be affordable
      continue;
    }
    Price(candidate_);
    bound_[j] = std::max(bound_[j], candidate_.p_lo);
    if (!have_best || Better(candidate_, best_)) {
      std::swap(candidate_, best_);
      have_best = true;
    }
  }
  if (!have_best) return false;
  Fund(best_);
  return true;
}

bool MesEngine::Gather(Evaluation& e) {
  const std::uint32_t j = e.project;
  std::uint32_t* active = active_.data() + supporter_begin_[j];
  const std::size_t listed = active_size_[j];
  e.lo.resize(listed);
  e.voter.resize(listed);
  e.exact = false;
  // Locals, so that the compiler keeps them in registers across the stores below.
  const Fixed* money = lo_.data();
  Fixed* out_lo = e.lo.data();
  std::uint32_t* out_voter = e.voter.data();
  std::size_t kept = 0;
  U128 money_lo = 0;
  Fixed lo_min = kBroke;
  // Branch-free (whether a supporter is broke is unpredictable): write every voter, keep
  // only those with money. A broke voter leaves this project's list for good.
  for (std::size_t i = 0; i < listed; ++i) {
    const std::uint32_t v = active[i];
    const Fixed lo = money[v];
    const bool alive = lo != kBroke;
    active[kept] = v;
    out_lo[kept] = lo;
    out_voter[kept] = v;
    kept += alive ? 1 : 0;
    money_lo += alive ? lo : 0;
    lo_min = std::min(lo_min, lo);  // kBroke is the largest value: it never wins
  }
  active_size_[j] = kept;
  e.lo.resize(kept);
  e.voter.resize(kept);
  e.poor = 0;
  e.lo_min = lo_min;
  if (kept == 0) return false;
  const U128 cost_fixed = Wide(cost_[j]) << frac_bits_;
  if (money_lo + Wide(kept) * slack_ < cost_fixed) return false;
  if (money_lo >= cost_fixed) return true;
  return ExactMoney(e, 0, kept) >= Int(cost_[j]) * denominator_;
}

// Finds p, the smallest payment such that the supporters, each paying min(p, what she has),
// cover the cost: the poor (money < p) pay all they have, the rest pay p each. A voter moves
// to the poor side only when her upper bound is below a lower bound of p, and the search
// ends only when every remaining voter's lower bound is at least an upper bound of p; both
// steps are therefore exactly right, whatever the rounding. (p is at least the candidate
// (cost - their money) / the others for any subset of the true poor, so a lower bound of a
// candidate is one of p.) Both tests are monotone in a voter's money, so the poorest voter
// left decides whether another pass is needed.
void MesEngine::Price(Evaluation& e) {
  const U128 cost_fixed = Wide(cost_[e.project]) << frac_bits_;
  const Fixed floor_p = bound_[e.project];
  const std::size_t count = e.size();
  Fixed* lo = e.lo.data();
  std::uint32_t* voter = e.voter.data();
  std::size_t poor = 0;
  U128 poor_lo = 0;
  Fixed rich_lo_min = e.lo_min;
  Fixed p_lo = 0;
  Fixed p_hi = 0;
  // Brackets the candidate p = (cost - poor money) / rich for the current split.
  const auto bracket = [&] {
    const U128 rich = count - poor;
    // The true poor pay less than the cost, and someone pays p: our poor are among them.
    CIVIC_ASSERT(rich > 0);
    CIVIC_ASSERT(poor_lo < cost_fixed);
    const U128 poor_hi = poor_lo + Wide(poor) * slack_;
    const U128 rest_lo = cost_fixed > poor_hi ? cost_fixed - poor_hi : 0;
    const U128 rest_hi = cost_fixed - poor_lo;
    p_lo = std::max(static_cast<Fixed>(rest_lo / rich), floor_p);
    p_hi = static_cast<Fixed>((rest_hi + rich - 1) / rich);
  };
  const auto finish = [&] {
    CIVIC_ASSERT(p_lo <= p_hi);
    e.poor = poor;
    e.p_lo = p_lo;
    e.p_hi = p_hi;
  };

  for (int pass = 0;; ++pass) {
    bracket();
    if (rich_lo_min >= p_hi) return finish();  // everyone left certainly pays p
    if (Wide(rich_lo_min) + slack_ >= p_lo) return PriceExactly(e);  // the poorest left is too close to p
    if (pass == kPricePassesMax) break;
    // Someone is certainly poor: move everyone who is.
    rich_lo_min = kBroke;
    for (std::size_t i = poor; i < count; ++i) {
      const Fixed x = lo[i];
      if (x + slack_ < p_lo) {
        std::swap(lo[poor], lo[i]);
        std::swap(voter[poor], voter[i]);
        poor_lo += x;
        ++poor;
      } else {
        rich_lo_min = std::min(rich_lo_min, x);
      }
    }
  }

  // Still moving: settle the rest in one ascending scan.
  order_.resize(count - poor);
  for (std::size_t i = poor; i < count; ++i) order_[i - poor] = i;
  std::sort(order_.begin(), order_.end(),
            [&](std::size_t a, std::size_t b) { return lo[a] != lo[b] ? lo[a] < lo[b] : voter[a] < voter[b]; });
  reordered_lo_.assign(lo, lo + poor);
  reordered_voter_.assign(voter, voter + poor);
  for (std::size_t i : order_) {
    reordered_lo_.push_back(lo[i]);
    reordered_voter_.push_back(voter[i]);
  }
  e.lo.swap(reordered_lo_);
  e.voter.swap(reordered_voter_);
  lo = e.lo.data();
  for (std::size_t i = poor; i < count; ++i) {
    bracket();
    if (lo[i] + slack_ < p_lo) {
      poor_lo += lo[i];
      ++poor;
      continue;
    }
    if (lo[i] >= p_hi) return finish();  // and so is everyone after her
    break;
  }
  PriceExactly(e);
}

void MesEngine::PriceExactly(Evaluation& e) {
  const std::size_t count = e.size();
  exact_budgets_.resize(count);
  order_.resize(count);
  for (std::size_t i = 0; i < count; ++i) {
    exact_budgets_[i] = ExactBudget(e.voter[i]);
    order_[i] = i;
  }
  std::sort(order_.begin(), order_.end(), [this, &e](std::size_t a, std::size_t b) {
    if (exact_budgets_[a] != exact_budgets_[b]) return exact_budgets_[a] < exact_budgets_[b];
    return e.voter[a] < e.voter[b];
  });
  Int rest = Int(cost_[e.project]) * denominator_;
  std::size_t poor = 0;
  for (std::size_t i : order_) {
    // Rich from here on if her money covers p = rest / rich.
    if (exact_budgets_[i] * static_cast<std::uint64_t>(count - poor) >= rest) break;
    rest -= exact_budgets_[i];
    ++poor;
  }
  CIVIC_ASSERT(poor < count);  // Gather checked that the supporters can pay
  reordered_lo_.clear();
  reordered_voter_.clear();
  for (std::size_t i : order_) {
    reordered_lo_.push_back(e.lo[i]);
    reordered_voter_.push_back(e.voter[i]);
  }
  e.lo.swap(reordered_lo_);
  e.voter.swap(reordered_voter_);
  e.poor = poor;
  e.rest_num = std::move(rest);
  e.exact = true;
  e.p_lo = FloorFixed(e.rest_num, denominator_ * static_cast<std::uint64_t>(e.rich()));
  e.p_hi = e.p_lo + 1;
}

void MesEngine::MakeExact(Evaluation& e) {
  if (e.exact) return;
  e.rest_num = Int(cost_[e.project]) * denominator_ - ExactMoney(e, 0, e.poor);
  e.exact = true;
}

bool MesEngine::Better(Evaluation& a, Evaluation& b) {
  const U128 ua = Utility(a.project);
  const U128 ub = Utility(b.project);
  if (a.p_hi * ub < b.p_lo * ua) return true;
  if (a.p_lo * ub > b.p_hi * ua) return false;
  // Too close for the bounds: p / u = rest / (D * rich * u), and D is common.
  MakeExact(a);
  MakeExact(b);
  const Int lhs = a.rest_num * static_cast<std::uint64_t>(b.rich()) * utility_[b.project];
  const Int rhs = b.rest_num * static_cast<std::uint64_t>(a.rich()) * utility_[a.project];
  if (lhs != rhs) return lhs < rhs;
  return tie_rank_[a.project] < tie_rank_[b.project];
}

void MesEngine::Fund(Evaluation& e) {
  MakeExact(e);
  const std::uint32_t j = e.project;
  const std::size_t rich = e.rich();
  // p = rest / (D * rich). Grow D by rich / gcd(rest, rich) so that p is a numerator over D.
  mpz_ptr rest = e.rest_num.backend().data();
  const unsigned long common = mpz_gcd_ui(nullptr, rest, rich);
  mpz_divexact_ui(rest, rest, common);
  const unsigned long factor = rich / common;
  if (factor != 1) {
    denominator_ *= factor;
    start_num_ *= factor;
    for (std::uint32_t f : funded_) payment_num_[f] *= factor;
  }
  payment_num_[j] = e.rest_num;
  const Fixed p_lo = FloorFixed(payment_num_[j], denominator_);
  const Fixed p_hi = p_lo + 1;

  for (std::size_t i = 0; i < e.poor; ++i) lo_[e.voter[i]] = kBroke;
  for (std::size_t i = e.poor; i < e.size(); ++i) {
    const std::uint32_t v = e.voter[i];
    const Fixed lo = e.lo[i];
    if (lo > p_hi) {
      lo_[v] = lo - p_hi;
      continue;
    }
    // Her money is within rounding of p: she is rich (money >= p), but is anything left?
    const Int money = ExactBudget(v);  // j is not marked funded yet: her money before paying
    CIVIC_ASSERT(money >= payment_num_[j]);
    // What is left is below lo + slack - p_lo <= slack + 1, so 0 is a lower bound of it.
    lo_[v] = money == payment_num_[j] ? kBroke : 0;
  }
  state_[j] = State::kFunded;
  funded_.push_back(j);
  spent_ += cost_[j];
  CIVIC_ASSERT(Int(spent_) * denominator_ <= start_num_ * static_cast<std::uint64_t>(voters_));  // <= all money
  ++slack_;  // each subtraction of a rounded p widens a voter's bracket by one unit
}

Int MesEngine::ExactBudget(std::uint32_t voter) const {
  CIVIC_ASSERT(lo_[voter] != kBroke);
  Int money = start_num_;
  for (std::size_t i = ballot_begin_[voter]; i < ballot_begin_[voter + 1]; ++i) {
    const std::uint32_t j = ballot_projects_[i];
    if (state_[j] == State::kFunded) money -= payment_num_[j];
  }
  CIVIC_ASSERT(money > 0);
  return money;
}

// The exact money (over D) of e.voter[begin, end): each holds b0 minus the payments of the
// funded projects she approves, so count those per project instead of summing per voter.
Int MesEngine::ExactMoney(const Evaluation& e, std::size_t begin, std::size_t end) {
  Int money = start_num_ * static_cast<std::uint64_t>(end - begin);
  // Branch-free counting: whether a project is funded is unpredictable voter by voter.
  std::uint64_t* count = count_.data();
  const State* state = state_.data();
  const std::uint32_t* projects = ballot_projects_.data();
  for (std::size_t k = begin; k < end; ++k) {
    const std::uint32_t v = e.voter[k];
    for (std::size_t i = ballot_begin_[v]; i < ballot_begin_[v + 1]; ++i) {
      count[projects[i]] += state[projects[i]] == State::kFunded ? 1 : 0;
    }
  }
  mpz_ptr out = money.backend().data();
  for (std::uint32_t f : funded_) {
    if (count[f] != 0) mpz_submul_ui(out, payment_num_[f].backend().data(), count[f]);
    count[f] = 0;
  }
  return money;
}

Fixed MesEngine::FloorFixed(const Int& numerator, const Int& denominator) const {
  const Int quotient = (numerator << frac_bits_) / denominator;
  CIVIC_ASSERT(quotient >= 0);
  CIVIC_ASSERT(mpz_sizeinbase(quotient.backend().data(), 2) <= 62);  // every amount is below 2^62 units
  return mpz_get_ui(quotient.backend().data());
}

bool MesEngine::Exhaustive() const {
  CIVIC_ASSERT(spent_ <= budget_);
  const std::uint64_t left = budget_ - spent_;
  for (std::size_t j = 0; j < cost_.size(); ++j) {
    if (state_[j] != State::kFunded && state_[j] != State::kUnsupported && cost_[j] <= left) return false;
  }
  return true;
}

std::string MesEngine::StartBudgetText() const { return Rational(start_num_, denominator_).str(); }

std::vector<std::string> MesEngine::VoterSpentTexts() const {
  // Voters who paid for the same funded projects paid the same: compute each group once.
  struct Group {
    Rational paid;
    std::string text;
    std::uint64_t voters = 0;
  };
  std::map<std::vector<std::uint32_t>, Group> groups;
  const std::vector<std::uint32_t> broke_key = {std::numeric_limits<std::uint32_t>::max()};
  std::vector<std::uint32_t> key;
  std::vector<std::string> out;
  out.reserve(voters_);
  for (std::uint32_t v = 0; v < voters_; ++v) {
    const bool broke = lo_[v] == kBroke;
    key.clear();
    if (broke) {
      key = broke_key;  // she spent all of b0
    } else {
      for (std::size_t i = ballot_begin_[v]; i < ballot_begin_[v + 1]; ++i) {
        if (state_[ballot_projects_[i]] == State::kFunded) key.push_back(ballot_projects_[i]);
      }
    }
    auto [it, added] = groups.try_emplace(key);
    Group& group = it->second;
    if (added) {
      Int paid = 0;
      if (broke) {
        paid = start_num_;
      } else {
        for (std::uint32_t j : key) paid += payment_num_[j];
      }
      group.paid = Rational(paid, denominator_);
      group.text = group.paid.str();
    }
    ++group.voters;
    out.push_back(group.text);
  }
  Rational total = 0;
  for (const auto& [unused, group] : groups) total += group.paid * group.voters;
  CIVIC_ASSERT(total == spent_);  // supporters paid exactly the cost of each funded project
  return out;
}

}  // namespace civic::contracts::detail
