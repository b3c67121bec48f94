// Timeouts grow with the round, so that after GST rounds get long enough, and are capped,
// so that after a long outage nobody waits for ages (tendermint issue 1464).
#include "civic/consensus/timeouts.h"

#include <gtest/gtest.h>

namespace civic::consensus {
namespace {

TEST(Timeouts, GrowByDeltaEachRound) {
  TimeoutConfig config;
  config.propose_base_ticks = 3000;
  config.propose_delta_ticks = 500;
  config.prevote_base_ticks = 1000;
  config.prevote_delta_ticks = 250;
  config.max_ticks = 60000;
  EXPECT_EQ(TimeoutTicks(config, TimeoutKind::kPropose, 0), 3000u);
  EXPECT_EQ(TimeoutTicks(config, TimeoutKind::kPropose, 1), 3500u);
  EXPECT_EQ(TimeoutTicks(config, TimeoutKind::kPropose, 10), 8000u);
  EXPECT_EQ(TimeoutTicks(config, TimeoutKind::kPrevote, 4), 2000u);
  for (Round r = 0; r < 200; ++r) {
    for (TimeoutKind kind : {TimeoutKind::kPropose, TimeoutKind::kPrevote, TimeoutKind::kPrecommit}) {
      EXPECT_LE(TimeoutTicks(config, kind, r), TimeoutTicks(config, kind, r + 1));
    }
  }
}

TEST(Timeouts, AreCappedWhateverTheRound) {
  TimeoutConfig config;
  config.max_ticks = 10000;
  EXPECT_EQ(TimeoutTicks(config, TimeoutKind::kPropose, 1000), 10000u);
  EXPECT_EQ(TimeoutTicks(config, TimeoutKind::kPrecommit, kRoundMax), 10000u);
  // A delta so large that delta * round overflows 64 bits still gives the cap.
  config.precommit_delta_ticks = std::uint64_t{1} << 62;
  EXPECT_EQ(TimeoutTicks(config, TimeoutKind::kPrecommit, 8), 10000u);
  // A base above the cap is cut too.
  config.prevote_base_ticks = 20000;
  EXPECT_EQ(TimeoutTicks(config, TimeoutKind::kPrevote, 0), 10000u);
}

TEST(Timeouts, ReachTheCapAtTheExpectedRound) {
  TimeoutConfig config;
  config.prevote_base_ticks = 1000;
  config.prevote_delta_ticks = 500;
  config.max_ticks = 6000;
  EXPECT_EQ(TimeoutTicks(config, TimeoutKind::kPrevote, 9), 5500u);
  EXPECT_EQ(TimeoutTicks(config, TimeoutKind::kPrevote, 10), 6000u);
  EXPECT_EQ(TimeoutTicks(config, TimeoutKind::kPrevote, 11), 6000u);
}

}  // namespace
}  // namespace civic::consensus
