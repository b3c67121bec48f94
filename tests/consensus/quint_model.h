// The mapping between Malachite's Quint model of Tendermint (as its ITF traces write it) and
// our consensus/ types, both ways, for the conformance replayer (quint_replay.cc). Every
// place where our design represents something differently from the model is translated
// here explicitly; tests/README.md ("Quint conformance") says why.
//
//   model                          ours
//   address "v1", "alice"          an Ed25519 key from the seed SHA-256("quint-validator/" + name)
//   value "blue"                   a block hash: SHA-256("quint-value/" + "blue")
//   height h (from 0)              height h + 1 (our heights start at 1, as blocks do)
//   votes, proposals               signed with the address's key on chain "quint-replay"
//   validator map, order v1..vn    proto::ValidatorSet (ascending keys) + ModelRotation
//   evidence: set of vote sets     VoteEquivocation pairs (a set of exactly two votes)
//   chain: list of decisions       the driver's decision of its height; earlier heights' are
//                                  carried by the replayer
//   certificates: never filled     not kept (the trace's must be empty)
//   ErrorOutput(text)              NotApplicable (the tag is compared, not the text)
//
// A conversion that meets something it cannot represent throws Uninterpretable: the
// replayer reports it as a failure of that file, never skips it.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "civic/consensus/driver.h"
#include "civic/consensus/messages.h"
#include "civic/consensus/proposer.h"
#include "civic/consensus/round_machine.h"
#include "civic/consensus/types.h"
#include "civic/consensus/vote_keeper.h"
#include "civic/proto/chain.h"
#include "civic/proto/ed25519.h"

namespace civic::quint {

using Json = nlohmann::json;

struct Uninterpretable : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// ---- generic ITF helpers ----
// Sets sorted by their elements' text, maps by their keys' text, recursively, so that two
// equal values have equal JSON.
Json Normalize(const Json& value);
// A short readable rendering: Val(blue), {v1, v2}, Map(v1->1), (0, ProposeTimeout).
std::string Show(const Json& value);
// Adds "path: expected X, actual Y" lines for every difference (inputs normalised).
void Diff(const Json& expected, const Json& actual, const std::string& path, std::vector<std::string>& out);
std::int64_t Int(const Json& value);
Json BigInt(std::int64_t value);
Json Tagged(const std::string& tag, Json payload);
Json Unit();  // the empty tuple, payload of a variant without one
Json Tuple(std::vector<Json> items);
Json Set(std::vector<Json> items);
const std::string& TagOf(const Json& variant);
// The entries of a driver's chain for heights other than its current one.
Json CarriedChain(const Json& es);
// The keys of a state with their module prefixes (e.g. "line42Test::N4F0::") removed.
Json StripPrefixes(const Json& state);

// The model's proposer: position (round + 1) mod n of the address list v1, v2, ... (the
// addresses in their text order), at every height.
class ModelRotation final : public consensus::ProposerSelector {
 public:
  explicit ModelRotation(std::vector<consensus::ValidatorId> order) : order_(std::move(order)) {}
  consensus::ValidatorId Proposer(consensus::Height height, consensus::Round round) const override;

 private:
  std::vector<consensus::ValidatorId> order_;
};

class ModelWorld {
 public:
  ModelWorld();

  // ---- names and values ----
  const consensus::ValidatorId& Key(const std::string& name);
  std::string Name(const consensus::ValidatorId& key) const;
  consensus::ValueId Value(const std::string& text);
  std::string ValueText(const consensus::ValueId& value) const;
  static consensus::Height OurHeight(std::int64_t model_height);
  static std::int64_t ModelHeight(consensus::Height height);
  // The model's fixed validity rule: a value is invalid exactly when it is "invalid".
  static consensus::Validity ValidityOf(const std::string& text);

  // ---- model -> ours ----
  consensus::NilOrValue ValueIdFrom(const Json& value);  // Nil | Val(s)
  consensus::Step StepFrom(const Json& step);
  consensus::TimeoutKind TimeoutFrom(const Json& timeout);
  proto::Vote VoteFrom(const Json& vote);
  consensus::Proposal ProposalFrom(const Json& proposal);
  consensus::RoundInput InputFrom(const Json& input);
  consensus::RoundState RoundStateFrom(const Json& state, const consensus::NilOrValue& decision);
  proto::ValidatorSet SetFrom(const Json& weights);
  consensus::Threshold ThresholdFrom(const Json& output);
  consensus::VoteKeeper KeeperFrom(const Json& bookkeeper);
  consensus::DriverState DriverFrom(const Json& es);
  std::shared_ptr<ModelRotation> RotationFrom(const Json& weights);

  // ---- ours -> model ----
  Json ToJson(const consensus::NilOrValue& value) const;
  Json ToJson(consensus::Step step) const;
  Json ToJson(consensus::TimeoutKind kind) const;
  Json ToJson(const proto::Vote& vote) const;
  Json ToJson(const consensus::Proposal& proposal) const;
  Json ToJson(const consensus::RoundInput& input) const;
  // ErrorOutput carries a text we do not reproduce: `expected` lends its text when its tag
  // is ErrorOutput too.
  // `self` is the validator whose output it is (proposals and votes name their sender).
  Json ToJson(const consensus::RoundOutput& output, const consensus::ValidatorId& self, const Json& expected) const;
  Json ToJson(const consensus::RoundState& state) const;  // without `decision`: the model has none
  Json ToJson(const consensus::Threshold& threshold) const;
  Json ToJson(const proto::ValidatorSet& set) const;
  Json ToJson(const consensus::VoteKeeper& keeper) const;
  // `carried`: the chain entries of earlier heights (CarriedChain), which the model keeps in
  // the driver and we do not (a driver is one height); ours follows them.
  Json ToJson(const consensus::DriverState& state, const Json& carried) const;
  Json VotesToJson(const std::vector<proto::Vote>& votes) const;

 private:
  proto::ChainId chain_id_;
  std::map<std::string, proto::Ed25519KeyPair> keys_;
  std::map<consensus::ValidatorId, std::string> names_;
  std::map<std::string, consensus::ValueId> values_;
  std::map<consensus::ValueId, std::string> texts_;
  std::map<proto::Bytes, proto::Ed25519Signature> signatures_;  // signing digest -> signature
};

}  // namespace civic::quint
