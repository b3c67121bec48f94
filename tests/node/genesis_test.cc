// The genesis file: what a valid one reads as, that its hash depends on every field and on
// nothing else, and that every kind of bad file is refused with the offending field named.
#include "civic/node/genesis.h"

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "civic/proto/ed25519.h"
#include "civic/proto/hash.h"
#include "civic/proto/schnorr.h"

namespace civic::node {
namespace {

using Json = nlohmann::json;

proto::Secret32 Filled(std::uint8_t fill) {
  proto::Secret32 secret;
  secret.fill(fill);
  return secret;
}

proto::Ed25519PublicKey ValidatorKey(std::uint8_t seed) {
  return proto::Ed25519KeyPair::FromSeed(Filled(seed)).public_key();
}

proto::SchnorrPublicKey ClerkKey(std::uint8_t seed) {
  return proto::SchnorrKeyPair::FromSecret(Filled(seed)).value().public_key();
}

Json Validator(std::string name, std::uint8_t seed, std::uint64_t power) {
  return Json{{"name", std::move(name)}, {"ed25519", proto::ToHex(ValidatorKey(seed))}, {"power", power}};
}

Json District(std::uint32_t id, std::string name) { return Json{{"id", id}, {"name", std::move(name)}}; }

// Every field given; clerks and districts deliberately out of order.
Json FullDocument() {
  return Json{
      {"chain_id", "assen-2024"},
      {"genesis_time_unix_ms", 1732406400000u},
      {"validators", Json::array({Validator("clerk-office-1", 0x31, 10), Validator("clerk-office-2", 0x32, 20),
                                  Validator("library", 0x33, 30), Validator("university", 0x34, 40)})},
      {"clerks", Json::array({proto::ToHex(ClerkKey(0x43)), proto::ToHex(ClerkKey(0x41)),
                              proto::ToHex(ClerkKey(0x42))})},
      {"clerk_threshold", 2},
      {"districts", Json::array({District(3, "Noord"), District(1, "Centrum"), District(2, "Grabówka")})},
      {"consensus",
       {{"timeout_propose_ms", 4000},
        {"timeout_propose_delta_ms", 600},
        {"timeout_prevote_ms", 1500},
        {"timeout_prevote_delta_ms", 700},
        {"timeout_precommit_ms", 1600},
        {"timeout_precommit_delta_ms", 800},
        {"timeout_max_ms", 30000},
        {"commit_wait_ms", 0},
        {"empty_block_interval_ms", 5000},
        {"block_txs_max", 5000},
        {"block_bytes_max", 4194304}}},
  };
}

Json MinimalDocument() {
  return Json{
      {"chain_id", "test"},
      {"genesis_time_unix_ms", 0},
      {"validators", Json::array({Validator("solo", 0x31, 1)})},
      {"clerks", Json::array({proto::ToHex(ClerkKey(0x41))})},
      {"clerk_threshold", 1},
      {"districts", Json::array({District(1, "Centrum")})},
  };
}

Genesis MustParse(const std::string& text) {
  proto::Result<Genesis> genesis = ParseGenesis(text);
  EXPECT_TRUE(genesis.has_value()) << genesis.error().message;
  return genesis.value_or(Genesis{});
}

// A folder of its own under the system's temporary folder, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    path_ = std::filesystem::temp_directory_path() /
            ("civic-genesis-test-" + std::to_string(::getpid()) + "-" + test);
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  std::filesystem::path Write(const std::string& name, const std::string& text) const {
    const std::filesystem::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

TEST(Genesis, ParsesEveryFieldOfAFullDocument) {
  const Genesis genesis = MustParse(FullDocument().dump(2));
  EXPECT_EQ(genesis.chain_id.str(), "assen-2024");
  EXPECT_EQ(genesis.genesis_time_unix_ms, 1732406400000u);
  const std::vector<GenesisValidator> expected_validators = {
      {"clerk-office-1", ValidatorKey(0x31), 10},
      {"clerk-office-2", ValidatorKey(0x32), 20},
      {"library", ValidatorKey(0x33), 30},
      {"university", ValidatorKey(0x34), 40},
  };
  EXPECT_EQ(genesis.validators, expected_validators);  // file order
  std::vector<proto::SchnorrPublicKey> clerks = {ClerkKey(0x41), ClerkKey(0x42), ClerkKey(0x43)};
  std::sort(clerks.begin(), clerks.end());
  EXPECT_EQ(genesis.contracts.clerks, clerks);
  const std::vector<contracts::District> districts = {{1, "Centrum"}, {2, "Grabówka"}, {3, "Noord"}};
  EXPECT_EQ(genesis.contracts.districts, districts);
  EXPECT_EQ(genesis.contracts.clerk_threshold, 2u);
  EXPECT_EQ(genesis.consensus.timeout_propose_ms, 4000u);
  EXPECT_EQ(genesis.consensus.timeout_propose_delta_ms, 600u);
  EXPECT_EQ(genesis.consensus.timeout_prevote_ms, 1500u);
  EXPECT_EQ(genesis.consensus.timeout_prevote_delta_ms, 700u);
  EXPECT_EQ(genesis.consensus.timeout_precommit_ms, 1600u);
  EXPECT_EQ(genesis.consensus.timeout_precommit_delta_ms, 800u);
  EXPECT_EQ(genesis.consensus.timeout_max_ms, 30000u);
  EXPECT_EQ(genesis.consensus.commit_wait_ms, 0u);
  EXPECT_EQ(genesis.consensus.empty_block_interval_ms, 5000u);
  EXPECT_EQ(genesis.consensus.block_txs_max, 5000u);
  EXPECT_EQ(genesis.consensus.block_bytes_max, 4194304u);
}

TEST(Genesis, MinimalDocumentTakesConsensusDefaults) {
  const Genesis genesis = MustParse(MinimalDocument().dump());
  EXPECT_EQ(genesis.chain_id.str(), "test");
  EXPECT_EQ(genesis.genesis_time_unix_ms, 0u);
  ASSERT_EQ(genesis.validators.size(), 1u);
  EXPECT_EQ(genesis.validators[0].power, 1u);
  EXPECT_EQ(genesis.contracts.clerks, std::vector<proto::SchnorrPublicKey>{ClerkKey(0x41)});
  EXPECT_EQ(genesis.consensus, ConsensusParams{});
}

TEST(Genesis, AnEmptyConsensusObjectAlsoTakesTheDefaults) {
  Json document = MinimalDocument();
  document["consensus"] = Json::object();
  EXPECT_EQ(MustParse(document.dump()).consensus, ConsensusParams{});
}

TEST(Genesis, ValidatorSetIsSortedByKey) {
  const Genesis genesis = MustParse(FullDocument().dump());
  const proto::ValidatorSet set = genesis.ValidatorSet();
  ASSERT_EQ(set.validators.size(), 4u);
  EXPECT_TRUE(proto::ValidatorSet::IsCanonical(set.validators));
  EXPECT_EQ(set.TotalPower(), 100u);
  for (const GenesisValidator& validator : genesis.validators) {
    EXPECT_NE(std::find(set.validators.begin(), set.validators.end(), proto::Validator{validator.key, validator.power}),
              set.validators.end());
  }
}

TEST(Genesis, RoundTripsThroughItsJson) {
  for (const Json& document : {FullDocument(), MinimalDocument()}) {
    const Genesis genesis = MustParse(document.dump());
    const std::string json = GenesisToJson(genesis);
    EXPECT_EQ(MustParse(json), genesis);
    EXPECT_EQ(GenesisToJson(MustParse(json)), json);  // canonical: a fixed point
  }
}

TEST(Genesis, JsonIsInCanonicalFieldOrder) {
  const std::string json = GenesisToJson(MustParse(FullDocument().dump()));
  std::size_t last = 0;
  for (const char* field : {"\"chain_id\"", "\"genesis_time_unix_ms\"", "\"validators\"", "\"clerks\"",
                            "\"clerk_threshold\"", "\"districts\"", "\"consensus\""}) {
    const std::size_t at = json.find(field);
    ASSERT_NE(at, std::string::npos) << field;
    EXPECT_GT(at, last) << field;
    last = at;
  }
  EXPECT_NE(json.find("\n  \"chain_id\": \"assen-2024\""), std::string::npos) << json;  // 2-space indent
}

TEST(Genesis, HashIgnoresFormattingFieldOrderAndSpelledOutDefaults) {
  const Json document = MinimalDocument();
  const proto::Hash32 hash = GenesisHash(MustParse(document.dump()));
  EXPECT_EQ(GenesisHash(MustParse(document.dump(8))), hash);
  // Fields in another order, keys in upper-case hex, defaults written out.
  std::string upper_key = document["validators"][0]["ed25519"].get<std::string>();
  for (char& c : upper_key) {
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  }
  const std::string reordered = R"({
    "districts": [{"name": "Centrum", "id": 1}],
    "consensus": {"block_bytes_max": 8388608, "timeout_propose_ms": 3000},
    "clerk_threshold": 1,
    "clerks": [")" + document["clerks"][0].get<std::string>() + R"("],
    "validators": [{"power": 1, "ed25519": ")" + upper_key + R"(", "name": "solo"}],
    "genesis_time_unix_ms": 0,
    "chain_id": "test"
  })";
  EXPECT_EQ(GenesisHash(MustParse(reordered)), hash);
  // Clerks and districts are sets: their order in the file does not matter.
  Json full = FullDocument();
  const proto::Hash32 full_hash = GenesisHash(MustParse(full.dump()));
  std::reverse(full["clerks"].begin(), full["clerks"].end());
  std::reverse(full["districts"].begin(), full["districts"].end());
  EXPECT_EQ(GenesisHash(MustParse(full.dump())), full_hash);
}

TEST(Genesis, HashChangesWhenAnyFieldChanges) {
  const std::vector<std::function<void(Json&)>> changes = {
      [](Json& d) { d["chain_id"] = "assen-2025"; },
      [](Json& d) { d["genesis_time_unix_ms"] = 1732406400001u; },
      [](Json& d) { d["validators"][0]["name"] = "clerk-office-9"; },
      [](Json& d) { d["validators"][0]["ed25519"] = proto::ToHex(ValidatorKey(0x39)); },
      [](Json& d) { d["validators"][0]["power"] = 11; },
      [](Json& d) { std::swap(d["validators"][0], d["validators"][1]); },  // file order is kept
      [](Json& d) { d["validators"].push_back(Validator("extra", 0x35, 1)); },
      [](Json& d) { d["clerks"][0] = proto::ToHex(ClerkKey(0x44)); },
      [](Json& d) { d["clerks"].push_back(proto::ToHex(ClerkKey(0x44))); },
      [](Json& d) { d["clerk_threshold"] = 3; },
      [](Json& d) { d["districts"][0]["id"] = 4; },
      [](Json& d) { d["districts"][0]["name"] = "Zuid"; },
      [](Json& d) { d["districts"].push_back(District(9, "Oost")); },
      [](Json& d) { d["consensus"]["timeout_propose_ms"] = 4001; },
      [](Json& d) { d["consensus"]["timeout_propose_delta_ms"] = 601; },
      [](Json& d) { d["consensus"]["timeout_prevote_ms"] = 1501; },
      [](Json& d) { d["consensus"]["timeout_prevote_delta_ms"] = 701; },
      [](Json& d) { d["consensus"]["timeout_precommit_ms"] = 1601; },
      [](Json& d) { d["consensus"]["timeout_precommit_delta_ms"] = 801; },
      [](Json& d) { d["consensus"]["timeout_max_ms"] = 30001; },
      [](Json& d) { d["consensus"]["commit_wait_ms"] = 1; },
      [](Json& d) { d["consensus"]["empty_block_interval_ms"] = 5001; },
      [](Json& d) { d["consensus"]["block_txs_max"] = 5001; },
      [](Json& d) { d["consensus"]["block_bytes_max"] = 4194305; },
  };
  std::vector<proto::Hash32> hashes = {GenesisHash(MustParse(FullDocument().dump()))};
  for (std::size_t i = 0; i < changes.size(); ++i) {
    Json document = FullDocument();
    changes[i](document);
    hashes.push_back(GenesisHash(MustParse(document.dump())));
  }
  std::vector<proto::Hash32> sorted = hashes;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(std::adjacent_find(sorted.begin(), sorted.end()), sorted.end()) << "two changes gave one hash";
}

// The layout documented in genesis.cc and GENESIS.md, rebuilt by hand: anyone can recompute it.
TEST(Genesis, HashIsTheTaggedHashOfTheDocumentedEncoding) {
  const Genesis genesis = MustParse(MinimalDocument().dump());
  proto::Bytes bytes;
  const auto u32 = [&bytes](std::uint32_t n) {
    for (int shift = 24; shift >= 0; shift -= 8) bytes.push_back(static_cast<std::uint8_t>(n >> shift));
  };
  const auto u64 = [&bytes](std::uint64_t n) {
    for (int shift = 56; shift >= 0; shift -= 8) bytes.push_back(static_cast<std::uint8_t>(n >> shift));
  };
  const auto text = [&](std::string_view s) {
    u32(static_cast<std::uint32_t>(s.size()));
    bytes.insert(bytes.end(), s.begin(), s.end());
  };
  const auto raw = [&bytes](proto::ByteView v) { bytes.insert(bytes.end(), v.begin(), v.end()); };
  text("test");
  u64(0);
  u32(1);
  text("solo");
  raw(ValidatorKey(0x31).view());
  u64(1);
  u32(1);
  raw(ClerkKey(0x41).view());
  u32(1);  // clerk_threshold
  u32(1);
  u32(1);
  text("Centrum");
  for (std::uint64_t ms : std::initializer_list<std::uint64_t>{3000, 500, 1000, 500, 1000, 500, 60000, 100, 10000}) {
    u64(ms);
  }
  u32(20000);
  u32(8 * 1024 * 1024);
  EXPECT_EQ(GenesisHash(genesis), proto::TaggedHash(genesis.chain_id, proto::Domain::kGenesis, bytes));
}

struct BadGenesis {
  const char* what;
  std::function<std::string()> text;
  const char* names;  // must appear in the error message
};

std::function<std::string()> Changed(std::function<void(Json&)> change) {
  return [change] {
    Json document = FullDocument();
    change(document);
    return document.dump(2);
  };
}

std::function<std::string()> Text(std::string text) {
  return [text] { return text; };
}

// The full document as compact text, with the first `from` replaced by `to`.
std::function<std::string()> Replaced(std::string from, std::string to) {
  return [from, to] {
    std::string text = FullDocument().dump();
    text.replace(text.find(from), from.size(), to);
    return text;
  };
}

TEST(Genesis, RefusesBadDocumentsNamingTheField) {
  const std::string key0 = proto::ToHex(ValidatorKey(0x31));
  const std::vector<BadGenesis> cases = {
      {"malformed JSON", Text("{\n  \"chain_id\": \"a\",\n  \"validators\": [,]\n}"), "line 3, column"},
      {"truncated JSON", [] { std::string t = FullDocument().dump(); t.pop_back(); return t; }, "line 1"},
      {"trailing content", [] { return FullDocument().dump() + " {}"; }, "not valid JSON"},
      {"not an object", Text("[1, 2]"), "genesis: the document must be a JSON object"},
      {"unknown top-level field", Changed([](Json& d) { d["colour"] = "red"; }), "colour: unknown field"},
      {"unknown validator field", Changed([](Json& d) { d["validators"][1]["pwer"] = 1; }), "validators[1].pwer"},
      {"unknown district field", Changed([](Json& d) { d["districts"][2]["budget"] = 1; }), "districts[2].budget"},
      {"unknown consensus field", Changed([](Json& d) { d["consensus"]["timeout_foo_ms"] = 1; }),
       "consensus.timeout_foo_ms: unknown field"},
      {"key given twice", Replaced("\"power\":10", "\"power\":10,\"power\":1000"),
       "validators[0].power: given twice"},
      {"missing chain id", Changed([](Json& d) { d.erase("chain_id"); }), "chain_id: missing"},
      {"missing power", Changed([](Json& d) { d["validators"][3].erase("power"); }), "validators[3].power: missing"},
      {"power as a string", Changed([](Json& d) { d["validators"][2]["power"] = "30"; }),
       "validators[2].power: must be an integer"},
      {"power as a float", Changed([](Json& d) { d["validators"][2]["power"] = 30.5; }), "validators[2].power"},
      {"power as 10.0", Replaced("\"power\":10", "\"power\":10.0"),
       "validators[0].power: must be an integer between 1 and 1125899906842624 (2^50), got the non-integer"},
      {"negative power", Changed([](Json& d) { d["validators"][0]["power"] = -5; }),
       "validators[0].power: must be an integer between 1 and 1125899906842624 (2^50), got the negative number -5"},
      {"power zero", Changed([](Json& d) { d["validators"][1]["power"] = 0; }), "validators[1].power"},
      {"power above 2^50", Changed([](Json& d) { d["validators"][1]["power"] = (std::uint64_t{1} << 50) + 1; }),
       "validators[1].power"},
      {"power above 2^64", Replaced("\"power\":10", "\"power\":18446744073709551616"),
       "validators[0].power"},
      {"duplicate validator key", Changed([&](Json& d) { d["validators"][2]["ed25519"] = key0; }),
       "validators[2].ed25519: the same key as validators[0]"},
      {"validator key of small order", Changed([](Json& d) { d["validators"][1]["ed25519"] = std::string(64, '0'); }),
       "validators[1].ed25519: is not an Ed25519 public key"},
      {"clerk key off the curve", Changed([](Json& d) { d["clerks"][1] = std::string(64, 'f'); }),
       "clerks[1]: is not a BIP-340 public key"},
      {"duplicate validator name", Changed([](Json& d) { d["validators"][3]["name"] = "library"; }),
       "validators[3].name"},
      {"empty validator name", Changed([](Json& d) { d["validators"][0]["name"] = ""; }), "validators[0].name"},
      {"long validator name", Changed([](Json& d) { d["validators"][0]["name"] = std::string(65, 'v'); }),
       "validators[0].name: must be 1 to 64 printable ASCII"},
      {"control character in name", Changed([](Json& d) { d["validators"][0]["name"] = "a\nb"; }),
       "validators[0].name"},
      {"bad hex", Changed([&](Json& d) { d["validators"][1]["ed25519"] = "zz" + key0.substr(2); }),
       "validators[1].ed25519: must be 64 hex digits"},
      {"short key", Changed([&](Json& d) { d["validators"][1]["ed25519"] = key0.substr(2); }),
       "validators[1].ed25519: must be 64 hex digits (an Ed25519 public key), got 62 characters"},
      {"key as a number", Changed([](Json& d) { d["validators"][1]["ed25519"] = 5; }),
       "validators[1].ed25519: must be a string"},
      {"no validators", Changed([](Json& d) { d["validators"] = Json::array(); }), "validators: must have between 1"},
      {"257 validators",
       Changed([](Json& d) {
         d["validators"] = Json::array();
         for (int i = 0; i < 257; ++i) d["validators"].push_back(Validator("v" + std::to_string(i), 1, 1));
       }),
       "validators: must have between 1 and 256 entries, has 257"},
      {"validators as an object", Changed([](Json& d) { d["validators"] = Json::object(); }),
       "validators: must be an array"},
      {"bad chain id", Changed([](Json& d) { d["chain_id"] = "Assen 2024"; }), "chain_id: chain id \"Assen 2024\""},
      {"chain id as a number", Changed([](Json& d) { d["chain_id"] = 2024; }), "chain_id: must be a string"},
      {"negative genesis time", Changed([](Json& d) { d["genesis_time_unix_ms"] = -1; }), "genesis_time_unix_ms"},
      {"duplicate clerk", Changed([](Json& d) { d["clerks"][2] = d["clerks"][0]; }),
       "clerks[2]: the same key as clerks[0]"},
      {"bad clerk hex", Changed([](Json& d) { d["clerks"][1] = std::string(64, 'g'); }), "clerks[1]: must be 64 hex"},
      {"no clerks", Changed([](Json& d) { d["clerks"] = Json::array(); }), "clerks: must have between 1 and 64"},
      {"threshold above clerk count", Changed([](Json& d) { d["clerk_threshold"] = 4; }),
       "clerk_threshold: must be between 1 and the number of clerks (3), got 4"},
      {"threshold zero", Changed([](Json& d) { d["clerk_threshold"] = 0; }), "clerk_threshold"},
      {"district id 0", Changed([](Json& d) { d["districts"][1]["id"] = 0; }), "districts[1].id: must be at least 1"},
      {"district id above 2^32", Changed([](Json& d) { d["districts"][1]["id"] = 4294967296u; }), "districts[1].id"},
      {"duplicate district id", Changed([](Json& d) { d["districts"][2]["id"] = 3; }),
       "districts[2].id: 3 is already the id of districts[0]"},
      {"empty district name", Changed([](Json& d) { d["districts"][0]["name"] = ""; }), "districts[0].name"},
      {"long district name", Changed([](Json& d) { d["districts"][0]["name"] = std::string(101, 'd'); }),
       "districts[0].name"},
      {"no districts", Changed([](Json& d) { d["districts"] = Json::array(); }), "districts: must have between 1"},
      {"consensus not an object", Changed([](Json& d) { d["consensus"] = 5; }), "consensus: must be an object"},
      {"zero timeout", Changed([](Json& d) { d["consensus"]["timeout_prevote_ms"] = 0; }),
       "consensus.timeout_prevote_ms: must be an integer between 1 and 3600000, got 0"},
      {"timeout above an hour", Changed([](Json& d) { d["consensus"]["timeout_precommit_delta_ms"] = 3600001; }),
       "consensus.timeout_precommit_delta_ms"},
      {"timeout_max below a base timeout", Changed([](Json& d) { d["consensus"]["timeout_max_ms"] = 3999; }),
       "consensus.timeout_max_ms: must be at least consensus.timeout_propose_ms (4000), got 3999"},
      {"commit wait above a minute", Changed([](Json& d) { d["consensus"]["commit_wait_ms"] = 60001; }),
       "consensus.commit_wait_ms"},
      {"empty block interval too short", Changed([](Json& d) { d["consensus"]["empty_block_interval_ms"] = 99; }),
       "consensus.empty_block_interval_ms"},
      {"zero txs per block", Changed([](Json& d) { d["consensus"]["block_txs_max"] = 0; }),
       "consensus.block_txs_max"},
      {"blocks too small", Changed([](Json& d) { d["consensus"]["block_bytes_max"] = 65535; }),
       "consensus.block_bytes_max: must be an integer between 65536 and 67108864"},
      {"blocks too big", Changed([](Json& d) { d["consensus"]["block_bytes_max"] = 67108865; }),
       "consensus.block_bytes_max"},
      {"deep nesting", Changed([](Json& d) {
         Json deep = 1;
         for (int i = 0; i < 40; ++i) deep = Json::array({deep});
         d["validators"][1]["name"] = deep;
       }),
       "validators[1].name[0][0]"},
      {"document too large", [] { return std::string(kGenesisBytesMax + 1, ' '); }, "genesis: the document is"},
      {"invalid UTF-8", Replaced("Noord", "No\xff"), "not valid JSON: parse error at line 1"},
  };
  for (const BadGenesis& bad : cases) {
    SCOPED_TRACE(bad.what);
    proto::Result<Genesis> genesis = ParseGenesis(bad.text());
    ASSERT_FALSE(genesis.has_value());
    EXPECT_NE(genesis.error().message.find(bad.names), std::string::npos) << genesis.error().message;
  }
}

TEST(Genesis, ErrorCodesSayWhatKindOfProblem) {
  Json bad_power = FullDocument();
  bad_power["validators"][0]["power"] = 0;
  EXPECT_EQ(ParseGenesis(bad_power.dump()).error().code, proto::ErrorCode::kInvalidArgument);
  Json wrong_type = FullDocument();
  wrong_type["validators"][0]["power"] = "1";
  EXPECT_EQ(ParseGenesis(wrong_type.dump()).error().code, proto::ErrorCode::kMalformed);
  EXPECT_EQ(ParseGenesis("{").error().code, proto::ErrorCode::kMalformed);
  EXPECT_EQ(ParseGenesis(std::string(kGenesisBytesMax + 1, ' ')).error().code, proto::ErrorCode::kTooLarge);
}

TEST(Genesis, LoadsAFile) {
  const TempDir dir;
  const std::filesystem::path file = dir.Write("genesis.json", FullDocument().dump(2));
  proto::Result<Genesis> genesis = LoadGenesisFile(file);
  ASSERT_TRUE(genesis.has_value()) << genesis.error().message;
  EXPECT_EQ(*genesis, MustParse(FullDocument().dump()));
}

TEST(Genesis, FileErrorsNameThePath) {
  const TempDir dir;
  const std::filesystem::path missing = dir.path() / "missing.json";
  proto::Result<Genesis> result = LoadGenesisFile(missing);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, proto::ErrorCode::kIo);
  EXPECT_NE(result.error().message.find(missing.string()), std::string::npos) << result.error().message;
  EXPECT_NE(result.error().message.find("does not exist"), std::string::npos) << result.error().message;

  result = LoadGenesisFile(dir.path());
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message.find("not a regular file"), std::string::npos) << result.error().message;

  const std::filesystem::path big = dir.Write("big.json", std::string(kGenesisBytesMax + 1, ' '));
  result = LoadGenesisFile(big);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, proto::ErrorCode::kTooLarge);
  EXPECT_NE(result.error().message.find(big.string() + ": larger than 1048576 bytes"), std::string::npos)
      << result.error().message;

  Json document = FullDocument();
  document["validators"][1]["power"] = -1;
  const std::filesystem::path bad = dir.Write("bad.json", document.dump(2));
  result = LoadGenesisFile(bad);
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message.find(bad.string() + ": validators[1].power"), std::string::npos)
      << result.error().message;
}

}  // namespace
}  // namespace civic::node
