// A small network for contract tests: two clerks, three districts, residents with keys, and
// helpers that sign transactions as any of them and apply them at a given height.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <string>
#include <type_traits>

#include "civic/contracts/state.h"
#include "civic/contracts/tally.h"
#include "civic/proto/codec.h"
#include "civic/proto/hash.h"
#include "civic/proto/payloads.h"
#include "test_util.h"

namespace civic::contracts::testing {

using proto::testing::Filled;

inline proto::SchnorrKeyPair Key(std::uint8_t seed) { return proto::SchnorrKeyPair::FromSecret(Filled(seed)).value(); }

class ContractsTest : public ::testing::Test {
 protected:
  ContractsTest() : chain_(proto::ChainId::Parse("civic-test").value()), contracts_(chain_) {
    for (int seed : {0xC1, 0xC2}) clerks_.push_back(Key(static_cast<std::uint8_t>(seed)));
    GenesisState genesis;
    for (const auto& clerk : clerks_) genesis.clerks.push_back(clerk.public_key());
    std::sort(genesis.clerks.begin(), genesis.clerks.end());
    genesis.districts = {{1, "North"}, {2, "South"}, {3, "Harbour"}};
    genesis.clerk_threshold = 2;
    EXPECT_TRUE(contracts_.InitGenesis(kv_, genesis).has_value());
  }

  const proto::SchnorrKeyPair& clerk() const { return clerks_[0]; }

  // A resident's key, made once per seed.
  const proto::SchnorrKeyPair& resident(std::uint8_t seed) {
    auto it = residents_.find(seed);
    if (it == residents_.end()) it = residents_.emplace(seed, Key(seed)).first;
    return it->second;
  }

  template <class Payload>
  proto::VerifiedTx Signed(const proto::SchnorrKeyPair& signer, proto::TxKind kind, const Payload& payload) {
    proto::TxBody body;
    body.kind = kind;
    body.chain_id = chain_;
    body.signer = signer.public_key();
    body.nonce = next_nonce_++;
    body.valid_until_height = height_ + 1000;
    if constexpr (std::is_same_v<Payload, Bytes>) {
      body.payload = payload;  // raw bytes, e.g. a payload that must not decode
    } else {
      body.payload = proto::Encode(payload).value();
    }
    return proto::VerifyTx(proto::SignTx(std::move(body), signer, Filled(0)).value()).value();
  }

  Result<Applied> Apply(const proto::VerifiedTx& tx) {
    contracts_.BeginBlock(kv_, Block());
    return contracts_.Apply(kv_, Block(), tx);
  }

  template <class Payload>
  Result<Applied> Apply(const proto::SchnorrKeyPair& signer, proto::TxKind kind, const Payload& payload) {
    return Apply(Signed(signer, kind, payload));
  }

  // Expects the transaction to take effect.
  template <class Payload>
  Applied Ok(const proto::SchnorrKeyPair& signer, proto::TxKind kind, const Payload& payload) {
    Result<Applied> applied = Apply(signer, kind, payload);
    EXPECT_TRUE(applied.has_value()) << (applied ? "" : std::string(TxErrorName(applied.error().code)) + ": " +
                                                            applied.error().message);
    return applied.value_or(Applied{});
  }

  // Expects a rejection with `code`, and the state untouched.
  template <class Payload>
  Rejection Refused(const proto::SchnorrKeyPair& signer, proto::TxKind kind, const Payload& payload, TxError code) {
    const auto before = kv_.entries();
    Result<Applied> applied = Apply(signer, kind, payload);
    EXPECT_FALSE(applied.has_value()) << "expected " << TxErrorName(code);
    if (applied) return Rejection{};
    EXPECT_EQ(TxErrorName(applied.error().code), TxErrorName(code)) << applied.error().message;
    EXPECT_FALSE(applied.error().message.empty());
    EXPECT_TRUE(kv_.entries() == before) << "a rejected transaction changed the state";
    return applied.error();
  }

  void Register(std::uint8_t seed, std::vector<std::uint32_t> districts = {1}) {
    Ok(clerk(), proto::TxKind::kRegisterResident, proto::RegisterResident{resident(seed).public_key(), districts, 0});
  }

  // Round 1: proposals at heights [10, 20), review [20, 30), voting [30, 40).
  proto::Constitution RoundConstitution(proto::BallotType type = proto::BallotType::kApproval,
                                        OutcomeRule rule = OutcomeRule::kGreedy) {
    proto::Constitution c;
    c.round_id = 1;
    c.title = "Parks and streets 2027";
    c.total_budget = 100'000;
    c.proposals_start = 10;
    c.review_start = 20;
    c.voting_start = 30;
    c.voting_end = 40;
    c.ballot_type = type;
    c.min_choices = 1;
    c.max_choices = 3;
    if (type == proto::BallotType::kCumulative) {
      c.points_total_max = 10;
      c.points_per_project_max = 5;
    }
    c.outcome_rule = static_cast<std::uint8_t>(rule);
    return c;
  }

  // Opens the round at height 1; proposals (cost, district) by a resident of every district
  // (seed 0xAA) at height 10;
  // all reviewed feasible at height 20 but those in `infeasible`; then height 30 (voting).
  void OpenRoundWithProposals(const proto::Constitution& c,
                              const std::vector<std::pair<std::uint64_t, std::uint32_t>>& costs_and_districts,
                              const std::set<std::uint32_t>& infeasible = {}) {
    height_ = 1;
    Ok(clerk(), proto::TxKind::kOpenRound, proto::OpenRound{c});
    if (!contracts_.Resident(kv_, proto::ResidentIdOfKey(resident(kProposer).public_key())).value()) {
      Register(kProposer, {1, 2, 3});
    }
    height_ = 10;
    for (std::size_t i = 0; i < costs_and_districts.size(); ++i) {
      proto::SubmitProposal p{c.round_id, "Project " + std::to_string(i + 1), proto::Sha256(proto::AsBytes("d")),
                              costs_and_districts[i].first, costs_and_districts[i].second};
      Ok(resident(kProposer), proto::TxKind::kSubmitProposal, p);
    }
    height_ = 20;
    for (std::uint32_t id = 1; id <= costs_and_districts.size(); ++id) {
      const bool feasible = infeasible.count(id) == 0;
      Ok(clerk(), proto::TxKind::kReviewProposal,
         proto::ReviewProposal{c.round_id, id, feasible, feasible ? "checked by public works" : "land not owned by the city",
                               std::nullopt});
    }
    height_ = 30;
  }

  BlockContext Block() const { return {height_, 1'790'000'000'000 + height_ * 1000}; }

  static constexpr std::uint8_t kProposer = 0xAA;
  proto::ChainId chain_;
  BudgetContracts contracts_;
  MemoryKv kv_;
  std::vector<proto::SchnorrKeyPair> clerks_;
  std::map<std::uint8_t, proto::SchnorrKeyPair> residents_;
  std::uint64_t height_ = 1;
  std::uint64_t next_nonce_ = 1;
};

inline proto::Ballot Approve(std::uint64_t round, std::vector<std::uint32_t> projects) {
  proto::Ballot ballot{round, {}};
  for (std::uint32_t p : projects) ballot.choices.push_back({p, 1});
  return ballot;
}

}  // namespace civic::contracts::testing
