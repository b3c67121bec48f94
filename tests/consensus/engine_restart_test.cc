// Regressions the simulator found (tests/consensus/sim.h), each pinned down with one engine
// fed by hand: a restarted validator sends its last vote again, a proposal waiting for
// validation is not forgotten, and 2f+1 prevotes that arrived before our own still arm the
// prevote timeout.
#include <gtest/gtest.h>

#include <optional>

#include "civic/consensus/engine.h"
#include "fixture.h"

namespace civic::consensus {
namespace {

using proto::VoteType;
using testing::Block;
using testing::MakeProposal;
using testing::MakeValidators;
using testing::MakeVote;
using testing::TestChain;
using testing::Validators;

// One engine, validator `self` of four with equal power, at height 1.
struct Restarted {
  Restarted(std::size_t self_index, std::optional<LastSigned> record)
      : v(MakeValidators({1, 1, 1, 1})),
        keys(MakeValidators({1, 1, 1, 1})),  // the same keys again: v.keys[self] goes into the engine
        self(self_index),
        engine(EngineConfig{TestChain(), TimeoutConfig{}}, std::move(v.keys[self]), ValidatorSchedule(1, v.set), 1,
               std::move(record)) {}

  LastSigned RecordOf(VoteType type, Round round, NilOrValue value) const {
    const proto::Vote vote = MakeVote(keys, self, type, 1, round, value);
    return LastSigned{kLastSignedVersion, 1, WireRound(round),
                      type == VoteType::kPrevote ? SignedStep::kPrevote : SignedStep::kPrecommit,
                      proto::VoteSigningDigest(TestChain(), vote.body).value()};
  }

  Validators v;     // v.keys[self] was moved into the engine
  Validators keys;  // sign for anyone, self included
  std::size_t self;
  Engine engine;
};

std::size_t ProposerOf(Round round) {
  const Validators v = MakeValidators({1, 1, 1, 1});
  return v.IndexOf(WeightedRoundRobin(v.set, 1).Proposer(1, round));
}

std::optional<proto::Vote> BroadcastIn(const Actions& actions) {
  for (std::size_t i = 0; i < actions.size(); ++i) {
    if (const auto* vote = std::get_if<BroadcastVote>(&actions[i])) {
      // Persisted right before, always.
      EXPECT_TRUE(i > 0 && std::holds_alternative<PersistSigned>(actions[i - 1]));
      return vote->vote;
    }
  }
  return std::nullopt;
}

// Tendermint issue 5804: the others wait for the vote we persisted just before crashing.
TEST(EngineRestart, SendsItsLastNilVoteAgainAtOnce) {
  const std::size_t self = (ProposerOf(2) + 1) % 4;
  const Restarted probe(self, std::nullopt);
  const LastSigned record = probe.RecordOf(VoteType::kPrecommit, 2, std::nullopt);
  Restarted r(self, record);
  const Actions actions = r.engine.Step(StartEvent{}).value();
  const std::optional<proto::Vote> resent = BroadcastIn(actions);
  ASSERT_TRUE(resent.has_value());
  EXPECT_EQ(resent->body.type, VoteType::kPrecommit);
  EXPECT_EQ(resent->body.round, 2u);
  EXPECT_FALSE(resent->body.block_hash.has_value());
  EXPECT_TRUE(proto::VerifyVote(TestChain(), *resent).has_value());
  // The very message signed before: same digest, and the same signature.
  EXPECT_EQ(*resent, MakeVote(r.keys, self, VoteType::kPrecommit, 1, 2, std::nullopt));
  EXPECT_EQ(r.engine.last_signed(), record);
}

TEST(EngineRestart, SendsItsLastVoteForAValueOnceItHearsOfThatValue) {
  const std::size_t proposer = ProposerOf(0);
  const std::size_t self = (proposer + 1) % 4;
  const Restarted probe(self, std::nullopt);
  Restarted r(self, probe.RecordOf(VoteType::kPrevote, 0, Block("x")));
  EXPECT_FALSE(BroadcastIn(r.engine.Step(StartEvent{}).value()).has_value());  // nil is not it
  // Someone else's vote for another value does not rebuild it either.
  const std::size_t other = (proposer + 2) % 4;
  EXPECT_FALSE(BroadcastIn(r.engine.Step(VoteEvent{MakeVote(r.keys, other, VoteType::kPrevote, 1, 0, Block("y"))})
                               .value())
                   .has_value());
  // The proposal of "x" does.
  const Actions actions = r.engine.Step(ProposalEvent{MakeProposal(r.keys, proposer, 1, 0, Block("x"))}).value();
  const std::optional<proto::Vote> resent = BroadcastIn(actions);
  ASSERT_TRUE(resent.has_value());
  EXPECT_EQ(*resent, MakeVote(r.keys, self, VoteType::kPrevote, 1, 0, Block("x")));
}

// A restarted proposer gets its own earlier proposal back (block sync) while its application,
// asked again, gives it the same block: the proposal must not wait for a validation answer
// that already counts as given.
TEST(EngineRestart, AProposalWaitingForValidationIsNotForgotten) {
  const std::size_t self = ProposerOf(0);
  const Restarted probe(self, std::nullopt);
  // We had signed our precommit for "a", so we cannot sign the proposal again.
  Restarted r(self, probe.RecordOf(VoteType::kPrecommit, 0, Block("a")));
  const Actions started = r.engine.Step(StartEvent{}).value();
  ASSERT_TRUE(std::any_of(started.begin(), started.end(),
                          [](const Action& a) { return std::holds_alternative<RequestProposal>(a); }));
  // Block sync: our proposal and the others' precommits.
  ASSERT_TRUE(r.engine.Step(ProposalEvent{MakeProposal(r.keys, self, 1, 0, Block("a"))}).has_value());
  std::vector<proto::Vote> commit;
  for (std::size_t i = 0; i < 4; ++i) {
    if (i != self) commit.push_back(MakeVote(r.keys, i, VoteType::kPrecommit, 1, 0, Block("a")));
  }
  ASSERT_TRUE(r.engine.Step(CertificateEvent{commit}).has_value());
  EXPECT_FALSE(r.engine.decided());
  // The application hands us "a" to propose: that settles its validity.
  ASSERT_TRUE(r.engine.Step(ProposalValueEvent{1, 0, Block("a")}).has_value());
  EXPECT_TRUE(r.engine.decided());
  // Its answer to the validation request changes nothing any more.
  EXPECT_TRUE(r.engine.Step(ValidationEvent{1, Block("a"), Validity::kValid}).value().empty());
}

// Paper line 34 with a stored proposal: 2f+1 prevotes of any kind that arrived while we
// were still in the propose step must arm the prevote timeout once we prevote.
TEST(EngineRestart, PrevotesThatCameFirstStillArmThePrevoteTimeout) {
  const std::size_t proposer = ProposerOf(0);
  const std::size_t self = (proposer + 1) % 4;
  Restarted r(self, std::nullopt);
  ASSERT_TRUE(r.engine.Step(StartEvent{}).has_value());
  const std::size_t a = (proposer + 2) % 4;
  const std::size_t b = (proposer + 3) % 4;
  for (const proto::Vote& vote : {MakeVote(r.keys, proposer, VoteType::kPrevote, 1, 0, Block("x")),
                                  MakeVote(r.keys, a, VoteType::kPrevote, 1, 0, std::nullopt),
                                  MakeVote(r.keys, b, VoteType::kPrevote, 1, 0, std::nullopt)}) {
    ASSERT_TRUE(r.engine.Step(VoteEvent{vote}).has_value());
  }
  ASSERT_TRUE(r.engine.Step(ProposalEvent{MakeProposal(r.keys, proposer, 1, 0, Block("x"))}).has_value());
  const Actions actions = r.engine.Step(ValidationEvent{1, Block("x"), Validity::kValid}).value();
  const std::optional<proto::Vote> prevote = BroadcastIn(actions);
  ASSERT_TRUE(prevote.has_value());
  EXPECT_EQ(prevote->body.block_hash, Block("x"));
  const bool armed = std::any_of(actions.begin(), actions.end(), [](const Action& action) {
    const auto* timer = std::get_if<ScheduleTimeout>(&action);
    return timer != nullptr && timer->kind == TimeoutKind::kPrevote && timer->round == 0;
  });
  EXPECT_TRUE(armed) << "no prevote timeout: we would wait in the prevote step forever";
}

}  // namespace
}  // namespace civic::consensus
