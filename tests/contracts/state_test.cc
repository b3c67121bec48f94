// The budgeting contracts, transaction by transaction: what each does, and every way each
// is refused (its own code and message, and the state untouched).
#include <gtest/gtest.h>

#include <set>

#include "state_fixture.h"

namespace civic::contracts {
namespace {

using proto::TxKind;
using testing::Approve;
using testing::ContractsTest;

using Registration = ContractsTest;

TEST_F(Registration, AClerkRegistersAResidentWithDistrictsOnly) {
  Ok(clerk(), TxKind::kRegisterResident, proto::RegisterResident{resident(1).public_key(), {1, 3}, 500});
  const auto record = contracts_.Resident(kv_, proto::ResidentIdOfKey(resident(1).public_key())).value();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->districts, (std::vector<std::uint32_t>{1, 3}));
  EXPECT_EQ(record->expires_at_height, 500u);
  EXPECT_EQ(record->kind, ResidentKind::kKey);
  EXPECT_FALSE(record->revoked);
}

TEST_F(Registration, OnlyAClerkRegisters) {
  Register(1);
  Refused(resident(1), TxKind::kRegisterResident, proto::RegisterResident{resident(2).public_key(), {1}, 0},
          TxError::kNotClerk);
}

TEST_F(Registration, RefusesUnknownDistrictDoubleRegistrationAndPastExpiry) {
  Refused(clerk(), TxKind::kRegisterResident, proto::RegisterResident{resident(1).public_key(), {9}, 0},
          TxError::kUnknownDistrict);
  Register(1);
  Refused(clerk(), TxKind::kRegisterResident, proto::RegisterResident{resident(1).public_key(), {2}, 0},
          TxError::kAlreadyRegistered);
  height_ = 50;
  Refused(clerk(), TxKind::kRegisterResident, proto::RegisterResident{resident(2).public_key(), {1}, 50},
          TxError::kRegistrationExpired);
}

TEST_F(Registration, RevocationNeedsACurrentRegistrationAndKeepsTheReason) {
  const proto::ResidentId id = proto::ResidentIdOfKey(resident(1).public_key());
  Refused(clerk(), TxKind::kRevokeResident, proto::RevokeResident{id, "moved away"}, TxError::kNotRegistered);
  Register(1);
  Refused(resident(1), TxKind::kRevokeResident, proto::RevokeResident{id, "moved away"}, TxError::kNotClerk);
  Ok(clerk(), TxKind::kRevokeResident, proto::RevokeResident{id, "moved away"});
  EXPECT_EQ(contracts_.Resident(kv_, id).value()->revoke_reason, "moved away");
  Refused(clerk(), TxKind::kRevokeResident, proto::RevokeResident{id, "again"}, TxError::kRegistrationRevoked);
  // Re-registration after revocation is allowed.
  Register(1);
  EXPECT_FALSE(contracts_.Resident(kv_, id).value()->revoked);
}

TEST_F(Registration, PaperResidentsAreNamedByTheirReference) {
  Ok(clerk(), TxKind::kRegisterPaperResident, proto::RegisterPaperResident{"NORTH-P-0001", {1}, 0});
  const auto record = contracts_.Resident(kv_, proto::PaperResidentId(chain_, "NORTH-P-0001")).value();
  ASSERT_TRUE(record.has_value());
  EXPECT_EQ(record->kind, ResidentKind::kPaper);
  Refused(clerk(), TxKind::kRegisterPaperResident, proto::RegisterPaperResident{"NORTH-P-0001", {1}, 0},
          TxError::kAlreadyRegistered);
}

using Envelope = ContractsTest;

TEST_F(Envelope, RefusesReplayExpiryLongWindowsAndOtherChains) {
  const proto::VerifiedTx tx =
      Signed(clerk(), TxKind::kRegisterResident, proto::RegisterResident{resident(1).public_key(), {1}, 0});
  ASSERT_TRUE(Apply(tx).has_value());
  height_ = tx.tx().body.valid_until_height;  // the last height it is valid at: still refused
  Result<Applied> replay = Apply(tx);
  ASSERT_FALSE(replay.has_value());
  EXPECT_EQ(replay.error().code, TxError::kReplayed);

  proto::TxBody body = tx.tx().body;
  body.nonce = 99;
  body.valid_until_height = height_ - 1 + 0;  // height_ is 1: valid until 0
  auto sign = [&](proto::TxBody b) {
    return proto::VerifyTx(proto::SignTx(std::move(b), clerk(), proto::testing::Filled(0)).value()).value();
  };
  const auto refused_with = [&](const proto::TxBody& b) {
    Result<Applied> applied = Apply(sign(b));
    return applied.has_value() ? std::string("accepted") : std::string(TxErrorName(applied.error().code));
  };
  EXPECT_EQ(refused_with(body), "tx_expired");
  body.valid_until_height = height_ + kTxValidityWindowMax + 1;
  EXPECT_EQ(refused_with(body), "tx_window_too_long");
  body.valid_until_height = height_ + 10;
  body.chain_id = proto::ChainId::Parse("another-city").value();
  EXPECT_EQ(refused_with(body), "wrong_chain");
}

TEST_F(Envelope, ExpiredNoncesArePrunedAndStayRefusedUntilThen) {
  const proto::VerifiedTx tx =
      Signed(clerk(), TxKind::kRegisterResident, proto::RegisterResident{resident(1).public_key(), {1}, 0});
  ASSERT_TRUE(Apply(tx).has_value());
  const std::size_t with_nonce = kv_.entries().size();
  height_ = tx.tx().body.valid_until_height;  // still valid: still remembered
  contracts_.BeginBlock(kv_, Block());
  EXPECT_EQ(kv_.entries().size(), with_nonce);
  height_ += 1;  // can no longer be valid: forgotten, and refused as expired instead
  contracts_.BeginBlock(kv_, Block());
  EXPECT_EQ(kv_.entries().size(), with_nonce - 1);
  Result<Applied> late = Apply(tx);
  ASSERT_FALSE(late.has_value());
  EXPECT_EQ(late.error().code, TxError::kTxExpired);
}

TEST_F(Envelope, APayloadOfAnotherKindIsMalformed) {
  Refused(clerk(), TxKind::kRegisterResident, proto::CloseRound{1}, TxError::kMalformedPayload);
  Refused(clerk(), TxKind::kChangeValidators, proto::CloseRound{1}, TxError::kMalformedPayload);
}

TEST_F(Envelope, ADamagedRecordIsReportedNeverUsed) {
  Register(1);
  // Overwrite the resident's record with bytes that do not decode, as a damaged disk might.
  Bytes key = {'r', 'e', 's', '/'};
  const auto id = proto::ResidentIdOfKey(resident(1).public_key());
  key.insert(key.end(), id.bytes.begin(), id.bytes.end());
  ASSERT_TRUE(kv_.Get(key).has_value());
  kv_.Put(key, Bytes{0xFF});
  Refused(clerk(), TxKind::kRevokeResident, proto::RevokeResident{id, "x"}, TxError::kCorruptState);
  EXPECT_EQ(contracts_.Resident(kv_, id).error().code, TxError::kCorruptState);
}

using Rounds = ContractsTest;

TEST_F(Rounds, OpenAmendThenFrozenOnceVotingStarts) {
  proto::Constitution c = RoundConstitution();
  Refused(resident(1), TxKind::kOpenRound, proto::OpenRound{c}, TxError::kNotClerk);
  Ok(clerk(), TxKind::kOpenRound, proto::OpenRound{c});
  c.total_budget = 120'000;
  height_ = 29;  // review phase: still amendable
  const Applied amended = Ok(clerk(), TxKind::kOpenRound, proto::OpenRound{c});
  EXPECT_EQ(amended.events.at(0).type, "round-amended");
  EXPECT_EQ(contracts_.Round(kv_, 1).value()->constitution.total_budget, 120'000u);
  height_ = 30;
  c.total_budget = 200'000;
  const Rejection frozen = Refused(clerk(), TxKind::kOpenRound, proto::OpenRound{c}, TxError::kRoundFrozen);
  EXPECT_NE(frozen.message.find("frozen"), std::string::npos);
  c.voting_start = 100;  // moving voting later once it has started is a change too
  c.voting_end = 200;
  Refused(clerk(), TxKind::kOpenRound, proto::OpenRound{c}, TxError::kRoundFrozen);
}

TEST_F(Rounds, RefusesAConstitutionWhoseVotingHasStartedOrUnknownDistricts) {
  proto::Constitution c = RoundConstitution();
  height_ = 35;
  Refused(clerk(), TxKind::kOpenRound, proto::OpenRound{c}, TxError::kWrongPhase);
  height_ = 1;
  c.district_budgets = {{7, 10}};
  Refused(clerk(), TxKind::kOpenRound, proto::OpenRound{c}, TxError::kUnknownDistrict);
  // An inconsistent constitution does not even decode: its field is named.
  Bytes payload = proto::Encode(proto::OpenRound{RoundConstitution()}).value();
  payload[payload.size() - 2] = 9;  // outcome_rule, just before tie_break
  const Rejection bad = Refused(clerk(), TxKind::kOpenRound, payload, TxError::kMalformedPayload);
  EXPECT_NE(bad.message.find("outcome_rule"), std::string::npos) << bad.message;
}

using Proposals = ContractsTest;

TEST_F(Proposals, SubmitAndReviewInTheirPhases) {
  Register(1, {1});
  const proto::Constitution c = RoundConstitution();
  Ok(clerk(), TxKind::kOpenRound, proto::OpenRound{c});
  proto::SubmitProposal p{1, "Benches on the square", proto::Sha256(proto::AsBytes("benches")), 12'000, 1};
  Refused(resident(1), TxKind::kSubmitProposal, p, TxError::kWrongPhase);  // height 1: not started
  height_ = 10;
  const Applied submitted = Ok(resident(1), TxKind::kSubmitProposal, p);
  EXPECT_EQ(submitted.events.at(0).attributes.at(1), (std::pair<std::string, std::string>{"proposal", "1"}));
  Refused(resident(2), TxKind::kSubmitProposal, p, TxError::kNotRegistered);
  p.district = 2;
  Refused(resident(1), TxKind::kSubmitProposal, p, TxError::kProposalOutsideDistrict);
  p.district = 0;
  p.cost = 100'001;
  Refused(resident(1), TxKind::kSubmitProposal, p, TxError::kProposalOverBudget);
  p.round_id = 5;
  Refused(resident(1), TxKind::kSubmitProposal, p, TxError::kUnknownRound);

  height_ = 20;
  proto::ReviewProposal review{1, 1, true, "fits the square's plan", 11'500};
  Refused(resident(1), TxKind::kReviewProposal, review, TxError::kNotClerk);
  review.proposal_id = 2;
  Refused(clerk(), TxKind::kReviewProposal, review, TxError::kUnknownProposal);
  review.proposal_id = 1;
  review.adjusted_cost = 100'001;
  Refused(clerk(), TxKind::kReviewProposal, review, TxError::kProposalOverBudget);
  review.adjusted_cost = 11'500;
  Ok(clerk(), TxKind::kReviewProposal, review);
  Refused(clerk(), TxKind::kReviewProposal, review, TxError::kAlreadyReviewed);
  const auto proposals = contracts_.Proposals(kv_, 1).value();
  ASSERT_EQ(proposals.size(), 1u);
  EXPECT_EQ(proposals[0].second.cost, 11'500u);
  EXPECT_EQ(proposals[0].second.review, ReviewState::kFeasible);
  EXPECT_EQ(proposals[0].second.review_reason, "fits the square's plan");
  height_ = 30;
  review.proposal_id = 1;
  Refused(clerk(), TxKind::kReviewProposal, review, TxError::kWrongPhase);
}

class Ballots : public ContractsTest {
 protected:
  void SetUp() override {
    Register(1, {1});
    Register(2, {1, 2});
    Register(3, {2});
    // 1: 40k city-wide, 2: 30k in North, 3: 50k in South (infeasible), 4: 20k city-wide.
    OpenRoundWithProposals(RoundConstitution(), {{40'000, 0}, {30'000, 1}, {50'000, 2}, {20'000, 0}}, {3});
  }
};

TEST_F(Ballots, ALaterBallotReplacesTheEarlierWhichStaysOnRecord) {
  const proto::ResidentId id = proto::ResidentIdOfKey(resident(1).public_key());
  const proto::VerifiedTx first = Signed(resident(1), TxKind::kCastBallot, Approve(1, {1, 2}));
  ASSERT_TRUE(Apply(first).has_value());
  height_ = 31;
  const proto::VerifiedTx second = Signed(resident(1), TxKind::kCastBallot, Approve(1, {4}));
  const Applied applied = Apply(second).value();
  EXPECT_EQ(applied.events.at(0).attributes.back().first, "replaces");
  const BallotRecord counted = contracts_.CountedBallot(kv_, 1, id).value().value();
  EXPECT_EQ(counted.tx_id, second.id());
  EXPECT_EQ(counted.sequence, 1u);
  const std::vector<BallotRecord> replaced = contracts_.ReplacedBallots(kv_, 1, id).value();
  ASSERT_EQ(replaced.size(), 1u);
  EXPECT_EQ(replaced[0].tx_id, first.id());
  EXPECT_EQ(replaced[0].replaced_by, second.id());
  EXPECT_EQ(replaced[0].choices, Approve(1, {1, 2}).choices);
}

TEST_F(Ballots, EveryRuleOfTheBallotIsChecked) {
  Refused(resident(1), TxKind::kCastBallot, Approve(1, {}), TxError::kBallotTooFewChoices);
  Refused(resident(2), TxKind::kCastBallot, Approve(1, {1, 2, 4, 5}), TxError::kBallotTooManyChoices);
  Refused(resident(1), TxKind::kCastBallot, Approve(1, {9}), TxError::kUnknownProposal);
  Refused(resident(3), TxKind::kCastBallot, Approve(1, {3}), TxError::kProposalNotFeasible);
  Refused(resident(3), TxKind::kCastBallot, Approve(1, {2}), TxError::kProposalOutsideDistrict);
  Refused(resident(1), TxKind::kCastBallot, proto::Ballot{1, {{1, 2}}}, TxError::kBallotBadPoints);
  Refused(resident(1), TxKind::kCastBallot, Approve(2, {1}), TxError::kUnknownRound);
  Refused(resident(9), TxKind::kCastBallot, Approve(1, {1}), TxError::kNotRegistered);
  height_ = 29;
  Refused(resident(1), TxKind::kCastBallot, Approve(1, {1}), TxError::kWrongPhase);
  height_ = 40;
  Refused(resident(1), TxKind::kCastBallot, Approve(1, {1}), TxError::kWrongPhase);
}

TEST_F(Ballots, RevokedAndExpiredResidentsCannotVote) {
  Ok(clerk(), TxKind::kRevokeResident,
     proto::RevokeResident{proto::ResidentIdOfKey(resident(3).public_key()), "registered twice"});
  Refused(resident(3), TxKind::kCastBallot, Approve(1, {1}), TxError::kRegistrationRevoked);
  Ok(clerk(), TxKind::kRegisterResident, proto::RegisterResident{resident(4).public_key(), {1}, 31});
  Ok(resident(4), TxKind::kCastBallot, Approve(1, {1}));
  height_ = 31;
  Refused(resident(4), TxKind::kCastBallot, Approve(1, {2}), TxError::kRegistrationExpired);
}

TEST_F(Ballots, AssistedBallotsFollowTheSameReplaceRule) {
  Ok(clerk(), TxKind::kRegisterPaperResident, proto::RegisterPaperResident{"NORTH-P-7", {1}, 0});
  const proto::ResidentId paper = proto::PaperResidentId(chain_, "NORTH-P-7");
  Refused(resident(1), TxKind::kAssistedBallot, proto::AssistedBallot{paper, "BOX-3/17", Approve(1, {1})},
          TxError::kNotClerk);
  Ok(clerk(), TxKind::kAssistedBallot, proto::AssistedBallot{paper, "BOX-3/17", Approve(1, {1})});
  Ok(clerk(), TxKind::kAssistedBallot, proto::AssistedBallot{paper, "BOX-3/18", Approve(1, {2})});
  EXPECT_EQ(contracts_.CountedBallot(kv_, 1, paper).value()->paper_ballot_reference, "BOX-3/18");
  EXPECT_EQ(contracts_.ReplacedBallots(kv_, 1, paper).value().size(), 1u);
  // A resident with a key may also be helped by a clerk; her own later ballot replaces it.
  const proto::ResidentId keyed = proto::ResidentIdOfKey(resident(1).public_key());
  Ok(clerk(), TxKind::kAssistedBallot, proto::AssistedBallot{keyed, "BOX-1/2", Approve(1, {1})});
  Ok(resident(1), TxKind::kCastBallot, Approve(1, {4}));
  EXPECT_EQ(contracts_.CountedBallot(kv_, 1, keyed).value()->cast_by, resident(1).public_key());
  Refused(clerk(), TxKind::kAssistedBallot,
          proto::AssistedBallot{proto::PaperResidentId(chain_, "NOBODY"), "BOX-1/3", Approve(1, {1})},
          TxError::kNotRegistered);
}

TEST_F(Ballots, APaperOnlyResidentCannotSignForHerself) {
  // Store a paper-only record under a key resident's id, as if her key had been registered
  // as a paper resident: a ballot she signs herself must still be refused.
  ResidentRecord paper;
  paper.kind = ResidentKind::kPaper;
  paper.districts = {1};
  Bytes key = {'r', 'e', 's', '/'};
  const proto::ResidentId id = proto::ResidentIdOfKey(resident(5).public_key());
  key.insert(key.end(), id.bytes.begin(), id.bytes.end());
  kv_.Put(key, proto::Encode(paper).value());
  const Rejection refused = Refused(resident(5), TxKind::kCastBallot, Approve(1, {1}), TxError::kNotRegistered);
  EXPECT_NE(refused.message.find("assisted"), std::string::npos) << refused.message;
}

TEST_F(Ballots, AnOldBallotResubmittedLaterCannotUndoANewerOne) {
  // The resident signs A, then B with a higher nonce; B is applied first (A was delayed,
  // or refused earlier and rebroadcast by someone): A must not replace B.
  const proto::VerifiedTx a = Signed(resident(1), TxKind::kCastBallot, Approve(1, {1}));
  const proto::VerifiedTx b = Signed(resident(1), TxKind::kCastBallot, Approve(1, {4}));
  ASSERT_TRUE(Apply(b).has_value());
  Result<Applied> stale = Apply(a);
  ASSERT_FALSE(stale.has_value());
  EXPECT_EQ(stale.error().code, TxError::kStaleBallot);
  EXPECT_EQ(contracts_.CountedBallot(kv_, 1, proto::ResidentIdOfKey(resident(1).public_key())).value()->tx_id, b.id());
}

TEST_F(Ballots, AClerkCannotOverruleABallotTheResidentCastHerself) {
  const proto::ResidentId id = proto::ResidentIdOfKey(resident(1).public_key());
  Ok(resident(1), TxKind::kCastBallot, Approve(1, {1}));
  Refused(clerk(), TxKind::kAssistedBallot, proto::AssistedBallot{id, "BOX-1/9", Approve(1, {4})},
          TxError::kSelfCastBallotCounts);
}

class KnapsackAndCumulative : public ContractsTest {};

TEST_F(KnapsackAndCumulative, KnapsackBallotsStayWithinBudget) {
  Register(1, {1});
  OpenRoundWithProposals(RoundConstitution(proto::BallotType::kKnapsack), {{60'000, 0}, {30'000, 0}, {20'000, 0}});
  const Rejection over = Refused(resident(1), TxKind::kCastBallot, Approve(1, {1, 2, 3}), TxError::kBallotOverBudget);
  EXPECT_NE(over.message.find("110000"), std::string::npos) << over.message;
  Ok(resident(1), TxKind::kCastBallot, Approve(1, {1, 2}));
}

TEST_F(KnapsackAndCumulative, KnapsackBudgetsArePerDistrictAndPointsAreOne) {
  Register(1, {1});
  proto::Constitution c = RoundConstitution(proto::BallotType::kKnapsack);
  c.district_budgets = {{1, 40'000}};  // 60k left for the city-wide pool
  OpenRoundWithProposals(c, {{30'000, 1}, {20'000, 1}, {50'000, 0}, {20'000, 0}});
  const Rejection district = Refused(resident(1), TxKind::kCastBallot, Approve(1, {1, 2}), TxError::kBallotOverBudget);
  EXPECT_NE(district.message.find("district 1"), std::string::npos) << district.message;
  const Rejection pool = Refused(resident(1), TxKind::kCastBallot, Approve(1, {3, 4}), TxError::kBallotOverBudget);
  EXPECT_NE(pool.message.find("city-wide"), std::string::npos) << pool.message;
  Refused(resident(1), TxKind::kCastBallot, proto::Ballot{1, {{1, 2}}}, TxError::kBallotBadPoints);
  Ok(resident(1), TxKind::kCastBallot, Approve(1, {1, 3}));
}

TEST_F(KnapsackAndCumulative, CumulativeBallotsRespectTotalAndPerProjectCaps) {
  Register(1, {1});
  OpenRoundWithProposals(RoundConstitution(proto::BallotType::kCumulative, OutcomeRule::kGreedyPoints),
                         {{10'000, 0}, {10'000, 0}, {10'000, 0}});
  Refused(resident(1), TxKind::kCastBallot, proto::Ballot{1, {{1, 6}}}, TxError::kBallotTooManyPoints);
  Refused(resident(1), TxKind::kCastBallot, proto::Ballot{1, {{1, 5}, {2, 5}, {3, 1}}}, TxError::kBallotTooManyPoints);
  Ok(resident(1), TxKind::kCastBallot, proto::Ballot{1, {{1, 5}, {2, 4}, {3, 1}}});
}

}  // namespace
}  // namespace civic::contracts
