// quint_replay DIR: replays every *.itf.json below DIR (Quint ITF traces of Malachite's
// Tendermint model) against our round machine, vote keeper and driver, and checks every
// output and every resulting state. Exit status 0 only if at least one trace was found,
// every trace was understood and there was no mismatch.
//
// Three trace families, told apart by their variables (shared/data/quint-tendermint/README.md):
//   - round machine (state, input, output): ApplyRoundInput;
//   - vote keeper (bookkeeper, weightedVote, lastEmitted): VoteKeeper::ApplyVote;
//   - several validators (system, _hist, and buffers if asynchronous): one Driver each.
// Each is replayed twice: step-wise (each step starts from the state the trace recorded
// before it, so a mismatch points at one step) and continuously (one object fed all its
// inputs in order, so no state is lost between steps). Mismatches are printed as
//   FILE: state I, validator V, MODE: FIELD: expected X, actual Y
// The mapping between the model's representation and ours is in quint_model.h, and the
// reasons for it in tests/README.md.
#include <algorithm>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "quint_model.h"

namespace civic::quint {
namespace {

using consensus::Driver;
using consensus::DriverInput;
using consensus::DriverResult;
using consensus::NilOrValue;
using consensus::RoundState;
using consensus::RoundTransition;

constexpr std::size_t kLinesPerFileMax = 60;  // the rest is counted, not printed

struct FileResult {
  std::size_t states = 0;
  std::size_t driver_steps = 0;
  std::size_t mismatches = 0;
  bool uninterpretable = false;
};

class TraceReplay {
 public:
  TraceReplay(std::string name, FileResult& result) : name_(std::move(name)), result_(result) {}

  void Run(const Json& trace) {
    if (!trace.contains("states") || !trace.at("states").is_array() || trace.at("states").empty()) {
      throw Uninterpretable("no states");
    }
    std::vector<Json> states;
    for (const Json& state : trace.at("states")) states.push_back(Normalize(StripPrefixes(state)));
    result_.states = states.size();
    const Json& first = states.front();
    if (first.contains("state") && first.contains("input") && first.contains("output")) {
      ReplayRoundMachine(states);
    } else if (first.contains("bookkeeper") && first.contains("weightedVote") && first.contains("lastEmitted")) {
      ReplayVoteKeeper(states);
    } else if (first.contains("system") && first.contains("_hist")) {
      ReplayDrivers(states);
    } else {
      throw Uninterpretable("unknown trace family: variables " + Show(Json(first.items().begin().key())) + "...");
    }
  }

 private:
  // Compares `expected` (normalised when the trace was loaded) with our value, normalised
  // here; prints one line per difference.
  void Check(std::size_t index, const std::string& who, const std::string& mode, const std::string& field,
             const Json& expected, const Json& actual) {
    const Json ours = Normalize(actual);
    if (expected == ours) return;
    std::vector<std::string> lines;
    Diff(expected, ours, field, lines);
    for (const std::string& line : lines) {
      ++result_.mismatches;
      if (result_.mismatches <= kLinesPerFileMax) {
        std::cout << name_ << ": state " << index << (who.empty() ? "" : ", validator " + who) << ", " << mode << ": "
                  << line << "\n";
      }
    }
  }

  // ---- round machine: consensusTest ----
  void ReplayRoundMachine(const std::vector<Json>& states) {
    NilOrValue decided;  // the model keeps no decision in its state: it is the last DecidedOutput
    RoundState continuous = world_.RoundStateFrom(states[0].at("state"), decided);
    Check(0, "", "initial", "state", states[0].at("state"), world_.ToJson(continuous));
    for (std::size_t i = 1; i < states.size(); ++i) {
      const Json& step = states[i];
      const consensus::RoundInput input = world_.InputFrom(step.at("input"));
      NilOrValue decided_after = decided;
      if (TagOf(step.at("output")) == "DecidedOutput") {
        decided_after = world_.Value(step.at("output").at("value").at("#tup").at(1).get<std::string>());
      }
      const RoundState pre = world_.RoundStateFrom(states[i - 1].at("state"), decided);
      struct Mode {
        const char* name;
        RoundState from;
      };
      for (const Mode& mode : {Mode{"step-wise", pre}, Mode{"continuous", continuous}}) {
        const RoundTransition t = consensus::ApplyRoundInput(mode.from, input);
        Check(i, "", mode.name, "output", step.at("output"), world_.ToJson(t.output, t.state.self, step.at("output")));
        Check(i, "", mode.name, "state", step.at("state"), world_.ToJson(t.state));
        Check(i, "", mode.name, "state.decision (the last DecidedOutput)", world_.ToJson(decided_after),
              world_.ToJson(t.state.decision));
        if (std::string(mode.name) == "continuous") continuous = t.state;
      }
      decided = decided_after;
    }
  }

  // ---- vote keeper: votekeeperTest ----
  void ReplayVoteKeeper(const std::vector<Json>& states) {
    const Json& bk0 = states[0].at("bookkeeper");
    consensus::VoteKeeper continuous(ModelWorld::OurHeight(Int(bk0.at("height"))),
                                     world_.SetFrom(bk0.at("validatorSet")));
    Check(0, "", "initial", "bookkeeper", bk0, world_.ToJson(continuous));
    for (std::size_t i = 1; i < states.size(); ++i) {
      const Json& step = states[i];
      if (TagOf(step.at("weightedVote")) != "WV") throw Uninterpretable("state " + std::to_string(i) + " has no vote");
      const Json& wv = step.at("weightedVote").at("value").at("#tup");
      const proto::Vote vote = world_.VoteFrom(wv.at(0));
      const consensus::Round current_round = Int(wv.at(2));
      consensus::VoteKeeper stepwise = world_.KeeperFrom(states[i - 1].at("bookkeeper"));
      for (consensus::VoteKeeper* keeper : {&stepwise, &continuous}) {
        const char* mode = keeper == &stepwise ? "step-wise" : "continuous";
        if (vote.body.height != keeper->height()) throw Uninterpretable("a vote for another height than the keeper's");
        const std::optional<consensus::Weight> weight = keeper->WeightOf(vote.body.validator);
        if (!weight) throw Uninterpretable("a vote from outside the validator set (the model weighs it 0)");
        Check(i, "", mode, "weightedVote.weight", wv.at(1), BigInt(static_cast<std::int64_t>(*weight)));
        const consensus::Threshold output = keeper->ApplyVote(vote, current_round);
        Check(i, "", mode, "lastEmitted", step.at("lastEmitted"), world_.ToJson(output));
        Check(i, "", mode, "bookkeeper", step.at("bookkeeper"), world_.ToJson(*keeper));
      }
    }
  }

  // ---- several validators: statemachineTest and the asynchronous folders ----
  struct Hist {
    std::string validator;
    Json input;
    Json output;
  };

  static Hist HistOf(const Json& hist) {
    if (hist.contains("#tup")) {
      const Json& t = hist.at("#tup");
      return Hist{t.at(0).get<std::string>(), t.at(1), t.at(2)};
    }
    return Hist{hist.at("validator").get<std::string>(), hist.at("input"), hist.at("output")};
  }

  static const Json& EsOf(const Json& state, const std::string& validator) {
    for (const Json& entry : state.at("system").at("#map")) {
      if (entry.at(0) == validator) return entry.at(1).at("es");
    }
    throw Uninterpretable("no node state for validator " + validator);
  }

  DriverInput DriverInputFrom(const Json& input, const Driver& driver, std::size_t index, const std::string& who,
                              const char* mode) {
    const std::string& tag = TagOf(input);
    const Json& p = input.at("value");
    auto vote = [&](const Json& v) {
      proto::Vote out = world_.VoteFrom(v);
      if (out.body.height != driver.height()) throw Uninterpretable("a vote of another height reached the driver");
      if (!driver.state().keeper.WeightOf(out.body.validator)) throw Uninterpretable("a vote from outside the set");
      return out;
    };
    if (tag == "NoDInput") return consensus::IdleInput{};
    if (tag == "StartDInput") return consensus::StartInput{};
    if (tag == "StepChangeDInput") return consensus::StepChangeInput{};
    if (tag == "TimeoutDInput") return consensus::TimeoutInput{world_.TimeoutFrom(p)};
    if (tag == "ProposeValueDInput") return consensus::ProposeValueInput{world_.Value(p.get<std::string>())};
    if (tag == "VoteDInput") return consensus::VoteInput{vote(p)};
    if (tag == "CertificateDInput") {
      consensus::CertificateInput certificate;
      for (const Json& v : p.at("#set")) certificate.votes.push_back(vote(v));
      return certificate;
    }
    if (tag == "ProposalDInput") {
      consensus::Proposal proposal = world_.ProposalFrom(p);
      if (proposal.body.height != driver.height())
        throw Uninterpretable("a proposal of another height reached the driver");
      return consensus::ProposalInput{proposal, ModelWorld::ValidityOf(p.at("proposal").get<std::string>())};
    }
    if (tag == "PendingDInput") {
      // The model removes the queued entry it names; ours runs its oldest. They must agree.
      const auto& pending = driver.state().pending;
      const Json ours = pending.empty() ? Json("<empty queue>") : world_.ToJson(pending.front().input);
      Check(index, who, mode, "pendingInputs (the entry run)", p, ours);
      return consensus::PendingInputStep{};
    }
    throw Uninterpretable("unknown driver input " + Show(input));
  }

  // The certificate a driver step returns goes into every certBuffer (statemachineAsync.qnt).
  void CheckCertificate(std::size_t index, const std::string& who, const char* mode, const Json& before,
                        const Json& after, const std::optional<std::vector<proto::Vote>>& certificate) {
    Json expected = Json::object();
    Json actual = Json::object();
    for (const Json& entry : after.at("#map")) expected[entry.at(0).get<std::string>()] = entry.at(1);
    for (const Json& entry : before.at("#map")) {
      std::vector<Json> items(entry.at(1).at("#set").begin(), entry.at(1).at("#set").end());
      if (certificate) items.push_back(world_.VotesToJson(*certificate));
      actual[entry.at(0).get<std::string>()] = Set(std::move(items));
    }
    Check(index, who, mode, "certBuffer (the step's certificate)", expected, actual);
  }

  void ReplayDrivers(const std::vector<Json>& states) {
    const bool asynchronous = states[0].contains("certBuffer");
    std::map<std::string, Driver> continuous;
    std::map<std::string, Json> carried;  // per validator: chain entries of heights before the driver's
    std::shared_ptr<ModelRotation> rotation;
    auto fresh_driver = [&](const std::string& name, const Json& es) {
      return Driver(world_.Key(name), ModelWorld::OurHeight(Int(es.at("cs").at("height"))),
                    world_.SetFrom(es.at("valset")), rotation);
    };
    for (const Json& entry : states[0].at("system").at("#map")) {
      const std::string name = entry.at(0).get<std::string>();
      const Json& es = entry.at(1).at("es");
      if (!rotation) rotation = world_.RotationFrom(es.at("valset"));
      carried[name] = CarriedChain(es);
      Driver fresh = fresh_driver(name, es);
      Check(0, name, "initial", "es", es, world_.ToJson(fresh.state(), carried[name]));
      continuous.emplace(name, std::move(fresh));
    }
    Json previous_hist = states[0].at("_hist");
    for (std::size_t i = 1; i < states.size(); ++i) {
      const Json& before = states[i - 1];
      const Json& after = states[i];
      if (after.at("_hist") == previous_hist) {
        // An environment step (delivery, a faulty node's message, a value to propose): the
        // drivers must not change, except that newHeightAction (statemachineAsync.qnt) may
        // give a node a fresh driver for its next height, keeping its chain.
        for (auto& [name, driver] : continuous) {
          const Json& es = EsOf(after, name);
          if (EsOf(before, name) == es) continue;
          Driver next = fresh_driver(name, es);
          const Json next_carried = CarriedChain(es);
          std::vector<std::string> lines;
          Diff(es, Normalize(world_.ToJson(next.state(), next_carried)), "es", lines);
          if (!lines.empty()) {
            throw Uninterpretable("state " + std::to_string(i) + ": validator " + name +
                                  "'s driver changed outside a driver step, and not to a new height (" + lines[0] +
                                  ")");
          }
          driver = std::move(next);
          carried[name] = next_carried;
        }
        continue;
      }
      previous_hist = after.at("_hist");
      ++result_.driver_steps;
      const Hist hist = HistOf(after.at("_hist"));
      const auto ours = continuous.find(hist.validator);
      if (ours == continuous.end()) throw Uninterpretable("a driver step of unknown validator " + hist.validator);
      const Json& pre_es = EsOf(before, hist.validator);
      const Json& post_es = EsOf(after, hist.validator);

      consensus::DriverState pre = world_.DriverFrom(pre_es);
      if (!pre.started && TagOf(hist.input) != "StartDInput") {
        // getNewHeightAction with stored messages: the model folds them into its vote keeper
        // in an order the trace does not record.
        throw Uninterpretable("a driver step before the height was prepared (getNewHeightAction)");
      }
      Driver stepwise(std::move(pre), rotation);
      for (Driver* driver : {&stepwise, &ours->second}) {
        const char* mode = driver == &stepwise ? "step-wise" : "continuous";
        const Json& chain_before = driver == &stepwise ? CarriedChain(pre_es) : carried.at(hist.validator);
        const DriverInput input = DriverInputFrom(hist.input, *driver, i, hist.validator, mode);
        const DriverResult result = driver->Apply(input);
        Check(i, hist.validator, mode, "output", hist.output,
              world_.ToJson(result.output, driver->state().round.self, hist.output));
        Check(i, hist.validator, mode, "es", post_es, world_.ToJson(driver->state(), chain_before));
        if (asynchronous)
          CheckCertificate(i, hist.validator, mode, before.at("certBuffer"), after.at("certBuffer"),
                           result.certificate);
      }
      // Every other validator's driver is untouched by this step.
      for (const auto& [name, driver] : continuous) {
        if (name != hist.validator && EsOf(before, name) != EsOf(after, name)) {
          throw Uninterpretable("state " + std::to_string(i) + ": validator " + name + " changed in " + hist.validator +
                                "'s step");
        }
      }
    }
  }

  std::string name_;
  FileResult& result_;
  ModelWorld world_;
};

int Main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: quint_replay DIR   (replays every *.itf.json below DIR)\n";
    return 2;
  }
  const std::filesystem::path root(argv[1]);
  std::error_code error;
  if (!std::filesystem::is_directory(root, error)) {
    std::cerr << "quint_replay: " << root << " is not a directory\n";
    return 2;
  }
  std::vector<std::filesystem::path> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(root)) {
    const std::string name = entry.path().filename().string();
    if (entry.is_regular_file() && name.ends_with(".itf.json")) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());  // the same order on every machine
  if (files.empty()) {
    std::cerr << "quint_replay: no *.itf.json below " << root << "\n";
    return 1;
  }

  std::size_t failed = 0;
  std::size_t states = 0;
  std::size_t driver_steps = 0;
  std::size_t mismatches = 0;
  std::map<std::string, std::pair<std::size_t, std::size_t>> by_folder;  // folder -> (passed, files)
  for (const std::filesystem::path& path : files) {
    const std::string name = std::filesystem::relative(path, root).string();
    std::string folder = std::filesystem::relative(path.parent_path(), root).string();
    if (folder == ".") folder = "(top level)";
    FileResult result;
    try {
      std::ifstream in(path, std::ios::binary);
      if (!in) throw Uninterpretable("cannot open the file");
      const Json trace = Json::parse(in);  // throws on malformed JSON
      TraceReplay(name, result).Run(trace);
    } catch (const std::exception& e) {
      // Uninterpretable, or a JSON value of an unexpected type deep in the file.
      result.uninterpretable = true;
      std::cout << name << ": cannot interpret: " << e.what() << "\n";
    }
    const bool ok = !result.uninterpretable && result.mismatches == 0;
    if (result.mismatches > kLinesPerFileMax) {
      std::cout << name << ": ... " << (result.mismatches - kLinesPerFileMax) << " more mismatches not shown\n";
    }
    std::cout << (ok ? "ok   " : "FAIL ") << name << " (" << result.states << " states, " << result.driver_steps
              << " driver steps, " << result.mismatches << " mismatches)\n";
    failed += ok ? 0 : 1;
    states += result.states;
    driver_steps += result.driver_steps;
    mismatches += result.mismatches;
    auto& [passed, total] = by_folder[folder];
    passed += ok ? 1 : 0;
    ++total;
  }
  std::cout << "\n";
  for (const auto& [folder, counts] : by_folder) {
    std::cout << "  " << folder << ": " << counts.first << " of " << counts.second << " replay\n";
  }
  std::cout << "quint_replay: " << files.size() << " files, " << (files.size() - failed) << " replay, " << failed
            << " fail; " << states << " states, " << driver_steps << " driver steps, " << mismatches << " mismatches\n";
  return failed == 0 ? 0 : 1;
}

}  // namespace
}  // namespace civic::quint

int main(int argc, char** argv) { return civic::quint::Main(argc, argv); }
