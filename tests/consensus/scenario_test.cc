// Known failures of other Tendermint implementations, replayed as scripted runs of the
// simulator (sim.h): the same engines, network and checks as the random runs, with the
// faults placed by hand. Each test names the issue it re-enacts and prints what it measured.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <optional>
#include <set>
#include <vector>

#include "civic/consensus/proposer.h"
#include "civic/consensus/timeouts.h"
#include "sim.h"
#include "sim_test_util.h"

namespace civic::consensus::sim {
namespace {

// Generous limits for the scripted phases: a phase that needs more is a failure.
constexpr std::uint64_t kPhaseTicksMax = 2'000'000;
// How long a stalled cluster is watched to show that it stays stalled.
constexpr std::uint64_t kWatchStalledTicks = 150'000;

Options Scripted(std::uint64_t seed, std::vector<std::uint64_t> powers, std::vector<Behaviour> behaviours = {}) {
  Options options;
  options.seed = seed;
  options.mix = *MixNamed("calm");  // no random faults; delays up to kCalmDelayTicksMax
  options.powers = std::move(powers);
  options.behaviours = std::move(behaviours);
  options.trace = testing::TraceRequested();  // CIVIC_SIM_TRACE=1: every event to stderr
  return options;
}

bool AllHonestCommitted(const Simulation& sim, Height height) {
  for (std::size_t i = 0; i < sim.size(); ++i) {
    if (sim.behaviour(i) == Behaviour::kHonest && sim.committed(i) < height) return false;
  }
  return true;
}

bool AnyCommitted(const Simulation& sim, Height height) {
  for (std::size_t i = 0; i < sim.size(); ++i) {
    if (sim.committed(i) >= height) return true;
  }
  return false;
}

std::size_t ProposerIndex(const Simulation& sim, Height height, Round round) {
  const ValidatorId key = WeightedRoundRobin(sim.validators(), 1).Proposer(height, round);
  for (std::size_t i = 0; i < sim.size(); ++i) {
    if (sim.validators().validators[i].key == key) return i;
  }
  ADD_FAILURE() << "no proposer";
  return 0;
}

bool Signed(const Simulation& sim, std::size_t node, Height height, Round round, SignedStep step,
            std::uint64_t after_tick = 0) {
  for (const SignedEntry& e : sim.signed_log()) {
    if (e.node == node && e.height == height && e.round == round && e.step == step && e.tick >= after_tick) return true;
  }
  return false;
}

const proto::Vote* VoteIn(const Message& message) { return std::get_if<proto::Vote>(&message); }

// ---------------------------------------------------------------------------------------
// tendermint issue 3089: more than 1/3 of the power crashed mid-round; after restarting,
// validators failed to vote in the next round ("Error signing vote: Conflicting data").
TEST(Scenario, Tendermint3089_MoreThanAThirdCrashedMidRoundAndAllVoteInTheNextRound) {
  Simulation sim(Scripted(3089, {1, 1, 1, 1}));
  ASSERT_TRUE(sim.RunUntil([&] { return AllHonestCommitted(sim, 2); }, kPhaseTicksMax)) << sim.Describe();

  // Height 3: the proposals of rounds 0 and 1 are lost, so everyone prevotes nil in round 1.
  constexpr Height h = 3;
  sim.SetDropFilter([](std::size_t, std::size_t, const Message& m) {
    const auto* p = std::get_if<Proposal>(&m);
    return p != nullptr && p->body.height == h && p->body.round <= 1;
  });
  ASSERT_TRUE(sim.RunUntil(
      [&] {
        for (std::size_t i = 0; i < sim.size(); ++i) {
          if (sim.engine(i)->height() != h || sim.engine(i)->round() != 1) return false;
        }
        return true;
      },
      kPhaseTicksMax));
  // Two of four (more than 1/3) crash right after persisting their round-1 prevote, which
  // therefore never leaves. Not the proposer of round 1: it would sign its proposal first.
  const std::size_t proposer = ProposerIndex(sim, h, 1);
  std::vector<std::size_t> crashing;
  for (std::size_t i = 0; i < sim.size() && crashing.size() < 2; ++i) {
    if (i != proposer) crashing.push_back(i);
  }
  for (const std::size_t i : crashing) sim.CrashAfterNextPersist(i);
  ASSERT_TRUE(sim.RunUntil([&] { return sim.down(crashing[0]) && sim.down(crashing[1]); }, kPhaseTicksMax));
  // The other half cannot make 2f+1: height 3 stalls.
  EXPECT_FALSE(sim.RunUntil([&] { return AnyCommitted(sim, h); }, kWatchStalledTicks));

  sim.SetDropFilter(nullptr);
  const std::uint64_t restart_tick = sim.now_ticks();
  for (const std::size_t i : crashing) sim.Restart(i);
  ASSERT_TRUE(sim.RunUntil([&] { return AllHonestCommitted(sim, h); }, kPhaseTicksMax)) << sim.Describe();
  ASSERT_FALSE(sim.violation().has_value()) << *sim.violation();

  // Every validator, the restarted ones included, prevoted and precommitted in the round
  // after the one they crashed in.
  for (std::size_t i = 0; i < sim.size(); ++i) {
    EXPECT_TRUE(Signed(sim, i, h, 2, SignedStep::kPrevote, restart_tick)) << "v" << i << " did not prevote in round 2";
    EXPECT_TRUE(Signed(sim, i, h, 2, SignedStep::kPrecommit, restart_tick))
        << "v" << i << " did not precommit in round 2";
  }
  std::printf("[ SCENARIO ] 3089: height %llu committed %llu ticks after restarting 2 of 4 validators\n",
              static_cast<unsigned long long>(h), static_cast<unsigned long long>(sim.now_ticks() - restart_tick));
}

// ---------------------------------------------------------------------------------------
// tendermint issue 5804: a validator with 42% of the power restarted at round 0 while the
// others waited in round 3 for its vote, and it refused to sign ("round regression"): the
// chain stalled. Here its last precommit (nil) was persisted but never sent, and after the
// restart it sees the polka it had missed, so it would now precommit the block: the safety
// signer refuses that, and without sending its old precommit again nobody reaches 2f+1.
TEST(Scenario, Tendermint5804_ARestartedValidatorDoesNotStallTheChain) {
  Simulation sim(Scripted(5804, {42, 20, 19, 19}));
  std::size_t x = 0;  // the big one
  for (std::size_t i = 0; i < sim.size(); ++i) {
    if (sim.validators().validators[i].power == 42) x = i;
  }
  ASSERT_TRUE(sim.RunUntil([&] { return AllHonestCommitted(sim, 2); }, kPhaseTicksMax)) << sim.Describe();

  constexpr Height h = 3;
  Round r = 1;  // the round it crashes in: one that x does not propose
  while (ProposerIndex(sim, h, r) == x) ++r;
  const std::size_t b = ProposerIndex(sim, h, r);
  std::vector<std::size_t> rest;
  for (std::size_t i = 0; i < sim.size(); ++i) {
    if (i != x && i != b) rest.push_back(i);
  }
  const std::size_t c = rest[0];
  const std::size_t d = rest[1];
  const ValidatorId c_key = sim.validators().validators[c].key;
  // Rounds before r lose their proposals. In round r, d never gets the proposal (it prevotes
  // nil), and x never hears c's prevote: x sees 2f+1 prevotes but no polka, times out and
  // precommits nil, while b and c see the polka (x, b, c) and precommit the block.
  sim.SetDropFilter([&](std::size_t, std::size_t to, const Message& m) {
    if (const auto* p = std::get_if<Proposal>(&m); p != nullptr && p->body.height == h) {
      return Round{p->body.round} < r || (Round{p->body.round} == r && to == d);
    }
    if (to != x) return false;
    const auto is_c_prevote = [&](const proto::Vote& v) {
      return v.body.height == h && Round{v.body.round} == r && v.body.type == proto::VoteType::kPrevote &&
             v.body.validator == c_key;
    };
    if (const proto::Vote* v = VoteIn(m)) return is_c_prevote(*v);
    if (const auto* certificate = std::get_if<CertificatePayload>(&m)) {
      return std::any_of(certificate->votes.begin(), certificate->votes.end(), is_c_prevote);
    }
    return false;
  });
  ASSERT_TRUE(sim.RunUntil([&] { return Signed(sim, x, h, r, SignedStep::kPrevote); }, kPhaseTicksMax))
      << sim.Describe();
  sim.CrashAfterNextPersist(x);  // its precommit: persisted, never sent
  ASSERT_TRUE(sim.RunUntil([&] { return sim.down(x); }, kPhaseTicksMax)) << sim.Describe();
  EXPECT_FALSE(sim.RunUntil([&] { return AnyCommitted(sim, h); }, kWatchStalledTicks))
      << "58% of the power cannot commit alone";

  sim.SetDropFilter(nullptr);
  const std::uint64_t restart_tick = sim.now_ticks();
  sim.Restart(x);
  ASSERT_TRUE(sim.RunUntil([&] { return AllHonestCommitted(sim, h + 1); }, kPhaseTicksMax))
      << "the chain stalled after the restart:\n"
      << sim.Describe();
  ASSERT_FALSE(sim.violation().has_value()) << *sim.violation();
  // It sent its round-r precommit (nil) again, the message the others were waiting for.
  bool resent = false;
  for (const SignedEntry& e : sim.signed_log()) {
    resent = resent || (e.node == x && e.height == h && e.round == r && e.step == SignedStep::kPrecommit &&
                        !e.value.has_value() && e.tick >= restart_tick);
  }
  EXPECT_TRUE(resent);
  std::printf("[ SCENARIO ] 5804: crash in round %lld; height %llu committed %llu ticks after the restart\n",
              static_cast<long long>(r), static_cast<unsigned long long>(h),
              static_cast<unsigned long long>(sim.now_ticks() - restart_tick));
}

// ---------------------------------------------------------------------------------------
// tendermint issue 1464: after a long outage, validators sat in rounds whose timeouts had
// grown with the round number, and recovery waited for them. Ours are capped
// (TimeoutConfig::max_ticks). Here every proposal is lost for a long time, so rounds keep
// failing and climbing; then the network recovers and we measure how long the next commit
// takes, against what timeouts without a cap would cost at the round reached.
TEST(Scenario, Tendermint1464_RecoveryAfterALongOutageWaitsOnlyForCappedTimeouts) {
  Options options = Scripted(1464, {1, 1, 1, 1});
  Simulation sim(options);
  ASSERT_TRUE(sim.RunUntil([&] { return AllHonestCommitted(sim, 2); }, kPhaseTicksMax)) << sim.Describe();
  constexpr std::uint64_t kOutageTicks = 40'000'000;
  sim.SetDropFilter([](std::size_t, std::size_t, const Message& m) { return std::holds_alternative<Proposal>(m); });
  EXPECT_FALSE(sim.RunUntil([&] { return AnyCommitted(sim, 3); }, kOutageTicks));
  Round reached = 0;
  for (std::size_t i = 0; i < sim.size(); ++i) reached = std::max(reached, sim.engine(i)->round());
  ASSERT_GT(reached, 200) << "the outage was meant to push the rounds far past the cap";

  sim.SetDropFilter(nullptr);
  const std::uint64_t healed_tick = sim.now_ticks();
  ASSERT_TRUE(sim.RunUntil([&] { return AllHonestCommitted(sim, 3); }, kPhaseTicksMax)) << sim.Describe();
  ASSERT_FALSE(sim.violation().has_value()) << *sim.violation();
  const std::uint64_t recovery = sim.now_ticks() - healed_tick;

  const TimeoutConfig& capped = options.timeouts;
  TimeoutConfig uncapped = capped;
  uncapped.max_ticks = UINT64_MAX;
  const auto round_ticks = [&](const TimeoutConfig& config) {
    return TimeoutTicks(config, TimeoutKind::kPropose, reached) + TimeoutTicks(config, TimeoutKind::kPrevote, reached) +
           TimeoutTicks(config, TimeoutKind::kPrecommit, reached);
  };
  // At worst the round under way fails and the next one decides: two rounds at the cap.
  EXPECT_LE(recovery, 2 * round_ticks(capped));
  // Without the cap a single failed round at that height would already take longer.
  EXPECT_LT(recovery, round_ticks(uncapped));
  std::printf("[ SCENARIO ] 1464: outage of %llu ticks reached round %lld; commit %llu ticks after recovery "
              "(a round there: %llu ticks capped, %llu uncapped)\n",
              static_cast<unsigned long long>(kOutageTicks), static_cast<long long>(reached),
              static_cast<unsigned long long>(recovery), static_cast<unsigned long long>(round_ticks(capped)),
              static_cast<unsigned long long>(round_ticks(uncapped)));
}

// ---------------------------------------------------------------------------------------
// tendermint issue 2583: a faulty proposer that sends different proposals to different
// validators must not break termination. The equivocating proposer has the largest power
// (just below 1/3), so it proposes often; several seeds vary who gets which proposal.
TEST(Scenario, Tendermint2583_AnEquivocatingProposerDoesNotBreakTermination) {
  constexpr Height kHeights = 30;
  std::uint64_t ticks_max = 0;
  std::size_t evidence = 0;
  for (std::uint64_t seed = 1; seed <= 10; ++seed) {
    Simulation sim(Scripted(2583 * 100 + seed, {6, 3, 3, 3, 2, 2, 2},
                            {Behaviour::kEquivocatingProposer, Behaviour::kHonest, Behaviour::kHonest,
                             Behaviour::kHonest, Behaviour::kHonest, Behaviour::kHonest, Behaviour::kHonest}));
    ASSERT_LT(3 * 6, 3 + 3 + 3 + 2 + 2 + 2 + 6);  // below 1/3 of the power
    ASSERT_TRUE(sim.RunUntil([&] { return AllHonestCommitted(sim, kHeights); }, kHeights * kTicksPerHeightMax))
        << "seed " << seed << ":\n"
        << sim.Describe();
    ASSERT_FALSE(sim.violation().has_value()) << *sim.violation();
    ticks_max = std::max(ticks_max, sim.now_ticks());
    for (std::size_t i = 1; i < sim.size(); ++i) evidence += sim.evidence_reported(i);
  }
  EXPECT_GT(evidence, 0u) << "the honest validators should have reported the equivocations";
  std::printf("[ SCENARIO ] 2583: 10 seeds, %llu heights each in at most %llu ticks, %zu pieces of evidence\n",
              static_cast<unsigned long long>(kHeights), static_cast<unsigned long long>(ticks_max), evidence);
}

// ---------------------------------------------------------------------------------------
// Not an issue number: what the simulator's heavy crash runs are after. A validator that
// restarts must keep its lock (paper lines 38-39), or more than 1/3 of the power restarting
// at once can fork the chain without a single Byzantine validator: d decides v in round 0;
// a and b, locked on v, restart before hearing of it; c never saw the polka for v and
// proposes a fresh block in a later round, which a and b, having forgotten their lock,
// would prevote and decide.
TEST(Scenario, ValidatorsThatRestartKeepTheirLock) {
  Simulation sim(Scripted(3838, {1, 1, 1, 1}));
  Height h = 3;  // a height whose round-1 proposer did not propose round 0
  while (ProposerIndex(sim, h, 0) == ProposerIndex(sim, h, 1)) ++h;
  const std::size_t d = ProposerIndex(sim, h, 0);  // proposes v and decides it
  const std::size_t c = ProposerIndex(sim, h, 1);  // never sees v, proposes afresh
  std::vector<std::size_t> ab;
  for (std::size_t i = 0; i < sim.size(); ++i) {
    if (i != c && i != d) ab.push_back(i);
  }
  const std::size_t a = ab[0];
  const std::size_t b = ab[1];
  const ValidatorId a_key = sim.validators().validators[a].key;
  const ValidatorId d_key = sim.validators().validators[d].key;
  sim.SetDropFilter([&](std::size_t, std::size_t to, const Message& m) {
    if (const auto* p = std::get_if<Proposal>(&m)) return p->body.height == h && p->body.round == 0 && to == c;
    if (const auto* sync = std::get_if<SyncPayload>(&m)) return sync->proposal.body.height == h;  // d's decision
    if (const auto* certificate = std::get_if<CertificatePayload>(&m)) {
      return to == c && certificate->votes.front().body.height == h;
    }
    const proto::Vote& v = *VoteIn(m);
    if (v.body.height != h || v.body.round != 0) return false;
    if (v.body.type == proto::VoteType::kPrevote) return v.body.validator == a_key && to == c;  // c sees no polka
    return v.body.validator == d_key;  // only d sees 2f+1 precommits for v
  });
  ASSERT_TRUE(sim.RunUntil([&] { return AllHonestCommitted(sim, h - 1); }, kPhaseTicksMax)) << sim.Describe();
  ASSERT_TRUE(sim.RunUntil([&] { return sim.committed(d) >= h; }, kPhaseTicksMax)) << sim.Describe();
  ASSERT_EQ(sim.committed(a), h - 1);
  sim.Crash(a);
  sim.Crash(b);
  sim.Restart(a);
  sim.Restart(b);
  // a, b and c must not decide anything but v, however long they try.
  sim.RunUntil([&] { return sim.violation().has_value(); }, 400'000);
  ASSERT_FALSE(sim.violation().has_value()) << *sim.violation();
  // Once d's decision gets through, everyone commits v.
  sim.SetDropFilter(nullptr);
  ASSERT_TRUE(sim.RunUntil([&] { return AllHonestCommitted(sim, h); }, kPhaseTicksMax)) << sim.Describe();
  ASSERT_FALSE(sim.violation().has_value()) << *sim.violation();
}

}  // namespace
}  // namespace civic::consensus::sim
