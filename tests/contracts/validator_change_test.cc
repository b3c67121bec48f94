// Validator-set changes as the contracts decide them: who must sign, in which order, until
// when, and what is stored for the node, the audit and receipts.
#include <gtest/gtest.h>

#include "state_fixture.h"

namespace civic::contracts::testing {
namespace {

using proto::TxKind;

proto::ValidatorSet SetOf(std::initializer_list<std::uint8_t> fills) {
  proto::ValidatorSet set;
  for (std::uint8_t fill : fills) {
    proto::Ed25519PublicKey key;
    key.bytes.fill(fill);
    set.validators.push_back(proto::Validator{key, 10});
  }
  return set;
}

class ValidatorChangeTest : public ContractsTest {
 protected:
  const proto::SchnorrKeyPair& other_clerk() const { return clerks_[1]; }

  proto::ValidatorChange Change(std::uint32_t sequence, proto::ValidatorSet set) const {
    return proto::ValidatorChange{sequence, std::move(set), "clerk office 5 joins the network", height_ + 100};
  }

  proto::ChangeValidators CosignedBy(const proto::ValidatorChange& change,
                                     std::initializer_list<const proto::SchnorrKeyPair*> clerks) const {
    proto::ChangeValidators payload{change, {}};
    for (const proto::SchnorrKeyPair* clerk : clerks) {
      payload.cosignatures.push_back(proto::CosignValidatorChange(chain_, change, *clerk, Filled(7)).value());
    }
    std::sort(payload.cosignatures.begin(), payload.cosignatures.end(),
              [](const proto::ClerkSignature& a, const proto::ClerkSignature& b) { return a.clerk < b.clerk; });
    return payload;
  }
};

TEST_F(ValidatorChangeTest, TwoClerksChangeTheSetFromTheHeightAfterNext) {
  height_ = 7;
  const proto::ValidatorChange change = Change(1, SetOf({1, 2, 3, 4, 5}));
  const Applied applied = Ok(clerk(), TxKind::kChangeValidators, CosignedBy(change, {&other_clerk()}));
  ASSERT_TRUE(applied.next_validators.has_value());
  EXPECT_EQ(*applied.next_validators, change.validators);
  ASSERT_EQ(applied.events.size(), 1u);
  EXPECT_EQ(applied.events[0].type, "validators-changed");
  EXPECT_EQ(applied.events[0].attributes.at(1), (std::pair<std::string, std::string>{"effective_from_height", "9"}));

  const std::vector<ValidatorChangeRecord> changes = contracts_.ValidatorChanges(kv_).value();
  ASSERT_EQ(changes.size(), 1u);
  EXPECT_EQ(changes[0].change, change);
  EXPECT_EQ(changes[0].decided_at_height, 7u);
  EXPECT_EQ(changes[0].effective_from_height, 7u + kValidatorChangeDelay);
  std::vector<proto::SchnorrPublicKey> both = {clerk().public_key(), other_clerk().public_key()};
  std::sort(both.begin(), both.end());
  EXPECT_EQ(changes[0].signed_by, both);
  EXPECT_EQ(DescribeStateKey(Bytes{'v', 'c', 'h', '/', 0, 0, 0, 1}), "validator change 1");
}

TEST_F(ValidatorChangeTest, OneClerkIsNotEnoughWhenTheGenesisAsksForTwo) {
  const proto::ValidatorChange change = Change(1, SetOf({1, 2}));
  // Alone, and alone with her own co-signature: one clerk either way.
  Refused(clerk(), TxKind::kChangeValidators, CosignedBy(change, {}), TxError::kTooFewClerkSignatures);
  const Rejection twice =
      Refused(clerk(), TxKind::kChangeValidators, CosignedBy(change, {&clerk()}), TxError::kTooFewClerkSignatures);
  EXPECT_NE(twice.message.find("signed by 1 clerk(s); this network needs 2"), std::string::npos) << twice.message;
  // Co-signed by both, submitted by someone who is no clerk: the submitter must be one.
  Refused(resident(9), TxKind::kChangeValidators, CosignedBy(change, {&clerk(), &other_clerk()}), TxError::kNotClerk);
}

TEST_F(ValidatorChangeTest, ACoSignatureMustBeAClerksForThisVeryChange) {
  const proto::ValidatorChange change = Change(1, SetOf({1, 2}));
  Refused(clerk(), TxKind::kChangeValidators, CosignedBy(change, {&resident(3)}), TxError::kBadClerkSignature);

  // Signed for another set, then carried over to this one.
  proto::ChangeValidators moved = CosignedBy(Change(1, SetOf({1, 2, 9})), {&other_clerk()});
  moved.change = change;
  Refused(clerk(), TxKind::kChangeValidators, moved, TxError::kBadClerkSignature);

  // Signed for another chain.
  proto::ChangeValidators foreign{change, {}};
  const proto::ChainId elsewhere = proto::ChainId::Parse("another-city").value();
  foreign.cosignatures.push_back(proto::CosignValidatorChange(elsewhere, change, other_clerk(), Filled(7)).value());
  Refused(clerk(), TxKind::kChangeValidators, foreign, TxError::kBadClerkSignature);
}

TEST_F(ValidatorChangeTest, ChangesApplyInSequenceOncePerBlockAndNeverTwice) {
  height_ = 5;
  Refused(clerk(), TxKind::kChangeValidators, CosignedBy(Change(2, SetOf({1})), {&other_clerk()}),
          TxError::kValidatorChangeOutOfOrder);
  const proto::ChangeValidators first = CosignedBy(Change(1, SetOf({1, 2})), {&other_clerk()});
  Ok(clerk(), TxKind::kChangeValidators, first);
  // The same co-signed change again, in a new transaction: its number is taken.
  const Rejection again = Refused(clerk(), TxKind::kChangeValidators, first, TxError::kValidatorChangeOutOfOrder);
  EXPECT_NE(again.message.find("already made at height 5"), std::string::npos) << again.message;
  // Change 2 in the block that decided change 1: the schedule takes one change per height.
  const proto::ChangeValidators second = CosignedBy(Change(2, SetOf({1, 3})), {&other_clerk()});
  Refused(clerk(), TxKind::kChangeValidators, second, TxError::kValidatorChangeOutOfOrder);
  height_ = 6;
  const Applied applied = Ok(clerk(), TxKind::kChangeValidators, second);
  EXPECT_EQ(applied.next_validators, SetOf({1, 3}));
  const std::vector<ValidatorChangeRecord> changes = contracts_.ValidatorChanges(kv_).value();
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].change.sequence, 1u);
  EXPECT_EQ(changes[1].change.sequence, 2u);
  EXPECT_EQ(changes[1].effective_from_height, 8u);
}

TEST_F(ValidatorChangeTest, CoSignaturesLapseAfterTheirHeight) {
  height_ = 10;
  const proto::ChangeValidators payload = CosignedBy(Change(1, SetOf({1, 2})), {&other_clerk()});
  height_ = payload.change.valid_until_height + 1;
  Refused(clerk(), TxKind::kChangeValidators, payload, TxError::kValidatorChangeExpired);
  height_ = payload.change.valid_until_height;
  Ok(clerk(), TxKind::kChangeValidators, payload);
}

TEST_F(ValidatorChangeTest, APayloadWithCoSignersOutOfOrderDoesNotDecode) {
  proto::ChangeValidators payload = CosignedBy(Change(1, SetOf({1, 2})), {&clerk(), &other_clerk()});
  std::swap(payload.cosignatures[0], payload.cosignatures[1]);
  // Encode refuses it too; sign the raw bytes of a reordered list instead.
  proto::Bytes bytes = proto::Encode(CosignedBy(payload.change, {&clerk(), &other_clerk()})).value();
  const auto size = bytes.size();
  // The two 96-byte co-signatures are the last 192 bytes: swap them.
  std::swap_ranges(bytes.begin() + static_cast<std::ptrdiff_t>(size - 192),
                   bytes.begin() + static_cast<std::ptrdiff_t>(size - 96),
                   bytes.begin() + static_cast<std::ptrdiff_t>(size - 96));
  Refused(clerk(), TxKind::kChangeValidators, bytes, TxError::kMalformedPayload);
  EXPECT_FALSE(proto::Encode(payload).has_value());
}

}  // namespace
}  // namespace civic::contracts::testing
