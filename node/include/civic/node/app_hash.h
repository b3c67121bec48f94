// The application hash: a commitment to the whole contract state, updated in time that grows
// with the keys a block changed, not with the size of the state.
//
// It is a lattice hash (LtHash: Bellare and Micciancio, "A new paradigm for collision-free
// hashing: incrementality at reduced cost", 1997, with the parameters Lewi, Kim, Maykov and
// Weis chose in "Securing update propagation with homomorphic hashing", 2019): the state is
// the multiset of its (key, value) entries, each entry is spread over 1024 lanes of 16 bits,
// and the commitment is the lane-wise sum mod 2^16 of all entries. Adding an entry adds its
// lanes; removing one subtracts them; so a block that changed k keys costs 2k entry hashes
// whatever the size of the state. The digest carried in block headers is
// TaggedHash(chain, kAppHash, the 2048 lane bytes).
//
// Entry lanes: seed = TaggedHash(chain, kStateEntry, u32be(key size) || key || value), then the
// 2048 bytes of ChaCha20 (IETF, zero nonce) keyed with the seed, read as little-endian u16.
//
// What it does not give: a proof that one key has one value (that needs a Merkle tree over
// the state). Residents prove their ballots with transaction receipts instead, and observers
// re-derive every tally from the blocks (DESIGN.md).
#pragma once

#include <array>
#include <cstdint>

#include "civic/contracts/kv.h"
#include "civic/proto/bytes.h"
#include "civic/proto/chain.h"
#include "civic/proto/hash.h"
#include "civic/proto/result.h"

namespace civic::node {

class StateCommitment {
 public:
  static constexpr std::size_t kLanes = 1024;
  static constexpr std::size_t kBytes = 2 * kLanes;

  // The commitment to an empty state.
  explicit StateCommitment(const proto::ChainId& chain_id);

  void Add(proto::ByteView key, proto::ByteView value);
  // REQUIRES: (key, value) is in the state (else the commitment no longer matches any state).
  void Remove(proto::ByteView key, proto::ByteView value);

  proto::Hash32 Digest() const;

  // The lanes as 2048 little-endian bytes, for the ledger's meta record; Restore reads them.
  proto::Bytes Serialize() const;
  [[nodiscard]] static proto::Result<StateCommitment> Restore(const proto::ChainId& chain_id, proto::ByteView bytes);

  friend bool operator==(const StateCommitment& a, const StateCommitment& b) { return a.lanes_ == b.lanes_; }

 private:
  enum class Sign : std::uint8_t { kAdd, kSubtract };
  void Mix(proto::ByteView key, proto::ByteView value, Sign sign);

  proto::ChainId chain_id_;
  proto::TaggedHasher entry_hasher_;
  std::array<std::uint16_t, kLanes> lanes_{};
};

// Moves `commitment` from the state `before` to `before` with `changes` applied: for each
// changed key, removes its old entry (if any) and adds its new one (if any).
void UpdateCommitment(StateCommitment& commitment, const contracts::KvView& before,
                      const contracts::WriteBuffer::Pending& changes);

}  // namespace civic::node
