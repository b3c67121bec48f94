#include "civic/consensus/vote_keeper.h"

#include <algorithm>
#include <utility>

#include "civic/proto/assert.h"

// CIVIC_CONSENSUS_BROKEN_* breaks consensus on purpose, so that tests/consensus can show the
// simulator catches it (tests/README.md, "Consensus simulation"). Only the test-only object
// libraries there define it, together with CIVIC_CONSENSUS_TEST_ONLY_BUILD; anything else
// defining it fails to build.
#if defined(CIVIC_CONSENSUS_BROKEN_WEAK_QUORUM) && !defined(CIVIC_CONSENSUS_TEST_ONLY_BUILD)
#error "CIVIC_CONSENSUS_BROKEN_WEAK_QUORUM is for tests/consensus's broken variants only"
#endif

namespace civic::consensus {
namespace {

using proto::VoteType;

Weight SumOf(const std::map<NilOrValue, Weight>& weights) {
  Weight sum = 0;
  // At most a few entries per validator, each below 2^50: no overflow.
  for (const auto& [value, weight] : weights) sum += weight;
  return sum;
}

Threshold ThresholdFor(ThresholdKind kind, Round round, const ValueId& value = ValueId{}) {
  return Threshold{kind, round, value};
}

}  // namespace

const VoteCount& RoundVotes::count(VoteType type) const { return type == VoteType::kPrevote ? prevotes : precommits; }
VoteCount& RoundVotes::count(VoteType type) { return type == VoteType::kPrevote ? prevotes : precommits; }

VoteKeeper::VoteKeeper(Height height, proto::ValidatorSet validators)
    : height_(height), validators_(std::move(validators)), total_weight_(validators_.TotalPower()) {
  CIVIC_ASSERT(proto::ValidatorSet::IsCanonical(validators_.validators));
}

VoteKeeper VoteKeeper::FromParts(Height height, proto::ValidatorSet validators, std::map<Round, RoundVotes> rounds,
                                 std::vector<VoteEquivocation> evidence) {
  VoteKeeper keeper(height, std::move(validators));
  keeper.rounds_ = std::move(rounds);
  keeper.evidence_ = std::move(evidence);
  return keeper;
}

std::optional<Weight> VoteKeeper::WeightOf(const ValidatorId& validator) const {
  const auto& list = validators_.validators;
  auto it = std::lower_bound(list.begin(), list.end(), validator,
                             [](const proto::Validator& v, const ValidatorId& key) { return v.key < key; });
  if (it == list.end() || it->key != validator) return std::nullopt;
  return it->power;
}

bool VoteKeeper::IsQuorum(Weight weight) const {
#ifdef CIVIC_CONSENSUS_BROKEN_WEAK_QUORUM
  return 3 * weight > total_weight_;  // broken on purpose: f+1 taken for 2f+1
#endif
  // More than 2/3 of the power. Both sides stay below 2^61 (proto/vote.h bounds).
  return 3 * weight > 2 * total_weight_;
}

void VoteKeeper::AddEvidence(const proto::Vote& a, const proto::Vote& b) {
  proto::Result<VoteEquivocation> evidence = MakeVoteEquivocation(a, b);
  // Callers pass two received votes of one sender, round and type that differ: they differ
  // in the value only, so they always make evidence.
  CIVIC_ASSERT(evidence.has_value());
  if (std::find(evidence_.begin(), evidence_.end(), *evidence) == evidence_.end()) evidence_.push_back(*evidence);
}

Threshold VoteKeeper::ApplyVote(const proto::Vote& vote, Round current_round) {
  const proto::VoteBody& body = vote.body;
  CIVIC_ASSERT(body.height == height_);
  const std::optional<Weight> weight = WeightOf(body.validator);
  CIVIC_ASSERT(weight.has_value());
  const Round round = body.round;

  RoundVotes& votes = rounds_[round];
  VoteCount& count = votes.count(body.type);

  // Keep the vote (a set: an identical copy adds nothing), at most a bounded number per sender.
  std::vector<std::size_t> by_sender;  // indices into count.received
  bool known = false;
  for (std::size_t i = 0; i < count.received.size(); ++i) {
    const proto::VoteBody& seen = count.received[i].body;
    if (seen.validator != body.validator) continue;
    by_sender.push_back(i);
    known = known || seen == body;
  }
  if (!known && by_sender.size() < kReceivedPerValidatorMax) {
    by_sender.push_back(count.received.size());
    count.received.push_back(vote);
  }
  // Only a validator's first vote of this type in this round carries its weight.
  if (count.counted.insert(body.validator).second) count.value_weights[body.block_hash] += *weight;
  // Two different votes of one sender: equivocation (the first two are proof enough).
  if (by_sender.size() >= 2) AddEvidence(count.received[by_sender[0]], count.received[by_sender[1]]);

  votes.senders.emplace(body.validator, *weight);  // keeps the first entry if present

  Threshold output;
  Weight senders_weight = 0;
  for (const auto& [sender, sender_weight] : votes.senders) senders_weight += sender_weight;
  if (round > current_round && 3 * senders_weight > total_weight_) {
    // Line 55: f+1 of the power is already in a higher round. Reported every time it holds.
    output = ThresholdFor(ThresholdKind::kSkip, round);
  } else {
    // The threshold for what this vote is for: its value (or nil), else any, else nothing.
    const auto it = count.value_weights.find(body.block_hash);
    const bool value_quorum = it != count.value_weights.end() && IsQuorum(it->second);
    const bool prevote = body.type == VoteType::kPrevote;
    if (value_quorum && body.block_hash) {
      output =
          ThresholdFor(prevote ? ThresholdKind::kPolkaValue : ThresholdKind::kPrecommitValue, round, *body.block_hash);
    } else if (value_quorum) {
      // 2f+1 precommits for nil decide nothing: for line 47 they are "any".
      output = ThresholdFor(prevote ? ThresholdKind::kPolkaNil : ThresholdKind::kPrecommitAny, round);
    } else if (IsQuorum(SumOf(count.value_weights))) {
      output = ThresholdFor(prevote ? ThresholdKind::kPolkaAny : ThresholdKind::kPrecommitAny, round);
    }
    // "For the first time": a threshold already reported in this round is not news.
    if (votes.emitted.contains(output)) output = Threshold{};
  }
  if (output.reached()) votes.emitted.insert(output);
  return output;
}

Threshold VoteKeeper::ApplyCertificate(std::span<const proto::Vote> votes) {
  if (votes.empty()) return Threshold{};
  const proto::VoteBody& first = votes.front().body;
  if (!first.block_hash || first.height != height_) return Threshold{};
  Weight signed_weight = 0;
  std::vector<proto::Vote> distinct;
  for (const proto::Vote& vote : votes) {
    const proto::VoteBody& body = vote.body;
    if (body.type != first.type || body.height != first.height || body.round != first.round ||
        body.block_hash != first.block_hash) {
      return Threshold{};
    }
    const std::optional<Weight> weight = WeightOf(body.validator);
    if (!weight) return Threshold{};
    if (std::any_of(distinct.begin(), distinct.end(), [&](const proto::Vote& v) { return v.body == body; })) continue;
    distinct.push_back(vote);
    signed_weight += *weight;
  }
  if (!IsQuorum(signed_weight)) return Threshold{};

  const Round round = first.round;
  VoteCount& count = rounds_[round].count(first.type);
  // Equivocation: a certificate vote whose sender already sent us something else.
  for (const proto::Vote& vote : distinct) {
    for (const proto::Vote& old : count.received) {
      if (old.body.validator == vote.body.validator && old.body.block_hash != vote.body.block_hash) {
        AddEvidence(old, vote);
        break;
      }
    }
  }
  // A vote whose body is kept already is not kept again, whatever its signature: its signer
  // can make any number of valid signatures of one body (a new nonce each), and each copy
  // would otherwise count again, and sit twice in a commit built from them.
  for (const proto::Vote& vote : distinct) {
    if (std::none_of(count.received.begin(), count.received.end(),
                     [&](const proto::Vote& kept) { return kept.body == vote.body; })) {
      count.received.push_back(vote);
    }
  }
  // Recount from everything received: each (validator, value) is there once.
  count.value_weights.clear();
  count.counted.clear();
  for (const proto::Vote& vote : count.received) {
    count.value_weights[vote.body.block_hash] += *WeightOf(vote.body.validator);
    count.counted.insert(vote.body.validator);
  }
  // Not recorded in `emitted` and not de-duplicated, as in the model: a certificate is
  // news each time it arrives, and the driver's record of executed inputs stops repeats.
  return ThresholdFor(first.type == VoteType::kPrevote ? ThresholdKind::kPolkaValue : ThresholdKind::kPrecommitValue,
                      round, *first.block_hash);
}

bool VoteKeeper::HasQuorum(Round round, VoteType type, const NilOrValue& value) const {
  const auto it = rounds_.find(round);
  if (it == rounds_.end()) return false;
  const VoteCount& count = it->second.count(type);
  const auto weight = count.value_weights.find(value);
  return weight != count.value_weights.end() && IsQuorum(weight->second);
}

bool VoteKeeper::Holds(const proto::Vote& vote) const {
  if (vote.body.height != height_) return false;
  const auto it = rounds_.find(vote.body.round);
  if (it == rounds_.end()) return false;
  const std::vector<proto::Vote>& received = it->second.count(vote.body.type).received;
  return std::find(received.begin(), received.end(), vote) != received.end();
}

bool VoteKeeper::HasQuorumAny(Round round, VoteType type) const {
  const auto it = rounds_.find(round);
  if (it == rounds_.end()) return false;
  return IsQuorum(SumOf(it->second.count(type).value_weights));
}

std::optional<std::vector<proto::Vote>> VoteKeeper::CertificateFor(const Threshold& threshold) const {
  if (threshold.kind != ThresholdKind::kPolkaValue && threshold.kind != ThresholdKind::kPrecommitValue) {
    return std::nullopt;
  }
  const auto it = rounds_.find(threshold.round);
  if (it == rounds_.end()) return std::nullopt;
  const VoteType type = threshold.kind == ThresholdKind::kPolkaValue ? VoteType::kPrevote : VoteType::kPrecommit;
  std::vector<proto::Vote> votes;
  Weight weight = 0;
  for (const proto::Vote& vote : it->second.count(type).received) {
    if (vote.body.block_hash != threshold.value) continue;
    votes.push_back(vote);
    weight += *WeightOf(vote.body.validator);  // one vote per sender: they all carry this value
  }
  if (!IsQuorum(weight)) return std::nullopt;
  return votes;
}

std::size_t VoteKeeper::FutureRoundsOf(const ValidatorId& validator, Round current_round, Round round) const {
  std::size_t rounds = 0;
  for (auto it = rounds_.upper_bound(current_round); it != rounds_.end(); ++it) {
    if (it->first == round) continue;
    const RoundVotes& votes = it->second;
    const auto sent = [&](const VoteCount& count) {
      return std::any_of(count.received.begin(), count.received.end(),
                         [&](const proto::Vote& v) { return v.body.validator == validator; });
    };
    if (sent(votes.prevotes) || sent(votes.precommits)) ++rounds;
  }
  return rounds;
}

}  // namespace civic::consensus
