// Closing a round: the tally stored on the ledger, per district, per voter; and the
// properties every tally keeps (same transactions, same state; order of independent
// ballots does not matter; no budget overspent; nobody counted twice).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "civic/proto/hash.h"
#include "state_fixture.h"

namespace civic::contracts {
namespace {

using proto::TxKind;
using testing::Approve;
using testing::ContractsTest;

// SHA-256 over every key and value in order: two states with the same hash hold the same bytes.
proto::Hash32 StateHash(const MemoryKv& kv) {
  Bytes all;
  for (const auto& [key, value] : kv.entries()) {
    for (const Bytes* part : {&key, &value}) {
      const auto size = static_cast<std::uint32_t>(part->size());
      for (int i = 0; i < 4; ++i) all.push_back(static_cast<std::uint8_t>(size >> (8 * i)));
      all.insert(all.end(), part->begin(), part->end());
    }
  }
  return proto::Sha256(all);
}

class Closing : public ContractsTest {
 protected:
  void SetUp() override {
    for (std::uint8_t r = 1; r <= 6; ++r) Register(r, {r <= 3 ? 1u : 2u});
  }
};

TEST_F(Closing, OnlyAClerkClosesAndOnlyAfterVoting) {
  OpenRoundWithProposals(RoundConstitution(), {{40'000, 0}});
  Refused(clerk(), TxKind::kCloseRound, proto::CloseRound{1}, TxError::kWrongPhase);
  height_ = 40;
  Refused(resident(1), TxKind::kCloseRound, proto::CloseRound{1}, TxError::kNotClerk);
  Refused(clerk(), TxKind::kCloseRound, proto::CloseRound{2}, TxError::kUnknownRound);
  Ok(clerk(), TxKind::kCloseRound, proto::CloseRound{1});
  Refused(clerk(), TxKind::kCloseRound, proto::CloseRound{1}, TxError::kRoundClosed);
  proto::Constitution c = RoundConstitution();
  Refused(clerk(), TxKind::kOpenRound, proto::OpenRound{c}, TxError::kRoundFrozen);
}

TEST_F(Closing, GreedyTallyIsStoredWithSupportAndWhatEachVoterWasSpentOn) {
  // 1: 60k, 2: 50k, 3: 30k, all city-wide; budget 100k.
  OpenRoundWithProposals(RoundConstitution(), {{60'000, 0}, {50'000, 0}, {30'000, 0}});
  Ok(resident(1), TxKind::kCastBallot, Approve(1, {1, 2}));
  Ok(resident(2), TxKind::kCastBallot, Approve(1, {1}));
  Ok(resident(3), TxKind::kCastBallot, Approve(1, {2, 3}));
  Ok(resident(4), TxKind::kCastBallot, Approve(1, {1, 3}));
  height_ = 40;
  const Applied closed = Ok(clerk(), TxKind::kCloseRound, proto::CloseRound{1});
  EXPECT_EQ(closed.events.at(0).type, "round-closed");

  // Approvals: 1 -> 3, 2 -> 2, 3 -> 2. Greedy: 1 (60k), then 2 does not fit (50k > 40k left),
  // then 3 (30k): 90k spent.
  const TallyRecord tally = contracts_.Tally(kv_, 1).value().value();
  EXPECT_EQ(tally.ballots, 4u);
  ASSERT_EQ(tally.units.size(), 1u);
  const UnitResult& unit = tally.units[0];
  EXPECT_EQ(unit.district, 0u);
  EXPECT_EQ(unit.funded_in_order, (std::vector<std::uint32_t>{1, 3}));
  EXPECT_EQ(unit.spent, 90'000u);
  EXPECT_EQ(unit.support.at(0), (ProjectSupport{1, 3, 3}));
  EXPECT_EQ(unit.support.at(1), (ProjectSupport{2, 2, 2}));
  // Resident 4 backed both funded projects: 60k/3 + 30k/2 = 35k on her behalf.
  const auto spent = contracts_.Spending(kv_, 1, proto::ResidentIdOfKey(resident(4).public_key())).value();
  ASSERT_TRUE(spent.has_value());
  ASSERT_EQ(spent->entries.size(), 1u);
  EXPECT_EQ(spent->entries[0].spent, "35000");
  EXPECT_TRUE(contracts_.Round(kv_, 1).value()->closed);
}

TEST_F(Closing, DistrictBudgetsAreTalliedAloneAndSummariesShowTurnout) {
  proto::Constitution c = RoundConstitution();
  c.district_budgets = {{1, 30'000}, {2, 30'000}};  // 40k left for the city-wide pool
  // Residents 1-3 live in North (1), 4-6 in South (2).
  Register(7, {3});
  height_ = 1;
  Ok(clerk(), TxKind::kOpenRound, proto::OpenRound{c});
  height_ = 10;
  const auto submit = [&](std::uint8_t by, std::uint64_t cost, std::uint32_t district) {
    Ok(resident(by), TxKind::kSubmitProposal,
       proto::SubmitProposal{1, "p", proto::Sha256(proto::AsBytes("d")), cost, district});
  };
  submit(1, 25'000, 1);  // 1: North
  submit(1, 20'000, 1);  // 2: North
  submit(4, 30'000, 2);  // 3: South
  submit(4, 35'000, 0);  // 4: city-wide
  height_ = 20;
  for (std::uint32_t id = 1; id <= 4; ++id) {
    Ok(clerk(), TxKind::kReviewProposal, proto::ReviewProposal{1, id, true, "ok", std::nullopt});
  }
  height_ = 30;
  Ok(resident(1), TxKind::kCastBallot, Approve(1, {1, 4}));
  Ok(resident(2), TxKind::kCastBallot, Approve(1, {2}));
  Ok(resident(3), TxKind::kCastBallot, Approve(1, {1}));
  Ok(resident(4), TxKind::kCastBallot, Approve(1, {3, 4}));
  height_ = 40;
  Ok(clerk(), TxKind::kCloseRound, proto::CloseRound{1});
  const TallyRecord tally = contracts_.Tally(kv_, 1).value().value();
  ASSERT_EQ(tally.units.size(), 3u);
  EXPECT_EQ(tally.units[0].district, 0u);
  EXPECT_EQ(tally.units[0].budget, 40'000u);
  EXPECT_EQ(tally.units[0].funded_in_order, (std::vector<std::uint32_t>{4}));
  EXPECT_EQ(tally.units[1].district, 1u);
  EXPECT_EQ(tally.units[1].funded_in_order, (std::vector<std::uint32_t>{1}));  // 2 approvals beat 1; 20k no longer fits
  EXPECT_EQ(tally.units[1].voters, 3u);
  EXPECT_EQ(tally.units[2].funded_in_order, (std::vector<std::uint32_t>{3}));
  ASSERT_EQ(tally.districts.size(), 3u);
  EXPECT_EQ(tally.districts[0], (DistrictSummary{1, 3, 3, 25'000}));
  EXPECT_EQ(tally.districts[1], (DistrictSummary{2, 3, 1, 30'000}));
  EXPECT_EQ(tally.districts[2], (DistrictSummary{3, 1, 0, 0}));  // Harbour: on the roll, no ballot, nothing funded
  for (const UnitResult& unit : tally.units) EXPECT_LE(unit.spent, unit.budget);
}

// A round of 40 voters with random approval ballots, the same transactions applied in
// different orders: the tally and every stored byte of the result must not depend on it.
class Properties : public ContractsTest {
 protected:
  struct Run {
    proto::Hash32 state;
    TallyRecord tally;
  };

  Run Play(OutcomeRule rule, std::uint64_t shuffle_seed) {
    kv_ = fresh_;  // genesis only
    height_ = 1;
    next_nonce_ = 1;
    for (std::uint8_t r = 1; r <= kVoters; ++r) Register(r, {1});
    OpenRoundWithProposals(RoundConstitution(proto::BallotType::kApproval, rule),
                           {{30'000, 0}, {25'000, 0}, {20'000, 0}, {45'000, 0}, {10'000, 0}, {60'000, 0}});
    std::mt19937_64 ballots_prng(7);  // the same ballots every run
    std::vector<proto::VerifiedTx> txs;
    for (std::uint8_t r = 1; r <= kVoters; ++r) {
      std::vector<std::uint32_t> chosen;
      for (std::uint32_t p = 1; p <= 6 && chosen.size() < 3; ++p) {
        if (ballots_prng() % 3 == 0) chosen.push_back(p);
      }
      if (chosen.empty()) chosen.push_back(1 + static_cast<std::uint32_t>(ballots_prng() % 6));
      txs.push_back(Signed(resident(r), TxKind::kCastBallot, Approve(1, chosen)));
    }
    std::mt19937_64 order(shuffle_seed);
    std::shuffle(txs.begin(), txs.end(), order);
    for (const proto::VerifiedTx& tx : txs) EXPECT_TRUE(Apply(tx).has_value());
    height_ = 40;
    Ok(clerk(), TxKind::kCloseRound, proto::CloseRound{1});
    return {StateHash(kv_), contracts_.Tally(kv_, 1).value().value()};
  }

  void SetUp() override { fresh_ = kv_; }
  static constexpr std::uint8_t kVoters = 40;
  MemoryKv fresh_;
};

TEST_F(Properties, ReplayGivesTheSameStateAndBallotOrderDoesNotMatter) {
  for (OutcomeRule rule : {OutcomeRule::kGreedy, OutcomeRule::kMesCost, OutcomeRule::kMesCostAdd1}) {
    SCOPED_TRACE(std::string(OutcomeRuleName(rule)));
    const Run first = Play(rule, 1);
    const Run replay = Play(rule, 1);
    EXPECT_EQ(first.state, replay.state);
    const Run shuffled = Play(rule, 2);
    EXPECT_EQ(first.tally, shuffled.tally);
    EXPECT_EQ(first.state, shuffled.state);  // the same transactions, so the same bytes
    for (const UnitResult& unit : first.tally.units) EXPECT_LE(unit.spent, unit.budget);
    EXPECT_EQ(first.tally.ballots, kVoters);
  }
}

TEST_F(Closing, NobodyIsCountedTwiceHoweverOftenSheVotes) {
  OpenRoundWithProposals(RoundConstitution(), {{60'000, 0}, {50'000, 0}});
  // A clerk enters her paper ballot, then she votes five times herself, ending on project 1.
  Ok(clerk(), TxKind::kAssistedBallot,
     proto::AssistedBallot{proto::ResidentIdOfKey(resident(1).public_key()), "BOX-9", Approve(1, {2})});
  for (int i = 0; i < 5; ++i) {
    ++height_;
    Ok(resident(1), TxKind::kCastBallot, Approve(1, {static_cast<std::uint32_t>(1 + i % 2)}));
  }
  Ok(resident(2), TxKind::kCastBallot, Approve(1, {1}));
  height_ = 40;
  Ok(clerk(), TxKind::kCloseRound, proto::CloseRound{1});
  const TallyRecord tally = contracts_.Tally(kv_, 1).value().value();
  EXPECT_EQ(tally.ballots, 2u);
  EXPECT_EQ(tally.units[0].support[0].approvals, 2u);  // residents 1 and 2, once each
  EXPECT_EQ(tally.units[0].support[1].approvals, 0u);
  EXPECT_EQ(contracts_.ReplacedBallots(kv_, 1, proto::ResidentIdOfKey(resident(1).public_key())).value().size(), 5u);
}

TEST_F(Closing, AnAdd1TallyThatHitsItsRaiseLimitStillClosesTheRound) {
  proto::Constitution c = RoundConstitution(proto::BallotType::kApproval, OutcomeRule::kMesCostAdd1);
  c.total_budget = 1'000'000;
  OpenRoundWithProposals(c, {{700'000, 0}, {1, 0}});
  Ok(resident(1), TxKind::kCastBallot, Approve(1, {1}));
  Ok(resident(2), TxKind::kCastBallot, Approve(1, {2}));
  height_ = 40;
  Ok(clerk(), TxKind::kCloseRound, proto::CloseRound{1});
  const UnitResult unit = contracts_.Tally(kv_, 1).value().value().units.at(0);
  EXPECT_EQ(unit.add1_stop, static_cast<std::uint8_t>(Add1Stop::kRaiseLimit));
  EXPECT_EQ(unit.add1_steps, kTallyAdd1RaisesMax);
  EXPECT_EQ(unit.funded_in_order, (std::vector<std::uint32_t>{2}));
}

TEST_F(Closing, ReRegistrationDoesNotBringBackAVoidedBallot) {
  OpenRoundWithProposals(RoundConstitution(), {{60'000, 0}, {50'000, 0}});
  Ok(resident(1), TxKind::kCastBallot, Approve(1, {1}));
  const proto::ResidentId id = proto::ResidentIdOfKey(resident(1).public_key());
  Ok(clerk(), TxKind::kRevokeResident, proto::RevokeResident{id, "registered in error"});
  ++height_;
  Register(1, {2});
  height_ = 40;
  Ok(clerk(), TxKind::kCloseRound, proto::CloseRound{1});
  const TallyRecord tally = contracts_.Tally(kv_, 1).value().value();
  EXPECT_EQ(tally.ballots, 0u);
  EXPECT_TRUE(tally.units[0].funded_in_order.empty());
}

TEST_F(Closing, AnExpiredRegistrationsBallotStillCounts) {
  Ok(clerk(), TxKind::kRegisterResident, proto::RegisterResident{resident(9).public_key(), {1}, 35});
  OpenRoundWithProposals(RoundConstitution(), {{60'000, 0}});
  Ok(resident(9), TxKind::kCastBallot, Approve(1, {1}));
  height_ = 40;
  Ok(clerk(), TxKind::kCloseRound, proto::CloseRound{1});
  const TallyRecord tally = contracts_.Tally(kv_, 1).value().value();
  EXPECT_EQ(tally.ballots, 1u);
  EXPECT_EQ(tally.districts[0].ballots, 1u);
  EXPECT_LE(tally.districts[0].ballots, tally.districts[0].registered);
}

TEST_F(Closing, APoolWithoutMoneyStillRecordsItsSupport) {
  proto::Constitution c = RoundConstitution();
  c.district_budgets = {{1, 100'000}};  // nothing left for city-wide proposals
  OpenRoundWithProposals(c, {{10'000, 0}, {20'000, 1}});
  Ok(resident(1), TxKind::kCastBallot, Approve(1, {1, 2}));
  height_ = 40;
  Ok(clerk(), TxKind::kCloseRound, proto::CloseRound{1});
  const TallyRecord tally = contracts_.Tally(kv_, 1).value().value();
  ASSERT_EQ(tally.units.size(), 2u);
  EXPECT_EQ(tally.units[0].budget, 0u);
  EXPECT_TRUE(tally.units[0].funded_in_order.empty());
  EXPECT_EQ(tally.units[0].support, (std::vector<ProjectSupport>{{1, 1, 1}}));
  EXPECT_EQ(tally.units[1].funded_in_order, (std::vector<std::uint32_t>{2}));
}

TEST_F(Closing, ARevokedResidentsBallotStaysOnRecordButIsNotCounted) {
  OpenRoundWithProposals(RoundConstitution(), {{60'000, 0}, {50'000, 0}});
  Ok(resident(1), TxKind::kCastBallot, Approve(1, {1}));
  Ok(resident(2), TxKind::kCastBallot, Approve(1, {2}));
  Ok(resident(3), TxKind::kCastBallot, Approve(1, {2}));
  const proto::ResidentId revoked = proto::ResidentIdOfKey(resident(3).public_key());
  Ok(clerk(), TxKind::kRevokeResident, proto::RevokeResident{revoked, "registered in two cities"});
  height_ = 40;
  Ok(clerk(), TxKind::kCloseRound, proto::CloseRound{1});
  const TallyRecord tally = contracts_.Tally(kv_, 1).value().value();
  EXPECT_EQ(tally.ballots, 2u);
  EXPECT_EQ(tally.units[0].support[1].approvals, 1u);
  EXPECT_TRUE(contracts_.CountedBallot(kv_, 1, revoked).value().has_value());
  EXPECT_FALSE(contracts_.Spending(kv_, 1, revoked).value().has_value());
  // North: residents 1 and 2 and the proposer on the roll (3 was revoked), 2 counted ballots,
  // and nothing funded there (both proposals are city-wide).
  EXPECT_EQ(tally.districts[0], (DistrictSummary{1, 3, 2, 0}));
}

}  // namespace
}  // namespace civic::contracts
