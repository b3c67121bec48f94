// The budgeting payloads: round trips, and what each refuses to encode or decode.
#include "civic/proto/payloads.h"

#include <gtest/gtest.h>

#include "civic/proto/codec.h"
#include "samples.h"

namespace civic::proto {
namespace {

using testing::ExpectRoundTrip;
using testing::SampleConstitution;


TEST(Payloads, EveryPayloadRoundTrips) {
  const SchnorrPublicKey key = SchnorrKeyPair::FromSecret(testing::Filled(5)).value().public_key();
  ExpectRoundTrip(RegisterResident{key, {1, 3}, 900});
  ExpectRoundTrip(RegisterPaperResident{"NORTH-P-0001", {2}, 0});
  ExpectRoundTrip(RevokeResident{ResidentIdOfKey(key), "moved to another city"});
  ExpectRoundTrip(OpenRound{SampleConstitution()});
  ExpectRoundTrip(SubmitProposal{3, "Trees on Main Street", Sha256(AsBytes("full text")), 45'000, 1});
  ExpectRoundTrip(ReviewProposal{3, 7, true, "feasible at a lower cost", 40'000});
  ExpectRoundTrip(ReviewProposal{3, 8, false, "the land is private", std::nullopt});
  ExpectRoundTrip(AssistedBallot{PaperResidentId(testing::TestChain(), "NORTH-P-0001"), "BOX-2/41", Ballot{3, {{7, 2}}}});
  ExpectRoundTrip(CloseRound{3});
}

TEST(Payloads, DistrictListsMustBeAscendingAndNonZero) {
  const SchnorrPublicKey key{};
  EXPECT_EQ(Encode(RegisterResident{key, {}, 0}).error().code, ErrorCode::kNonCanonical);
  EXPECT_EQ(Encode(RegisterResident{key, {2, 1}, 0}).error().code, ErrorCode::kNonCanonical);
  EXPECT_EQ(Encode(RegisterResident{key, {0}, 0}).error().code, ErrorCode::kNonCanonical);
  EXPECT_EQ(Encode(RegisterResident{key, {1, 2, 3, 4, 5, 6, 7, 8, 9}, 0}).error().code, ErrorCode::kTooLarge);
}

TEST(Payloads, TextsAreBoundedAndRequired) {
  EXPECT_EQ(Encode(RevokeResident{ResidentId{}, ""}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Encode(RevokeResident{ResidentId{}, std::string(kReasonBytesMax + 1, 'x')}).error().code,
            ErrorCode::kTooLarge);
  EXPECT_EQ(Encode(SubmitProposal{1, "", Hash32{}, 5, 0}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Encode(SubmitProposal{1, "t", Hash32{}, 0, 0}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Encode(ReviewProposal{1, 1, false, "no", 5}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Encode(AssistedBallot{ResidentId{}, "", Ballot{1, {}}}).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(Encode(SubmitProposal{1, "\xC0\x80", Hash32{}, 5, 0}).error().code, ErrorCode::kMalformed);  // overlong
}

TEST(Constitution, EachInconsistencyNamesItsField) {
  const auto fails_on = [](void (*change)(Constitution&), const char* field) {
    Constitution c = SampleConstitution();
    change(c);
    Result<void> check = c.Check();
    ASSERT_FALSE(check.has_value()) << field;
    EXPECT_NE(check.error().message.find(field), std::string::npos) << check.error().message;
    EXPECT_EQ(Encode(OpenRound{c}).error().code, ErrorCode::kInvalidArgument);
  };
  fails_on([](Constitution& c) { c.round_id = 0; }, "round_id");
  fails_on([](Constitution& c) { c.title.clear(); }, "title");
  fails_on([](Constitution& c) { c.total_budget = 0; }, "total_budget");
  fails_on([](Constitution& c) { c.district_budgets = {{4, 1}, {1, 1}}; }, "ascending");
  fails_on([](Constitution& c) { c.district_budgets = {{0, 1}}; }, "district 0");
  fails_on([](Constitution& c) { c.district_budgets = {{1, 600'000}, {2, 600'000}}; }, "more than total_budget");
  fails_on([](Constitution& c) { c.voting_end = c.voting_start; }, "phases");
  fails_on([](Constitution& c) { c.review_start = c.proposals_start - 1; }, "phases");
  fails_on([](Constitution& c) { c.max_choices = 0; }, "max_choices");
  fails_on([](Constitution& c) { c.min_choices = 6; }, "min_choices");
  fails_on([](Constitution& c) { c.points_total_max = 0; }, "points_total_max");
  fails_on([](Constitution& c) { c.points_per_project_max = 11; }, "points_per_project_max");
  fails_on([](Constitution& c) { c.ballot_type = BallotType::kApproval; }, "cumulative ballots only");
  fails_on([](Constitution& c) { c.outcome_rule = 7; }, "outcome_rule");
}

TEST(Constitution, DecodingRefusesAnInconsistentOne) {
  Bytes bytes = Encode(OpenRound{SampleConstitution()}).value();
  bytes.back() = 1;                 // tie_break: fine
  ASSERT_TRUE(Decode<OpenRound>(bytes).has_value());
  bytes[bytes.size() - 2] = 0;      // outcome_rule 0
  Result<OpenRound> decoded = Decode<OpenRound>(bytes);
  ASSERT_FALSE(decoded.has_value());
  EXPECT_EQ(decoded.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(decoded.error().message.find("outcome_rule"), std::string::npos);
}

TEST(ResidentIds, PaperIdsDependOnChainAndReference) {
  const ChainId a = testing::TestChain("city-a");
  EXPECT_EQ(PaperResidentId(a, "P-1"), PaperResidentId(a, "P-1"));
  EXPECT_NE(PaperResidentId(a, "P-1"), PaperResidentId(a, "P-2"));
  EXPECT_NE(PaperResidentId(a, "P-1"), PaperResidentId(testing::TestChain("city-b"), "P-1"));
}

TEST(VerifiedTx, OnlyAValidSignatureMakesOne) {
  const Tx tx = testing::SampleBallotTx();
  Result<VerifiedTx> verified = VerifyTx(tx);
  ASSERT_TRUE(verified.has_value());
  EXPECT_EQ(verified->id(), TxId(tx).value());
  Tx forged = tx;
  forged.body.nonce += 1;
  EXPECT_EQ(VerifyTx(forged).error().code, ErrorCode::kBadSignature);
}

}  // namespace
}  // namespace civic::proto
