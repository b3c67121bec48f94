// Helpers shared by the consensus tests: validators with fixed keys and unequal power, signed
// votes and proposals, and a tiny in-order network of engines.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "civic/consensus/engine.h"
#include "civic/consensus/messages.h"
#include "civic/consensus/types.h"
#include "civic/proto/chain.h"
#include "civic/proto/ed25519.h"
#include "civic/proto/hash.h"
#include "civic/proto/vote.h"

namespace civic::consensus::testing {

inline proto::ChainId TestChain() { return proto::ChainId::Parse("consensus-test").value(); }

inline ValueId Block(std::string_view name) { return proto::Sha256(proto::AsBytes(name)); }

// Validators with the given powers; keys[i] signs for set.validators[i] (ascending keys).
struct Validators {
  std::vector<proto::Ed25519KeyPair> keys;
  proto::ValidatorSet set;

  const ValidatorId& id(std::size_t i) const { return set.validators[i].key; }
  std::size_t IndexOf(const ValidatorId& key) const {
    for (std::size_t i = 0; i < set.validators.size(); ++i) {
      if (set.validators[i].key == key) return i;
    }
    ADD_FAILURE() << "not a validator";
    return 0;
  }
};

inline proto::Secret32 Seed(std::uint8_t tag, std::uint8_t index) {
  proto::Secret32 seed{};
  seed.fill(tag);
  seed[0] = index;
  return seed;
}

inline Validators MakeValidators(const std::vector<std::uint64_t>& powers, std::uint8_t tag = 0x5a) {
  std::vector<proto::Ed25519KeyPair> keys;
  for (std::size_t i = 0; i < powers.size(); ++i) {
    keys.push_back(proto::Ed25519KeyPair::FromSeed(Seed(tag, static_cast<std::uint8_t>(i))));
  }
  std::sort(keys.begin(), keys.end(), [](const proto::Ed25519KeyPair& a, const proto::Ed25519KeyPair& b) {
    return a.public_key() < b.public_key();
  });
  Validators out;
  for (std::size_t i = 0; i < keys.size(); ++i) out.set.validators.push_back({keys[i].public_key(), powers[i]});
  out.keys = std::move(keys);
  return out;
}

inline proto::Vote MakeVote(const Validators& v, std::size_t who, proto::VoteType type, Height height, Round round,
                            NilOrValue value) {
  proto::VoteBody body;
  body.type = type;
  body.height = height;
  body.round = WireRound(round);
  body.block_hash = value;
  body.validator = v.id(who);
  return proto::SignVote(TestChain(), body, v.keys[who]).value();
}

inline Proposal MakeProposal(const Validators& v, std::size_t who, Height height, Round round, const ValueId& value,
                             Round valid_round = kNilRound) {
  ProposalBody body;
  body.height = height;
  body.round = WireRound(round);
  body.block_hash = value;
  if (valid_round != kNilRound) body.valid_round = WireRound(valid_round);
  body.proposer = v.id(who);
  return SignProposal(TestChain(), body, v.keys[who]).value();
}

}  // namespace civic::consensus::testing
