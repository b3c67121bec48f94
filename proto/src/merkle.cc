#include "civic/proto/merkle.h"

#include <array>
#include <bit>
#include <cstring>
#include <string>

#include <sodium.h>

#include "civic/proto/assert.h"
#include "civic/proto/hash.h"

namespace civic::proto {
namespace {

constexpr std::uint8_t kLeafPrefix = 0x00;
constexpr std::uint8_t kNodePrefix = 0x01;

// The largest power of two strictly below n. REQUIRES: n > 1.
std::uint64_t SplitPoint(std::uint64_t n) {
  CIVIC_ASSERT(n > 1);
  return std::bit_floor(n - 1);
}

// MTH(D[n]) of RFC 6962 2.1, over leaf hashes.
Hash32 SubtreeRoot(std::span<const Hash32> leaves) { return MerkleRoot(leaves); }

// PATH(m, D[n]) of RFC 6962 2.1.1.
void AppendPath(std::uint64_t m, std::span<const Hash32> leaves, std::vector<Hash32>& out) {
  const std::uint64_t n = leaves.size();
  if (n <= 1) return;
  const std::uint64_t k = SplitPoint(n);
  if (m < k) {
    AppendPath(m, leaves.first(k), out);
    out.push_back(SubtreeRoot(leaves.subspan(k)));
  } else {
    AppendPath(m - k, leaves.subspan(k), out);
    out.push_back(SubtreeRoot(leaves.first(k)));
  }
}

// SUBPROOF(m, D[n], b) of RFC 6962 2.1.2.
void AppendSubproof(std::uint64_t m, std::span<const Hash32> leaves, bool whole_old_tree, std::vector<Hash32>& out) {
  const std::uint64_t n = leaves.size();
  if (m == n) {
    if (!whole_old_tree) out.push_back(SubtreeRoot(leaves));
    return;
  }
  const std::uint64_t k = SplitPoint(n);
  if (m <= k) {
    AppendSubproof(m, leaves.first(k), whole_old_tree, out);
    out.push_back(SubtreeRoot(leaves.subspan(k)));
  } else {
    AppendSubproof(m - k, leaves.subspan(k), /*whole_old_tree=*/false, out);
    out.push_back(SubtreeRoot(leaves.first(k)));
  }
}

std::string Short(const Hash32& hash) { return ToHex(hash).substr(0, 16) + "…"; }

}  // namespace

Hash32 MerkleLeafHash(ByteView leaf_data) {
  crypto_hash_sha256_state state;
  crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, &kLeafPrefix, 1);
  crypto_hash_sha256_update(&state, leaf_data.data(), leaf_data.size());
  Hash32 out;
  crypto_hash_sha256_final(&state, out.bytes.data());
  return out;
}

Hash32 MerkleNodeHash(const Hash32& left, const Hash32& right) {
  std::array<std::uint8_t, 1 + 2 * Hash32::kSize> buffer;
  buffer[0] = kNodePrefix;
  std::memcpy(buffer.data() + 1, left.bytes.data(), Hash32::kSize);
  std::memcpy(buffer.data() + 1 + Hash32::kSize, right.bytes.data(), Hash32::kSize);
  Hash32 out;
  crypto_hash_sha256(out.bytes.data(), buffer.data(), buffer.size());
  return out;
}

Hash32 MerkleRoot(std::span<const Hash32> leaf_hashes) {
  if (leaf_hashes.empty()) return Sha256({});
  // Level by level, carrying an odd last node up unchanged: the same tree as RFC 6962's
  // split at the largest power of two, computed in place in one scratch vector.
  std::vector<Hash32> level(leaf_hashes.begin(), leaf_hashes.end());
  std::size_t width = level.size();
  while (width > 1) {
    std::size_t next = 0;
    for (std::size_t i = 0; i + 1 < width; i += 2) level[next++] = MerkleNodeHash(level[i], level[i + 1]);
    if (width % 2 == 1) level[next++] = level[width - 1];
    width = next;
  }
  return level[0];
}

Result<std::vector<Hash32>> MerkleInclusionProof(std::span<const Hash32> leaf_hashes, std::uint64_t index) {
  if (index >= leaf_hashes.size()) {
    return Fail(ErrorCode::kInvalidArgument, "leaf index " + std::to_string(index) + " is not in a tree of " +
                                                 std::to_string(leaf_hashes.size()) + " leaves");
  }
  std::vector<Hash32> proof;
  AppendPath(index, leaf_hashes, proof);
  return proof;
}

Result<void> VerifyMerkleInclusion(const Hash32& leaf_hash, std::uint64_t index, std::uint64_t tree_size,
                                   std::span<const Hash32> proof, const Hash32& root) {
  if (index >= tree_size) {
    return Fail(ErrorCode::kBadProof, "leaf index " + std::to_string(index) + " is not in a tree of " +
                                          std::to_string(tree_size) + " leaves");
  }
  if (proof.size() > kMerkleProofHashesMax) {
    return Fail(ErrorCode::kBadProof, "inclusion proof of " + std::to_string(proof.size()) + " hashes is too long");
  }
  // RFC 9162 2.1.3.2.
  std::uint64_t fn = index;
  std::uint64_t sn = tree_size - 1;
  Hash32 r = leaf_hash;
  for (const Hash32& p : proof) {
    if (sn == 0) {
      return Fail(ErrorCode::kBadProof, "inclusion proof has more hashes than a tree of " +
                                            std::to_string(tree_size) + " leaves needs");
    }
    if ((fn & 1) == 1 || fn == sn) {
      r = MerkleNodeHash(p, r);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      r = MerkleNodeHash(r, p);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) {
    return Fail(ErrorCode::kBadProof, "inclusion proof has fewer hashes than a tree of " +
                                          std::to_string(tree_size) + " leaves needs");
  }
  if (r != root) {
    return Fail(ErrorCode::kBadProof, "inclusion proof leads to root " + Short(r) + ", expected " + Short(root));
  }
  return {};
}

Result<std::vector<Hash32>> MerkleConsistencyProof(std::span<const Hash32> leaf_hashes, std::uint64_t old_size) {
  if (old_size == 0 || old_size > leaf_hashes.size()) {
    return Fail(ErrorCode::kInvalidArgument, "no consistency proof from a tree of " + std::to_string(old_size) +
                                                 " leaves to one of " + std::to_string(leaf_hashes.size()));
  }
  std::vector<Hash32> proof;
  if (old_size < leaf_hashes.size()) AppendSubproof(old_size, leaf_hashes, /*whole_old_tree=*/true, proof);
  return proof;
}

Result<void> VerifyMerkleConsistency(std::uint64_t old_size, std::uint64_t new_size, const Hash32& old_root,
                                     const Hash32& new_root, std::span<const Hash32> proof) {
  if (old_size > new_size) {
    return Fail(ErrorCode::kBadProof, "old tree of " + std::to_string(old_size) + " leaves is larger than new tree of " +
                                          std::to_string(new_size));
  }
  if (proof.size() > kMerkleProofHashesMax) {
    return Fail(ErrorCode::kBadProof, "consistency proof of " + std::to_string(proof.size()) + " hashes is too long");
  }
  if (old_size == new_size) {
    if (!proof.empty()) return Fail(ErrorCode::kBadProof, "trees of equal size need an empty consistency proof");
    if (old_root != new_root) return Fail(ErrorCode::kBadProof, "trees of equal size have different roots");
    return {};
  }
  if (old_size == 0) {
    // The empty tree is a prefix of every tree; there is nothing to prove.
    if (!proof.empty()) return Fail(ErrorCode::kBadProof, "a consistency proof from the empty tree must be empty");
    if (old_root != Sha256({})) return Fail(ErrorCode::kBadProof, "old root is not the root of the empty tree");
    return {};
  }
  if (proof.empty()) return Fail(ErrorCode::kBadProof, "consistency proof is empty");

  // RFC 9162 2.1.4.2. When old_size is a power of two, the old root is itself the first
  // node of the path and the proof leaves it out.
  const bool old_is_power_of_two = std::has_single_bit(old_size);
  std::uint64_t fn = old_size - 1;
  std::uint64_t sn = new_size - 1;
  while ((fn & 1) == 1) {
    fn >>= 1;
    sn >>= 1;
  }
  std::size_t next = 0;
  Hash32 fr = old_is_power_of_two ? old_root : proof[next++];
  Hash32 sr = fr;
  for (; next < proof.size(); ++next) {
    const Hash32& c = proof[next];
    if (sn == 0) return Fail(ErrorCode::kBadProof, "consistency proof has more hashes than the trees need");
    if ((fn & 1) == 1 || fn == sn) {
      fr = MerkleNodeHash(c, fr);
      sr = MerkleNodeHash(c, sr);
      while ((fn & 1) == 0 && fn != 0) {
        fn >>= 1;
        sn >>= 1;
      }
    } else {
      sr = MerkleNodeHash(sr, c);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return Fail(ErrorCode::kBadProof, "consistency proof has fewer hashes than the trees need");
  if (fr != old_root) {
    return Fail(ErrorCode::kBadProof, "consistency proof leads to old root " + Short(fr) + ", expected " + Short(old_root));
  }
  if (sr != new_root) {
    return Fail(ErrorCode::kBadProof, "consistency proof leads to new root " + Short(sr) + ", expected " + Short(new_root));
  }
  return {};
}

}  // namespace civic::proto
