// Sample values of every message type, signed with fixed test keys, for round-trip and
// rejection tests (and the fuzzers' seed corpus).
#pragma once

#include "civic/proto/block.h"
#include "civic/proto/codec.h"
#include "civic/proto/hash.h"
#include "civic/proto/payloads.h"
#include "civic/proto/tx.h"
#include "civic/proto/vote.h"
#include "test_util.h"

namespace civic::proto::testing {

// Encode, decode, encode again: the same value and the same bytes; and every strict prefix of
// the bytes is refused.
template <class T>
void ExpectRoundTrip(const T& value) {
  Result<Bytes> bytes = Encode(value);
  ASSERT_TRUE(bytes.has_value()) << bytes.error().message;
  Result<T> decoded = Decode<T>(*bytes);
  ASSERT_TRUE(decoded.has_value()) << decoded.error().message;
  EXPECT_TRUE(*decoded == value);
  EXPECT_EQ(Encode(*decoded).value(), *bytes);
  for (std::size_t n = 0; n < bytes->size(); ++n) EXPECT_FALSE(Decode<T>(ByteView(*bytes).first(n)).has_value()) << n;
}

// A cumulative round with district budgets, timed phases and a UTF-8 title.
inline Constitution SampleConstitution() {
  Constitution c;
  c.round_id = 3;
  c.title = "Budżet obywatelski 2027";
  c.total_budget = 1'000'000;
  c.district_budgets = {{1, 200'000}, {4, 300'000}};
  c.phase_basis = PhaseBasis::kTimeUnixMs;
  c.proposals_start = 1'000;
  c.review_start = 2'000;
  c.voting_start = 3'000;
  c.voting_end = 4'000;
  c.ballot_type = BallotType::kCumulative;
  c.min_choices = 1;
  c.max_choices = 5;
  c.points_total_max = 10;
  c.points_per_project_max = 4;
  c.outcome_rule = 4;
  return c;
}

inline Ballot SampleBallot() { return Ballot{42, {{1, 1}, {3, 2}, {17, 1}}}; }

inline Tx SampleBallotTx() {
  const SchnorrKeyPair resident = SchnorrKeyPair::FromSecret(Filled(0x11)).value();
  TxBody body;
  body.kind = TxKind::kCastBallot;
  body.chain_id = TestChain();
  body.signer = resident.public_key();
  body.nonce = 7;
  body.valid_until_height = 1000;
  body.payload = Encode(SampleBallot()).value();
  return SignTx(std::move(body), resident, Filled(0)).value();
}

inline BlockHeader SampleHeader() {
  BlockHeader header;
  header.chain_id = TestChain();
  header.height = 12;
  header.time_unix_ms = 1'790'000'000'000;
  header.previous_block_hash = Sha256(AsBytes("block 11"));
  header.tx_root = Sha256(AsBytes("txs"));
  header.app_hash = Sha256(AsBytes("state"));
  header.validator_set_hash = Sha256(AsBytes("validators"));
  header.proposer = Ed25519KeyPair::FromSeed(Filled(0x21)).public_key();
  return header;
}

// Four validators with unequal power, sorted by key as a ValidatorSet must be, and their keys
// in the same order.
struct SampleValidators {
  std::vector<Ed25519KeyPair> keys;
  ValidatorSet set;
};

inline SampleValidators MakeSampleValidators() {
  SampleValidators out;
  for (std::uint8_t seed = 0x31; seed <= 0x34; ++seed) out.keys.push_back(Ed25519KeyPair::FromSeed(Filled(seed)));
  std::sort(out.keys.begin(), out.keys.end(),
            [](const Ed25519KeyPair& a, const Ed25519KeyPair& b) { return a.public_key() < b.public_key(); });
  const std::uint64_t powers[] = {10, 20, 30, 40};
  for (std::size_t i = 0; i < out.keys.size(); ++i) out.set.validators.push_back({out.keys[i].public_key(), powers[i]});
  return out;
}

inline Vote SamplePrecommit(const SampleValidators& validators, std::size_t index, const Hash32& block_hash) {
  VoteBody body;
  body.type = VoteType::kPrecommit;
  body.height = 12;
  body.round = 1;
  body.block_hash = block_hash;
  body.validator = validators.keys[index].public_key();
  return SignVote(TestChain(), std::move(body), validators.keys[index]).value();
}

// Signed by the validators at `indices` (ascending).
inline CommitCertificate SampleCommit(const SampleValidators& validators, const std::vector<std::uint32_t>& indices) {
  CommitCertificate commit;
  commit.height = 12;
  commit.round = 1;
  commit.block_hash = BlockHash(SampleHeader()).value();
  for (std::uint32_t i : indices) {
    commit.signatures.push_back({i, SamplePrecommit(validators, i, commit.block_hash).signature});
  }
  return commit;
}

}  // namespace civic::proto::testing
