// The engine end to end: validators exchanging messages through a small in-order network,
// deciding blocks with certificates that anyone holding the validator set can verify.
#include "civic/consensus/engine.h"

#include <gtest/gtest.h>
#include <sodium.h>

#include <deque>
#include <map>
#include <optional>

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

// The block validator `who` proposes at (height, round): distinct everywhere.
ValueId BlockOf(Height height, Round round, std::size_t who) {
  return Block("block " + std::to_string(height) + "/" + std::to_string(round) + " by " + std::to_string(who));
}

// Engines joined by a network that delivers every message, in the order sent; when nothing
// is in flight, the shortest armed timer of a current round fires. The application answers
// at once and commits what is decided.
class Network {
 public:
  explicit Network(Validators validators) : set_(validators.set) {
    for (std::size_t i = 0; i < validators.keys.size(); ++i) {
      ValidatorSchedule schedule(1, set_);
      nodes_.push_back(Node{Engine(EngineConfig{TestChain(), TimeoutConfig{}}, std::move(validators.keys[i]),
                                   std::move(schedule), 1, std::nullopt)});
    }
  }

  struct Node {
    explicit Node(Engine e) : engine(std::move(e)) {}
    Engine engine;
    std::vector<Decide> decisions;
    std::vector<ReportEvidence> evidence;
    std::vector<ScheduleTimeout> timers;
    std::optional<LastSigned> persisted;
    bool down = false;
  };

  Node& node(std::size_t i) { return nodes_[i]; }
  std::size_t size() const { return nodes_.size(); }
  void Crash(std::size_t i) { nodes_[i].down = true; }
  // A validator-set change the application decides while committing `height`.
  void ChangeSetAt(Height height, proto::ValidatorSet set) { changes_[height] = std::move(set); }

  void StartAll() {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (!nodes_[i].down) Deliver(i, StartEvent{});
    }
  }

  // Runs until every live node has decided `height`, or `max_events` events were delivered.
  void RunUntilDecided(Height height, int max_events = 100'000) {
    for (int events = 0; events < max_events && !AllDecided(height); ++events) {
      if (!queue_.empty()) {
        auto [to, event] = std::move(queue_.front());
        queue_.pop_front();
        Deliver(to, event);
      } else if (!FireShortestTimer()) {
        break;
      }
    }
    ASSERT_TRUE(AllDecided(height)) << "not every live validator decided height " << height;
  }

  bool AllDecided(Height height) const {
    for (const Node& n : nodes_) {
      if (!n.down && n.decisions.size() < height) return false;
    }
    return true;
  }

 private:
  void Deliver(std::size_t to, const Event& event) {
    Node& n = nodes_[to];
    if (n.down) return;
    proto::Result<Actions> actions = n.engine.Step(event);
    ASSERT_TRUE(actions.has_value()) << proto::ToString(actions.error());
    Execute(to, *actions);
  }

  void Broadcast(std::size_t from, const Event& event) {
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      if (i != from) queue_.emplace_back(i, event);  // the sender counts its own message already
    }
  }

  void Execute(std::size_t i, const Actions& actions) {
    Node& n = nodes_[i];
    const LastSigned* persisted_just_before = nullptr;
    for (const Action& action : actions) {
      const LastSigned* persisted_now = nullptr;
      if (const auto* persist = std::get_if<PersistSigned>(&action)) {
        EXPECT_TRUE(CheckSigningOrder(n.persisted, persist->record).has_value());
        n.persisted = persist->record;
        persisted_now = &persist->record;
      } else if (const auto* vote = std::get_if<BroadcastVote>(&action)) {
        // Persist first: the record of exactly this vote was written by the action before.
        ASSERT_NE(persisted_just_before, nullptr) << "a vote broadcast without persisting first";
        EXPECT_EQ(persisted_just_before->digest, proto::VoteSigningDigest(TestChain(), vote->vote.body).value());
        Broadcast(i, VoteEvent{vote->vote});
      } else if (const auto* proposal = std::get_if<BroadcastProposal>(&action)) {
        ASSERT_NE(persisted_just_before, nullptr) << "a proposal broadcast without persisting first";
        EXPECT_EQ(persisted_just_before->digest, ProposalSigningDigest(TestChain(), proposal->proposal.body).value());
        Broadcast(i, ProposalEvent{proposal->proposal});
      } else if (const auto* timer = std::get_if<ScheduleTimeout>(&action)) {
        n.timers.push_back(*timer);
      } else if (const auto* request = std::get_if<RequestProposal>(&action)) {
        queue_.emplace_back(
            i, ProposalValueEvent{request->height, request->round, BlockOf(request->height, request->round, i)});
      } else if (const auto* validation = std::get_if<RequestValidation>(&action)) {
        queue_.emplace_back(i, ValidationEvent{validation->height, validation->value, Validity::kValid});
      } else if (const auto* decide = std::get_if<Decide>(&action)) {
        // Anyone holding the set of that height can check the certificate alone.
        EXPECT_TRUE(
            proto::VerifyCommitCertificate(TestChain(), n.engine.schedule().SetAt(decide->height), decide->certificate)
                .has_value());
        EXPECT_EQ(decide->certificate.block_hash, decide->proposal.body.block_hash);
        EXPECT_EQ(decide->height, n.decisions.size() + 1);
        n.decisions.push_back(*decide);
        std::optional<proto::ValidatorSet> change;
        if (changes_.contains(decide->height)) change = changes_.at(decide->height);
        queue_.emplace_back(i, CommittedEvent{decide->height, change});
      } else if (const auto* evidence = std::get_if<ReportEvidence>(&action)) {
        n.evidence.push_back(*evidence);
      }
      persisted_just_before = persisted_now;
    }
  }

  bool FireShortestTimer() {
    std::optional<std::pair<std::size_t, std::size_t>> best;  // (node, timer index)
    for (std::size_t i = 0; i < nodes_.size(); ++i) {
      Node& n = nodes_[i];
      if (n.down) continue;
      // A timer of a round or height the node left can no longer matter.
      std::erase_if(n.timers, [&](const ScheduleTimeout& t) {
        return t.height != n.engine.height() || t.round != n.engine.round();
      });
      for (std::size_t k = 0; k < n.timers.size(); ++k) {
        if (!best || n.timers[k].duration_ticks < nodes_[best->first].timers[best->second].duration_ticks) {
          best = std::make_pair(i, k);
        }
      }
    }
    if (!best) return false;
    Node& n = nodes_[best->first];
    const ScheduleTimeout timer = n.timers[best->second];
    n.timers.erase(n.timers.begin() + static_cast<std::ptrdiff_t>(best->second));
    queue_.emplace_back(best->first, TimeoutEvent{timer.height, timer.round, timer.kind});
    return true;
  }

  proto::ValidatorSet set_;
  std::vector<Node> nodes_;
  std::deque<std::pair<std::size_t, Event>> queue_;
  std::map<Height, proto::ValidatorSet> changes_;
};

TEST(Engine, FourValidatorsDecideABlockWithAVerifiableCertificate) {
  Validators v = MakeValidators({10, 20, 30, 40});
  const proto::ValidatorSet set = v.set;
  const WeightedRoundRobin proposers(set, 1);
  const std::size_t proposer = v.IndexOf(proposers.Proposer(1, 0));
  Network network(std::move(v));
  network.StartAll();
  network.RunUntilDecided(1);
  for (std::size_t i = 0; i < network.size(); ++i) {
    const Decide& decide = network.node(i).decisions.at(0);
    EXPECT_EQ(decide.height, 1u);
    EXPECT_EQ(decide.round, 0);  // nobody failed: the first round decides
    EXPECT_EQ(decide.proposal.body.proposer, set.validators[proposer].key);
    EXPECT_EQ(decide.proposal.body.block_hash, BlockOf(1, 0, proposer));
    EXPECT_TRUE(VerifyProposal(TestChain(), decide.proposal).has_value());
    EXPECT_TRUE(proto::VerifyCommitCertificate(TestChain(), set, decide.certificate).has_value());
    EXPECT_TRUE(network.node(i).evidence.empty());
  }
  // A certificate does not verify for another block.
  proto::CommitCertificate forged = network.node(0).decisions.at(0).certificate;
  forged.block_hash = Block("something else");
  EXPECT_FALSE(proto::VerifyCommitCertificate(TestChain(), set, forged).has_value());
}

TEST(Engine, ValidatorsAgreeOverManyHeights) {
  Network network(MakeValidators({10, 20, 30, 40}));
  network.StartAll();
  network.RunUntilDecided(8);
  for (Height h = 1; h <= 8; ++h) {
    const Decide& first = network.node(0).decisions.at(h - 1);
    for (std::size_t i = 1; i < network.size(); ++i) {
      EXPECT_EQ(network.node(i).decisions.at(h - 1).proposal, first.proposal) << "height " << h;
    }
  }
}

TEST(Engine, ASilentProposerCostsARoundNotTheHeight) {
  Validators v = MakeValidators({1, 1, 1, 1});
  const WeightedRoundRobin proposers(v.set, 1);
  const std::size_t silent = v.IndexOf(proposers.Proposer(1, 0));
  Network network(std::move(v));
  network.Crash(silent);
  network.StartAll();
  network.RunUntilDecided(1);
  for (std::size_t i = 0; i < network.size(); ++i) {
    if (i == silent) continue;
    const Decide& decide = network.node(i).decisions.at(0);
    EXPECT_GE(decide.round, 1);  // propose timeout, prevote nil, precommit nil, next round
    EXPECT_EQ(decide.proposal.body.block_hash, network.node((silent + 1) % 4).decisions.at(0).proposal.body.block_hash);
  }
}

TEST(Engine, AValidatorSetChangeTakesEffectTwoHeightsLater) {
  Validators v = MakeValidators({10, 20, 30, 40});
  const proto::ValidatorSet before = v.set;
  proto::ValidatorSet after = v.set;
  for (std::size_t i = 0; i < after.validators.size(); ++i) after.validators[i].power = 40 - 10 * i;
  Network network(std::move(v));
  network.ChangeSetAt(1, after);  // decided while committing height 1
  network.StartAll();
  network.RunUntilDecided(3);
  for (std::size_t i = 0; i < network.size(); ++i) {
    const Network::Node& node = network.node(i);
    EXPECT_EQ(node.engine.schedule().SetAt(3), after);
    // Height 2 was still signed by the old powers, height 3 by the new ones.
    EXPECT_TRUE(proto::VerifyCommitCertificate(TestChain(), before, node.decisions.at(1).certificate).has_value());
    EXPECT_TRUE(proto::VerifyCommitCertificate(TestChain(), after, node.decisions.at(2).certificate).has_value());
    EXPECT_EQ(node.engine.driver().state().keeper.validators(), after);
  }
}

TEST(Engine, AValidatorRemovedFromTheSetFollowsWithoutSigning) {
  Validators v = MakeValidators({10, 10, 10, 10, 10});
  const proto::Ed25519PublicKey removed = v.set.validators[0].key;
  const std::size_t removed_node = v.IndexOf(removed);
  proto::ValidatorSet after = v.set;
  after.validators.erase(after.validators.begin());
  Network network(std::move(v));
  network.ChangeSetAt(1, after);  // validates from height 3
  network.StartAll();
  network.RunUntilDecided(5);
  const Network::Node& node = network.node(removed_node);
  ASSERT_TRUE(node.persisted.has_value());
  EXPECT_LE(node.persisted->height, 2u) << "a validator signed at a height whose set does not hold it";
  EXPECT_EQ(node.decisions.size(), 5u) << "it still follows the chain";
  for (std::size_t h = 2; h < 5; ++h) {
    EXPECT_TRUE(proto::VerifyCommitCertificate(TestChain(), after, node.decisions.at(h).certificate).has_value()) << h;
  }
}

// One engine fed by hand, run by a validator that does not propose round 0 of height 1.
struct Single {
  explicit Single(std::optional<LastSigned> last_signed = std::nullopt)
      : v(MakeValidators({1, 1, 1, 1})),
        proposer(v.IndexOf(WeightedRoundRobin(v.set, 1).Proposer(1, 0))),
        self((proposer + 1) % 4),
        engine(EngineConfig{TestChain(), TimeoutConfig{}}, std::move(v.keys[self]), ValidatorSchedule(1, v.set), 1,
               std::move(last_signed)) {}

  // A validator that is neither us nor the round-0 proposer.
  std::size_t Other() const { return (proposer + 2) % 4; }

  Validators v;  // v.keys[self] moved into the engine: never sign with it here
  std::size_t proposer;
  std::size_t self;
  Engine engine;
};

TEST(Engine, AnEquivocatingVoterBecomesEvidence) {
  Single s;
  ASSERT_TRUE(s.engine.Step(StartEvent{}).has_value());
  const std::size_t other = s.Other();
  ASSERT_TRUE(s.engine.Step(VoteEvent{MakeVote(s.v, other, VoteType::kPrevote, 1, 0, Block("a"))}).has_value());
  const Actions actions = s.engine.Step(VoteEvent{MakeVote(s.v, other, VoteType::kPrevote, 1, 0, Block("b"))}).value();
  ASSERT_EQ(actions.size(), 1u);
  const auto* report = std::get_if<ReportEvidence>(&actions[0]);
  ASSERT_NE(report, nullptr);
  const VoteEquivocation& evidence = std::get<VoteEquivocation>(report->evidence);
  EXPECT_TRUE(VerifyEvidence(TestChain(), evidence).has_value());
  EXPECT_EQ(evidence.first.body.validator, s.v.id(other));
}

TEST(Engine, AnEquivocatingProposerBecomesEvidence) {
  Single s;
  ASSERT_TRUE(s.engine.Step(StartEvent{}).has_value());
  ASSERT_EQ(s.engine.driver().Proposer(0), s.v.id(s.proposer));
  ASSERT_TRUE(s.engine.Step(ProposalEvent{MakeProposal(s.v, s.proposer, 1, 0, Block("a"))}).has_value());
  const Actions actions = s.engine.Step(ProposalEvent{MakeProposal(s.v, s.proposer, 1, 0, Block("b"))}).value();
  ASSERT_FALSE(actions.empty());
  const auto* report = std::get_if<ReportEvidence>(&actions[0]);
  ASSERT_NE(report, nullptr);
  EXPECT_TRUE(VerifyEvidence(TestChain(), std::get<ProposalEquivocation>(report->evidence)).has_value());
}

TEST(Engine, BadInputIsAnErrorAndChangesNothing) {
  Single s;
  ASSERT_TRUE(s.engine.Step(StartEvent{}).has_value());
  const std::size_t other = s.Other();
  proto::Vote forged = MakeVote(s.v, other, VoteType::kPrevote, 1, 0, Block("a"));
  forged.body.block_hash = Block("b");
  EXPECT_EQ(s.engine.Step(VoteEvent{forged}).error().code, proto::ErrorCode::kBadSignature);
  const Validators strangers = MakeValidators({1}, 0x33);
  EXPECT_EQ(s.engine.Step(VoteEvent{MakeVote(strangers, 0, VoteType::kPrevote, 1, 0, std::nullopt)}).error().code,
            proto::ErrorCode::kInvalidArgument);
  EXPECT_EQ(s.engine.Step(ProposalEvent{MakeProposal(s.v, other, 1, 0, Block("a"))}).error().code,
            proto::ErrorCode::kInvalidArgument);
  EXPECT_TRUE(s.engine.driver().state().keeper.rounds().empty());
  EXPECT_TRUE(s.engine.driver().state().proposals.empty());
  // Votes far ahead are bounded per validator.
  for (Round r = 5; r < 5 + static_cast<Round>(kFutureRoundsPerValidatorMax); ++r) {
    EXPECT_TRUE(s.engine.Step(VoteEvent{MakeVote(s.v, other, VoteType::kPrevote, 1, r, std::nullopt)}).has_value());
  }
  EXPECT_FALSE(s.engine.Step(VoteEvent{MakeVote(s.v, other, VoteType::kPrevote, 1, 50, std::nullopt)}).has_value());
}

// A peer that replays real votes (issue 10, a peer flooding votes): a copy of a vote the
// engine holds is recognised before its signature is checked (VoteKeeper::Holds) and changes
// nothing; the same vote with its signature altered is still refused. At this height and the
// next.
TEST(Engine, ACopyOfAKeptVoteChangesNothingAndAnAlteredOneIsRefused) {
  Single s;
  ASSERT_TRUE(s.engine.Step(StartEvent{}).has_value());
  const std::size_t other = s.Other();
  for (const Height height : {Height{1}, Height{2}}) {
    SCOPED_TRACE(height);
    const proto::Vote vote = MakeVote(s.v, other, VoteType::kPrevote, height, 0, Block("a"));
    ASSERT_TRUE(s.engine.Step(VoteEvent{vote}).has_value());
    const DriverState before = s.engine.driver().state();
    for (int copies = 0; copies < 3; ++copies) {
      proto::Result<Actions> again = s.engine.Step(VoteEvent{vote});
      ASSERT_TRUE(again.has_value());
      EXPECT_TRUE(again->empty());
    }
    EXPECT_TRUE(s.engine.driver().state() == before);
    proto::Vote altered = vote;
    altered.signature.bytes[10] ^= 0x01;
    proto::Result<Actions> refused = s.engine.Step(VoteEvent{altered});
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, proto::ErrorCode::kBadSignature);
  }
  EXPECT_TRUE(s.engine.driver().state().keeper.Holds(MakeVote(s.v, other, VoteType::kPrevote, 1, 0, Block("a"))));
  EXPECT_FALSE(s.engine.driver().state().keeper.Holds(MakeVote(s.v, other, VoteType::kPrevote, 1, 0, Block("b"))));
}

TEST(Engine, EarlyMessagesAreCheckedBeforeTheyAreKept) {
  Single s;
  ASSERT_TRUE(s.engine.Step(StartEvent{}).has_value());
  const std::size_t other = s.Other();
  EXPECT_TRUE(s.engine.Step(VoteEvent{MakeVote(s.v, other, VoteType::kPrevote, 2, 0, Block("a"))}).value().empty());
  proto::Vote forged = MakeVote(s.v, other, VoteType::kPrevote, 2, 0, Block("a"));
  forged.body.round = 1;
  EXPECT_EQ(s.engine.Step(VoteEvent{forged}).error().code, proto::ErrorCode::kBadSignature);
  const Validators strangers = MakeValidators({1}, 0x33);
  EXPECT_FALSE(s.engine.Step(VoteEvent{MakeVote(strangers, 0, VoteType::kPrevote, 2, 0, std::nullopt)}).has_value());
  // Nothing of height 2 reached the height-1 vote keeper.
  EXPECT_TRUE(s.engine.driver().state().keeper.rounds().empty());
}

TEST(Engine, MessagesOfTheNextHeightWaitUntilWeGetThere) {
  Single s;
  ASSERT_TRUE(s.engine.Step(StartEvent{}).has_value());
  const WeightedRoundRobin proposers(s.v.set, 1);
  const std::size_t proposer_2_1 = s.v.IndexOf(proposers.Proposer(2, 1));
  ASSERT_NE(proposer_2_1, s.self);
  const std::size_t other = s.Other();
  // Others already decided height 1 and work on height 2.
  const proto::Vote early_vote = MakeVote(s.v, other, VoteType::kPrevote, 2, 0, Block("b"));
  EXPECT_TRUE(s.engine.Step(VoteEvent{early_vote}).value().empty());
  EXPECT_TRUE(s.engine.Step(ProposalEvent{MakeProposal(s.v, proposer_2_1, 2, 1, Block("c"))}).value().empty());

  // We decide height 1: the proposal, and precommits of everyone but us (3 of 4).
  ASSERT_TRUE(s.engine.Step(ProposalEvent{MakeProposal(s.v, s.proposer, 1, 0, Block("a"))}).has_value());
  ASSERT_TRUE(s.engine.Step(ValidationEvent{1, Block("a"), Validity::kValid}).has_value());
  Actions decided;
  for (std::size_t i = 0; i < 4; ++i) {
    if (i == s.self) continue;
    decided = s.engine.Step(VoteEvent{MakeVote(s.v, i, VoteType::kPrecommit, 1, 0, Block("a"))}).value();
  }
  ASSERT_FALSE(decided.empty());
  ASSERT_TRUE(std::holds_alternative<Decide>(decided.back()));

  // Committing starts height 2, and what arrived early counts now.
  const Actions started = s.engine.Step(CommittedEvent{1, std::nullopt}).value();
  EXPECT_EQ(s.engine.height(), 2u);
  const auto& prevotes = s.engine.driver().state().keeper.rounds().at(0).prevotes.received;
  EXPECT_NE(std::find(prevotes.begin(), prevotes.end(), early_vote), prevotes.end());
  bool asked_to_validate = false;
  for (const Action& action : started) {
    if (const auto* request = std::get_if<RequestValidation>(&action)) {
      asked_to_validate = request->height == 2 && request->round == 1 && request->value == Block("c");
    }
  }
  EXPECT_TRUE(asked_to_validate);
}

// Another valid signature of `vote`'s body by its validator, whose key comes from `seed`.
// RFC 8032 derives the nonce from the key and the message, but nothing makes a signer do so:
// a Byzantine validator can sign one vote in as many ways as it likes.
proto::Vote SignedWithAnotherNonce(proto::Vote vote, const proto::Secret32& seed) {
  const proto::Hash32 digest = proto::VoteSigningDigest(TestChain(), vote.body).value();
  std::array<unsigned char, 64> hashed{};
  crypto_hash_sha512(hashed.data(), seed.data(), seed.size());
  hashed[0] &= 248;
  hashed[31] &= 127;
  hashed[31] |= 64;
  std::array<unsigned char, 64> wide{};
  std::copy(hashed.begin(), hashed.begin() + 32, wide.begin());
  std::array<unsigned char, 32> secret{};  // the key's scalar a, reduced
  crypto_core_ed25519_scalar_reduce(secret.data(), wide.data());
  std::array<unsigned char, 32> public_key{};
  EXPECT_EQ(crypto_scalarmult_ed25519_base_noclamp(public_key.data(), secret.data()), 0);
  EXPECT_TRUE(std::equal(public_key.begin(), public_key.end(), vote.body.validator.bytes.begin()));
  const auto sha512 = [](std::initializer_list<proto::ByteView> parts) {
    crypto_hash_sha512_state state;
    crypto_hash_sha512_init(&state);
    for (const proto::ByteView part : parts) crypto_hash_sha512_update(&state, part.data(), part.size());
    std::array<unsigned char, 64> out{};
    crypto_hash_sha512_final(&state, out.data());
    return out;
  };
  const std::string other = "another nonce";
  const std::array<unsigned char, 64> nonce_hash =
      sha512({proto::ByteView(reinterpret_cast<const std::uint8_t*>(other.data()), other.size()), digest.view()});
  std::array<unsigned char, 32> nonce{};
  crypto_core_ed25519_scalar_reduce(nonce.data(), nonce_hash.data());
  std::array<unsigned char, 32> r_point{};
  EXPECT_EQ(crypto_scalarmult_ed25519_base_noclamp(r_point.data(), nonce.data()), 0);
  const std::array<unsigned char, 64> k_hash = sha512({proto::ByteView(r_point.data(), r_point.size()),
                                                       proto::ByteView(public_key.data(), public_key.size()), digest.view()});
  std::array<unsigned char, 32> k{};
  crypto_core_ed25519_scalar_reduce(k.data(), k_hash.data());
  std::array<unsigned char, 32> ka{};
  crypto_core_ed25519_scalar_mul(ka.data(), k.data(), secret.data());
  std::array<unsigned char, 32> s_scalar{};
  crypto_core_ed25519_scalar_add(s_scalar.data(), nonce.data(), ka.data());
  std::copy(r_point.begin(), r_point.end(), vote.signature.bytes.begin());
  std::copy(s_scalar.begin(), s_scalar.end(), vote.signature.bytes.begin() + 32);
  return vote;
}

// The seed of validator `who` of MakeValidators (the set orders validators by key).
proto::Secret32 SeedOf(const Validators& v, std::size_t who) {
  for (std::uint8_t i = 0; i < v.set.validators.size(); ++i) {
    if (proto::Ed25519KeyPair::FromSeed(testing::Seed(0x5a, i)).public_key() == v.id(who)) return testing::Seed(0x5a, i);
  }
  ADD_FAILURE() << "no seed for validator " << who;
  return {};
}

// Whether `actions` hold this engine's prevote for `value` in `round`.
bool PrevotesFor(const Actions& actions, Round round, const ValueId& value) {
  return std::any_of(actions.begin(), actions.end(), [&](const Action& action) {
    const auto* vote = std::get_if<BroadcastVote>(&action);
    return vote != nullptr && vote->vote.body.type == VoteType::kPrevote && Round{vote->vote.body.round} == round &&
           vote->vote.body.block_hash == value;
  });
}

// Three validators saw a polka for block B in round 1 and locked on it; the fourth was away.
// In round 2 B is proposed again with valid round 1 (line 16), and the locked ones prevote
// it (line 28), but the fourth cannot without that polka: with a fourth validator stopped,
// nothing could be decided (a process test found this: Network.AValidatorBackFromAway...).
// A locked validator has the polka (ValidPolka) and the node sends it as a certificate; with
// it, the fourth prevotes B.
TEST(Engine, AValidatorThatMissedAPolkaTakesTheValueProposedAgainOnceItArrives) {
  Validators v = MakeValidators({1, 1, 1, 1});     // signs the others' messages here
  Validators own = MakeValidators({1, 1, 1, 1});   // the same keys, for the two engines
  const WeightedRoundRobin proposers(v.set, 1);
  const std::size_t p1 = v.IndexOf(proposers.Proposer(1, 1));
  const std::size_t p2 = v.IndexOf(proposers.Proposer(1, 2));
  std::size_t away = 0;
  while (away == p1 || away == p2) ++away;
  std::size_t seen = 0;  // a locked validator with an engine here: not the away one, not p1
  while (seen == away || seen == p1) ++seen;
  std::size_t third = 0;
  while (third == away || third == p1 || third == seen) ++third;
  const ValueId b = Block("B");

  Engine locked(EngineConfig{TestChain(), TimeoutConfig{}}, std::move(own.keys[seen]), ValidatorSchedule(1, v.set),
                1, std::nullopt);
  ASSERT_TRUE(locked.Step(StartEvent{}).has_value());
  EXPECT_FALSE(locked.ValidPolka().has_value()) << "no polka yet";
  // Two prevotes of round 1 for B (more than a third): on to round 1; p1's proposal; B is valid.
  ASSERT_TRUE(locked.Step(VoteEvent{MakeVote(v, p1, VoteType::kPrevote, 1, 1, b)}).has_value());
  ASSERT_TRUE(locked.Step(VoteEvent{MakeVote(v, third, VoteType::kPrevote, 1, 1, b)}).has_value());
  ASSERT_EQ(locked.round(), 1);
  ASSERT_TRUE(locked.Step(ProposalEvent{MakeProposal(v, p1, 1, 1, b)}).has_value());
  const Actions validated = locked.Step(ValidationEvent{1, b, Validity::kValid}).value();
  EXPECT_TRUE(PrevotesFor(validated, 1, b));
  ASSERT_EQ(locked.driver().state().round.locked_round, 1) << "three prevotes for B: locked";
  const std::optional<std::vector<proto::Vote>> polka = locked.ValidPolka();
  ASSERT_TRUE(polka.has_value());
  EXPECT_EQ(polka->size(), 3u);
  for (const proto::Vote& vote : *polka) {
    EXPECT_EQ(vote.body.type, VoteType::kPrevote);
    EXPECT_EQ(Round{vote.body.round}, 1);
    EXPECT_EQ(vote.body.block_hash, b);
  }

  // The one that was away: round 2's prevotes for B bring it to round 2, where p2 proposes B
  // again with valid round 1. Without the polka it does not prevote B.
  Engine back(EngineConfig{TestChain(), TimeoutConfig{}}, std::move(own.keys[away]), ValidatorSchedule(1, v.set), 1,
              std::nullopt);
  ASSERT_TRUE(back.Step(StartEvent{}).has_value());
  ASSERT_TRUE(back.Step(VoteEvent{MakeVote(v, p1, VoteType::kPrevote, 1, 2, b)}).has_value());
  ASSERT_TRUE(back.Step(VoteEvent{MakeVote(v, seen, VoteType::kPrevote, 1, 2, b)}).has_value());
  ASSERT_EQ(back.round(), 2);
  Actions before = back.Step(ProposalEvent{MakeProposal(v, p2, 1, 2, b, /*valid_round=*/1)}).value();
  if (std::any_of(before.begin(), before.end(), [](const Action& a) { return std::holds_alternative<RequestValidation>(a); })) {
    const Actions more = back.Step(ValidationEvent{1, b, Validity::kValid}).value();
    before.insert(before.end(), more.begin(), more.end());
  }
  EXPECT_FALSE(PrevotesFor(before, 2, b)) << "line 28 needs the polka of round 1";
  // The polka arrives: it prevotes B.
  const Actions after = back.Step(CertificateEvent{*polka}).value();
  EXPECT_TRUE(PrevotesFor(after, 2, b));
  const VoteCount& round_1 = back.driver().state().keeper.rounds().at(1).prevotes;
  EXPECT_EQ(round_1.received.size(), 3u);
  EXPECT_EQ(round_1.value_weights.at(b), 3u);

  // The same polka with one vote signed another way (a valid signature of the same body):
  // taken (it still carries two thirds), but that vote is not kept, nor counted, twice.
  std::vector<proto::Vote> resigned = *polka;
  resigned[0] = SignedWithAnotherNonce(resigned[0], SeedOf(v, v.IndexOf(resigned[0].body.validator)));
  ASSERT_NE(resigned[0].signature, (*polka)[0].signature);
  ASSERT_TRUE(proto::VerifyVote(TestChain(), resigned[0]).has_value());
  EXPECT_TRUE(back.Step(CertificateEvent{resigned}).has_value());
  EXPECT_EQ(round_1.received.size(), 3u);
  EXPECT_EQ(round_1.value_weights.at(b), 3u);
  EXPECT_EQ(back.driver().state().keeper.CertificateFor(Threshold{ThresholdKind::kPolkaValue, 1, b})->size(), 3u);

  // What could not count costs no signature check: a polka of two, a vote twice, mixed
  // rounds, or nil are refused as such, forged signatures and all; a forged one that could
  // count is refused for its signature.
  std::vector<proto::Vote> forged = resigned;
  for (proto::Vote& vote : forged) vote.signature.bytes[5] ^= 0x01;
  const auto refusal = [&](std::vector<proto::Vote> votes) -> std::optional<proto::ErrorCode> {
    proto::Result<Actions> result = back.Step(CertificateEvent{std::move(votes)});
    if (result) return std::nullopt;
    return result.error().code;
  };
  EXPECT_EQ(refusal({forged[0], forged[1]}), proto::ErrorCode::kInvalidArgument);
  EXPECT_EQ(refusal({forged[0], forged[1], forged[1]}), proto::ErrorCode::kInvalidArgument);
  std::vector<proto::Vote> mixed = forged;
  mixed[2].body.round = 2;
  EXPECT_EQ(refusal(mixed), proto::ErrorCode::kInvalidArgument);
  std::vector<proto::Vote> nil = forged;
  for (proto::Vote& vote : nil) vote.body.block_hash.reset();
  EXPECT_EQ(refusal(nil), proto::ErrorCode::kInvalidArgument);
  EXPECT_EQ(refusal(forged), proto::ErrorCode::kBadSignature);
}

TEST(Engine, AStalledValidatorSendsAgainAfter1_2_4_8And16LooksThenEvery16) {
  std::vector<std::uint64_t> due;
  for (std::uint64_t looks = 0; looks <= 80; ++looks) {
    if (ResendWhenStalled(looks)) due.push_back(looks);
  }
  EXPECT_EQ(due, (std::vector<std::uint64_t>{1, 2, 4, 8, 16, 32, 48, 64, 80}));
}

TEST(Engine, ABlockFromSyncMovesTheEngineOnWithoutADecisionOfItsOwn) {
  Single s;
  ASSERT_TRUE(s.engine.Step(StartEvent{}).has_value());
  // Without a Decide, a commit is an application bug unless it came from block sync...
  EXPECT_FALSE(s.engine.Step(CommittedEvent{1, std::nullopt}).has_value());
  EXPECT_EQ(s.engine.height(), 1u);
  // ...and from block sync it is only for the engine's own height.
  EXPECT_FALSE(s.engine.Step(CommittedEvent{2, std::nullopt, /*from_sync=*/true}).has_value());
  EXPECT_EQ(s.engine.height(), 1u);
  // A synced block of height 1: on to height 2, with a timer for its first round.
  const Actions started = s.engine.Step(CommittedEvent{1, std::nullopt, /*from_sync=*/true}).value();
  EXPECT_EQ(s.engine.height(), 2u);
  EXPECT_EQ(s.engine.round(), 0);
  EXPECT_FALSE(s.engine.decided());
  EXPECT_FALSE(started.empty());
}

TEST(Engine, ARestartedValidatorDoesNotSignAgainstItsRecord) {
  // Before the crash we prevoted block "x" in round 0 of height 1 and persisted that.
  const Single before;
  proto::VoteBody body;
  body.type = VoteType::kPrevote;
  body.height = 1;
  body.round = 0;
  body.block_hash = Block("x");
  body.validator = before.engine.self();
  const LastSigned record{kLastSignedVersion, 1, 0, SignedStep::kPrevote,
                          proto::VoteSigningDigest(TestChain(), body).value()};
  Single s(record);
  ASSERT_TRUE(s.engine.Step(StartEvent{}).has_value());
  ASSERT_TRUE(s.engine.Step(ProposalEvent{MakeProposal(s.v, s.proposer, 1, 0, Block("y"))}).has_value());
  const Actions actions = s.engine.Step(ValidationEvent{1, Block("y"), Validity::kValid}).value();
  // The round machine wants to prevote "y"; the safety component refuses; nothing leaves.
  for (const Action& action : actions) {
    EXPECT_FALSE(std::holds_alternative<BroadcastVote>(action));
    EXPECT_FALSE(std::holds_alternative<PersistSigned>(action));
  }
  EXPECT_EQ(s.engine.last_signed(), record);

  // Without that record the same events make it persist and broadcast a prevote for "y".
  Single fresh;
  ASSERT_TRUE(fresh.engine.Step(StartEvent{}).has_value());
  ASSERT_TRUE(fresh.engine.Step(ProposalEvent{MakeProposal(fresh.v, fresh.proposer, 1, 0, Block("y"))}).has_value());
  const Actions prevote = fresh.engine.Step(ValidationEvent{1, Block("y"), Validity::kValid}).value();
  ASSERT_GE(prevote.size(), 2u);
  EXPECT_TRUE(std::holds_alternative<PersistSigned>(prevote[0]));
  ASSERT_TRUE(std::holds_alternative<BroadcastVote>(prevote[1]));
  EXPECT_EQ(std::get<BroadcastVote>(prevote[1]).vote.body.block_hash, Block("y"));
}

}  // namespace
}  // namespace civic::consensus
