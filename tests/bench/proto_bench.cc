// proto/ benchmarks (Google Benchmark). Run:
//   build/release/tests/bench/proto_bench
// Targets (issue: foundation): Schnorr verify within 10% of the bare libsecp256k1 call;
// decode + hash of a ballot transaction at most 2 us; Merkle root of 100,000 transaction
// hashes at most 100 ms.
#include <benchmark/benchmark.h>

#include <secp256k1.h>
#include <secp256k1_extrakeys.h>
#include <secp256k1_schnorrsig.h>

#include "civic/proto/merkle.h"
#include "samples.h"

namespace civic::proto {
namespace {

struct SignedDigest {
  SchnorrPublicKey key;
  Hash32 digest;
  SchnorrSignature signature;
};

SignedDigest MakeSignedDigest() {
  const SchnorrKeyPair key = SchnorrKeyPair::FromSecret(testing::Filled(0x42)).value();
  const Hash32 digest = Sha256(AsBytes("a ballot"));
  return {key.public_key(), digest, key.Sign(digest.view(), testing::Filled(0))};
}

void BM_SchnorrSign(benchmark::State& state) {
  const SchnorrKeyPair key = SchnorrKeyPair::FromSecret(testing::Filled(0x42)).value();
  const Hash32 digest = Sha256(AsBytes("a ballot"));
  for (auto _ : state) benchmark::DoNotOptimize(key.Sign(digest.view(), testing::Filled(0)));
}
BENCHMARK(BM_SchnorrSign);

void BM_SchnorrVerify(benchmark::State& state) {
  const SignedDigest s = MakeSignedDigest();
  for (auto _ : state) {
    const bool ok = SchnorrVerify(s.key, s.digest.view(), s.signature);
    if (!ok) state.SkipWithError("signature did not verify");
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_SchnorrVerify);

// The bare library call on the same inputs: parse the 32-byte key, verify. Our wrapper does
// exactly this, so the two should match.
void BM_SchnorrVerifyBareLibsecp256k1(benchmark::State& state) {
  const SignedDigest s = MakeSignedDigest();
  for (auto _ : state) {
    secp256k1_xonly_pubkey key;
    int ok = secp256k1_xonly_pubkey_parse(secp256k1_context_static, &key, s.key.bytes.data());
    ok = ok && secp256k1_schnorrsig_verify(secp256k1_context_static, s.signature.bytes.data(), s.digest.bytes.data(),
                                           s.digest.bytes.size(), &key);
    if (ok != 1) state.SkipWithError("signature did not verify");
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_SchnorrVerifyBareLibsecp256k1);

// The verify call alone, with the key parsed once outside the loop.
void BM_SchnorrVerifyBareLibsecp256k1PreparsedKey(benchmark::State& state) {
  const SignedDigest s = MakeSignedDigest();
  secp256k1_xonly_pubkey key;
  if (secp256k1_xonly_pubkey_parse(secp256k1_context_static, &key, s.key.bytes.data()) != 1) {
    state.SkipWithError("key did not parse");
  }
  for (auto _ : state) {
    const int ok = secp256k1_schnorrsig_verify(secp256k1_context_static, s.signature.bytes.data(),
                                               s.digest.bytes.data(), s.digest.bytes.size(), &key);
    benchmark::DoNotOptimize(ok);
  }
}
BENCHMARK(BM_SchnorrVerifyBareLibsecp256k1PreparsedKey);

void BM_Ed25519Verify(benchmark::State& state) {
  const Ed25519KeyPair key = Ed25519KeyPair::FromSeed(testing::Filled(0x43));
  const Hash32 digest = Sha256(AsBytes("a vote"));
  const Ed25519Signature signature = key.Sign(digest.view());
  for (auto _ : state) benchmark::DoNotOptimize(Ed25519Verify(key.public_key(), digest.view(), signature));
}
BENCHMARK(BM_Ed25519Verify);

void BM_Sha256(benchmark::State& state) {
  const Bytes data(static_cast<std::size_t>(state.range(0)), 0x5A);
  for (auto _ : state) benchmark::DoNotOptimize(Sha256(data));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * state.range(0));
}
BENCHMARK(BM_Sha256)->Arg(64)->Arg(1024)->Arg(1 << 20);

void BM_EncodeBallotTx(benchmark::State& state) {
  const Tx tx = testing::SampleBallotTx();
  for (auto _ : state) benchmark::DoNotOptimize(Encode(tx));
}
BENCHMARK(BM_EncodeBallotTx);

void BM_DecodeBallotTx(benchmark::State& state) {
  const Bytes bytes = Encode(testing::SampleBallotTx()).value();
  for (auto _ : state) benchmark::DoNotOptimize(Decode<Tx>(bytes));
}
BENCHMARK(BM_DecodeBallotTx);

// What a node does with a ballot's bytes before the signature check: decode the envelope,
// decode the ballot inside it, and compute the transaction id from the received bytes.
void BM_DecodeAndHashBallotTx(benchmark::State& state) {
  const Bytes bytes = Encode(testing::SampleBallotTx()).value();
  const TaggedHasher tx_id(testing::TestChain(), Domain::kTransactionId);
  for (auto _ : state) {
    Result<Tx> tx = Decode<Tx>(bytes);
    Result<Ballot> ballot = Decode<Ballot>(tx->body.payload);
    benchmark::DoNotOptimize(ballot);
    benchmark::DoNotOptimize(tx_id.Hash(bytes));
  }
  state.counters["tx_bytes"] = static_cast<double>(bytes.size());
}
BENCHMARK(BM_DecodeAndHashBallotTx);

// The same through the convenience API, which re-encodes the decoded Tx to hash it.
void BM_DecodeAndTxIdBallotTx(benchmark::State& state) {
  const Bytes bytes = Encode(testing::SampleBallotTx()).value();
  for (auto _ : state) {
    Result<Tx> tx = Decode<Tx>(bytes);
    benchmark::DoNotOptimize(Decode<Ballot>(tx->body.payload));
    benchmark::DoNotOptimize(TxId(*tx));
  }
}
BENCHMARK(BM_DecodeAndTxIdBallotTx);

std::vector<Hash32> TxHashes(std::size_t count) {
  std::vector<Hash32> leaves;
  leaves.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    Bytes seed(8);
    for (std::size_t b = 0; b < 8; ++b) seed[b] = static_cast<std::uint8_t>(i >> (8 * b));
    leaves.push_back(MerkleLeafHash(Sha256(seed).view()));
  }
  return leaves;
}

void BM_MerkleRoot(benchmark::State& state) {
  const std::vector<Hash32> leaves = TxHashes(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state) benchmark::DoNotOptimize(MerkleRoot(leaves));
}
BENCHMARK(BM_MerkleRoot)->Arg(100'000)->Unit(benchmark::kMillisecond);

// From transaction hashes: a leaf hash each, then the root (what a block's tx_root costs).
void BM_MerkleRootFromTxHashes(benchmark::State& state) {
  std::vector<Hash32> tx_ids(static_cast<std::size_t>(state.range(0)));
  for (std::size_t i = 0; i < tx_ids.size(); ++i) tx_ids[i] = Sha256(AsBytes(std::to_string(i)));
  std::vector<Hash32> leaves(tx_ids.size());
  for (auto _ : state) {
    for (std::size_t i = 0; i < tx_ids.size(); ++i) leaves[i] = MerkleLeafHash(tx_ids[i].view());
    benchmark::DoNotOptimize(MerkleRoot(leaves));
  }
}
BENCHMARK(BM_MerkleRootFromTxHashes)->Arg(100'000)->Unit(benchmark::kMillisecond);

void BM_VerifyInclusionProof(benchmark::State& state) {
  const std::vector<Hash32> leaves = TxHashes(100'000);
  const Hash32 root = MerkleRoot(leaves);
  const std::uint64_t index = 61'234;
  const std::vector<Hash32> proof = MerkleInclusionProof(leaves, index).value();
  for (auto _ : state) {
    Result<void> ok = VerifyMerkleInclusion(leaves[index], index, leaves.size(), proof, root);
    if (!ok) state.SkipWithError("proof did not verify");
  }
  state.counters["proof_hashes"] = static_cast<double>(proof.size());
}
BENCHMARK(BM_VerifyInclusionProof);

void BM_VerifyConsistencyProof(benchmark::State& state) {
  const std::vector<Hash32> leaves = TxHashes(100'000);
  const std::uint64_t old_size = 77'777;
  const Hash32 old_root = MerkleRoot(std::span(leaves).first(old_size));
  const Hash32 new_root = MerkleRoot(leaves);
  const std::vector<Hash32> proof = MerkleConsistencyProof(leaves, old_size).value();
  for (auto _ : state) {
    Result<void> ok = VerifyMerkleConsistency(old_size, leaves.size(), old_root, new_root, proof);
    if (!ok) state.SkipWithError("proof did not verify");
  }
  state.counters["proof_hashes"] = static_cast<double>(proof.size());
}
BENCHMARK(BM_VerifyConsistencyProof);

void BM_VerifyCommitCertificate4Validators(benchmark::State& state) {
  const testing::SampleValidators validators = testing::MakeSampleValidators();
  const CommitCertificate commit = testing::SampleCommit(validators, {0, 1, 2, 3});
  for (auto _ : state) {
    if (!VerifyCommitCertificate(testing::TestChain(), validators.set, commit)) state.SkipWithError("bad commit");
  }
}
BENCHMARK(BM_VerifyCommitCertificate4Validators);

}  // namespace
}  // namespace civic::proto

BENCHMARK_MAIN();
