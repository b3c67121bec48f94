#include "civic/proto/hash.h"

#include <cstring>

#include <sodium.h>

#include "civic/proto/assert.h"

namespace civic::proto {

static_assert(sizeof(crypto_hash_sha256_state) == 104, "TaggedHasher::midstate_ must hold the sha256 state");
static_assert(alignof(crypto_hash_sha256_state) <= 8);
static_assert(crypto_hash_sha256_BYTES == Hash32::kSize);

std::string_view DomainName(Domain domain) {
  switch (domain) {
    case Domain::kTransaction: return "transaction";
    case Domain::kTransactionId: return "transaction-id";
    case Domain::kBlockHeader: return "block-header";
    case Domain::kVote: return "vote";
    case Domain::kValidatorSet: return "validator-set";
    case Domain::kPaperResident: return "paper-resident";
    case Domain::kProposal: return "proposal";
    case Domain::kGenesis: return "genesis";
    case Domain::kStateEntry: return "state-entry";
    case Domain::kAppHash: return "app-hash";
    case Domain::kPeerHandshake: return "peer-handshake";
    case Domain::kValidatorChange: return "validator-change";
    case Domain::kEvidence: return "evidence";
  }
  CIVIC_ASSERT(false && "unnamed Domain");
}

std::string DomainTag(const ChainId& chain_id, Domain domain) {
  // Neither a domain name nor a chain id contains '/', so the tag is unambiguous.
  CIVIC_ASSERT(!chain_id.str().empty());
  return "civic-ledger/v1/" + std::string(DomainName(domain)) + "/" + chain_id.str();
}

Hash32 Sha256(ByteView data) {
  Hash32 out;
  crypto_hash_sha256(out.bytes.data(), data.data(), data.size());
  return out;
}

TaggedHasher::TaggedHasher(const ChainId& chain_id, Domain domain) {
  const std::string tag = DomainTag(chain_id, domain);
  const Hash32 tag_hash = Sha256(AsBytes(tag));
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, tag_hash.bytes.data(), tag_hash.bytes.size());
  crypto_hash_sha256_update(&state, tag_hash.bytes.data(), tag_hash.bytes.size());
  std::memcpy(midstate_.data(), &state, sizeof(state));
}

Hash32 TaggedHasher::Hash(ByteView message) const {
  crypto_hash_sha256_state state;
  std::memcpy(&state, midstate_.data(), sizeof(state));
  crypto_hash_sha256_update(&state, message.data(), message.size());
  Hash32 out;
  crypto_hash_sha256_final(&state, out.bytes.data());
  return out;
}

Hash32 TaggedHash(const ChainId& chain_id, Domain domain, ByteView message) {
  return TaggedHasher(chain_id, domain).Hash(message);
}

}  // namespace civic::proto
