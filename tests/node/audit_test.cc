// civic-wallet audit on a real RocksDB ledger with a whole round in it: it passes on the
// honest ledger, and on a copy where one block, one transaction signature, one validator
// signature, one stored ballot or one stored tally was changed on disk, it fails and names
// the spot. (The audit of a live node runs in wallet_round_test.cc.)
#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <algorithm>
#include <fstream>
#include <functional>

#include "civic/contracts/pabulib.h"
#include "civic/contracts/tally.h"
#include "civic/node/executor.h"
#include "civic/node/ledger.h"
#include "node_fixture.h"

namespace civic::node {
namespace {

using nlohmann::json;
using testing::CivicdProcess;
using testing::TempDir;
using testing::TestNetwork;

constexpr BlockLimits kLimits{1000, 4 * 1024 * 1024};

// Changes one record of a closed ledger directory, as someone with access to the disk could.
void Rewrite(const std::filesystem::path& dir, const std::string& family, const proto::Bytes& key,
             const std::function<void(std::string&)>& change) {
  rocksdb::DBOptions options;
  std::vector<std::string> names;
  ASSERT_TRUE(rocksdb::DB::ListColumnFamilies(options, dir.string(), &names).ok());
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const std::string& name : names) descriptors.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(options, dir.string(), descriptors, &handles, &raw).ok());
  std::unique_ptr<rocksdb::DB> db(raw);
  const auto found = std::find(names.begin(), names.end(), family);
  ASSERT_NE(found, names.end()) << family;
  rocksdb::ColumnFamilyHandle* handle = handles[static_cast<std::size_t>(found - names.begin())];
  const rocksdb::Slice slice(reinterpret_cast<const char*>(key.data()), key.size());
  std::string value;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), handle, slice, &value).ok()) << family;
  change(value);
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handle, slice, value).ok());
  for (rocksdb::ColumnFamilyHandle* h : handles) (void)db->DestroyColumnFamilyHandle(h);
}

proto::Bytes HeightKey(std::uint64_t height) {
  proto::Bytes key(8);
  for (int i = 0; i < 8; ++i) key[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(height >> (8 * (7 - i)));
  return key;
}

proto::Bytes StateKey(std::string_view prefix, std::uint64_t round, const proto::SchnorrPublicKey* resident) {
  proto::Bytes key(prefix.begin(), prefix.end());
  const proto::Bytes height = HeightKey(round);
  key.insert(key.end(), height.begin(), height.end());
  if (resident != nullptr) key.insert(key.end(), resident->bytes.begin(), resident->bytes.end());
  return key;
}

// Flips the lowest bit of the byte at `offset` inside the first occurrence of `part`.
void FlipWithin(std::string& bytes, proto::ByteView part, std::size_t offset) {
  const auto at = std::search(bytes.begin(), bytes.end(), part.begin(), part.end(),
                              [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; });
  ASSERT_NE(at, bytes.end());
  at[static_cast<std::ptrdiff_t>(offset)] = static_cast<char>(at[static_cast<std::ptrdiff_t>(offset)] ^ 0x01);
}

struct Outcome {
  int code = -1;
  std::string out;
};

class Audit : public ::testing::Test {
 protected:
  // A ledger with one round from opening to closing, by heights: proposals from 1, review
  // from 4, voting 6..8, closed at 9.
  void SetUp() override {
    std::ofstream(dir_.path() / "genesis.json") << GenesisToJson(network_.genesis);
    std::unique_ptr<Ledger> ledger = Ledger::Open(Data(), network_.genesis, OpenMode::kReadWrite).value();
    proto::Constitution c;
    c.round_id = 1;
    c.title = "Harbour paths";
    c.total_budget = 50'000;
    c.phase_basis = proto::PhaseBasis::kHeight;
    c.proposals_start = 1;
    c.review_start = 4;
    c.voting_start = 6;
    c.voting_end = 9;
    c.ballot_type = proto::BallotType::kApproval;
    c.min_choices = 1;
    c.max_choices = 2;
    c.outcome_rule = 4;  // mes-add1
    const auto sign = [&](const proto::SchnorrKeyPair& key, proto::TxKind kind, const auto& payload) {
      return network_.Sign(key, kind, payload);
    };
    const auto propose = [&](std::uint32_t resident, const std::string& title, std::uint64_t cost) {
      return sign(network_.resident(resident), proto::TxKind::kSubmitProposal,
                  proto::SubmitProposal{1, title, proto::Sha256(proto::AsBytes(title)), cost, 0});
    };
    const auto vote = [&](std::uint32_t resident, std::vector<proto::BallotChoice> choices) {
      return sign(network_.resident(resident), proto::TxKind::kCastBallot, proto::Ballot{1, std::move(choices)});
    };
    const auto review = [&](std::uint32_t id, bool feasible) {
      return sign(network_.clerk(), proto::TxKind::kReviewProposal,
                  proto::ReviewProposal{1, id, feasible, feasible ? "checked" : "not city land", std::nullopt});
    };
    first_ballot_ = vote(1, {{1, 1}});
    const std::vector<std::vector<proto::Tx>> blocks = {
        {network_.Register(1), network_.Register(2), network_.Register(3), network_.Register(4),
         sign(network_.clerk(), proto::TxKind::kOpenRound, proto::OpenRound{c})},              // 1
        {propose(1, "Lights", 20'000), propose(2, "Benches", 30'000), propose(3, "Pier", 45'000)},  // 2
        {},                                                                                     // 3
        {review(1, true), review(2, true), review(3, false)},                                   // 4
        {},                                                                                     // 5
        {first_ballot_, vote(2, {{1, 1}, {2, 1}}), vote(3, {{2, 1}}), vote(4, {{1, 1}})},       // 6
        {vote(1, {{1, 1}, {2, 1}})},                                                            // 7
        // Resident 4's registration was a mistake: revoked, her ballot stays on record, uncounted.
        {sign(network_.clerk(), proto::TxKind::kRevokeResident,
              proto::RevokeResident{proto::ResidentIdOfKey(network_.resident(4).public_key()), "registered in error"})},  // 8
        {sign(network_.clerk(), proto::TxKind::kCloseRound, proto::CloseRound{1})},             // 9
    };
    std::uint64_t time = network_.genesis.genesis_time_unix_ms;
    for (const std::vector<proto::Tx>& txs : blocks) {
      std::vector<Dropped> dropped;
      const ExecutedBlock block = testing::BuildAndCommit(*ledger, network_, txs, time += 1000, kLimits, &dropped);
      ASSERT_TRUE(dropped.empty()) << "block " << block.block.header.height << ": " << dropped[0].reason.message;
    }
    ASSERT_EQ(ledger->tip().height, 9u);
  }

  std::filesystem::path Data() const { return dir_.path() / "data"; }

  // A copy of the ledger, changed by `tamper`, for one case.
  std::filesystem::path Copy(const std::string& name) const {
    const std::filesystem::path copy = dir_.path() / name;
    std::filesystem::copy(Data(), copy, std::filesystem::copy_options::recursive);
    return copy;
  }

  Outcome AuditOf(const std::filesystem::path& data, bool json_output = false) {
    const std::filesystem::path log = dir_.path() / "audit.log";
    std::filesystem::remove(log);
    std::vector<std::string> args = {"audit", "--ledger", data.string(), "--genesis", (dir_.path() / "genesis.json").string()};
    if (json_output) args.push_back("--json");
    CivicdProcess run(args, log, CIVIC_WALLET_BINARY);
    Outcome outcome;
    outcome.code = run.Wait().value_or(-1);
    outcome.out = testing::ReadFile(log);
    return outcome;
  }

  void ExpectFailure(const std::filesystem::path& data, const std::vector<std::string>& named) {
    const Outcome outcome = AuditOf(data);
    EXPECT_EQ(outcome.code, 3) << outcome.out;
    EXPECT_NE(outcome.out.find("VERDICT: FAIL: "), std::string::npos) << outcome.out;
    for (const std::string& part : named) EXPECT_NE(outcome.out.find(part), std::string::npos) << part << "\n" << outcome.out;
  }

  TempDir dir_;
  TestNetwork network_;
  proto::Tx first_ballot_;
};

TEST_F(Audit, AnHonestLedgerPassesWithItsTallyRecomputed) {
  const Outcome human = AuditOf(Data());
  ASSERT_EQ(human.code, 0) << human.out;
  EXPECT_NE(human.out.find("checked 9 blocks"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("round 1 \"Harbour paths\": closed; 3 ballots; funded"), std::string::npos) << human.out;
  EXPECT_NE(human.out.find("VERDICT: PASS"), std::string::npos) << human.out;
  const Outcome machine = AuditOf(Data(), /*json_output=*/true);
  ASSERT_EQ(machine.code, 0) << machine.out;
  const json report = json::parse(machine.out.substr(machine.out.find('{')));
  EXPECT_EQ(report["verdict"], "PASS");
  EXPECT_EQ(report["blocks"], 9);
  EXPECT_EQ(report["txs"], 18);
  EXPECT_EQ(report["rounds"][0]["ballots"], 3);
}

// The export holds the ballots the close counted, not the revoked resident's, and a tally of
// the file alone funds what the ledger funded.
TEST_F(Audit, TheExportHoldsTheCountedBallotsAndRetalliesTheSame) {
  const std::filesystem::path out = dir_.path() / "round-1.pb";
  CivicdProcess run({"export", "--ledger", Data().string(), "--genesis", (dir_.path() / "genesis.json").string(), "--round",
                     "1", "--out", out.string()},
                    dir_.path() / "export.log", CIVIC_WALLET_BINARY);
  ASSERT_EQ(run.Wait().value_or(-1), 0) << testing::ReadFile(dir_.path() / "export.log");
  const contracts::PabulibInstance instance = contracts::ParsePabulib(testing::ReadFile(out)).value();
  ASSERT_EQ(instance.votes.size(), 3u);
  for (const contracts::PabulibVote& vote : instance.votes) {
    EXPECT_NE(vote.voter_id, proto::ToHex(network_.resident(4).public_key())) << "a revoked resident's ballot";
  }
  EXPECT_EQ(instance.budget, 50'000u);
  ASSERT_EQ(instance.projects.size(), 2u) << "the feasible proposals";
  const Outcome audit = AuditOf(Data(), /*json_output=*/true);
  const json report = json::parse(audit.out.substr(audit.out.find('{')));
  std::vector<std::string> funded_by_ledger;
  for (const json& id : report["rounds"][0]["funded"]) funded_by_ledger.push_back(std::to_string(id.get<std::uint32_t>()));
  const contracts::PabulibTally tally = contracts::ToTallyInput(instance).value();
  const contracts::TallyResult result = contracts::Tally(tally.input, contracts::OutcomeRule::kMesCostAdd1).value();
  std::vector<std::string> funded_by_file;
  for (std::uint32_t index : result.funded_in_order) funded_by_file.push_back(tally.project_ids[index]);
  EXPECT_EQ(funded_by_file, funded_by_ledger);
}

TEST_F(Audit, AChangedBallotInABlockIsNamedByHeightAndTransaction) {
  const std::filesystem::path data = Copy("ballot-in-block");
  // Resident 1's first ballot approved project 1 (its payload ends with the choice: project
  // u32, points u32); make it approve project 65537 instead.
  Rewrite(data, "blocks", HeightKey(6), [&](std::string& block) {
    const proto::Bytes& payload = first_ballot_.body.payload;
    FlipWithin(block, payload, payload.size() - 8 + 2);
  });
  ExpectFailure(data, {"block 6: transaction 0"});
}

TEST_F(Audit, AChangedTransactionSignatureIsNamed) {
  const std::filesystem::path data = Copy("tx-signature");
  Rewrite(data, "blocks", HeightKey(6), [&](std::string& block) { FlipWithin(block, first_ballot_.signature.view(), 32); });
  ExpectFailure(data, {"block 6: transaction 0", "signature"});
}

TEST_F(Audit, AChangedValidatorSignatureIsNamed) {
  const std::filesystem::path data = Copy("certificate");
  Rewrite(data, "certs", HeightKey(4), [&](std::string& certificate) {
    certificate.back() = static_cast<char>(certificate.back() ^ 0x01);
  });
  ExpectFailure(data, {"block 4", "certificate"});
}

TEST_F(Audit, AChangedStoredBallotIsNamed) {
  const std::filesystem::path data = Copy("stored-ballot");
  const proto::SchnorrPublicKey resident = network_.resident(3).public_key();
  Rewrite(data, "state", StateKey("bal/", 1, &resident), [&](std::string& record) {
    record[4] = static_cast<char>(record[4] ^ 0x01);
  });
  ExpectFailure(data, {"the counted ballot of resident " + proto::ToHex(resident) + " in round 1"});
}

TEST_F(Audit, AChangedStoredTallyIsNamed) {
  const std::filesystem::path data = Copy("stored-tally");
  Rewrite(data, "state", StateKey("tal/", 1, nullptr), [&](std::string& record) {
    record[2] = static_cast<char>(record[2] ^ 0x01);
  });
  ExpectFailure(data, {"the stored tally of round 1"});
}

TEST_F(Audit, AWrongGenesisOrAMissingLedgerIsNotAVerdictOnTheLedger) {
  const Outcome missing = AuditOf(dir_.path() / "nowhere");
  EXPECT_EQ(missing.code, 1) << missing.out;
  EXPECT_NE(missing.out.find("VERDICT: INCOMPLETE"), std::string::npos) << missing.out;
}

}  // namespace
}  // namespace civic::node
