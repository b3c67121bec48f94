#include "civic/node/node.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <utility>
#include <variant>

#include "civic/consensus/engine.h"
#include "civic/node/api.h"
#include "civic/node/executor.h"
#include "civic/node/http_server.h"
#include "civic/node/ledger.h"
#include "civic/node/mempool.h"
#include "civic/node/tx_tracker.h"
#include "civic/proto/assert.h"
#include "civic/proto/codec.h"

namespace civic::node {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::uint64_t NowUnixMs() {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
          .count());
}

// How far ahead of this node's clock a block's time may be for the node to accept it.
constexpr std::uint64_t kBlockTimeDriftMaxMs = 10'000;

consensus::TimeoutConfig Timeouts(const ConsensusParams& params) {
  consensus::TimeoutConfig config;
  config.propose_base_ticks = params.timeout_propose_ms;
  config.propose_delta_ticks = params.timeout_propose_delta_ms;
  config.prevote_base_ticks = params.timeout_prevote_ms;
  config.prevote_delta_ticks = params.timeout_prevote_delta_ms;
  config.precommit_base_ticks = params.timeout_precommit_ms;
  config.precommit_delta_ticks = params.timeout_precommit_delta_ms;
  config.max_ticks = params.timeout_max_ms;
  return config;
}

class NodeImpl final : public Node {
 public:
  NodeImpl(const Config& config, const Genesis& genesis) : config_(config), genesis_(genesis) {}
  ~NodeImpl() override { Stop(); }

  proto::Result<void> Init(std::optional<proto::Ed25519KeyPair> key) {
    proto::Result<std::unique_ptr<Ledger>> ledger = Ledger::Open(config_.data_dir, genesis_, OpenMode::kReadWrite);
    if (!ledger) return tl::unexpected(ledger.error());
    ledger_ = std::move(*ledger);
    executor_ = std::make_unique<Executor>(*ledger_);
    mempool_ = std::make_unique<Mempool>(executor_->contracts(), [this] { return ledger_->StateSnapshot(); },
                                         MempoolLimits{config_.mempool.txs_max, config_.mempool.bytes_max});
    const Tip tip = ledger_->tip();
    spdlog::info("ledger at height {} (block {}), app hash {}", tip.height, proto::ToHex(tip.block_hash),
                 proto::ToHex(ledger_->app_hash()));

    if (key) {
      const bool in_set = std::any_of(genesis_.validators.begin(), genesis_.validators.end(),
                                      [&](const GenesisValidator& v) { return v.key == key->public_key(); });
      if (!in_set) {
        return proto::Fail(proto::ErrorCode::kInvalidArgument,
                           "the validator key " + proto::ToHex(key->public_key()) +
                               " is not a validator of this genesis: run as an observer (no validator_key) or fix the key");
      }
      node_key_hex_ = proto::ToHex(key->public_key());
      start_height_ = tip.height + 1;
      safety_ = std::make_unique<consensus::SafetyStore>(ledger_->safety_storage());
      proto::Result<std::optional<consensus::LastSigned>> last = safety_->Load();
      if (!last) return proto::Fail(last.error().code, "the consensus safety record: " + last.error().message);
      consensus::ValidatorSchedule schedule(1, genesis_.ValidatorSet());
      engine_ = std::make_unique<consensus::Engine>(
          consensus::EngineConfig{genesis_.chain_id, Timeouts(genesis_.consensus)}, std::move(*key), std::move(schedule),
          tip.height + 1, *last);
    }

    ApiContext context;
    context.genesis = &genesis_;
    context.ledger = ledger_.get();
    context.mempool = mempool_.get();
    context.contracts = &executor_->contracts();
    context.tracker = &tracker_;
    context.validator = engine_ != nullptr;
    context.node_key_hex = node_key_hex_;
    // One wake-up in flight at a time, however many transactions arrive meanwhile.
    context.on_admitted = [this] {
      if (!wake_posted_.exchange(true)) asio::post(core_, [this] { OnTxArrived(); });
    };
    context.consensus_round = [this] { return round_.load(); };
    api_ = std::make_unique<Api>(std::move(context));

    HttpLimits limits;
    limits.body_bytes_max = config_.http.body_bytes_max;
    limits.header_bytes_max = config_.http.header_bytes_max;
    limits.connections_max = config_.http.connections_max;
    limits.idle_timeout_ms = config_.http.idle_timeout_ms;
    limits.threads = config_.http.threads;
    proto::Result<std::unique_ptr<HttpServer>> http = HttpServer::Start(
        config_.http.listen_address, config_.http.listen_port, limits,
        [this](const HttpRequest& request) { return api_->Handle(request); });
    if (!http) return tl::unexpected(http.error());
    http_ = std::move(*http);
    api_->context().http_stats.store(&http_->stats());
    spdlog::info("HTTP API on {}:{}", config_.http.listen_address, http_->port());

    core_thread_ = std::thread([this] { core_.run(); });
    if (engine_) {
      asio::post(core_, [this] {
        Feed(consensus::StartEvent{});
        RestoreOwnProposal();
      });
    }
    return {};
  }

  std::uint16_t http_port() const override { return http_->port(); }

  void Stop() override {
    {
      std::lock_guard lock(stop_mutex_);
      if (stopped_) return;
      stopped_ = true;
    }
    if (http_) http_->Stop();
    work_.reset();
    core_.stop();
    if (core_thread_.joinable()) core_thread_.join();
    timers_.clear();
    stop_cv_.notify_all();
  }

  proto::Result<void> Wait() override {
    std::unique_lock lock(stop_mutex_);
    stop_cv_.wait(lock, [this] { return stopped_ || halt_.has_value(); });
    if (halt_) return tl::unexpected(*halt_);
    return {};
  }

 private:
  // ---- the core thread ----

  void Halt(proto::Error error) {
    spdlog::critical("halting: {}", proto::ToString(error));
    halted_ = true;
    {
      std::lock_guard lock(stop_mutex_);
      if (!halt_) halt_ = std::move(error);
    }
    stop_cv_.notify_all();
  }

  // Steps the engine with `first` and with every answer the application gives at once.
  void Feed(consensus::Event first) {
    std::deque<consensus::Event> queue;
    queue.push_back(std::move(first));
    while (!queue.empty() && !halted_) {
      proto::Result<consensus::Actions> actions = engine_->Step(queue.front());
      queue.pop_front();
      if (!actions) {
        spdlog::debug("consensus input dropped: {}", proto::ToString(actions.error()));
        continue;
      }
      for (const consensus::Action& action : *actions) {
        if (halted_) return;
        Execute(action, queue);
      }
      round_.store(static_cast<std::uint64_t>(std::max<consensus::Round>(engine_->round(), 0)));
    }
  }

  void Execute(const consensus::Action& action, std::deque<consensus::Event>& queue) {
    if (const auto* persist = std::get_if<consensus::PersistSigned>(&action)) {
      // Durable before the Broadcast that follows (engine.h): if it fails, nothing is sent.
      if (proto::Result<void> written = safety_->Persist(persist->record); !written) {
        Halt(proto::Error{written.error().code, "cannot record what this validator signs: " + written.error().message});
      }
    } else if (const auto* proposal = std::get_if<consensus::BroadcastProposal>(&action)) {
      // One validator: nobody to send to yet (peers come with the network). Kept so that
      // after a restart the engine hears its own proposal again (RestoreOwnProposal).
      proto::Result<proto::Bytes> encoded = proto::Encode(proposal->proposal);
      if (!encoded || !ledger_->WriteOwnSignedProposal(*encoded)) {
        spdlog::warn("cannot keep the signed proposal of height {} for a restart", proposal->proposal.body.height);
      }
    } else if (std::holds_alternative<consensus::BroadcastVote>(action)) {
      // The engine counts its own votes; peers come with the network.
    } else if (const auto* timeout = std::get_if<consensus::ScheduleTimeout>(&action)) {
      Schedule(*timeout);
    } else if (const auto* request = std::get_if<consensus::RequestProposal>(&action)) {
      queue.push_back(Propose(request->height, request->round));
    } else if (const auto* validation = std::get_if<consensus::RequestValidation>(&action)) {
      const bool known = prepared_.contains(validation->value);
      // Block bodies from other proposers arrive with the network; until then only our own
      // blocks can be valid here.
      queue.push_back(consensus::ValidationEvent{validation->height, validation->value,
                                                 known ? consensus::Validity::kValid : consensus::Validity::kInvalid});
    } else if (const auto* decide = std::get_if<consensus::Decide>(&action)) {
      Commit(*decide);
    } else if (const auto* evidence = std::get_if<consensus::ReportEvidence>(&action)) {
      (void)evidence;
      spdlog::warn("equivocation evidence reported at height {}", engine_->height());
    }
  }

  void Schedule(const consensus::ScheduleTimeout& timeout) {
    auto timer = std::make_shared<asio::steady_timer>(core_, std::chrono::milliseconds(timeout.duration_ticks));
    timers_.insert(timer);
    const consensus::TimeoutEvent event{timeout.height, timeout.round, timeout.kind};
    timer->async_wait([this, timer, event](const boost::system::error_code& error) {
      timers_.erase(timer);
      if (error || halted_) return;
      Feed(event);
    });
  }

  consensus::Event Propose(consensus::Height height, consensus::Round round) {
    // After a restart, the block proposed before it (if still valid on this tip): the safety
    // record may hold a signature for it, and would refuse to sign any other at that round.
    if (std::optional<ExecutedBlock> again = ProposeAgain(height)) {
      const proto::Hash32 hash = again->hash;
      spdlog::info("proposing again the block {} signed before a restart at height {}", proto::ToHex(hash).substr(0, 16),
                   height);
      prepared_.insert_or_assign(hash, std::move(*again));
      return consensus::ProposalValueEvent{height, round, hash};
    }
    const std::vector<proto::VerifiedTx> candidates = mempool_->Candidates(genesis_.consensus.block_txs_max);
    std::vector<Dropped> dropped;
    ExecutedBlock block = executor_->Build(candidates, NowUnixMs(), engine_->self(), genesis_.ValidatorSet(),
                                           BlockLimits{genesis_.consensus.block_txs_max, genesis_.consensus.block_bytes_max},
                                           &dropped);
    CIVIC_ASSERT(block.block.header.height == height);
    for (const Dropped& drop : dropped) {
      tracker_.Rejected(drop.id, RejectionNote{std::string(contracts::TxErrorName(drop.reason.code)), drop.reason.message});
    }
    spdlog::debug("proposing block {} round {} with {} transactions", height, round, block.block.txs.size());
    if (proto::Result<void> kept = ledger_->WriteOwnProposal(block.block); !kept) {
      spdlog::warn("cannot keep the proposed block for a restart: {}", kept.error().message);
    }
    const proto::Hash32 hash = block.hash;
    prepared_.insert_or_assign(hash, std::move(block));
    return consensus::ProposalValueEvent{height, round, hash};
  }

  // After a restart in the middle of a height this validator proposed in: the engine hears
  // its own signed proposal again, as it would from peers, so the round can go on with the
  // block its safety record already vouched for.
  void RestoreOwnProposal() {
    if (halted_) return;
    proto::Result<std::optional<proto::Bytes>> stored = ledger_->OwnSignedProposal();
    if (!stored || !stored->has_value()) return;
    proto::Result<consensus::Proposal> proposal = proto::Decode<consensus::Proposal>(**stored);
    if (!proposal || proposal->body.height != engine_->height()) return;
    if (!prepared_.contains(proposal->body.block_hash)) {
      std::optional<ExecutedBlock> block = ProposeAgain(engine_->height());
      if (!block || block->hash != proposal->body.block_hash) return;
      prepared_.insert_or_assign(block->hash, std::move(*block));
    }
    Feed(consensus::ProposalEvent{*proposal});
  }

  std::optional<ExecutedBlock> ProposeAgain(consensus::Height height) {
    // Only the height the node started at can have a proposal from before the restart.
    if (height != start_height_) return std::nullopt;
    proto::Result<std::optional<proto::Block>> stored = ledger_->OwnProposal();
    if (!stored || !stored->has_value() || (*stored)->header.height != height) return std::nullopt;
    proto::Result<ExecutedBlock> validated =
        executor_->Validate(**stored, genesis_.ValidatorSet(),
                            BlockLimits{genesis_.consensus.block_txs_max, genesis_.consensus.block_bytes_max},
                            [this](const proto::Hash32& id) { return mempool_->Find(id); },
                            NowUnixMs() + kBlockTimeDriftMaxMs);
    if (!validated) {
      spdlog::info("the block proposed before a restart no longer fits: {}", validated.error().message);
      return std::nullopt;
    }
    return std::move(*validated);
  }

  void Commit(const consensus::Decide& decide) {
    const auto found = prepared_.find(decide.certificate.block_hash);
    if (found == prepared_.end()) {
      Halt(proto::Error{proto::ErrorCode::kInvalidArgument,
                        "consensus decided block " + proto::ToHex(decide.certificate.block_hash) + " at height " +
                            std::to_string(decide.height) + " but this node does not hold it"});
      return;
    }
    const ExecutedBlock& block = found->second;
    if (proto::Result<void> written = executor_->Commit(block, decide.certificate); !written) {
      Halt(proto::Error{written.error().code, "cannot write block " + std::to_string(decide.height) + ": " +
                                                  written.error().message});
      return;
    }
    const auto now = TxTracker::Clock::now();
    tracker_.Committed(block.tx_ids, now);
    const Tip tip = ledger_->tip();
    mempool_->Update(block.tx_ids, contracts::BlockContext{tip.height + 1, std::max(NowUnixMs(), tip.time_unix_ms + 1)},
                     [this](const Dropped& drop) {
                       tracker_.Rejected(drop.id, RejectionNote{std::string(contracts::TxErrorName(drop.reason.code)),
                                                                drop.reason.message});
                     });
    spdlog::info("committed block {} ({} txs, round {}), app hash {}", decide.height, block.tx_ids.size(), decide.round,
                 proto::ToHex(ledger_->app_hash()).substr(0, 16));
    prepared_.clear();
    WaitBeforeNextHeight(decide.height);
  }

  // The commit wait, then the next height as soon as there is a transaction, or after the
  // empty-block interval.
  void WaitBeforeNextHeight(consensus::Height committed) {
    auto timer = std::make_shared<asio::steady_timer>(core_, std::chrono::milliseconds(genesis_.consensus.commit_wait_ms));
    timers_.insert(timer);
    timer->async_wait([this, timer, committed](const boost::system::error_code& error) {
      timers_.erase(timer);
      if (error || halted_) return;
      if (mempool_->size() > 0) return NextHeight(committed);
      waiting_for_txs_ = committed;
      heartbeat_.expires_after(std::chrono::milliseconds(genesis_.consensus.empty_block_interval_ms));
      heartbeat_.async_wait([this, committed](const boost::system::error_code& waited) {
        if (waited || halted_ || waiting_for_txs_ != committed) return;
        NextHeight(committed);
      });
    });
  }

  void OnTxArrived() {
    wake_posted_.store(false);
    if (waiting_for_txs_ && !halted_) NextHeight(*waiting_for_txs_);
  }

  void NextHeight(consensus::Height committed) {
    waiting_for_txs_.reset();
    heartbeat_.cancel();
    Feed(consensus::CommittedEvent{committed, std::nullopt});
  }

  Config config_;
  Genesis genesis_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<Mempool> mempool_;
  TxTracker tracker_;
  std::unique_ptr<consensus::SafetyStore> safety_;
  std::unique_ptr<consensus::Engine> engine_;
  std::string node_key_hex_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> http_;

  asio::io_context core_{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{core_.get_executor()};
  std::thread core_thread_;
  std::set<std::shared_ptr<asio::steady_timer>> timers_;  // core thread only
  asio::steady_timer heartbeat_{core_};                   // the empty-block interval; core thread only
  std::atomic<bool> wake_posted_{false};
  std::map<proto::Hash32, ExecutedBlock> prepared_;      // blocks of this height, by hash; core thread only
  std::optional<consensus::Height> waiting_for_txs_;     // core thread only
  consensus::Height start_height_ = 0;
  bool halted_ = false;                                   // core thread only
  std::atomic<std::uint64_t> round_{0};

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopped_ = false;
  std::optional<proto::Error> halt_;
};

}  // namespace

proto::Result<std::unique_ptr<Node>> Node::Start(const Config& config, const Genesis& genesis,
                                                 std::optional<proto::Ed25519KeyPair> validator_key) {
  auto node = std::make_unique<NodeImpl>(config, genesis);
  if (proto::Result<void> started = node->Init(std::move(validator_key)); !started) {
    return tl::unexpected(started.error());
  }
  return std::unique_ptr<Node>(std::move(node));
}

}  // namespace civic::node
