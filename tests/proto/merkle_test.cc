// RFC 6962 Merkle trees against ../shared/vectors/rfc6962-merkle.json, including every
// corruption of every proof it lists.
#include "civic/proto/merkle.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "civic/proto/hash.h"
#include "test_util.h"

namespace civic::proto {
namespace {

struct MerkleVectors {
  std::vector<Hash32> leaf_hashes;
  std::vector<Hash32> roots;  // roots[n]: root of the first n leaves
  nlohmann::json file;
};

std::vector<Hash32> HashList(const nlohmann::json& hex_list) {
  std::vector<Hash32> out;
  for (const auto& hex : hex_list) out.push_back(testing::FixedHex<Hash32>(hex.get<std::string>()));
  return out;
}

MerkleVectors LoadVectors() {
  MerkleVectors v;
  v.file = nlohmann::json::parse(testing::ReadShared("vectors/rfc6962-merkle.json"));
  for (const auto& leaf : v.file.at("leaves_hex")) v.leaf_hashes.push_back(MerkleLeafHash(testing::Hex(leaf.get<std::string>())));
  v.roots = HashList(v.file.at("root_by_size_hex"));
  return v;
}

// Every corruption the vector file names: a flipped bit in any byte of any hash, a hash
// removed, appended, prepended, two hashes swapped.
std::vector<std::vector<Hash32>> CorruptedProofs(const std::vector<Hash32>& proof) {
  std::vector<std::vector<Hash32>> out;
  for (std::size_t h = 0; h < proof.size(); ++h) {
    for (std::size_t byte = 0; byte < Hash32::kSize; ++byte) {
      for (int bit = 0; bit < 8; bit += 7) {  // the lowest and the highest bit of each byte
        std::vector<Hash32> p = proof;
        p[h].bytes[byte] ^= static_cast<std::uint8_t>(1u << bit);
        out.push_back(p);
      }
    }
    std::vector<Hash32> removed = proof;
    removed.erase(removed.begin() + static_cast<std::ptrdiff_t>(h));
    out.push_back(removed);
  }
  for (const Hash32& extra : {Hash32{}, proof.empty() ? Hash32{} : proof.front(), proof.empty() ? Hash32{} : proof.back()}) {
    std::vector<Hash32> appended = proof;
    appended.push_back(extra);
    out.push_back(appended);
    std::vector<Hash32> prepended = proof;
    prepended.insert(prepended.begin(), extra);
    out.push_back(prepended);
  }
  for (std::size_t i = 0; i < proof.size(); ++i) {
    for (std::size_t j = i + 1; j < proof.size(); ++j) {
      if (proof[i] == proof[j]) continue;
      std::vector<Hash32> swapped = proof;
      std::swap(swapped[i], swapped[j]);
      out.push_back(swapped);
    }
  }
  return out;
}

TEST(Rfc6962Vectors, RootOfEveryPrefixTree) {
  const MerkleVectors v = LoadVectors();
  ASSERT_EQ(v.roots.size(), v.leaf_hashes.size() + 1);
  EXPECT_EQ(v.roots[0], Sha256({}));
  for (std::size_t n = 0; n < v.roots.size(); ++n) {
    SCOPED_TRACE("tree size " + std::to_string(n));
    EXPECT_EQ(ToHex(MerkleRoot(std::span(v.leaf_hashes).first(n))), ToHex(v.roots[n]));
  }
}

TEST(Rfc6962Vectors, InclusionProofsVerifyAndWeProduceTheSame) {
  const MerkleVectors v = LoadVectors();
  int checked = 0;
  for (const auto& c : v.file.at("inclusion_proofs")) {
    const auto index = c.at("leaf_index").get<std::uint64_t>();
    const auto size = c.at("tree_size").get<std::uint64_t>();
    SCOPED_TRACE("leaf " + std::to_string(index) + " of " + std::to_string(size));
    const std::vector<Hash32> proof = HashList(c.at("proof_hex"));
    const Hash32& root = v.roots.at(size);
    const Hash32& leaf = v.leaf_hashes.at(index);
    Result<void> ok = VerifyMerkleInclusion(leaf, index, size, proof, root);
    EXPECT_TRUE(ok.has_value()) << ok.error().message;
    EXPECT_EQ(MerkleInclusionProof(std::span(v.leaf_hashes).first(size), index).value(), proof);
    ++checked;
  }
  EXPECT_GE(checked, 4);
}

TEST(Rfc6962Vectors, EveryCorruptedInclusionProofIsRejected) {
  const MerkleVectors v = LoadVectors();
  for (const auto& c : v.file.at("inclusion_proofs")) {
    const auto index = c.at("leaf_index").get<std::uint64_t>();
    const auto size = c.at("tree_size").get<std::uint64_t>();
    SCOPED_TRACE("leaf " + std::to_string(index) + " of " + std::to_string(size));
    const std::vector<Hash32> proof = HashList(c.at("proof_hex"));
    const Hash32& root = v.roots.at(size);
    const Hash32& leaf = v.leaf_hashes.at(index);
    for (const std::vector<Hash32>& bad : CorruptedProofs(proof)) {
      Result<void> result = VerifyMerkleInclusion(leaf, index, size, bad, root);
      ASSERT_FALSE(result.has_value());
      EXPECT_EQ(result.error().code, ErrorCode::kBadProof);
    }
    // Wrong index or size, as the vectors' source corrupts them (an RFC 6962 path does not
    // bind every other size: leaf 0's path is the same in trees of 5 to 8 leaves).
    for (std::uint64_t wrong_index : {index - 1, index + 1, index ^ 2}) {
      EXPECT_FALSE(VerifyMerkleInclusion(leaf, wrong_index, size, proof, root).has_value()) << "index " << wrong_index;
    }
    for (std::uint64_t wrong_size : {size * 2, size / 2}) {
      EXPECT_FALSE(VerifyMerkleInclusion(leaf, index, wrong_size, proof, root).has_value()) << "size " << wrong_size;
    }
    EXPECT_FALSE(VerifyMerkleInclusion(leaf, index, size, proof, Sha256({})).has_value());
    Hash32 wrong_leaf = leaf;
    wrong_leaf.bytes[0] ^= 1;
    EXPECT_FALSE(VerifyMerkleInclusion(wrong_leaf, index, size, proof, root).has_value());
  }
}

TEST(Rfc6962Vectors, ConsistencyProofsVerifyAndWeProduceTheSame) {
  const MerkleVectors v = LoadVectors();
  int checked = 0;
  for (const auto& c : v.file.at("consistency_proofs")) {
    const auto old_size = c.at("old_size").get<std::uint64_t>();
    const auto new_size = c.at("new_size").get<std::uint64_t>();
    SCOPED_TRACE(std::to_string(old_size) + " -> " + std::to_string(new_size));
    const std::vector<Hash32> proof = HashList(c.at("proof_hex"));
    Result<void> ok = VerifyMerkleConsistency(old_size, new_size, v.roots.at(old_size), v.roots.at(new_size), proof);
    EXPECT_TRUE(ok.has_value()) << ok.error().message;
    EXPECT_EQ(MerkleConsistencyProof(std::span(v.leaf_hashes).first(new_size), old_size).value(), proof);
    ++checked;
  }
  EXPECT_GE(checked, 4);
}

TEST(Rfc6962Vectors, EveryCorruptedConsistencyProofIsRejected) {
  const MerkleVectors v = LoadVectors();
  for (const auto& c : v.file.at("consistency_proofs")) {
    const auto old_size = c.at("old_size").get<std::uint64_t>();
    const auto new_size = c.at("new_size").get<std::uint64_t>();
    SCOPED_TRACE(std::to_string(old_size) + " -> " + std::to_string(new_size));
    const std::vector<Hash32> proof = HashList(c.at("proof_hex"));
    const Hash32& old_root = v.roots.at(old_size);
    const Hash32& new_root = v.roots.at(new_size);
    for (const std::vector<Hash32>& bad : CorruptedProofs(proof)) {
      EXPECT_FALSE(VerifyMerkleConsistency(old_size, new_size, old_root, new_root, bad).has_value());
    }
    // Wrong sizes and swapped roots, as the vectors' source corrupts them.
    const std::pair<std::uint64_t, std::uint64_t> wrong_sizes[] = {
        {old_size - 1, new_size}, {old_size + 1, new_size}, {old_size ^ 2, new_size},
        {old_size, new_size * 2}, {old_size, new_size / 2}};
    for (const auto& [o, n] : wrong_sizes) {
      EXPECT_FALSE(VerifyMerkleConsistency(o, n, old_root, new_root, proof).has_value()) << o << " -> " << n;
    }
    EXPECT_FALSE(VerifyMerkleConsistency(old_size, new_size, new_root, old_root, proof).has_value());
    EXPECT_FALSE(VerifyMerkleConsistency(old_size, new_size, old_root, new_root, {}).has_value());
    Hash32 wrong = old_root;
    wrong.bytes[31] ^= 0x80;
    EXPECT_FALSE(VerifyMerkleConsistency(old_size, new_size, wrong, new_root, proof).has_value());
    EXPECT_FALSE(VerifyMerkleConsistency(old_size, new_size, old_root, wrong, proof).has_value());
  }
}

// Beyond the vectors: every (leaf, size) and (old, new) pair of a 37-leaf list round-trips
// through our prover and verifier, and the roots agree with an independent recursive MTH.
Hash32 RecursiveRoot(std::span<const Hash32> leaves) {
  if (leaves.empty()) return Sha256({});
  if (leaves.size() == 1) return leaves[0];
  std::size_t k = 1;
  while (k * 2 < leaves.size()) k *= 2;
  return MerkleNodeHash(RecursiveRoot(leaves.first(k)), RecursiveRoot(leaves.subspan(k)));
}

TEST(Merkle, EveryProofOfEveryTreeUpTo37LeavesVerifies) {
  std::vector<Hash32> leaves;
  for (std::uint8_t i = 0; i < 37; ++i) leaves.push_back(MerkleLeafHash(Bytes{i, 0x5a}));
  for (std::size_t size = 1; size <= leaves.size(); ++size) {
    const auto tree = std::span<const Hash32>(leaves).first(size);
    const Hash32 root = MerkleRoot(tree);
    ASSERT_EQ(root, RecursiveRoot(tree)) << size;
    for (std::uint64_t i = 0; i < size; ++i) {
      const std::vector<Hash32> proof = MerkleInclusionProof(tree, i).value();
      ASSERT_TRUE(VerifyMerkleInclusion(leaves[i], i, size, proof, root).has_value()) << i << " of " << size;
    }
    for (std::uint64_t old_size = 1; old_size <= size; ++old_size) {
      const std::vector<Hash32> proof = MerkleConsistencyProof(tree, old_size).value();
      ASSERT_TRUE(VerifyMerkleConsistency(old_size, size, MerkleRoot(tree.first(old_size)), root, proof).has_value())
          << old_size << " -> " << size;
    }
  }
}

TEST(Merkle, ProverRefusesOutOfRangeArguments) {
  const std::vector<Hash32> leaves(3);
  EXPECT_EQ(MerkleInclusionProof(leaves, 3).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(MerkleConsistencyProof(leaves, 0).error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(MerkleConsistencyProof(leaves, 4).error().code, ErrorCode::kInvalidArgument);
}

TEST(Merkle, VerifierRefusesOverlongProofWithoutHashing) {
  const std::vector<Hash32> proof(kMerkleProofHashesMax + 1);
  Result<void> result = VerifyMerkleInclusion(Hash32{}, 0, ~std::uint64_t{0}, proof, Hash32{});
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message.find("too long"), std::string::npos);
}

TEST(Merkle, ConsistencyFromEmptyTreeNeedsEmptyProof) {
  const Hash32 any = MerkleLeafHash(Bytes{1});
  EXPECT_TRUE(VerifyMerkleConsistency(0, 5, Sha256({}), any, {}).has_value());
  const std::vector<Hash32> one(1);
  EXPECT_FALSE(VerifyMerkleConsistency(0, 5, Sha256({}), any, one).has_value());
}

}  // namespace
}  // namespace civic::proto
