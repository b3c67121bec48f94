// The node's wall clock, and the context the next block will be executed in. Only node/
// reads a clock; consensus and contracts get times from block headers.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

#include "civic/contracts/state.h"
#include "civic/node/ledger.h"

namespace civic::node {

inline std::uint64_t NowUnixMs() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// Block times strictly increase: the next block's time is at least the tip's plus 1 ms,
// whatever this node's clock says (executor.h). Admission and the round API check a
// transaction in this context, the one the next block will most likely give it.
inline contracts::BlockContext NextBlockContext(const Tip& tip, std::uint64_t now_unix_ms) {
  return contracts::BlockContext{tip.height + 1, std::max(now_unix_ms, tip.time_unix_ms + 1)};
}

}  // namespace civic::node
