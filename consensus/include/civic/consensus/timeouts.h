// How long to wait in each step, in logical ticks (node/ maps a tick to a millisecond; the
// simulator to its own clock). Consensus itself never reads a clock.
//
// A timeout grows with the round, so that after GST a round eventually lasts long enough
// for correct validators to hear each other (paper, section 4), and it is capped, so that
// after a long outage the rounds reached meanwhile do not make everyone wait for ages once
// the network is back (tendermint issue 1464).
#pragma once

#include <cstdint>

#include "civic/consensus/types.h"

namespace civic::consensus {

struct TimeoutConfig {
  std::uint64_t propose_base_ticks = 3000;
  std::uint64_t propose_delta_ticks = 500;
  std::uint64_t prevote_base_ticks = 1000;
  std::uint64_t prevote_delta_ticks = 500;
  std::uint64_t precommit_base_ticks = 1000;
  std::uint64_t precommit_delta_ticks = 500;
  std::uint64_t max_ticks = 60000;  // no timeout is ever longer, whatever the round
};

// base + delta * round, at most config.max_ticks. No overflow for any round.
// REQUIRES: round >= 0.
std::uint64_t TimeoutTicks(const TimeoutConfig& config, TimeoutKind kind, Round round);

}  // namespace civic::consensus
