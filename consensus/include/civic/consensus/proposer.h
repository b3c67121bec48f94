// Who proposes in a round (paper line 14: proposer(h_p, round_p)).
//
// Every validator must compute the same proposer for the same height and round, from the
// validator set alone. WeightedRoundRobin is Tendermint's proposer-priority algorithm for
// a set that does not change: each step every validator's priority grows by its power, the
// highest priority proposes (ties: the smaller key) and pays back the total power. Over any
// `total power` consecutive steps each validator proposes exactly `power` times, spread out
// evenly, and the priorities return to zero, so the sequence has that period.
//
// Step k of the sequence proposes for (height, round) with k = (height - first_height) + round:
// one step per height, as Tendermint advances the priorities once per committed block,
// and one more per round of the height. A new validator set (validator_schedule.h) starts
// its own sequence at the height where it takes effect.
#pragma once

#include <cstdint>
#include <vector>

#include "civic/consensus/types.h"
#include "civic/proto/vote.h"

namespace civic::consensus {

class ProposerSelector {
 public:
  virtual ~ProposerSelector() = default;
  // REQUIRES: round >= 0, and height is one this selector covers.
  virtual ValidatorId Proposer(Height height, Round round) const = 0;
};

class WeightedRoundRobin final : public ProposerSelector {
 public:
  // REQUIRES: `validators` is canonical; it is in effect from `first_height` on.
  WeightedRoundRobin(proto::ValidatorSet validators, Height first_height);

  // Deterministic. Not thread-safe: it keeps the last computed step to resume from (the
  // engine asks about rounds in increasing order, so each call costs O(n) amortised).
  ValidatorId Proposer(Height height, Round round) const override;

 private:
  struct Cursor {
    std::uint64_t step = 0;                // the next step to play
    std::vector<std::int64_t> priorities;  // before playing `step`
  };
  void Reset(Cursor& cursor) const;
  std::size_t Play(Cursor& cursor) const;  // plays one step; returns the index that proposes

  proto::ValidatorSet validators_;
  Height first_height_;
  std::uint64_t period_;  // the total power
  mutable Cursor latest_;
  mutable Cursor checkpoint_;  // a cursor at a height's round 0, to come back to earlier rounds
};

}  // namespace civic::consensus
