// The fuzzers' seed corpus (tests/fuzz/corpus/<target>/) holds a current valid encoding of
// every message type, so that each fuzz run starts from real messages. When the encoding
// changes, this test fails until the corpus is rewritten with
//   CIVIC_WRITE_SEEDS=1 build/release/tests/proto_tests --gtest_filter='SeedCorpus.*'
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "samples.h"

namespace civic::proto {
namespace {

std::map<std::string, std::map<std::string, Bytes>> ExpectedSeeds() {
  const testing::SampleValidators validators = testing::MakeSampleValidators();
  const Tx tx = testing::SampleBallotTx();
  const Vote vote = testing::SamplePrecommit(validators, 1, BlockHash(testing::SampleHeader()).value());
  Vote nil_vote = testing::SamplePrecommit(validators, 2, Hash32{});
  nil_vote.body.block_hash.reset();
  const auto text = [](std::string_view s) { return Bytes(s.begin(), s.end()); };
  return {
      {"fuzz_decode_tx", {{"ballot", Encode(tx).value()}}},
      {"fuzz_decode_txbody", {{"ballot", Encode(tx.body).value()}}},
      {"fuzz_decode_ballot", {{"three-choices", Encode(testing::SampleBallot()).value()},
                              {"empty", Encode(Ballot{1, {}}).value()}}},
      {"fuzz_decode_blockheader", {{"height-12", Encode(testing::SampleHeader()).value()}}},
      {"fuzz_decode_vote", {{"precommit", Encode(vote).value()}, {"nil", Encode(nil_vote).value()}}},
      {"fuzz_decode_votebody", {{"precommit", Encode(vote.body).value()}}},
      {"fuzz_decode_validatorset", {{"four", Encode(validators.set).value()}}},
      {"fuzz_decode_commitcertificate", {{"three-of-four", Encode(testing::SampleCommit(validators, {1, 2, 3})).value()}}},
      {"fuzz_text", {{"hex", text("00ffA0")}, {"chain-id", text("civic-test")}}},
  };
}

TEST(SeedCorpus, HoldsACurrentEncodingOfEveryMessageType) {
  const std::filesystem::path corpus = std::filesystem::path(CIVIC_SOURCE_DIR) / "tests/fuzz/corpus";
  const bool write = std::getenv("CIVIC_WRITE_SEEDS") != nullptr;
  for (const auto& [target, seeds] : ExpectedSeeds()) {
    for (const auto& [name, bytes] : seeds) {
      const std::filesystem::path path = corpus / target / (name + ".bin");
      if (write) {
        std::filesystem::create_directories(path.parent_path());
        std::ofstream(path, std::ios::binary).write(reinterpret_cast<const char*>(bytes.data()),
                                                    static_cast<std::streamsize>(bytes.size()));
      }
      std::ifstream in(path, std::ios::binary);
      ASSERT_TRUE(in.good()) << path << " is missing; see the comment at the top of this test";
      const Bytes on_disk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      EXPECT_EQ(ToHex(on_disk), ToHex(bytes)) << path << " is stale; see the comment at the top of this test";
    }
  }
}

}  // namespace
}  // namespace civic::proto
