// Which validator set is in effect at which height.
//
// A change of the set is decided by the application while it commits a block. A set
// decided while committing height H takes effect at height H + kValidatorSetDelay (= H + 2),
// never at H + 1: by the time H is committed the validators are already gathering for
// H + 1, and the header proposed there commits to the set that will sign its certificate,
// so that set must be fixed before H + 1 starts. Every validator applies the same committed
// blocks, so every validator computes the same schedule.
//
// A commit certificate of height h is always checked against SetAt(h), and proposers of h
// come from SetAt(h)'s own weighted round-robin, which starts at EffectiveFrom(h).
#pragma once

#include <map>

#include "civic/consensus/types.h"
#include "civic/proto/result.h"
#include "civic/proto/vote.h"

namespace civic::consensus {

inline constexpr Height kValidatorSetDelay = 2;

class ValidatorSchedule {
 public:
  // REQUIRES: `first` is canonical; it is in effect from `first_height` (>= 1) on.
  ValidatorSchedule(Height first_height, proto::ValidatorSet first);

  // The application decided `next` while committing `decided_at`: it takes effect at
  // decided_at + kValidatorSetDelay. Refuses a non-canonical set, and a height at or before
  // one already scheduled (changes arrive in commit order).
  [[nodiscard]] proto::Result<void> ScheduleChange(Height decided_at, proto::ValidatorSet next);

  // REQUIRES: height >= the first height.
  const proto::ValidatorSet& SetAt(Height height) const;
  Height EffectiveFrom(Height height) const;

  // Forgets sets that ended before `height` (the engine calls it as heights pass).
  void ForgetBefore(Height height);

 private:
  std::map<Height, proto::ValidatorSet> sets_;  // effective height -> set
};

}  // namespace civic::consensus
