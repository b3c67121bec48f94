// RFC 6962 (Certificate Transparency) Merkle trees over a list of leaves:
//   leaf hash  = SHA-256(0x00 || leaf data)
//   node hash  = SHA-256(0x01 || left || right)
//   empty tree = SHA-256("")
// A tree of n > 1 leaves splits at k, the largest power of two below n. Inclusion proofs
// (RFC 6962 2.1.1) prove one leaf is in a tree; consistency proofs (2.1.2) prove a tree is a
// prefix of a larger one. Verification follows RFC 9162 2.1.3.2 and 2.1.4.2.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "civic/proto/bytes.h"
#include "civic/proto/result.h"

namespace civic::proto {

// Proofs longer than this are rejected before any hashing: no tree of 2^64 leaves needs more.
inline constexpr std::size_t kMerkleProofHashesMax = 64;

Hash32 MerkleLeafHash(ByteView leaf_data);
Hash32 MerkleNodeHash(const Hash32& left, const Hash32& right);

// The root over leaf hashes (not leaf data): O(n) hashes, one scratch copy of the input.
Hash32 MerkleRoot(std::span<const Hash32> leaf_hashes);

// The audit path for leaf `index`. Fails if index >= leaf_hashes.size().
[[nodiscard]] Result<std::vector<Hash32>> MerkleInclusionProof(std::span<const Hash32> leaf_hashes,
                                                              std::uint64_t index);

// Checks that `leaf_hash` is leaf `index` of the tree of `tree_size` leaves whose root is
// `root`. The error says what did not match.
[[nodiscard]] Result<void> VerifyMerkleInclusion(const Hash32& leaf_hash, std::uint64_t index,
                                                 std::uint64_t tree_size, std::span<const Hash32> proof,
                                                 const Hash32& root);

// The proof that the first `old_size` leaves form a prefix of the whole list.
// Fails unless 0 < old_size <= leaf_hashes.size(); empty when old_size == size.
[[nodiscard]] Result<std::vector<Hash32>> MerkleConsistencyProof(std::span<const Hash32> leaf_hashes,
                                                                std::uint64_t old_size);

// Checks that the tree of `old_size` leaves with root `old_root` is a prefix of the tree of
// `new_size` leaves with root `new_root`. Requires old_size <= new_size. Equal sizes need an
// empty proof and equal roots; old_size 0 (the empty tree is a prefix of every tree) needs an
// empty proof and the empty tree's root.
[[nodiscard]] Result<void> VerifyMerkleConsistency(std::uint64_t old_size, std::uint64_t new_size,
                                                   const Hash32& old_root, const Hash32& new_root,
                                                   std::span<const Hash32> proof);

}  // namespace civic::proto
