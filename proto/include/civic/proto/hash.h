// SHA-256 (libsodium) and tagged hashes with domain separation.
//
// TaggedHash(chain, domain, m) = SHA-256(SHA-256(tag) || SHA-256(tag) || m), as BIP-340 tags
// its hashes, with tag = "civic-ledger/v1/" + DomainName(domain) + "/" + chain id. So a
// digest made for one kind of message, or on one chain, is never the digest of another, and
// a signature over it never verifies as another. Anyone can recompute a digest from this
// comment alone.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

#include "civic/proto/bytes.h"
#include "civic/proto/chain.h"

namespace civic::proto {

enum class Domain : std::uint8_t {
  kTransaction = 1,  // what a resident or clerk signs: the encoded TxBody
  kTransactionId,    // a transaction's id: the whole encoded Tx, signature included
  kBlockHeader,      // a block's hash: the encoded BlockHeader
  kVote,             // what a validator signs: the encoded VoteBody
  kValidatorSet,     // the validator-set hash carried in block headers
  kPaperResident,    // a paper-only resident's id, from the clerk's reference
  kProposal,         // what a validator signs to propose a block: the encoded consensus ProposalBody
  kGenesis,          // a genesis file's hash: the canonical encoding of its contents (node/genesis.h)
  kStateEntry,       // one contract-state key and value, before it is spread over the app hash's lanes
  kAppHash,          // the application hash: the lanes of the state commitment (node/app_hash.h)
  kPeerHandshake,    // what a node signs to prove its key on a peer connection (node/p2p.h)
  kValidatorChange,  // what clerks co-sign to change the validator set: the encoded ValidatorChange
  kEvidence,         // a Merkle leaf of a block's evidence: one encoded VoteEquivocation
};

// "transaction", "transaction-id", "block-header", "vote", "validator-set", "paper-resident",
// "proposal", "genesis", "state-entry", "app-hash", "peer-handshake", "validator-change",
// "evidence".
std::string_view DomainName(Domain domain);
std::string DomainTag(const ChainId& chain_id, Domain domain);

Hash32 Sha256(ByteView data);

// Precomputes the 64-byte tag prefix once, so hashing many messages of one domain costs only
// the messages themselves.
class TaggedHasher {
 public:
  TaggedHasher(const ChainId& chain_id, Domain domain);
  Hash32 Hash(ByteView message) const;

 private:
  // libsodium's crypto_hash_sha256_state after absorbing the prefix; opaque here so that
  // sodium.h stays out of this header (its size is checked in hash.cc).
  alignas(8) std::array<unsigned char, 104> midstate_{};
};

Hash32 TaggedHash(const ChainId& chain_id, Domain domain, ByteView message);

}  // namespace civic::proto
