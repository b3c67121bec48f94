// consensus/ benchmarks: how fast the engine steps, and how many heights the deterministic
// simulator (tests/consensus/sim.h) gets through per second of real time on a synchronous
// network. Figures go in BENCHMARKS.md ("consensus/").
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "civic/consensus/engine.h"
#include "civic/proto/hash.h"
#include "sim.h"

namespace civic::consensus {
namespace {

proto::ChainId BenchChain() { return proto::ChainId::Parse("consensus-bench").value(); }

// Four validators joined by an in-order network that delivers everything at once, with an
// application that answers at once: every Engine::Step here is real work (checking the
// signature of a proposal or vote, counting it, signing our own), none is waiting.
class Cluster {
 public:
  explicit Cluster(std::size_t n) {
    std::vector<proto::Ed25519KeyPair> keys;
    for (std::size_t i = 0; i < n; ++i) {
      proto::Secret32 seed{};
      seed.fill(0x42);
      seed[0] = static_cast<std::uint8_t>(i);
      keys.push_back(proto::Ed25519KeyPair::FromSeed(seed));
    }
    std::sort(keys.begin(), keys.end(), [](const auto& a, const auto& b) { return a.public_key() < b.public_key(); });
    proto::ValidatorSet set;
    for (std::size_t i = 0; i < n; ++i) set.validators.push_back({keys[i].public_key(), 10 + i});
    for (std::size_t i = 0; i < n; ++i) {
      engines_.emplace_back(EngineConfig{BenchChain(), TimeoutConfig{}}, std::move(keys[i]), ValidatorSchedule(1, set), 1,
                            std::nullopt);
    }
    for (std::size_t i = 0; i < n; ++i) queue_.emplace_back(i, StartEvent{});
  }

  // Runs until every engine has committed `height`; returns the number of Step calls.
  std::uint64_t RunTo(Height height) {
    std::uint64_t steps = 0;
    while (!queue_.empty()) {
      auto [to, event] = std::move(queue_.front());
      queue_.pop_front();
      proto::Result<Actions> actions = engines_[to].Step(event);
      ++steps;
      if (actions) Execute(to, *actions);
      if (std::all_of(engines_.begin(), engines_.end(), [&](const Engine& e) { return e.height() > height; })) break;
    }
    return steps;
  }

 private:
  void Execute(std::size_t from, const Actions& actions) {
    for (const Action& action : actions) {
      if (const auto* vote = std::get_if<BroadcastVote>(&action)) {
        for (std::size_t to = 0; to < engines_.size(); ++to) {
          if (to != from) queue_.emplace_back(to, VoteEvent{vote->vote});
        }
      } else if (const auto* proposal = std::get_if<BroadcastProposal>(&action)) {
        for (std::size_t to = 0; to < engines_.size(); ++to) {
          if (to != from) queue_.emplace_back(to, ProposalEvent{proposal->proposal});
        }
      } else if (const auto* request = std::get_if<RequestProposal>(&action)) {
        const std::string name = "bench block " + std::to_string(request->height) + "/" + std::to_string(request->round);
        queue_.emplace_back(from, ProposalValueEvent{request->height, request->round, proto::Sha256(proto::AsBytes(name))});
      } else if (const auto* validation = std::get_if<RequestValidation>(&action)) {
        queue_.emplace_back(from, ValidationEvent{validation->height, validation->value, Validity::kValid});
      } else if (const auto* decide = std::get_if<Decide>(&action)) {
        queue_.emplace_back(from, CommittedEvent{decide->height, std::nullopt});
      }
      // PersistSigned: memory is durable enough here. Timers never fire: nothing fails.
    }
  }

  std::vector<Engine> engines_;
  std::deque<std::pair<std::size_t, Event>> queue_;
};

// Engine::Step calls per second, over whole heights of a 4-validator cluster (signature
// checks included: they are most of a step's cost).
void BM_EngineSteps(benchmark::State& state) {
  Cluster cluster(4);
  Height height = 0;
  std::uint64_t steps = 0;
  for (auto _ : state) steps += cluster.RunTo(++height);
  state.SetItemsProcessed(static_cast<std::int64_t>(steps));
  state.counters["steps_per_height"] = static_cast<double>(steps) / static_cast<double>(height);
}
BENCHMARK(BM_EngineSteps)->Unit(benchmark::kMicrosecond);

// Simulated heights per second of real time: the whole simulator (network, gossip, checks of
// every commit and signature) on a synchronous network ("calm" mix), 20 heights per run.
void BM_SimulatedHeights(benchmark::State& state) {
  const auto validators = static_cast<std::size_t>(state.range(0));
  std::uint64_t seed = 0;
  std::uint64_t heights = 0;
  for (auto _ : state) {
    sim::Options options;
    options.seed = ++seed;
    options.mix = *sim::MixNamed("calm");
    options.validators = validators;
    options.heights = 20;
    const sim::Outcome outcome = sim::Simulation(options).Run();
    if (!outcome.ok) state.SkipWithError(outcome.violation.c_str());
    heights += outcome.stats.target;
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(heights));
}
BENCHMARK(BM_SimulatedHeights)->Arg(4)->Arg(7)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace civic::consensus

BENCHMARK_MAIN();
