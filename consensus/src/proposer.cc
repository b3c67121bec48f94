#include "civic/consensus/proposer.h"

#include "civic/proto/assert.h"

namespace civic::consensus {

WeightedRoundRobin::WeightedRoundRobin(proto::ValidatorSet validators, Height first_height)
    : validators_(std::move(validators)), first_height_(first_height), period_(validators_.TotalPower()) {
  CIVIC_ASSERT(proto::ValidatorSet::IsCanonical(validators_.validators));
  Reset(latest_);
  Reset(checkpoint_);
}

void WeightedRoundRobin::Reset(Cursor& cursor) const {
  cursor.step = 0;
  cursor.priorities.assign(validators_.validators.size(), 0);
}

std::size_t WeightedRoundRobin::Play(Cursor& cursor) const {
  // Priorities stay in (-total, total) and total < 2^59 (proto/vote.h): int64 never overflows.
  std::size_t best = 0;
  for (std::size_t i = 0; i < cursor.priorities.size(); ++i) {
    cursor.priorities[i] += static_cast<std::int64_t>(validators_.validators[i].power);
    if (cursor.priorities[i] > cursor.priorities[best]) best = i;  // ties keep the smaller key
  }
  cursor.priorities[best] -= static_cast<std::int64_t>(period_);
  cursor.step = (cursor.step + 1) % period_;
  return best;
}

ValidatorId WeightedRoundRobin::Proposer(Height height, Round round) const {
  CIVIC_ASSERT(height >= first_height_ && round >= 0);
  // The sequence repeats every `period_` steps, so only the step's place in it matters.
  const std::uint64_t target =
      ((height - first_height_) % period_ + static_cast<std::uint64_t>(round) % period_) % period_;
  const std::uint64_t height_start = (height - first_height_) % period_;
  // Resume from the closest cursor at or before the target; a wrap-around starts over.
  auto distance = [&](const Cursor& c) { return (target + period_ - c.step) % period_; };
  if (distance(checkpoint_) < distance(latest_)) latest_ = checkpoint_;
  if (distance(latest_) > target) Reset(latest_);
  while (latest_.step != target) {
    Play(latest_);
    if (latest_.step == height_start) checkpoint_ = latest_;
  }
  if (latest_.step == height_start) checkpoint_ = latest_;
  Cursor probe = latest_;
  return validators_.validators[Play(probe)].key;
}

}  // namespace civic::consensus
