// Reading, writing and hashing the genesis file (genesis.h, docs in node/GENESIS.md).
//
// ParseGenesis reads in two steps. nlohmann's parser builds the document, watched by a
// callback that refuses a key given twice in one object (nlohmann would keep the last one
// without a word, so `"power": 1, "power": 1000` would quietly read as 1000) and nesting
// deeper than any genesis needs. Then each object is read field by field: fields it does not
// know are refused first (so a typo reads as a typo, not as the missing field it was meant to
// be), then each known field is type- and range-checked. Every error starts with the path of
// the field it is about, e.g. "validators[2].power: ...".
//
// Nothing throws past this file: nlohmann's exceptions and bad_alloc become an Error at each
// public function.
#include "civic/node/genesis.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <limits>
#include <map>
#include <memory>
#include <new>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include "civic/proto/assert.h"
#include "civic/proto/ed25519.h"
#include "civic/proto/hash.h"
#include "civic/proto/schnorr.h"
#include "civic/node/read_file.h"

namespace civic::node {
namespace {

using Json = nlohmann::json;
using proto::ErrorCode;
using proto::Fail;
using proto::Result;

// A genesis is three levels deep (document, validators, one validator); anything much deeper
// is not a genesis, and the cap keeps a hostile file from building a deep tree.
constexpr std::size_t kJsonDepthMax = 16;
constexpr std::size_t kValidatorNameBytesMax = 64;
constexpr std::uint64_t kTimeoutMsMax = 3'600'000;

// The sum of all voting powers cannot overflow, whatever the file says: every power is at most
// 2^50 and there are at most 256 validators. proto/vote.h relies on 3 * sum fitting too.
static_assert(std::uint64_t{proto::kValidatorsMax} * proto::kVotingPowerMax <=
              std::numeric_limits<std::uint64_t>::max() / 3);

// --- Paths and messages ---------------------------------------------------------------------

std::string FieldPath(const std::string& parent, std::string_view name) {
  return parent.empty() ? std::string(name) : parent + "." + std::string(name);
}

std::string ElementPath(const std::string& parent, std::size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

tl::unexpected<proto::Error> Malformed(const std::string& path, const std::string& why) {
  return Fail(ErrorCode::kMalformed, path + ": " + why);
}

tl::unexpected<proto::Error> Invalid(const std::string& path, const std::string& why) {
  return Fail(ErrorCode::kInvalidArgument, path + ": " + why);
}

std::string Number(std::uint64_t n) {
  return n == proto::kVotingPowerMax ? std::to_string(n) + " (2^50)" : std::to_string(n);
}

// What a value is, for "got ..." in error messages.
std::string Describe(const Json& value) {
  switch (value.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return "a boolean";
    case Json::value_t::string: return "a string";
    case Json::value_t::array: return "an array";
    case Json::value_t::object: return "an object";
    case Json::value_t::number_unsigned: return "the number " + value.dump();
    // nlohmann reads "-0" as a signed zero, and dumps it as "0".
    case Json::value_t::number_integer: return "the negative number " + (value == 0 ? "-0" : value.dump());
    case Json::value_t::number_float: return "the non-integer number " + value.dump();
    case Json::value_t::binary:
    case Json::value_t::discarded: break;
  }
  return "an unexpected value";
}

// --- Parsing the text -----------------------------------------------------------------------

// Watches nlohmann's parse events: refuses a key given twice in one object and nesting deeper
// than kJsonDepthMax. After the first problem it discards every value (returns false), which
// keeps memory small while the parser runs on to the end of the text.
class ShapeGuard {
 public:
  bool Step(Json::parse_event_t event, const Json& parsed) {
    if (error_) return false;
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        CountElement();
        if (frames_.size() >= kJsonDepthMax) {
          error_ = proto::Error{ErrorCode::kTooLarge, PathOfCurrent() + ": nested deeper than " +
                                                          std::to_string(kJsonDepthMax) + " levels"};
          return false;
        }
        frames_.emplace_back();
        frames_.back().is_array = event == Json::parse_event_t::array_start;
        return true;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
        CIVIC_ASSERT(!frames_.empty());  // nlohmann pairs every end with its start
        frames_.pop_back();
        return true;
      case Json::parse_event_t::key: {
        CIVIC_ASSERT(!frames_.empty() && !frames_.back().is_array);
        Frame& top = frames_.back();
        top.key = parsed.get<std::string>();
        if (!top.keys.insert(top.key).second) {
          error_ = proto::Error{ErrorCode::kMalformed,
                                PathOfCurrent() + ": given twice in one object; give each field once"};
          return false;
        }
        return true;
      }
      case Json::parse_event_t::value:
        CountElement();
        return true;
    }
    return true;
  }

  const std::optional<proto::Error>& error() const { return error_; }

 private:
  struct Frame {
    bool is_array = false;
    std::size_t elements = 0;    // arrays: elements begun so far
    std::string key;             // objects: the key being read
    std::set<std::string> keys;  // objects: keys seen
  };

  void CountElement() {
    if (!frames_.empty() && frames_.back().is_array) ++frames_.back().elements;
  }

  // The path of the value being read now, e.g. "validators[1].power".
  std::string PathOfCurrent() const {
    std::string path;
    for (const Frame& frame : frames_) {
      path = frame.is_array ? ElementPath(path, frame.elements - 1) : FieldPath(path, frame.key);
    }
    return path.empty() ? "genesis" : path;
  }

  std::vector<Frame> frames_;
  std::optional<proto::Error> error_;
};

Result<Json> ParseJson(std::string_view text) {
  ShapeGuard guard;
  Json document;
  try {
    document = Json::parse(
        text.begin(), text.end(),
        [&guard](int /*depth*/, Json::parse_event_t event, Json& parsed) { return guard.Step(event, parsed); },
        /*allow_exceptions=*/true, /*ignore_comments=*/false);
  } catch (const Json::exception& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 3, column 7: ...".
    std::string what = e.what();
    if (const std::size_t end = what.find("] "); what.starts_with("[json.exception.") && end != std::string::npos) {
      what.erase(0, end + 2);
    }
    return Fail(ErrorCode::kMalformed, "genesis is not valid JSON: " + what);
  }
  if (guard.error()) return tl::unexpected(*guard.error());
  return document;
}

// --- Reading values -------------------------------------------------------------------------

// One JSON object being read. REQUIRES: object.is_object().
class ObjectReader {
 public:
  ObjectReader(const Json& object, std::string path) : object_(&object), path_(std::move(path)) {
    CIVIC_ASSERT(object.is_object());
  }

  // Refuses any field not in `allowed` (nlohmann keeps keys sorted: the first unknown is reported).
  Result<void> OnlyFields(std::initializer_list<std::string_view> allowed) const {
    for (const auto& [key, value] : object_->items()) {
      if (std::find(allowed.begin(), allowed.end(), key) != allowed.end()) continue;
      std::string list;
      for (std::string_view name : allowed) list += (list.empty() ? "" : ", ") + std::string(name);
      return Malformed(PathOf(key), "unknown field; allowed here: " + list);
    }
    return {};
  }

  const Json* Optional(std::string_view name) const {
    const auto it = object_->find(name);
    return it == object_->end() ? nullptr : &*it;
  }

  Result<const Json*> Required(std::string_view name) const {
    const Json* value = Optional(name);
    if (value == nullptr) return Malformed(PathOf(name), "missing; this field is required");
    return value;
  }

  std::string PathOf(std::string_view name) const { return FieldPath(path_, name); }

 private:
  const Json* object_;
  std::string path_;
};

Result<ObjectReader> ReadObject(const Json& value, const std::string& path,
                                std::initializer_list<std::string_view> allowed) {
  if (!value.is_object()) return Malformed(path, "must be an object {...}, got " + Describe(value));
  ObjectReader reader(value, path);
  Result<void> known = reader.OnlyFields(allowed);
  if (!known) return tl::unexpected(known.error());
  return reader;
}

Result<std::uint64_t> ReadUnsigned(const Json& value, const std::string& path, std::uint64_t min,
                                   std::uint64_t max) {
  const std::string allowed = "must be an integer between " + Number(min) + " and " + Number(max);
  // Only number_unsigned: a float (10.0, 1e3) or a negative number is refused, not converted.
  if (!value.is_number_unsigned()) return Malformed(path, allowed + ", got " + Describe(value));
  const std::uint64_t n = value.get<std::uint64_t>();
  if (n < min || n > max) return Invalid(path, allowed + ", got " + std::to_string(n));
  return n;
}

Result<const std::string*> ReadString(const Json& value, const std::string& path) {
  if (!value.is_string()) return Malformed(path, "must be a string, got " + Describe(value));
  return &value.get_ref<const std::string&>();
}

Result<const Json::array_t*> ReadArray(const Json& value, const std::string& path, std::size_t min,
                                       std::size_t max) {
  if (!value.is_array()) return Malformed(path, "must be an array [...], got " + Describe(value));
  const Json::array_t& array = value.get_ref<const Json::array_t&>();
  if (array.size() < min || array.size() > max) {
    return Invalid(path, "must have between " + std::to_string(min) + " and " + std::to_string(max) +
                             " entries, has " + std::to_string(array.size()));
  }
  return &array;
}

template <class Key>
Result<Key> ReadKey(const Json& value, const std::string& path, std::string_view what) {
  Result<const std::string*> text = ReadString(value, path);
  if (!text) return tl::unexpected(text.error());
  const std::string allowed = "must be " + std::to_string(2 * Key::kSize) + " hex digits (" + std::string(what) + ")";
  if ((*text)->size() != 2 * Key::kSize) {
    return Malformed(path, allowed + ", got " + std::to_string((*text)->size()) + " characters");
  }
  Result<Key> key = proto::FixedFromHex<Key>(**text);
  if (!key) return Malformed(path, allowed + ": " + key.error().message);
  return *key;
}

// --- The genesis fields ---------------------------------------------------------------------

// The consensus parameters, in the order of ConsensusParams: parsing, GenesisToJson and
// GenesisHash all walk these tables, so no field can be left out of one of them.
struct U64Param {
  std::string_view name;
  std::uint64_t ConsensusParams::*member;
  std::uint64_t min;
  std::uint64_t max;
};
struct U32Param {
  std::string_view name;
  std::uint32_t ConsensusParams::*member;
  std::uint32_t min;
  std::uint32_t max;
};
constexpr std::array<U64Param, 9> kU64Params = {{
    {"timeout_propose_ms", &ConsensusParams::timeout_propose_ms, 1, kTimeoutMsMax},
    {"timeout_propose_delta_ms", &ConsensusParams::timeout_propose_delta_ms, 1, kTimeoutMsMax},
    {"timeout_prevote_ms", &ConsensusParams::timeout_prevote_ms, 1, kTimeoutMsMax},
    {"timeout_prevote_delta_ms", &ConsensusParams::timeout_prevote_delta_ms, 1, kTimeoutMsMax},
    {"timeout_precommit_ms", &ConsensusParams::timeout_precommit_ms, 1, kTimeoutMsMax},
    {"timeout_precommit_delta_ms", &ConsensusParams::timeout_precommit_delta_ms, 1, kTimeoutMsMax},
    {"timeout_max_ms", &ConsensusParams::timeout_max_ms, 1, kTimeoutMsMax},
    {"commit_wait_ms", &ConsensusParams::commit_wait_ms, 0, 60'000},
    {"empty_block_interval_ms", &ConsensusParams::empty_block_interval_ms, 100, 86'400'000},
}};
constexpr std::array<U32Param, 2> kU32Params = {{
    {"block_txs_max", &ConsensusParams::block_txs_max, 1, 100'000},
    {"block_bytes_max", &ConsensusParams::block_bytes_max, 64 * 1024, 64 * 1024 * 1024},
}};

Result<void> ReadConsensus(const Json& value, ConsensusParams& params) {
  const std::string path = "consensus";
  Result<ObjectReader> object =
      ReadObject(value, path,
                 {"timeout_propose_ms", "timeout_propose_delta_ms", "timeout_prevote_ms", "timeout_prevote_delta_ms",
                  "timeout_precommit_ms", "timeout_precommit_delta_ms", "timeout_max_ms", "commit_wait_ms",
                  "empty_block_interval_ms", "block_txs_max", "block_bytes_max"});
  if (!object) return tl::unexpected(object.error());
  for (const U64Param& param : kU64Params) {
    const Json* field = object->Optional(param.name);
    if (field == nullptr) continue;  // keeps the default
    Result<std::uint64_t> n = ReadUnsigned(*field, object->PathOf(param.name), param.min, param.max);
    if (!n) return tl::unexpected(n.error());
    params.*param.member = *n;
  }
  for (const U32Param& param : kU32Params) {
    const Json* field = object->Optional(param.name);
    if (field == nullptr) continue;
    Result<std::uint64_t> n = ReadUnsigned(*field, object->PathOf(param.name), param.min, param.max);
    if (!n) return tl::unexpected(n.error());
    params.*param.member = static_cast<std::uint32_t>(*n);
  }
  return {};
}

// Rounds grow their timeouts by the deltas up to timeout_max_ms; a cap below a base timeout
// would cut round 0 short of what the file asked for.
Result<void> CheckTimeoutCap(const ConsensusParams& params) {
  const std::array<std::pair<std::string_view, std::uint64_t>, 3> bases = {{
      {"timeout_propose_ms", params.timeout_propose_ms},
      {"timeout_prevote_ms", params.timeout_prevote_ms},
      {"timeout_precommit_ms", params.timeout_precommit_ms},
  }};
  for (const auto& [name, base_ms] : bases) {
    if (params.timeout_max_ms < base_ms) {
      return Invalid("consensus.timeout_max_ms", "must be at least consensus." + std::string(name) + " (" +
                                                     std::to_string(base_ms) + "), got " +
                                                     std::to_string(params.timeout_max_ms));
    }
  }
  return {};
}

bool IsPrintableAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c >= 0x20 && c <= 0x7e; });
}

Result<std::vector<GenesisValidator>> ReadValidators(const Json& value) {
  const std::string path = "validators";
  Result<const Json::array_t*> array = ReadArray(value, path, 1, proto::kValidatorsMax);
  if (!array) return tl::unexpected(array.error());
  std::vector<GenesisValidator> validators;
  std::map<proto::Ed25519PublicKey, std::size_t> index_of_key;
  std::map<std::string, std::size_t, std::less<>> index_of_name;
  for (std::size_t i = 0; i < (*array)->size(); ++i) {
    const std::string at = ElementPath(path, i);
    Result<ObjectReader> object = ReadObject((**array)[i], at, {"name", "ed25519", "power"});
    if (!object) return tl::unexpected(object.error());
    GenesisValidator validator;

    Result<const Json*> name_field = object->Required("name");
    if (!name_field) return tl::unexpected(name_field.error());
    Result<const std::string*> name = ReadString(**name_field, object->PathOf("name"));
    if (!name) return tl::unexpected(name.error());
    if ((*name)->empty() || (*name)->size() > kValidatorNameBytesMax || !IsPrintableAscii(**name)) {
      return Invalid(object->PathOf("name"), "must be 1 to 64 printable ASCII characters");
    }
    if (const auto seen = index_of_name.find(**name); seen != index_of_name.end()) {
      return Invalid(object->PathOf("name"), "\"" + **name + "\" is already the name of " +
                                                 ElementPath(path, seen->second) + "; names must be distinct");
    }
    index_of_name.emplace(**name, i);
    validator.name = **name;

    Result<const Json*> key_field = object->Required("ed25519");
    if (!key_field) return tl::unexpected(key_field.error());
    Result<proto::Ed25519PublicKey> key =
        ReadKey<proto::Ed25519PublicKey>(**key_field, object->PathOf("ed25519"), "an Ed25519 public key");
    if (!key) return tl::unexpected(key.error());
    if (!proto::IsValidEd25519PublicKey(*key)) {
      return Invalid(object->PathOf("ed25519"), "is not an Ed25519 public key a signature could verify against");
    }
    if (const auto seen = index_of_key.find(*key); seen != index_of_key.end()) {
      return Invalid(object->PathOf("ed25519"), "the same key as " + ElementPath(path, seen->second) +
                                                    "; each validator needs a key of its own");
    }
    index_of_key.emplace(*key, i);
    validator.key = *key;

    Result<const Json*> power_field = object->Required("power");
    if (!power_field) return tl::unexpected(power_field.error());
    Result<std::uint64_t> power = ReadUnsigned(**power_field, object->PathOf("power"), 1, proto::kVotingPowerMax);
    if (!power) return tl::unexpected(power.error());
    validator.power = *power;

    validators.push_back(std::move(validator));
  }
  return validators;
}

// Sorted ascending, as contracts::GenesisState keeps them.
Result<std::vector<proto::SchnorrPublicKey>> ReadClerks(const Json& value) {
  const std::string path = "clerks";
  Result<const Json::array_t*> array = ReadArray(value, path, 1, contracts::kClerksMax);
  if (!array) return tl::unexpected(array.error());
  std::map<proto::SchnorrPublicKey, std::size_t> index_of_key;
  for (std::size_t i = 0; i < (*array)->size(); ++i) {
    const std::string at = ElementPath(path, i);
    Result<proto::SchnorrPublicKey> key =
        ReadKey<proto::SchnorrPublicKey>((**array)[i], at, "a BIP-340 x-only public key");
    if (!key) return tl::unexpected(key.error());
    // Any 32 bytes decode (bytes.h); a clerk whose key is no curve point could never sign.
    if (!proto::IsValidSchnorrPublicKey(*key)) {
      return Invalid(at, "is not a BIP-340 public key (no point on secp256k1 has this x coordinate)");
    }
    if (const auto seen = index_of_key.find(*key); seen != index_of_key.end()) {
      return Invalid(at, "the same key as " + ElementPath(path, seen->second) + "; list each clerk once");
    }
    index_of_key.emplace(*key, i);
  }
  std::vector<proto::SchnorrPublicKey> clerks;
  for (const auto& [key, index] : index_of_key) clerks.push_back(key);  // std::map: ascending
  return clerks;
}

bool HasControlCharacter(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char c) { return (c >= 0 && c < 0x20) || c == 0x7f; });
}

// Sorted by id, as contracts::GenesisState keeps them.
Result<std::vector<contracts::District>> ReadDistricts(const Json& value) {
  const std::string path = "districts";
  Result<const Json::array_t*> array = ReadArray(value, path, 1, contracts::kDistrictsMax);
  if (!array) return tl::unexpected(array.error());
  std::map<std::uint32_t, contracts::District> by_id;
  std::map<std::uint32_t, std::size_t> index_of_id;
  std::map<std::string, std::size_t, std::less<>> index_of_name;
  for (std::size_t i = 0; i < (*array)->size(); ++i) {
    const std::string at = ElementPath(path, i);
    Result<ObjectReader> object = ReadObject((**array)[i], at, {"id", "name"});
    if (!object) return tl::unexpected(object.error());
    contracts::District district;

    Result<const Json*> id_field = object->Required("id");
    if (!id_field) return tl::unexpected(id_field.error());
    if (id_field.value()->is_number_unsigned() && id_field.value()->get<std::uint64_t>() == 0) {
      return Invalid(object->PathOf("id"), "must be at least 1, got 0 (district 0 means city-wide in proposals)");
    }
    Result<std::uint64_t> id =
        ReadUnsigned(**id_field, object->PathOf("id"), 1, std::numeric_limits<std::uint32_t>::max());
    if (!id) return tl::unexpected(id.error());
    district.id = static_cast<std::uint32_t>(*id);
    if (const auto seen = index_of_id.find(district.id); seen != index_of_id.end()) {
      return Invalid(object->PathOf("id"), std::to_string(district.id) + " is already the id of " +
                                               ElementPath(path, seen->second) + "; ids must be distinct");
    }
    index_of_id.emplace(district.id, i);

    Result<const Json*> name_field = object->Required("name");
    if (!name_field) return tl::unexpected(name_field.error());
    Result<const std::string*> name = ReadString(**name_field, object->PathOf("name"));
    if (!name) return tl::unexpected(name.error());
    // nlohmann has already refused text that is not UTF-8.
    if ((*name)->empty() || (*name)->size() > contracts::kDistrictNameBytesMax || HasControlCharacter(**name)) {
      return Invalid(object->PathOf("name"), "must be 1 to " + std::to_string(contracts::kDistrictNameBytesMax) +
                                                 " bytes of UTF-8 text without control characters");
    }
    if (const auto seen = index_of_name.find(**name); seen != index_of_name.end()) {
      return Invalid(object->PathOf("name"), "\"" + **name + "\" is already the name of " +
                                                 ElementPath(path, seen->second) + "; names must be distinct");
    }
    index_of_name.emplace(**name, i);
    district.name = **name;
    by_id.emplace(district.id, std::move(district));
  }
  std::vector<contracts::District> districts;
  for (auto& [id, district] : by_id) districts.push_back(std::move(district));
  return districts;
}

// The contracts check the same rules again (GenesisState::Check). Our checks above should have
// caught everything; if Check still refuses (its rules grew), name the field it is about by
// checking each part on its own, in Check's order, rather than by reading its message.
Result<void> CheckContractsState(const contracts::GenesisState& state) {
  Result<void> checked = state.Check();
  if (checked) return {};
  const contracts::District any_district{.id = 1, .name = "x"};
  const contracts::GenesisState clerks_only{.clerks = state.clerks, .districts = {any_district}, .clerk_threshold = 1};
  const contracts::GenesisState without_threshold{
      .clerks = state.clerks, .districts = state.districts, .clerk_threshold = 1};
  const char* field = !clerks_only.Check()         ? "clerks"
                      : !without_threshold.Check() ? "districts"
                                                   : "clerk_threshold";
  return Invalid(field, checked.error().message);
}

Result<Genesis> ReadGenesis(const Json& document) {
  if (!document.is_object()) {
    return Malformed("genesis", "the document must be a JSON object {...}, got " + Describe(document));
  }
  const ObjectReader root(document, "");
  Result<void> known = root.OnlyFields({"chain_id", "genesis_time_unix_ms", "validators", "clerks",
                                        "clerk_threshold", "districts", "consensus"});
  if (!known) return tl::unexpected(known.error());
  Genesis genesis;

  Result<const Json*> chain_field = root.Required("chain_id");
  if (!chain_field) return tl::unexpected(chain_field.error());
  Result<const std::string*> chain_text = ReadString(**chain_field, "chain_id");
  if (!chain_text) return tl::unexpected(chain_text.error());
  Result<proto::ChainId> chain_id = proto::ChainId::Parse(**chain_text);
  if (!chain_id) return Invalid("chain_id", chain_id.error().message);
  genesis.chain_id = *chain_id;

  Result<const Json*> time_field = root.Required("genesis_time_unix_ms");
  if (!time_field) return tl::unexpected(time_field.error());
  Result<std::uint64_t> time =
      ReadUnsigned(**time_field, "genesis_time_unix_ms", 0, std::numeric_limits<std::uint64_t>::max());
  if (!time) return tl::unexpected(time.error());
  genesis.genesis_time_unix_ms = *time;

  Result<const Json*> validators_field = root.Required("validators");
  if (!validators_field) return tl::unexpected(validators_field.error());
  Result<std::vector<GenesisValidator>> validators = ReadValidators(**validators_field);
  if (!validators) return tl::unexpected(validators.error());
  genesis.validators = std::move(*validators);

  Result<const Json*> clerks_field = root.Required("clerks");
  if (!clerks_field) return tl::unexpected(clerks_field.error());
  Result<std::vector<proto::SchnorrPublicKey>> clerks = ReadClerks(**clerks_field);
  if (!clerks) return tl::unexpected(clerks.error());
  genesis.contracts.clerks = std::move(*clerks);

  Result<const Json*> threshold_field = root.Required("clerk_threshold");
  if (!threshold_field) return tl::unexpected(threshold_field.error());
  Result<std::uint64_t> threshold =
      ReadUnsigned(**threshold_field, "clerk_threshold", 1, std::numeric_limits<std::uint32_t>::max());
  if (!threshold) return tl::unexpected(threshold.error());
  if (*threshold > genesis.contracts.clerks.size()) {
    return Invalid("clerk_threshold", "must be between 1 and the number of clerks (" +
                                          std::to_string(genesis.contracts.clerks.size()) + "), got " +
                                          std::to_string(*threshold));
  }
  genesis.contracts.clerk_threshold = static_cast<std::uint32_t>(*threshold);

  Result<const Json*> districts_field = root.Required("districts");
  if (!districts_field) return tl::unexpected(districts_field.error());
  Result<std::vector<contracts::District>> districts = ReadDistricts(**districts_field);
  if (!districts) return tl::unexpected(districts.error());
  genesis.contracts.districts = std::move(*districts);

  Result<void> contracts_ok = CheckContractsState(genesis.contracts);
  if (!contracts_ok) return tl::unexpected(contracts_ok.error());

  if (const Json* consensus = root.Optional("consensus"); consensus != nullptr) {
    Result<void> read = ReadConsensus(*consensus, genesis.consensus);
    if (!read) return tl::unexpected(read.error());
  }
  Result<void> cap = CheckTimeoutCap(genesis.consensus);
  if (!cap) return tl::unexpected(cap.error());
  return genesis;
}

// --- Files ----------------------------------------------------------------------------------


// --- The canonical encoding -----------------------------------------------------------------

class Encoder {
 public:
  void U32(std::uint32_t n) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes_.push_back(static_cast<std::uint8_t>(n >> shift));
  }
  void U64(std::uint64_t n) {
    for (int shift = 56; shift >= 0; shift -= 8) bytes_.push_back(static_cast<std::uint8_t>(n >> shift));
  }
  void Count(std::size_t n) {
    CIVIC_ASSERT(n <= std::numeric_limits<std::uint32_t>::max());
    U32(static_cast<std::uint32_t>(n));
  }
  void Text(std::string_view text) {
    Count(text.size());
    bytes_.insert(bytes_.end(), text.begin(), text.end());
  }
  template <std::size_t N, class Tag>
  void Fixed(const proto::FixedBytes<N, Tag>& value) {
    bytes_.insert(bytes_.end(), value.bytes.begin(), value.bytes.end());
  }
  const proto::Bytes& bytes() const { return bytes_; }

 private:
  proto::Bytes bytes_;
};

}  // namespace

proto::ValidatorSet Genesis::ValidatorSet() const {
  proto::ValidatorSet set;
  set.validators.reserve(validators.size());
  for (const GenesisValidator& validator : validators) set.validators.push_back({validator.key, validator.power});
  std::sort(set.validators.begin(), set.validators.end(),
            [](const proto::Validator& a, const proto::Validator& b) { return a.key < b.key; });
  return set;
}

proto::Result<Genesis> ParseGenesis(std::string_view text) {
  if (text.size() > kGenesisBytesMax) {
    return Fail(ErrorCode::kTooLarge, "genesis: the document is " + std::to_string(text.size()) +
                                          " bytes; at most " + std::to_string(kGenesisBytesMax) + " are allowed");
  }
  try {
    Result<Json> document = ParseJson(text);
    if (!document) return tl::unexpected(document.error());
    return ReadGenesis(*document);
  } catch (const Json::exception& e) {
    // The readers check every type before they get a value, so this is not expected; but a
    // surprise from the library must still become an error, not a crash.
    return Fail(ErrorCode::kMalformed, std::string("genesis: ") + e.what());
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kIo, "genesis: out of memory while reading the document");
  }
}

proto::Result<Genesis> LoadGenesisFile(const std::filesystem::path& path) {
  try {
    Result<std::string> text = ReadFileBounded(path, kGenesisBytesMax, "genesis file");
    if (!text) return tl::unexpected(text.error());
    Result<Genesis> genesis = ParseGenesis(*text);
    if (!genesis) {
      return Fail(genesis.error().code, "genesis file " + path.string() + ": " + genesis.error().message);
    }
    return genesis;
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kIo, "genesis file " + path.string() + ": out of memory while reading it");
  }
}

std::string GenesisToJson(const Genesis& genesis) {
  nlohmann::ordered_json out;
  out["chain_id"] = genesis.chain_id.str();
  out["genesis_time_unix_ms"] = genesis.genesis_time_unix_ms;
  out["validators"] = nlohmann::ordered_json::array();
  for (const GenesisValidator& validator : genesis.validators) {
    nlohmann::ordered_json entry;
    entry["name"] = validator.name;
    entry["ed25519"] = proto::ToHex(validator.key);
    entry["power"] = validator.power;
    out["validators"].push_back(std::move(entry));
  }
  out["clerks"] = nlohmann::ordered_json::array();
  for (const proto::SchnorrPublicKey& clerk : genesis.contracts.clerks) out["clerks"].push_back(proto::ToHex(clerk));
  out["clerk_threshold"] = genesis.contracts.clerk_threshold;
  out["districts"] = nlohmann::ordered_json::array();
  for (const contracts::District& district : genesis.contracts.districts) {
    nlohmann::ordered_json entry;
    entry["id"] = district.id;
    entry["name"] = district.name;
    out["districts"].push_back(std::move(entry));
  }
  nlohmann::ordered_json& consensus = out["consensus"] = nlohmann::ordered_json::object();
  for (const U64Param& param : kU64Params) consensus[std::string(param.name)] = genesis.consensus.*param.member;
  for (const U32Param& param : kU32Params) consensus[std::string(param.name)] = genesis.consensus.*param.member;
  // `replace` so that a hand-built Genesis with invalid UTF-8 cannot make dump() throw; a
  // parsed one is valid UTF-8 and round-trips unchanged.
  return out.dump(/*indent=*/2, /*indent_char=*/' ', /*ensure_ascii=*/false,
                  nlohmann::ordered_json::error_handler_t::replace) +
         "\n";
}

// The canonical encoding that GenesisHash hashes. Integers are fixed-width big-endian; text
// is a u32 byte count, then the bytes; keys are their raw 32 bytes. In this order:
//
//   text  chain_id
//   u64   genesis_time_unix_ms
//   u32   number of validators, then for each validator in file order:
//           text name, 32 bytes ed25519 key, u64 power
//   u32   number of clerks, then each clerk's 32-byte key, ascending
//   u32   clerk_threshold
//   u32   number of districts, then for each district by ascending id: u32 id, text name
//   u64   timeout_propose_ms, timeout_propose_delta_ms, timeout_prevote_ms,
//         timeout_prevote_delta_ms, timeout_precommit_ms, timeout_precommit_delta_ms,
//         timeout_max_ms, commit_wait_ms, empty_block_interval_ms (9 values)
//   u32   block_txs_max, block_bytes_max
//
// Defaulted consensus parameters are encoded like given ones, so leaving out a field and
// writing its default give the same hash.
proto::Hash32 GenesisHash(const Genesis& genesis) {
  Encoder encoder;
  encoder.Text(genesis.chain_id.str());
  encoder.U64(genesis.genesis_time_unix_ms);
  encoder.Count(genesis.validators.size());
  for (const GenesisValidator& validator : genesis.validators) {
    encoder.Text(validator.name);
    encoder.Fixed(validator.key);
    encoder.U64(validator.power);
  }
  encoder.Count(genesis.contracts.clerks.size());
  for (const proto::SchnorrPublicKey& clerk : genesis.contracts.clerks) encoder.Fixed(clerk);
  encoder.U32(genesis.contracts.clerk_threshold);
  encoder.Count(genesis.contracts.districts.size());
  for (const contracts::District& district : genesis.contracts.districts) {
    encoder.U32(district.id);
    encoder.Text(district.name);
  }
  for (const U64Param& param : kU64Params) encoder.U64(genesis.consensus.*param.member);
  for (const U32Param& param : kU32Params) encoder.U32(genesis.consensus.*param.member);
  return proto::TaggedHash(genesis.chain_id, proto::Domain::kGenesis, encoder.bytes());
}

}  // namespace civic::node
