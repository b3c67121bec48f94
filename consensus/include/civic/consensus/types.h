// The vocabulary of consensus: heights, rounds, values, steps, timeouts.
//
// Names follow Algorithm 1 of Buchman, Kwon, Milosevic, "The latest gossip on BFT consensus"
// (arXiv:1807.04938), which every file of this library cites by line number:
//   - a value is what validators agree on; for us it is a block hash (ValueId), never the
//     block itself: blocks travel beside consensus and the application vouches for them;
//   - a round is a signed 64-bit number with -1 (kNilRound) for "no round", as the paper
//     writes lockedRound = -1; on the wire rounds are unsigned 32-bit (proto::VoteBody), so
//     every round we create or accept lies in [0, kRoundMax];
//   - "nil" in a vote is an empty optional block hash (NilOrValue).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "civic/proto/bytes.h"
#include "civic/proto/vote.h"

namespace civic::consensus {

using Height = std::uint64_t;  // the first block is height 1 (proto::BlockHeader)
using Round = std::int64_t;
inline constexpr Round kNilRound = -1;
// Votes carry a u32 round. A round above this is refused on input and never reached by
// counting: at one round per capped timeout it is more than a century away.
inline constexpr Round kRoundMax = Round{UINT32_MAX};

using Weight = std::uint64_t;                 // voting power, bounded by proto::kVotingPowerMax
using ValidatorId = proto::Ed25519PublicKey;  // a validator is its consensus key
using ValueId = proto::Hash32;                // the hash of a proposed block
using NilOrValue = std::optional<ValueId>;    // what a vote is for: nullopt is nil

// The step of a round (paper: step_p), plus the three states the paper leaves implicit and
// Malachite's model names: kNone before the first round of a height starts, kUnstarted
// between rounds (after a round skip or a precommit timeout, before StartRound), and
// kCommit once this height is decided in this round (stops a second decision).
enum class Step : std::uint8_t { kNone, kUnstarted, kPropose, kPrevote, kPrecommit, kCommit };
std::string_view StepName(Step step);

enum class TimeoutKind : std::uint8_t { kPropose, kPrevote, kPrecommit };
std::string_view TimeoutKindName(TimeoutKind kind);

// Whether the application accepted a value (paper: valid(v)). An enum, not a bool, so that
// call sites read as what they mean.
enum class Validity : std::uint8_t { kValid, kInvalid };

// Round <-> the u32 on the wire. REQUIRES: 0 <= round <= kRoundMax (our own bug otherwise).
std::uint32_t WireRound(Round round);

// Short printable forms for logs, test output and the conformance replayer.
std::string ShortHex(const ValueId& value);  // the first 8 bytes of hex
std::string ToString(const NilOrValue& value);

}  // namespace civic::consensus
