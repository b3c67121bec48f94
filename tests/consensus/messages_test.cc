// Signed proposals and equivocation evidence: canonical, bounded, and bound to their chain
// and to their kind of message.
#include "civic/consensus/messages.h"

#include <gtest/gtest.h>

#include "civic/proto/codec.h"
#include "fixture.h"

namespace civic::consensus {
namespace {

using testing::Block;
using testing::MakeProposal;
using testing::MakeValidators;
using testing::MakeVote;
using testing::TestChain;
using testing::Validators;

TEST(Proposal, VerifiesOnlyOnItsChainAndOnlyUnchanged) {
  const Validators v = MakeValidators({1, 1});
  const Proposal proposal = MakeProposal(v, 0, 4, 2, Block("a"), 1);
  EXPECT_TRUE(VerifyProposal(TestChain(), proposal).has_value());
  EXPECT_FALSE(VerifyProposal(proto::ChainId::Parse("elsewhere").value(), proposal).has_value());
  for (int field = 0; field < 4; ++field) {
    Proposal changed = proposal;
    if (field == 0) changed.body.round = 3;
    if (field == 1) changed.body.block_hash = Block("b");
    if (field == 2) changed.body.valid_round.reset();
    if (field == 3) changed.body.proposer = v.id(1);
    EXPECT_EQ(VerifyProposal(TestChain(), changed).error().code, proto::ErrorCode::kBadSignature) << field;
  }
}

TEST(Proposal, ItsSignatureIsNoVoteSignature) {
  // Same key, and a vote body holding the same numbers: the domains differ, so the
  // signatures never stand in for each other.
  const Validators v = MakeValidators({1});
  const Proposal proposal = MakeProposal(v, 0, 4, 0, Block("a"));
  proto::Vote vote = MakeVote(v, 0, proto::VoteType::kPrevote, 4, 0, Block("a"));
  vote.signature = proposal.signature;
  EXPECT_FALSE(proto::VerifyVote(TestChain(), vote).has_value());
}

TEST(Proposal, SignRefusesAnotherKey) {
  const Validators v = MakeValidators({1, 1});
  ProposalBody body = MakeProposal(v, 0, 1, 0, Block("a")).body;
  EXPECT_EQ(SignProposal(TestChain(), body, v.keys[1]).error().code, proto::ErrorCode::kInvalidArgument);
}

TEST(Proposal, RoundTripsAndRefusesNonCanonicalForms) {
  const Validators v = MakeValidators({1});
  const Proposal proposal = MakeProposal(v, 0, 4, 2, Block("a"), 1);
  const proto::Bytes bytes = proto::Encode(proposal).value();
  EXPECT_LE(bytes.size(), Proposal::kEncodedBytesMax);
  EXPECT_EQ(proto::Decode<Proposal>(bytes).value(), proposal);
  proto::Bytes trailing = bytes;
  trailing.push_back(0);
  EXPECT_FALSE(proto::Decode<Proposal>(trailing).has_value());
  proto::Bytes truncated(bytes.begin(), bytes.end() - 1);
  EXPECT_FALSE(proto::Decode<Proposal>(truncated).has_value());

  Proposal bad = proposal;
  bad.body.valid_round = 2;  // not below the round
  EXPECT_FALSE(proto::Encode(bad).has_value());
  bad.body.valid_round = 1;
  bad.body.height = 0;
  EXPECT_FALSE(proto::Encode(bad).has_value());
  bad.body.height = 4;
  bad.body.version = 2;
  EXPECT_EQ(proto::Encode(bad).error().code, proto::ErrorCode::kUnknownVersion);
}

TEST(Evidence, TwoConflictingVotesMakeVerifiableCanonicalEvidence) {
  const Validators v = MakeValidators({1, 1});
  const proto::Vote a = MakeVote(v, 0, proto::VoteType::kPrecommit, 3, 1, Block("a"));
  const proto::Vote nil = MakeVote(v, 0, proto::VoteType::kPrecommit, 3, 1, std::nullopt);
  const VoteEquivocation evidence = MakeVoteEquivocation(a, nil).value();
  EXPECT_EQ(evidence, MakeVoteEquivocation(nil, a).value());  // one form, whatever the order
  EXPECT_TRUE(VerifyEvidence(TestChain(), evidence).has_value());
  const proto::Bytes bytes = proto::Encode(evidence).value();
  EXPECT_EQ(proto::Decode<VoteEquivocation>(bytes).value(), evidence);

  EXPECT_FALSE(MakeVoteEquivocation(a, a).has_value());  // the same vote twice
  EXPECT_FALSE(MakeVoteEquivocation(a, MakeVote(v, 1, proto::VoteType::kPrecommit, 3, 1, std::nullopt)).has_value());
  EXPECT_FALSE(MakeVoteEquivocation(a, MakeVote(v, 0, proto::VoteType::kPrevote, 3, 1, std::nullopt)).has_value());
  VoteEquivocation forged = evidence;
  forged.second.signature = forged.first.signature;
  EXPECT_FALSE(VerifyEvidence(TestChain(), forged).has_value());
  VoteEquivocation swapped{evidence.second, evidence.first};
  EXPECT_FALSE(proto::Encode(swapped).has_value());
}

TEST(Evidence, TwoProposalsOfOneRound) {
  const Validators v = MakeValidators({1});
  const Proposal a = MakeProposal(v, 0, 5, 1, Block("a"));
  const Proposal b = MakeProposal(v, 0, 5, 1, Block("b"));
  const ProposalEquivocation evidence = MakeProposalEquivocation(b, a).value();
  EXPECT_TRUE(VerifyEvidence(TestChain(), evidence).has_value());
  EXPECT_EQ(proto::Decode<ProposalEquivocation>(proto::Encode(evidence).value()).value(), evidence);
  EXPECT_FALSE(MakeProposalEquivocation(a, MakeProposal(v, 0, 5, 2, Block("b"))).has_value());
}

}  // namespace
}  // namespace civic::consensus
