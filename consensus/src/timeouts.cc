#include "civic/consensus/timeouts.h"

#include <algorithm>

#include "civic/proto/assert.h"

namespace civic::consensus {

std::uint64_t TimeoutTicks(const TimeoutConfig& config, TimeoutKind kind, Round round) {
  CIVIC_ASSERT(round >= 0);
  std::uint64_t base = 0;
  std::uint64_t delta = 0;
  switch (kind) {
    case TimeoutKind::kPropose:
      base = config.propose_base_ticks;
      delta = config.propose_delta_ticks;
      break;
    case TimeoutKind::kPrevote:
      base = config.prevote_base_ticks;
      delta = config.prevote_delta_ticks;
      break;
    case TimeoutKind::kPrecommit:
      base = config.precommit_base_ticks;
      delta = config.precommit_delta_ticks;
      break;
  }
  if (base >= config.max_ticks) return config.max_ticks;
  const std::uint64_t room = config.max_ticks - base;
  const auto rounds = static_cast<std::uint64_t>(round);
  // Compare before multiplying: delta * round may not fit in 64 bits.
  if (delta != 0 && rounds > room / delta) return config.max_ticks;
  return std::min(config.max_ticks, base + delta * rounds);
}

}  // namespace civic::consensus
