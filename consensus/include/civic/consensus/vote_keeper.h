// The vote keeper: weighted vote counting for one height, round by round (Malachite's
// votekeeper.qnt). It tells the driver when a threshold of the paper is reached for the
// first time:
//   - 2f+1, more than 2/3 of the total power (3 * w > 2 * total): prevotes for a value
//     (a polka, lines 28, 36), for nil (line 44) or of any kind (line 34); precommits for a
//     value (line 49) or of any kind (line 47);
//   - f+1, more than 1/3 (3 * w > total), of the power sending any message in a round
//     above the caller's current round: skip to it (line 55).
// Thresholds are on voting power from the proto::ValidatorSet, never on counts.
//
// A validator's first vote per (round, type) is the one counted; a repeated copy changes
// nothing, and a different second vote is kept (not counted) and, with the first, becomes
// VoteEquivocation evidence. At most kReceivedPerValidatorMax distinct votes are kept per
// validator, round and type, so a Byzantine validator cannot grow the keeper by signing
// ever more values; two already prove the equivocation.
//
// Invariants, for every round and vote type:
//   - weights of counted votes sum per value to value_weights, and `counted` are exactly
//     their senders (after a certificate: every sender of a received vote, see below);
//   - every received vote has this keeper's height, that round and type, and a validator
//     of the set as sender.
//
// Certificates (ApplyCertificate) follow the model: the certificate's votes join the
// received ones and the round's counts for that type are recomputed from all received
// votes, each (validator, value) pair counted once. A validator that equivocated then
// counts for both of its values; that only ever inflates "any" thresholds, which merely
// schedule timeouts, never a value's.
#pragma once

#include <compare>
#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <vector>

#include "civic/consensus/messages.h"
#include "civic/consensus/types.h"
#include "civic/proto/vote.h"

namespace civic::consensus {

inline constexpr std::size_t kReceivedPerValidatorMax = 2;

// What the keeper reports after a vote (votekeeper.qnt's VoteKeeperOutput). `value` is
// meaningful only for kPolkaValue and kPrecommitValue and is all zero otherwise.
enum class ThresholdKind : std::uint8_t {
  kNone,            // nothing new
  kPolkaAny,        // 2f+1 prevotes, mixed (line 34)
  kPolkaNil,        // 2f+1 prevotes for nil (line 44)
  kPolkaValue,      // 2f+1 prevotes for value (lines 28, 36)
  kPrecommitAny,    // 2f+1 precommits, mixed or nil (line 47)
  kPrecommitValue,  // 2f+1 precommits for value (line 49)
  kSkip,            // f+1 of the power in a round above ours (line 55)
};

struct Threshold {
  ThresholdKind kind = ThresholdKind::kNone;
  Round round = kNilRound;
  ValueId value;

  friend auto operator<=>(const Threshold&, const Threshold&) = default;
  bool reached() const { return kind != ThresholdKind::kNone; }
};

// One vote type in one round.
struct VoteCount {
  std::map<NilOrValue, Weight> value_weights;  // nil (nullopt) sorts first
  std::set<ValidatorId> counted;               // validators whose weight is in value_weights
  std::vector<proto::Vote> received;           // distinct votes, in the order they came

  friend bool operator==(const VoteCount&, const VoteCount&) = default;
};

struct RoundVotes {
  VoteCount prevotes;
  VoteCount precommits;
  std::set<Threshold> emitted;            // thresholds already reported for this round
  std::map<ValidatorId, Weight> senders;  // everyone who sent a single vote of either type

  friend bool operator==(const RoundVotes&, const RoundVotes&) = default;

  const VoteCount& count(proto::VoteType type) const;
  VoteCount& count(proto::VoteType type);
};

class VoteKeeper {
 public:
  // REQUIRES: `validators` is canonical (proto::ValidatorSet::IsCanonical).
  VoteKeeper(Height height, proto::ValidatorSet validators);

  // For the conformance replayer, which loads a keeper state from a model trace.
  // REQUIRES: the invariants above hold for `rounds`.
  static VoteKeeper FromParts(Height height, proto::ValidatorSet validators, std::map<Round, RoundVotes> rounds,
                              std::vector<VoteEquivocation> evidence);

  // Counts one vote (votekeeper.qnt applyVote) and returns the threshold it reaches for
  // the first time, or Skip (reported again each time it holds; the driver acts once).
  // REQUIRES: vote.body.height == height(), the sender is in the set, 0 <= round <= kRoundMax,
  // and the signature was checked (all our own bugs otherwise: the engine checks input).
  Threshold ApplyVote(const proto::Vote& vote, Round current_round);

  // A set of votes that together claim a polka or commit (votekeeper.qnt applyCertificate).
  // Returns kNone and changes nothing unless they are all for one non-nil value, one
  // height, round and type, from validators of the set, with more than 2/3 of the power.
  // REQUIRES: as for ApplyVote, for every vote that has this keeper's height.
  Threshold ApplyCertificate(std::span<const proto::Vote> votes);

  // 2f+1 of `type` in `round` for `value` (nil if nullopt). False for a round without votes.
  bool HasQuorum(Round round, proto::VoteType type, const NilOrValue& value) const;
  // 2f+1 of `type` in `round`, whatever they are for.
  bool HasQuorumAny(Round round, proto::VoteType type) const;

  // The votes behind a kPolkaValue or kPrecommitValue threshold, if they carry more than
  // 2/3 of the power (votekeeper.qnt getCertificate); nullopt for any other threshold.
  std::optional<std::vector<proto::Vote>> CertificateFor(const Threshold& threshold) const;

  // Whether this very vote (body and signature) is kept already: the engine need not check
  // a copy's signature again (a peer replaying votes costs a lookup each).
  bool Holds(const proto::Vote& vote) const;

  // How many rounds above `current_round`, other than `round`, `validator` has votes in.
  // The engine uses it to bound what one validator can make us store.
  std::size_t FutureRoundsOf(const ValidatorId& validator, Round current_round, Round round) const;

  Height height() const { return height_; }
  const proto::ValidatorSet& validators() const { return validators_; }
  Weight total_weight() const { return total_weight_; }
  // The weight of a validator of the set, or nullopt.
  std::optional<Weight> WeightOf(const ValidatorId& validator) const;
  const std::map<Round, RoundVotes>& rounds() const { return rounds_; }
  const std::vector<VoteEquivocation>& evidence() const { return evidence_; }
  // More than 2/3 of the total power (the one test of a quorum: broken builds weaken it).
  bool IsQuorum(Weight weight) const;

  friend bool operator==(const VoteKeeper&, const VoteKeeper&) = default;

 private:
  void AddEvidence(const proto::Vote& a, const proto::Vote& b);

  Height height_;
  proto::ValidatorSet validators_;
  Weight total_weight_;
  std::map<Round, RoundVotes> rounds_;
  std::vector<VoteEquivocation> evidence_;  // distinct, in the order found
};

}  // namespace civic::consensus
