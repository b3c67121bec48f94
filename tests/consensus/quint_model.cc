#include "quint_model.h"

#include <algorithm>
#include <set>
#include <utility>

#include "civic/proto/hash.h"

namespace civic::quint {

using consensus::DriverState;
using consensus::Height;
using consensus::NilOrValue;
using consensus::Round;
using consensus::RoundInput;
using consensus::RoundOutput;
using consensus::RoundState;
using consensus::Step;
using consensus::Threshold;
using consensus::ThresholdKind;
using consensus::TimeoutKind;
using consensus::ValidatorId;
using consensus::ValueId;

// ---------------------------------------------------------------------------------------
// Generic ITF helpers
// ---------------------------------------------------------------------------------------

Json Normalize(const Json& value) {
  // Sorts by each element's (or key's) text, computed once per element.
  auto sorted = [](std::vector<std::pair<std::string, Json>> keyed) {
    std::sort(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
    keyed.erase(
        std::unique(keyed.begin(), keyed.end(), [](const auto& a, const auto& b) { return a.first == b.first; }),
        keyed.end());
    Json out = Json::array();
    for (auto& [text, item] : keyed) out.push_back(std::move(item));
    return out;
  };
  if (value.is_object()) {
    if (value.contains("#set")) {
      std::vector<std::pair<std::string, Json>> items;
      for (const Json& item : value.at("#set")) {
        Json normal = Normalize(item);
        std::string text = normal.dump();
        items.emplace_back(std::move(text), std::move(normal));
      }
      return Json{{"#set", sorted(std::move(items))}};
    }
    if (value.contains("#map")) {
      std::vector<std::pair<std::string, Json>> entries;
      for (const Json& entry : value.at("#map")) {
        Json key = Normalize(entry.at(0));
        std::string text = key.dump();
        entries.emplace_back(std::move(text), Json::array({std::move(key), Normalize(entry.at(1))}));
      }
      return Json{{"#map", sorted(std::move(entries))}};
    }
    Json out = Json::object();
    for (const auto& [key, item] : value.items()) out[key] = Normalize(item);
    return out;
  }
  if (value.is_array()) {
    Json out = Json::array();
    for (const Json& item : value) out.push_back(Normalize(item));
    return out;
  }
  return value;
}

std::string Show(const Json& value) {
  if (value.is_object()) {
    if (value.contains("#bigint")) return value.at("#bigint").get<std::string>();
    auto join = [](const Json& items, const std::string& open, const std::string& close) {
      std::string out = open;
      bool first = true;
      for (const Json& item : items) {
        if (!first) out += ", ";
        first = false;
        out += Show(item);
      }
      return out + close;
    };
    if (value.contains("#tup")) return join(value.at("#tup"), "(", ")");
    if (value.contains("#set")) return join(value.at("#set"), "{", "}");
    if (value.contains("#map")) {
      std::string out = "Map(";
      bool first = true;
      for (const Json& entry : value.at("#map")) {
        if (!first) out += ", ";
        first = false;
        out += Show(entry.at(0)) + "->" + Show(entry.at(1));
      }
      return out + ")";
    }
    if (value.contains("tag") && value.contains("value") && value.size() == 2) {
      const std::string payload = Show(value.at("value"));
      if (payload == "()") return value.at("tag").get<std::string>();
      if (payload.starts_with("(")) return value.at("tag").get<std::string>() + payload;
      return value.at("tag").get<std::string>() + "(" + payload + ")";
    }
    std::string out = "{";
    bool first = true;
    for (const auto& [key, item] : value.items()) {
      if (!first) out += ", ";
      first = false;
      out += key + ": " + Show(item);
    }
    return out + "}";
  }
  if (value.is_array()) {
    std::string out = "[";
    for (std::size_t i = 0; i < value.size(); ++i) out += (i ? ", " : "") + Show(value.at(i));
    return out + "]";
  }
  if (value.is_string()) return value.get<std::string>();
  return value.dump();
}

namespace {

bool IsRecord(const Json& value) {
  if (!value.is_object()) return false;
  for (const auto& [key, item] : value.items()) {
    if (key.starts_with("#")) return false;
  }
  return !(value.contains("tag") && value.contains("value") && value.size() == 2);
}

bool IsTagged(const Json& value) {
  return value.is_object() && value.size() == 2 && value.contains("tag") && value.contains("value");
}

}  // namespace

void Diff(const Json& expected, const Json& actual, const std::string& path, std::vector<std::string>& out) {
  if (expected == actual) return;
  const std::string both = path + ": expected " + Show(expected) + ", actual " + Show(actual);
  if (expected.is_object() && actual.is_object()) {
    if (expected.contains("#set") && actual.contains("#set")) {
      std::set<std::string> e;
      std::set<std::string> a;
      for (const Json& item : expected.at("#set")) e.insert(item.dump());
      for (const Json& item : actual.at("#set")) a.insert(item.dump());
      std::vector<std::string> missing;
      std::vector<std::string> extra;
      for (const Json& item : expected.at("#set")) {
        if (!a.contains(item.dump())) missing.push_back(Show(item));
      }
      for (const Json& item : actual.at("#set")) {
        if (!e.contains(item.dump())) extra.push_back(Show(item));
      }
      std::string detail;
      for (const std::string& m : missing) detail += " missing " + m + ";";
      for (const std::string& x : extra) detail += " unexpected " + x + ";";
      out.push_back(path + " (set):" + detail);
      return;
    }
    if (expected.contains("#map") && actual.contains("#map")) {
      std::map<std::string, std::pair<Json, Json>> e;
      std::map<std::string, std::pair<Json, Json>> a;
      for (const Json& entry : expected.at("#map")) e[entry.at(0).dump()] = {entry.at(0), entry.at(1)};
      for (const Json& entry : actual.at("#map")) a[entry.at(0).dump()] = {entry.at(0), entry.at(1)};
      for (const auto& [key, entry] : e) {
        const std::string sub = path + "[" + Show(entry.first) + "]";
        if (!a.contains(key)) {
          out.push_back(sub + ": expected " + Show(entry.second) + ", actual no entry");
        } else {
          Diff(entry.second, a.at(key).second, sub, out);
        }
      }
      for (const auto& [key, entry] : a) {
        if (!e.contains(key))
          out.push_back(path + "[" + Show(entry.first) + "]: expected no entry, actual " + Show(entry.second));
      }
      return;
    }
    if (IsTagged(expected) && IsTagged(actual) && expected.at("tag") == actual.at("tag")) {
      Diff(expected.at("value"), actual.at("value"), path + "(" + expected.at("tag").get<std::string>() + ")", out);
      return;
    }
    if (IsRecord(expected) && IsRecord(actual)) {
      std::set<std::string> keys;
      for (const auto& [key, item] : expected.items()) keys.insert(key);
      for (const auto& [key, item] : actual.items()) keys.insert(key);
      for (const std::string& key : keys) {
        if (!expected.contains(key)) {
          out.push_back(path + "." + key + ": expected no field, actual " + Show(actual.at(key)));
        } else if (!actual.contains(key)) {
          out.push_back(path + "." + key + ": expected " + Show(expected.at(key)) + ", actual no field");
        } else {
          Diff(expected.at(key), actual.at(key), path + "." + key, out);
        }
      }
      return;
    }
    if (expected.contains("#tup") && actual.contains("#tup") &&
        expected.at("#tup").size() == actual.at("#tup").size()) {
      for (std::size_t i = 0; i < expected.at("#tup").size(); ++i) {
        Diff(expected.at("#tup").at(i), actual.at("#tup").at(i), path + "._" + std::to_string(i + 1), out);
      }
      return;
    }
  }
  if (expected.is_array() && actual.is_array() && expected.size() == actual.size()) {
    for (std::size_t i = 0; i < expected.size(); ++i) {
      Diff(expected.at(i), actual.at(i), path + "[" + std::to_string(i) + "]", out);
    }
    return;
  }
  out.push_back(both);
}

std::int64_t Int(const Json& value) {
  if (!value.is_object() || !value.contains("#bigint"))
    throw Uninterpretable("expected an integer, got " + Show(value));
  const std::string& text = value.at("#bigint").get_ref<const std::string&>();
  std::size_t used = 0;
  const long long parsed = std::stoll(text, &used);
  if (used != text.size()) throw Uninterpretable("bad integer " + text);
  return parsed;
}

Json BigInt(std::int64_t value) { return Json{{"#bigint", std::to_string(value)}}; }
Json Unit() { return Json{{"#tup", Json::array()}}; }
Json Tagged(const std::string& tag, Json payload) { return Json{{"tag", tag}, {"value", std::move(payload)}}; }
Json Tuple(std::vector<Json> items) { return Json{{"#tup", std::move(items)}}; }
Json Set(std::vector<Json> items) { return Normalize(Json{{"#set", std::move(items)}}); }

const std::string& TagOf(const Json& variant) {
  if (!IsTagged(variant) || !variant.at("tag").is_string())
    throw Uninterpretable("expected a variant, got " + Show(variant));
  return variant.at("tag").get_ref<const std::string&>();
}

Json StripPrefixes(const Json& state) {
  Json out = Json::object();
  for (const auto& [key, item] : state.items()) {
    if (key == "#meta") continue;
    const std::size_t cut = key.rfind("::");
    out[cut == std::string::npos ? key : key.substr(cut + 2)] = item;
  }
  return out;
}

ValidatorId ModelRotation::Proposer(Height, Round round) const {
  const auto n = static_cast<Round>(order_.size());
  return order_[static_cast<std::size_t>((round + 1) % n)];
}

// ---------------------------------------------------------------------------------------
// Names and values
// ---------------------------------------------------------------------------------------

namespace {

const Json& Field(const Json& record, const char* name) {
  if (!record.is_object() || !record.contains(name)) {
    throw Uninterpretable(std::string("missing field ") + name + " in " + Show(record));
  }
  return record.at(name);
}

const Json& Payload(const Json& variant) { return variant.at("value"); }

const Json& Items(const Json& value, const char* kind) {
  if (!value.is_object() || !value.contains(kind))
    throw Uninterpretable(std::string("expected ") + kind + ", got " + Show(value));
  return value.at(kind);
}

std::uint32_t WireRoundFrom(const Json& round) {
  const std::int64_t r = Int(round);
  if (r < 0 || r > consensus::kRoundMax) throw Uninterpretable("round out of range: " + std::to_string(r));
  return static_cast<std::uint32_t>(r);
}

}  // namespace

ModelWorld::ModelWorld() : chain_id_(proto::ChainId::Parse("quint-replay").value()) {}

const ValidatorId& ModelWorld::Key(const std::string& name) {
  auto it = keys_.find(name);
  if (it == keys_.end()) {
    const proto::Hash32 seed = proto::Sha256(proto::AsBytes("quint-validator/" + name));
    it = keys_.emplace(name, proto::Ed25519KeyPair::FromSeed(seed.bytes)).first;
    names_.emplace(it->second.public_key(), name);
  }
  return it->second.public_key();
}

std::string ModelWorld::Name(const ValidatorId& key) const {
  const auto it = names_.find(key);
  return it == names_.end() ? "<unknown key " + proto::ToHex(key) + ">" : it->second;
}

ValueId ModelWorld::Value(const std::string& text) {
  auto it = values_.find(text);
  if (it == values_.end()) {
    const ValueId hash = proto::Sha256(proto::AsBytes("quint-value/" + text));
    it = values_.emplace(text, hash).first;
    texts_.emplace(hash, text);
  }
  return it->second;
}

std::string ModelWorld::ValueText(const ValueId& value) const {
  const auto it = texts_.find(value);
  return it == texts_.end() ? "<unknown value " + consensus::ShortHex(value) + ">" : it->second;
}

Height ModelWorld::OurHeight(std::int64_t model_height) {
  if (model_height < 0) throw Uninterpretable("negative height " + std::to_string(model_height));
  return static_cast<Height>(model_height) + 1;
}

std::int64_t ModelWorld::ModelHeight(Height height) { return static_cast<std::int64_t>(height) - 1; }

consensus::Validity ModelWorld::ValidityOf(const std::string& text) {
  return text == "invalid" ? consensus::Validity::kInvalid : consensus::Validity::kValid;
}

// ---------------------------------------------------------------------------------------
// Model -> ours
// ---------------------------------------------------------------------------------------

NilOrValue ModelWorld::ValueIdFrom(const Json& value) {
  const std::string& tag = TagOf(value);
  if (tag == "Nil") return std::nullopt;
  if (tag == "Val") return Value(Payload(value).get<std::string>());
  throw Uninterpretable("expected Nil or Val, got " + Show(value));
}

Step ModelWorld::StepFrom(const Json& step) {
  const std::string& tag = TagOf(step);
  if (tag == "NoStep") return Step::kNone;
  if (tag == "UnstartedStep") return Step::kUnstarted;
  if (tag == "ProposeStep") return Step::kPropose;
  if (tag == "PrevoteStep") return Step::kPrevote;
  if (tag == "PrecommitStep") return Step::kPrecommit;
  if (tag == "CommitStep") return Step::kCommit;
  throw Uninterpretable("unknown step " + Show(step));
}

TimeoutKind ModelWorld::TimeoutFrom(const Json& timeout) {
  const std::string& tag = TagOf(timeout);
  if (tag == "ProposeTimeout") return TimeoutKind::kPropose;
  if (tag == "PrevoteTimeout") return TimeoutKind::kPrevote;
  if (tag == "PrecommitTimeout") return TimeoutKind::kPrecommit;
  throw Uninterpretable("unknown timeout " + Show(timeout));
}

proto::Vote ModelWorld::VoteFrom(const Json& vote) {
  proto::VoteBody body;
  const std::string& type = TagOf(Field(vote, "voteType"));
  if (type == "Prevote") {
    body.type = proto::VoteType::kPrevote;
  } else if (type == "Precommit") {
    body.type = proto::VoteType::kPrecommit;
  } else {
    throw Uninterpretable("unknown vote type " + type);
  }
  body.height = OurHeight(Int(Field(vote, "height")));
  body.round = WireRoundFrom(Field(vote, "round"));
  body.block_hash = ValueIdFrom(Field(vote, "valueId"));
  body.validator = Key(Field(vote, "srcAddress").get<std::string>());
  const proto::Result<proto::Hash32> digest = proto::VoteSigningDigest(chain_id_, body);
  if (!digest) throw Uninterpretable("vote does not encode: " + digest.error().message);
  const proto::Bytes key(digest->bytes.begin(), digest->bytes.end());
  auto it = signatures_.find(key);
  if (it == signatures_.end()) {
    it = signatures_.emplace(key, keys_.at(Name(body.validator)).Sign(digest->view())).first;
  }
  return proto::Vote{body, it->second};
}

consensus::Proposal ModelWorld::ProposalFrom(const Json& proposal) {
  consensus::ProposalBody body;
  body.height = OurHeight(Int(Field(proposal, "height")));
  body.round = WireRoundFrom(Field(proposal, "round"));
  body.block_hash = Value(Field(proposal, "proposal").get<std::string>());
  const std::int64_t valid_round = Int(Field(proposal, "validRound"));
  if (valid_round != consensus::kNilRound) body.valid_round = WireRoundFrom(Field(proposal, "validRound"));
  body.proposer = Key(Field(proposal, "srcAddress").get<std::string>());
  const proto::Result<proto::Hash32> digest = consensus::ProposalSigningDigest(chain_id_, body);
  // E.g. a valid round at or above the round: our decoder refuses such a proposal.
  if (!digest) throw Uninterpretable("proposal " + Show(proposal) + " does not encode: " + digest.error().message);
  const proto::Bytes key(digest->bytes.begin(), digest->bytes.end());
  auto it = signatures_.find(key);
  if (it == signatures_.end()) {
    it = signatures_.emplace(key, keys_.at(Name(body.proposer)).Sign(digest->view())).first;
  }
  return consensus::Proposal{body, it->second};
}

RoundInput ModelWorld::InputFrom(const Json& input) {
  const std::string& tag = TagOf(input);
  const Json& p = Payload(input);
  auto tuple = [&](std::size_t i) -> const Json& { return Items(p, "#tup").at(i); };
  auto value = [&](const Json& v) {
    const NilOrValue id = ValueIdFrom(v);
    if (!id) throw Uninterpretable(tag + " with a nil value");
    return *id;
  };
  if (tag == "NewRoundCInput") return consensus::NewRound{Int(p)};
  if (tag == "NewRoundProposerCInput") return consensus::NewRoundProposer{Int(p)};
  if (tag == "ProposeValueCInput") return consensus::ProposeValue{Value(p.get<std::string>())};
  if (tag == "ProposalCInput") return consensus::ProposalFresh{Int(tuple(0)), value(tuple(1))};
  if (tag == "ProposalInvalidCInput") return consensus::ProposalInvalid{};
  if (tag == "ProposalAndPolkaPreviousAndValidCInput") {
    return consensus::ProposalAndPolkaPrevious{value(tuple(0)), Int(tuple(1))};
  }
  if (tag == "ProposalAndPolkaAndInvalidCInput") return consensus::ProposalAndPolkaAndInvalid{value(p)};
  if (tag == "PolkaAnyCInput") return consensus::PolkaAny{};
  if (tag == "ProposalAndPolkaAndValidCInput") return consensus::ProposalAndPolkaCurrent{value(p)};
  if (tag == "PolkaNilCInput") return consensus::PolkaNil{};
  if (tag == "PrecommitAnyCInput") return consensus::PrecommitAny{};
  if (tag == "ProposalAndCommitAndValidCInput") {
    return consensus::ProposalAndCommit{Int(tuple(0)), Value(tuple(1).get<std::string>())};
  }
  if (tag == "RoundSkipCInput") return consensus::RoundSkip{Int(p)};
  if (tag == "TimeoutProposeCInput") return consensus::TimeoutPropose{OurHeight(Int(tuple(0))), Int(tuple(1))};
  if (tag == "TimeoutPrevoteCInput") return consensus::TimeoutPrevote{OurHeight(Int(tuple(0))), Int(tuple(1))};
  if (tag == "TimeoutPrecommitCInput") return consensus::TimeoutPrecommit{OurHeight(Int(tuple(0))), Int(tuple(1))};
  throw Uninterpretable("no round-machine input for " + Show(input));
}

RoundState ModelWorld::RoundStateFrom(const Json& state, const NilOrValue& decision) {
  RoundState out;
  out.self = Key(Field(state, "p").get<std::string>());
  out.height = OurHeight(Int(Field(state, "height")));
  out.round = Int(Field(state, "round"));
  out.step = StepFrom(Field(state, "step"));
  out.locked_round = Int(Field(state, "lockedRound"));
  out.locked_value = ValueIdFrom(Field(state, "lockedValue"));
  out.valid_round = Int(Field(state, "validRound"));
  out.valid_value = ValueIdFrom(Field(state, "validValue"));
  out.decision = decision;
  return out;
}

proto::ValidatorSet ModelWorld::SetFrom(const Json& weights) {
  proto::ValidatorSet set;
  for (const Json& entry : Items(weights, "#map")) {
    const std::int64_t weight = Int(entry.at(1));
    if (weight < 1) throw Uninterpretable("validator weight below 1: " + Show(entry));
    set.validators.push_back({Key(entry.at(0).get<std::string>()), static_cast<std::uint64_t>(weight)});
  }
  std::sort(set.validators.begin(), set.validators.end(),
            [](const proto::Validator& a, const proto::Validator& b) { return a.key < b.key; });
  if (!proto::ValidatorSet::IsCanonical(set.validators)) throw Uninterpretable("validator set " + Show(weights));
  return set;
}

std::shared_ptr<ModelRotation> ModelWorld::RotationFrom(const Json& weights) {
  std::vector<std::string> names;
  for (const Json& entry : Items(weights, "#map")) names.push_back(entry.at(0).get<std::string>());
  std::sort(names.begin(), names.end());
  std::vector<ValidatorId> order;
  for (const std::string& name : names) order.push_back(Key(name));
  return std::make_shared<ModelRotation>(std::move(order));
}

Threshold ModelWorld::ThresholdFrom(const Json& output) {
  const std::string& tag = TagOf(output);
  const Json& p = Payload(output);
  if (tag == "NoVKOutput") return Threshold{};
  if (tag == "PolkaAnyVKOutput") return Threshold{ThresholdKind::kPolkaAny, Int(p), ValueId{}};
  if (tag == "PolkaNilVKOutput") return Threshold{ThresholdKind::kPolkaNil, Int(p), ValueId{}};
  if (tag == "PrecommitAnyVKOutput") return Threshold{ThresholdKind::kPrecommitAny, Int(p), ValueId{}};
  if (tag == "SkipVKOutput") return Threshold{ThresholdKind::kSkip, Int(p), ValueId{}};
  const Json& items = Items(p, "#tup");
  if (tag == "PolkaValueVKOutput") {
    return Threshold{ThresholdKind::kPolkaValue, Int(items.at(0)), Value(items.at(1).get<std::string>())};
  }
  if (tag == "PrecommitValueVKOutput") {
    return Threshold{ThresholdKind::kPrecommitValue, Int(items.at(0)), Value(items.at(1).get<std::string>())};
  }
  throw Uninterpretable("unknown vote keeper output " + Show(output));
}

consensus::VoteKeeper ModelWorld::KeeperFrom(const Json& bookkeeper) {
  const Height height = OurHeight(Int(Field(bookkeeper, "height")));
  proto::ValidatorSet set = SetFrom(Field(bookkeeper, "validatorSet"));
  std::map<Round, consensus::RoundVotes> rounds;
  for (const Json& entry : Items(Field(bookkeeper, "rounds"), "#map")) {
    const Json& model = entry.at(1);
    consensus::RoundVotes votes;
    auto count = [&](const Json& c) {
      consensus::VoteCount out;
      for (const Json& w : Items(Field(c, "valuesWeights"), "#map")) {
        out.value_weights[ValueIdFrom(w.at(0))] = static_cast<consensus::Weight>(Int(w.at(1)));
      }
      for (const Json& name : Items(Field(c, "votesAddresses"), "#set"))
        out.counted.insert(Key(name.get<std::string>()));
      for (const Json& vote : Items(Field(c, "receivedVotes"), "#set")) out.received.push_back(VoteFrom(vote));
      return out;
    };
    votes.prevotes = count(Field(model, "prevotes"));
    votes.precommits = count(Field(model, "precommits"));
    for (const Json& output : Items(Field(model, "emittedOutputs"), "#set"))
      votes.emitted.insert(ThresholdFrom(output));
    for (const Json& w : Items(Field(model, "votesAddressesWeights"), "#map")) {
      votes.senders.emplace(Key(w.at(0).get<std::string>()), static_cast<consensus::Weight>(Int(w.at(1))));
    }
    rounds.emplace(Int(entry.at(0)), std::move(votes));
  }
  std::vector<consensus::VoteEquivocation> evidence;
  for (const Json& proof : Items(Field(bookkeeper, "evidence"), "#set")) {
    const Json& votes = Items(proof, "#set");
    // We keep equivocation as pairs; the model's sets have two votes unless a validator
    // sent three different ones, which no trace here does.
    if (votes.size() != 2)
      throw Uninterpretable("evidence of " + std::to_string(votes.size()) + " votes: " + Show(proof));
    proto::Result<consensus::VoteEquivocation> pair =
        consensus::MakeVoteEquivocation(VoteFrom(votes.at(0)), VoteFrom(votes.at(1)));
    if (!pair) throw Uninterpretable("evidence that is no equivocation: " + Show(proof));
    evidence.push_back(*pair);
  }
  return consensus::VoteKeeper::FromParts(height, std::move(set), std::move(rounds), std::move(evidence));
}

DriverState ModelWorld::DriverFrom(const Json& es) {
  std::optional<consensus::DecisionRecord> decision;
  const Json& chain = Field(es, "chain");
  if (!chain.is_array()) throw Uninterpretable("chain is not a list");
  // Our driver holds the decision of its own height; earlier heights' entries are the
  // replayer's to carry (CarriedChain).
  const std::int64_t height = Int(Field(Field(es, "cs"), "height"));
  for (const Json& entry : chain) {
    if (Int(Field(Field(entry, "decision"), "height")) != height) continue;
    if (decision) throw Uninterpretable("two decisions for one height in the chain");
    consensus::DecisionRecord record{ProposalFrom(Field(entry, "decision")), {}};
    for (const Json& vote : Items(Field(entry, "commit"), "#set")) record.commit.push_back(VoteFrom(vote));
    decision = std::move(record);
  }
  if (!Items(Field(es, "certificates"), "#set").empty()) throw Uninterpretable("the model kept certificates");
  const NilOrValue decided = decision ? NilOrValue(decision->proposal.body.block_hash) : std::nullopt;
  DriverState state{RoundStateFrom(Field(es, "cs"), decided),
                    KeeperFrom(Field(es, "bk")),
                    {},
                    {},
                    StepFrom(Field(es, "pendingStepChange")),
                    {},
                    Field(es, "started").get<bool>(),
                    ThresholdFrom(Field(es, "voteKeeperOutput")),
                    std::move(decision)};
  if (SetFrom(Field(es, "valset")) != state.keeper.validators()) {
    throw Uninterpretable("driver and vote keeper have different validator sets");
  }
  for (const Json& p : Items(Field(es, "proposals"), "#set")) state.proposals.push_back(ProposalFrom(p));
  for (const Json& pending : Items(Field(es, "pendingInputs"), "#set")) {
    const Json& t = Items(pending, "#tup");
    state.pending.push_back({InputFrom(t.at(0)), OurHeight(Int(t.at(1))), Int(t.at(2))});
  }
  for (const Json& executed : Field(es, "executedInputs")) {
    const Json& t = Items(executed, "#tup");
    state.executed.push_back({InputFrom(t.at(0)), OurHeight(Int(t.at(1))), Int(t.at(2)), StepFrom(t.at(3))});
  }
  return state;
}

// ---------------------------------------------------------------------------------------
// Ours -> model
// ---------------------------------------------------------------------------------------

Json ModelWorld::ToJson(const NilOrValue& value) const {
  return value ? Tagged("Val", ValueText(*value)) : Tagged("Nil", Unit());
}

Json ModelWorld::ToJson(Step step) const {
  switch (step) {
    case Step::kNone: return Tagged("NoStep", Unit());
    case Step::kUnstarted: return Tagged("UnstartedStep", Unit());
    case Step::kPropose: return Tagged("ProposeStep", Unit());
    case Step::kPrevote: return Tagged("PrevoteStep", Unit());
    case Step::kPrecommit: return Tagged("PrecommitStep", Unit());
    case Step::kCommit: return Tagged("CommitStep", Unit());
  }
  return Json();
}

Json ModelWorld::ToJson(TimeoutKind kind) const {
  switch (kind) {
    case TimeoutKind::kPropose: return Tagged("ProposeTimeout", Unit());
    case TimeoutKind::kPrevote: return Tagged("PrevoteTimeout", Unit());
    case TimeoutKind::kPrecommit: return Tagged("PrecommitTimeout", Unit());
  }
  return Json();
}

Json ModelWorld::ToJson(const proto::Vote& vote) const {
  const proto::VoteBody& body = vote.body;
  return Json{{"height", BigInt(ModelHeight(body.height))},
              {"round", BigInt(body.round)},
              {"srcAddress", Name(body.validator)},
              {"valueId", ToJson(body.block_hash)},
              {"voteType", Tagged(body.type == proto::VoteType::kPrevote ? "Prevote" : "Precommit", Unit())}};
}

Json ModelWorld::ToJson(const consensus::Proposal& proposal) const {
  const consensus::ProposalBody& body = proposal.body;
  return Json{{"height", BigInt(ModelHeight(body.height))},
              {"proposal", ValueText(body.block_hash)},
              {"round", BigInt(body.round)},
              {"srcAddress", Name(body.proposer)},
              {"validRound", BigInt(consensus::ValidRoundOf(body))}};
}

Json ModelWorld::ToJson(const RoundInput& input) const {
  using namespace consensus;
  auto hr = [](Height h, Round r) { return Tuple({BigInt(ModelHeight(h)), BigInt(r)}); };
  if (const auto* in = std::get_if<NewRound>(&input)) return Tagged("NewRoundCInput", BigInt(in->round));
  if (const auto* in = std::get_if<NewRoundProposer>(&input))
    return Tagged("NewRoundProposerCInput", BigInt(in->round));
  if (const auto* in = std::get_if<ProposeValue>(&input)) return Tagged("ProposeValueCInput", ValueText(in->value));
  if (const auto* in = std::get_if<ProposalFresh>(&input)) {
    return Tagged("ProposalCInput", Tuple({BigInt(in->round), ToJson(NilOrValue(in->value))}));
  }
  if (std::holds_alternative<ProposalInvalid>(input)) return Tagged("ProposalInvalidCInput", Unit());
  if (const auto* in = std::get_if<ProposalAndPolkaPrevious>(&input)) {
    return Tagged("ProposalAndPolkaPreviousAndValidCInput",
                  Tuple({ToJson(NilOrValue(in->value)), BigInt(in->valid_round)}));
  }
  if (const auto* in = std::get_if<ProposalAndPolkaAndInvalid>(&input)) {
    return Tagged("ProposalAndPolkaAndInvalidCInput", ToJson(NilOrValue(in->value)));
  }
  if (std::holds_alternative<PolkaAny>(input)) return Tagged("PolkaAnyCInput", Unit());
  if (const auto* in = std::get_if<ProposalAndPolkaCurrent>(&input)) {
    return Tagged("ProposalAndPolkaAndValidCInput", ToJson(NilOrValue(in->value)));
  }
  if (std::holds_alternative<PolkaNil>(input)) return Tagged("PolkaNilCInput", Unit());
  if (std::holds_alternative<PrecommitAny>(input)) return Tagged("PrecommitAnyCInput", Unit());
  if (const auto* in = std::get_if<ProposalAndCommit>(&input)) {
    return Tagged("ProposalAndCommitAndValidCInput", Tuple({BigInt(in->round), ValueText(in->value)}));
  }
  if (const auto* in = std::get_if<RoundSkip>(&input)) return Tagged("RoundSkipCInput", BigInt(in->round));
  if (const auto* in = std::get_if<TimeoutPropose>(&input))
    return Tagged("TimeoutProposeCInput", hr(in->height, in->round));
  if (const auto* in = std::get_if<TimeoutPrevote>(&input))
    return Tagged("TimeoutPrevoteCInput", hr(in->height, in->round));
  const auto& in = std::get<TimeoutPrecommit>(input);
  return Tagged("TimeoutPrecommitCInput", hr(in.height, in.round));
}

Json ModelWorld::ToJson(const RoundOutput& output, const ValidatorId& self, const Json& expected) const {
  using namespace consensus;
  if (std::holds_alternative<NoOutput>(output)) return Tagged("NoConsensusOutput", Unit());
  if (const auto* out = std::get_if<ProposalOut>(&output)) {
    return Tagged("ProposalOutput", Json{{"height", BigInt(ModelHeight(out->height))},
                                         {"proposal", ValueText(out->value)},
                                         {"round", BigInt(out->round)},
                                         {"srcAddress", Name(self)},
                                         {"validRound", BigInt(out->valid_round)}});
  }
  if (const auto* out = std::get_if<GetValue>(&output)) {
    return Tagged("GetValueAndScheduleTimeoutOutput",
                  Tuple({BigInt(ModelHeight(out->height)), BigInt(out->round), ToJson(out->timeout)}));
  }
  if (const auto* out = std::get_if<VoteOut>(&output)) {
    return Tagged("VoteOutput",
                  Json{{"height", BigInt(ModelHeight(out->height))},
                       {"round", BigInt(out->round)},
                       {"srcAddress", Name(self)},
                       {"valueId", ToJson(out->value)},
                       {"voteType", Tagged(out->type == proto::VoteType::kPrevote ? "Prevote" : "Precommit", Unit())}});
  }
  if (const auto* out = std::get_if<ScheduleTimeoutOut>(&output)) {
    return Tagged("TimeoutOutput", Tuple({BigInt(out->round), ToJson(out->kind)}));
  }
  if (const auto* out = std::get_if<Decided>(&output)) {
    return Tagged("DecidedOutput", Tuple({BigInt(out->round), ValueText(out->value)}));
  }
  if (const auto* out = std::get_if<SkipRound>(&output)) return Tagged("SkipRoundOutput", BigInt(out->round));
  const auto& out = std::get<NotApplicable>(output);
  // The model's error texts are its own; the tag says the input did not apply.
  if (expected.is_object() && expected.value("tag", "") == "ErrorOutput") return expected;
  return Tagged("ErrorOutput", std::string(out.why));
}

Json ModelWorld::ToJson(const RoundState& state) const {
  return Json{{"height", BigInt(ModelHeight(state.height))},
              {"lockedRound", BigInt(state.locked_round)},
              {"lockedValue", ToJson(state.locked_value)},
              {"p", Name(state.self)},
              {"round", BigInt(state.round)},
              {"step", ToJson(state.step)},
              {"validRound", BigInt(state.valid_round)},
              {"validValue", ToJson(state.valid_value)}};
}

Json ModelWorld::ToJson(const Threshold& threshold) const {
  switch (threshold.kind) {
    case ThresholdKind::kNone: return Tagged("NoVKOutput", Unit());
    case ThresholdKind::kPolkaAny: return Tagged("PolkaAnyVKOutput", BigInt(threshold.round));
    case ThresholdKind::kPolkaNil: return Tagged("PolkaNilVKOutput", BigInt(threshold.round));
    case ThresholdKind::kPolkaValue:
      return Tagged("PolkaValueVKOutput", Tuple({BigInt(threshold.round), ValueText(threshold.value)}));
    case ThresholdKind::kPrecommitAny: return Tagged("PrecommitAnyVKOutput", BigInt(threshold.round));
    case ThresholdKind::kPrecommitValue:
      return Tagged("PrecommitValueVKOutput", Tuple({BigInt(threshold.round), ValueText(threshold.value)}));
    case ThresholdKind::kSkip: return Tagged("SkipVKOutput", BigInt(threshold.round));
  }
  return Json();
}

Json ModelWorld::ToJson(const proto::ValidatorSet& set) const {
  std::vector<Json> entries;
  for (const proto::Validator& v : set.validators) {
    entries.push_back(Json::array({Name(v.key), BigInt(static_cast<std::int64_t>(v.power))}));
  }
  return Normalize(Json{{"#map", entries}});
}

Json ModelWorld::VotesToJson(const std::vector<proto::Vote>& votes) const {
  std::vector<Json> items;
  for (const proto::Vote& vote : votes) items.push_back(ToJson(vote));
  return Set(std::move(items));
}

Json ModelWorld::ToJson(const consensus::VoteKeeper& keeper) const {
  const auto total = static_cast<std::int64_t>(keeper.total_weight());
  auto count = [&](const consensus::VoteCount& c) {
    std::vector<Json> weights;
    for (const auto& [value, weight] : c.value_weights) {
      weights.push_back(Json::array({ToJson(value), BigInt(static_cast<std::int64_t>(weight))}));
    }
    std::vector<Json> counted;
    for (const ValidatorId& key : c.counted) counted.push_back(Name(key));
    return Json{{"receivedVotes", VotesToJson(c.received)},
                {"totalWeight", BigInt(total)},
                {"valuesWeights", Normalize(Json{{"#map", weights}})},
                {"votesAddresses", Set(std::move(counted))}};
  };
  std::vector<Json> rounds;
  for (const auto& [round, votes] : keeper.rounds()) {
    std::vector<Json> emitted;
    for (const Threshold& t : votes.emitted) emitted.push_back(ToJson(t));
    std::vector<Json> senders;
    for (const auto& [key, weight] : votes.senders) {
      senders.push_back(Json::array({Name(key), BigInt(static_cast<std::int64_t>(weight))}));
    }
    rounds.push_back(Json::array({BigInt(round), Json{{"emittedOutputs", Set(std::move(emitted))},
                                                      {"height", BigInt(ModelHeight(keeper.height()))},
                                                      {"precommits", count(votes.precommits)},
                                                      {"prevotes", count(votes.prevotes)},
                                                      {"round", BigInt(round)},
                                                      {"votesAddressesWeights", Normalize(Json{{"#map", senders}})}}}));
  }
  std::vector<Json> evidence;
  for (const consensus::VoteEquivocation& e : keeper.evidence()) evidence.push_back(VotesToJson({e.first, e.second}));
  return Json{{"evidence", Set(std::move(evidence))},
              {"height", BigInt(ModelHeight(keeper.height()))},
              {"rounds", Normalize(Json{{"#map", rounds}})},
              {"validatorSet", ToJson(keeper.validators())}};
}

Json CarriedChain(const Json& es) {
  Json carried = Json::array();
  const std::int64_t height = Int(Field(Field(es, "cs"), "height"));
  for (const Json& entry : Field(es, "chain")) {
    if (Int(Field(Field(entry, "decision"), "height")) != height) carried.push_back(entry);
  }
  return carried;
}

Json ModelWorld::ToJson(const DriverState& state, const Json& carried) const {
  Json chain = carried;
  if (state.decision) {
    chain.push_back(
        Json{{"commit", VotesToJson(state.decision->commit)}, {"decision", ToJson(state.decision->proposal)}});
  }
  std::vector<Json> proposals;
  for (const consensus::Proposal& p : state.proposals) proposals.push_back(ToJson(p));
  std::vector<Json> pending;
  for (const consensus::PendingInput& p : state.pending) {
    pending.push_back(Tuple({ToJson(p.input), BigInt(ModelHeight(p.height)), BigInt(p.round)}));
  }
  Json executed = Json::array();
  for (const consensus::ExecutedInput& e : state.executed) {
    executed.push_back(Tuple({ToJson(e.input), BigInt(ModelHeight(e.height)), BigInt(e.round), ToJson(e.step)}));
  }
  return Json{{"bk", ToJson(state.keeper)},
              {"certificates", Set({})},
              {"chain", chain},
              {"cs", ToJson(state.round)},
              {"executedInputs", executed},
              {"pendingInputs", Set(std::move(pending))},
              {"pendingStepChange", ToJson(state.pending_step_change)},
              {"proposals", Set(std::move(proposals))},
              {"started", state.started},
              {"valset", ToJson(state.keeper.validators())},
              {"voteKeeperOutput", ToJson(state.last_threshold)}};
}

}  // namespace civic::quint
