// civic-demo: what exists so far, shown step by step in plain words. Later issues grow this
// into a whole budget round on a local validator network (testnet/demo runs it).
#include <sodium.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "civic/proto/block.h"
#include "civic/proto/codec.h"
#include "civic/proto/hash.h"
#include "civic/proto/merkle.h"
#include "civic/proto/tx.h"
#include "civic/proto/vote.h"

namespace proto = civic::proto;

namespace {

proto::Secret32 RandomSecret() {
  proto::Secret32 out;
  randombytes_buf(out.data(), out.size());
  return out;
}

template <class T>
T OrDie(proto::Result<T> result, const char* what) {
  if (!result) {
    std::fprintf(stderr, "civic-demo: %s failed: %s\n", what, proto::ToString(result.error()).c_str());
    std::exit(1);
  }
  return std::move(*result);
}

void Check(bool ok, const char* what) {
  std::printf("  %-58s %s\n", what, ok ? "yes" : "NO");
  if (!ok) std::exit(1);
}

std::string Short(const std::string& hex) { return hex.substr(0, 16) + "..."; }

}  // namespace

int main() {
  if (sodium_init() < 0) {
    std::fprintf(stderr, "civic-demo: libsodium failed to initialise\n");
    return 1;
  }
  const proto::ChainId chain = OrDie(proto::ChainId::Parse("demo-city"), "chain id");
  std::printf("civic-ledger demo on chain \"%s\"\n\n", chain.str().c_str());

  std::printf("1. A resident makes a key (BIP-340 Schnorr, secp256k1)\n");
  const proto::SchnorrKeyPair resident = OrDie(proto::SchnorrKeyPair::FromSecret(RandomSecret()), "key generation");
  std::printf("  public key: %s\n\n", proto::ToHex(resident.public_key()).c_str());

  std::printf("2. The resident signs a ballot: projects 2 and 5 in round 1\n");
  const proto::Ballot ballot{1, {{2, 1}, {5, 1}}};
  proto::TxBody body;
  body.kind = proto::TxKind::kCastBallot;
  body.chain_id = chain;
  body.signer = resident.public_key();
  body.nonce = 1;
  body.valid_until_height = 10'000;
  body.payload = OrDie(proto::Encode(ballot), "encoding the ballot");
  const proto::Tx tx = OrDie(proto::SignTx(body, resident, RandomSecret()), "signing");
  const proto::Bytes tx_bytes = OrDie(proto::Encode(tx), "encoding the transaction");
  const proto::Hash32 tx_id = OrDie(proto::TxId(tx), "transaction id");
  std::printf("  transaction: %zu bytes, id %s\n", tx_bytes.size(), Short(proto::ToHex(tx_id)).c_str());
  std::printf("  signed digest: tag \"%s\"\n", proto::DomainTag(chain, proto::Domain::kTransaction).c_str());

  std::printf("\n3. A node decodes and verifies it\n");
  const proto::Tx received = OrDie(proto::Decode<proto::Tx>(tx_bytes), "decoding");
  Check(received == tx, "decoded transaction equals the one sent");
  Check(proto::VerifyTxSignature(received).has_value(), "signature verifies");
  proto::Tx tampered = received;
  tampered.body.payload.back() ^= 1;  // someone changes a vote in transit
  const proto::Result<void> refused = proto::VerifyTxSignature(tampered);
  Check(!refused.has_value(), "a ballot changed in transit is refused");
  std::printf("    (%s)\n", proto::ToString(refused.error()).c_str());
  proto::Bytes truncated(tx_bytes.begin(), tx_bytes.end() - 1);
  const proto::Result<proto::Tx> bad = proto::Decode<proto::Tx>(truncated);
  Check(!bad.has_value(), "a truncated transaction is refused");
  std::printf("    (%s)\n", proto::ToString(bad.error()).c_str());
  const proto::ChainId other_chain = OrDie(proto::ChainId::Parse("another-city"), "chain id");
  proto::Tx replayed = received;
  replayed.body.chain_id = other_chain;
  Check(!proto::VerifyTxSignature(replayed).has_value(), "the same signature is refused on another chain");

  std::printf("\n4. The transaction goes into a block of 1,000: Merkle tree (RFC 6962)\n");
  std::vector<proto::Hash32> leaves;
  for (int i = 0; i < 999; ++i) leaves.push_back(proto::MerkleLeafHash(proto::Sha256(proto::AsBytes(std::to_string(i))).view()));
  const std::uint64_t index = 617;
  leaves.insert(leaves.begin() + static_cast<std::ptrdiff_t>(index), proto::MerkleLeafHash(tx_id.view()));
  const proto::Hash32 root = proto::MerkleRoot(leaves);
  const std::vector<proto::Hash32> proof = OrDie(proto::MerkleInclusionProof(leaves, index), "inclusion proof");
  std::printf("  root %s, inclusion proof of %zu hashes for leaf %llu\n", Short(proto::ToHex(root)).c_str(),
              proof.size(), static_cast<unsigned long long>(index));
  Check(proto::VerifyMerkleInclusion(proto::MerkleLeafHash(tx_id.view()), index, leaves.size(), proof, root).has_value(),
        "the resident's ballot is provably in the block");
  Check(!proto::VerifyMerkleInclusion(proto::MerkleLeafHash(tx_id.view()), index + 1, leaves.size(), proof, root).has_value(),
        "the same proof for another position is refused");

  std::printf("\n5. Four validators (Ed25519) commit the block\n");
  std::vector<proto::Ed25519KeyPair> keys;
  for (int i = 0; i < 4; ++i) keys.push_back(proto::Ed25519KeyPair::FromSeed(RandomSecret()));
  std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.public_key() < b.public_key(); });
  proto::ValidatorSet validators;
  for (const auto& key : keys) validators.validators.push_back({key.public_key(), 1});
  proto::BlockHeader header;
  header.chain_id = chain;
  header.height = 1;
  header.time_unix_ms = 1'790'000'000'000;
  header.tx_root = root;
  header.validator_set_hash = OrDie(proto::ValidatorSetHash(chain, validators), "validator set hash");
  header.proposer = keys[0].public_key();
  const proto::Hash32 block_hash = OrDie(proto::BlockHash(header), "block hash");
  proto::CommitCertificate commit{1, 0, block_hash, {}};
  for (std::uint32_t i = 0; i < 3; ++i) {  // three of four sign: more than 2/3
    proto::VoteBody precommit{proto::kVoteVersion, proto::VoteType::kPrecommit, 1, 0, block_hash, keys[i].public_key()};
    commit.signatures.push_back({i, OrDie(proto::SignVote(chain, precommit, keys[i]), "vote").signature});
  }
  std::printf("  block 1 hash %s, certificate with 3 of 4 precommits\n", Short(proto::ToHex(block_hash)).c_str());
  Check(proto::VerifyCommitCertificate(chain, validators, commit).has_value(), "the commit certificate verifies");
  commit.signatures.pop_back();
  const proto::Result<void> short_commit = proto::VerifyCommitCertificate(chain, validators, commit);
  Check(!short_commit.has_value(), "two of four signatures are not enough");
  std::printf("    (%s)\n", proto::ToString(short_commit.error()).c_str());

  std::printf("\nEverything above was checked.\n");
  return 0;
}
