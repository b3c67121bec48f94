#include "civic/consensus/validator_schedule.h"

#include <iterator>
#include <string>
#include <utility>

#include "civic/proto/assert.h"

namespace civic::consensus {

ValidatorSchedule::ValidatorSchedule(Height first_height, proto::ValidatorSet first) {
  CIVIC_ASSERT(first_height >= 1);
  CIVIC_ASSERT(proto::ValidatorSet::IsCanonical(first.validators));
  sets_.emplace(first_height, std::move(first));
}

proto::Result<void> ValidatorSchedule::ScheduleChange(Height decided_at, proto::ValidatorSet next) {
  if (!proto::ValidatorSet::IsCanonical(next.validators)) {
    return proto::Fail(proto::ErrorCode::kNonCanonical,
                       "a validator set needs 1 to 256 validators in strictly ascending key order");
  }
  const Height effective = decided_at + kValidatorSetDelay;
  if (effective <= sets_.rbegin()->first) {
    return proto::Fail(proto::ErrorCode::kInvalidArgument,
                       "validator set change decided at height " + std::to_string(decided_at) +
                           " comes after one effective at " + std::to_string(sets_.rbegin()->first));
  }
  sets_.emplace(effective, std::move(next));
  return {};
}

const proto::ValidatorSet& ValidatorSchedule::SetAt(Height height) const {
  auto it = sets_.upper_bound(height);
  CIVIC_ASSERT(it != sets_.begin());
  return std::prev(it)->second;
}

Height ValidatorSchedule::EffectiveFrom(Height height) const {
  auto it = sets_.upper_bound(height);
  CIVIC_ASSERT(it != sets_.begin());
  return std::prev(it)->first;
}

void ValidatorSchedule::ForgetBefore(Height height) {
  // Keep the set in effect at `height` and everything after it.
  auto it = sets_.upper_bound(height);
  if (it == sets_.begin()) return;
  sets_.erase(sets_.begin(), std::prev(it));
}

}  // namespace civic::consensus
