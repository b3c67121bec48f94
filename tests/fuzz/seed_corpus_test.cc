// The fuzzers' seed corpus (tests/fuzz/corpus/<target>/) holds a current valid encoding of
// every message type, so that each fuzz run starts from real messages. When the encoding
// changes, this test fails until the corpus is rewritten with
//   CIVIC_WRITE_SEEDS=1 build/release/tests/seed_corpus_tests
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "civic/consensus/messages.h"
#include "civic/consensus/safety.h"
#include "civic/contracts/pabulib.h"
#include "civic/node/wire.h"
#include "civic/proto/payloads.h"
#include "samples.h"

namespace civic::proto {
namespace {

// Small made-up Pabulib files (the real ones stay in ../shared, unchanged, with their
// attribution): every section, quoting, and both ballot kinds.
constexpr std::string_view kApprovalPb =
    "META\nkey;value\ndescription;\"A made-up; quoted\"\"example\"\"\"\nnum_projects;3\nnum_votes;3\nbudget;100\n"
    "vote_type;approval\nmin_length;1\nmax_length;2\n"
    "PROJECTS\nproject_id;cost;votes;name\n1;60;2;Benches\n2;50;2;Trees\nc3;30;1;\"Bike; racks\"\n"
    "VOTES\nvoter_id;vote\nv1;1,2\nv2;1\nv3;2,c3\n";
constexpr std::string_view kCumulativePb =
    "META\nkey;value\nnum_projects;2\nnum_votes;2\nbudget;10\nvote_type;cumulative\nmax_sum_points;5\n"
    "PROJECTS\nproject_id;cost\n1;6\n2;5\n"
    "VOTES\nvoter_id;vote;points\n1;1,2;3,2\n2;2;5\n";

std::map<std::string, std::map<std::string, Bytes>> ExpectedSeeds() {
  const testing::SampleValidators validators = testing::MakeSampleValidators();
  const Tx tx = testing::SampleBallotTx();
  const Vote vote = testing::SamplePrecommit(validators, 1, BlockHash(testing::SampleHeader()).value());
  Vote nil_vote = testing::SamplePrecommit(validators, 2, Hash32{});
  nil_vote.body.block_hash.reset();
  const auto text = [](std::string_view s) { return Bytes(s.begin(), s.end()); };
  const proto::ChainId chain = testing::TestChain();
  const Ed25519KeyPair& proposer = validators.keys[0];
  consensus::ProposalBody body{consensus::kProposalVersion, 12, 2, BlockHash(testing::SampleHeader()).value(),
                               std::nullopt, proposer.public_key()};
  const consensus::Proposal proposal = consensus::SignProposal(chain, body, proposer).value();
  body.valid_round = 1;
  const consensus::Proposal reproposal = consensus::SignProposal(chain, body, proposer).value();
  body.block_hash = Sha256(AsBytes("another block"));
  body.valid_round.reset();
  const consensus::Proposal other = consensus::SignProposal(chain, body, proposer).value();
  consensus::ProposalEquivocation proposal_equivocation{proposal, other};
  if (!(proposal_equivocation.first.body.block_hash < proposal_equivocation.second.body.block_hash)) {
    std::swap(proposal_equivocation.first, proposal_equivocation.second);
  }
  Vote vote_a = testing::SamplePrecommit(validators, 0, Sha256(AsBytes("a")));
  Vote vote_b = testing::SamplePrecommit(validators, 0, Sha256(AsBytes("b")));
  if (!(vote_a.body.block_hash < vote_b.body.block_hash)) std::swap(vote_a, vote_b);
  const consensus::VoteEquivocation vote_equivocation{vote_a, vote_b};
  std::vector<Vote> polka;  // prevotes of validators 1-3 for the sample block: 3 of 4
  for (std::size_t who = 1; who <= 3; ++who) {
    VoteBody prevote = testing::SamplePrecommit(validators, who, BlockHash(testing::SampleHeader()).value()).body;
    prevote.type = VoteType::kPrevote;
    polka.push_back(SignVote(chain, prevote, validators.keys[who]).value());
  }
  const consensus::LastSigned last_signed{consensus::kLastSignedVersion, 12, 2, consensus::SignedStep::kProposal,
                                          consensus::ProposalSigningDigest(chain, proposal.body).value()};
  const ValidatorChange change{1, validators.set, "office 5 joins", 900};
  const SchnorrKeyPair clerk = SchnorrKeyPair::FromSecret(testing::Filled(0xC1)).value();
  const ChangeValidators cosigned{change, {CosignValidatorChange(chain, change, clerk, testing::Filled(7)).value()}};
  return {
      {"fuzz_decode_validatorchange", {{"four", Encode(change).value()}}},
      {"fuzz_decode_changevalidators", {{"one-clerk", Encode(cosigned).value()}}},
      {"fuzz_decode_tx", {{"ballot", Encode(tx).value()}}},
      {"fuzz_decode_txbody", {{"ballot", Encode(tx.body).value()}}},
      {"fuzz_decode_ballot", {{"three-choices", Encode(testing::SampleBallot()).value()},
                              {"empty", Encode(Ballot{1, {}}).value()}}},
      {"fuzz_decode_blockheader", {{"height-12", Encode(testing::SampleHeader()).value()}}},
      {"fuzz_decode_block", {{"one-ballot", Encode(Block{testing::SampleHeader(), {tx}, {}}).value()},
                             {"empty", Encode(Block{testing::SampleHeader(), {}, {}}).value()},
                             {"evidence", Encode(Block{testing::SampleHeader(), {}, {vote_equivocation}}).value()}}},
      {"fuzz_decode_vote", {{"precommit", Encode(vote).value()}, {"nil", Encode(nil_vote).value()}}},
      {"fuzz_decode_votebody", {{"precommit", Encode(vote.body).value()}}},
      {"fuzz_decode_validatorset", {{"four", Encode(validators.set).value()}}},
      {"fuzz_decode_commitcertificate", {{"three-of-four", Encode(testing::SampleCommit(validators, {1, 2, 3})).value()}}},
      {"fuzz_text", {{"hex", text("00ffA0")}, {"chain-id", text("civic-test")}}},
      {"fuzz_decode_registerresident", {{"two-districts", Encode(RegisterResident{tx.body.signer, {1, 3}, 900}).value()}}},
      {"fuzz_decode_registerpaperresident", {{"one", Encode(RegisterPaperResident{"NORTH-P-1", {2}, 0}).value()}}},
      {"fuzz_decode_revokeresident", {{"one", Encode(RevokeResident{ResidentIdOfKey(tx.body.signer), "moved"}).value()}}},
      {"fuzz_decode_openround", {{"cumulative", Encode(OpenRound{testing::SampleConstitution()}).value()}}},
      {"fuzz_decode_submitproposal", {{"one", Encode(SubmitProposal{3, "Trees", Sha256(AsBytes("t")), 45'000, 1}).value()}}},
      {"fuzz_decode_reviewproposal", {{"adjusted", Encode(ReviewProposal{3, 7, true, "ok", 40'000}).value()},
                                      {"infeasible", Encode(ReviewProposal{3, 8, false, "private land", std::nullopt}).value()}}},
      {"fuzz_decode_assistedballot", {{"one", Encode(AssistedBallot{ResidentId{}, "BOX-2/41", testing::SampleBallot()}).value()}}},
      {"fuzz_decode_closeround", {{"one", Encode(CloseRound{3}).value()}}},
      {"fuzz_decode_proposalbody", {{"fresh", Encode(proposal.body).value()}, {"valid-round", Encode(reproposal.body).value()}}},
      {"fuzz_decode_proposal", {{"fresh", Encode(proposal).value()}}},
      {"fuzz_wire",
       {{"status", node::EncodeWire(node::StatusMessage{12, BlockHash(testing::SampleHeader()).value()}).value()},
        {"proposal", node::EncodeWire(node::ProposalMessage{proposal, Block{testing::SampleHeader(), {tx}, {}}}).value()},
        {"vote", node::EncodeWire(node::VoteMessage{vote}).value()},
        {"txs", node::EncodeWire(node::TxsMessage{{node::TxBytes{Encode(tx).value()}}}).value()},
        {"block-request", node::EncodeWire(node::BlockRequestMessage{12}).value()},
        {"block", node::EncodeWire(node::BlockMessage{Block{testing::SampleHeader(), {tx}, {}},
                                                      testing::SampleCommit(validators, {1, 2, 3})})
                      .value()},
        {"polka", node::EncodeWire(node::PolkaMessage{polka}).value()}}},
      {"fuzz_decode_voteequivocation", {{"two-blocks", Encode(vote_equivocation).value()}}},
      {"fuzz_decode_proposalequivocation", {{"two-blocks", Encode(proposal_equivocation).value()}}},
      {"fuzz_decode_lastsigned", {{"proposal", Encode(last_signed).value()}}},
      {"fuzz_pabulib", {{"approval", text(kApprovalPb)}, {"cumulative", text(kCumulativePb)}}},
  };
}

TEST(SeedCorpus, MadeUpPabulibSeedsParse) {
  for (std::string_view pb : {kApprovalPb, kCumulativePb}) {
    proto::Result<contracts::PabulibInstance> parsed = contracts::ParsePabulib(pb);
    EXPECT_TRUE(parsed.has_value()) << parsed.error().message;
  }
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
