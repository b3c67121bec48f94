#include "civic/node/node.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include <spdlog/spdlog.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <utility>
#include <variant>

#include "civic/consensus/engine.h"
#include "civic/node/admission.h"
#include "civic/node/api.h"
#include "civic/node/clock.h"
#include "civic/node/executor.h"
#include "civic/node/http_server.h"
#include "civic/node/ledger.h"
#include "civic/node/mempool.h"
#include "civic/node/p2p.h"
#include "civic/node/tx_tracker.h"
#include "civic/proto/assert.h"
#include "civic/proto/codec.h"
#include "civic/proto/hash.h"

namespace civic::node {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// How far ahead of this node's clock a block's time may be for the node to accept it.
constexpr std::uint64_t kBlockTimeDriftMaxMs = 10'000;
// Blocks received with proposals and not yet validated, at most (each up to block_bytes_max).
constexpr std::size_t kReceivedBlocksMax = 8;
// Own signed votes of the current height kept for sending again, at most.
constexpr std::size_t kOwnVotesKept = 6;
// A validator whose peers report a higher tip asks for the block it misses only after this
// long (it is most likely deciding that height itself), or at once when two or more behind.
constexpr auto kSyncPatience = std::chrono::milliseconds(1000);
// A block request not answered in this long is sent again (to another peer if there is one).
constexpr auto kSyncRequestTimeout = std::chrono::milliseconds(2000);
constexpr auto kSyncTick = std::chrono::milliseconds(250);
constexpr std::uint64_t kStatusEveryTicks = 8;  // a status to every peer every 2 s
// Others' votes relayed to a peer at once, at most (SendOwn): a peer's share of the core
// thread's queue is kCorePeerMessagesMax messages.
constexpr std::size_t kRelayedVotesMax = 512;
// Votes held for a validator's engine while it catches up after a start (HoldForEngine).
constexpr std::size_t kHeldForEngineVotesMax = 4096;
// After a start, a validator signs once it has caught up with its peers, or after this long
// without a block from a peer that says it is ahead (or without a status from a silent one).
constexpr auto kCatchUpWait = std::chrono::seconds(5);

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
  NodeImpl(const Config& config, const Genesis& genesis)
      : config_(config), genesis_(genesis), schedule_(1, genesis_.ValidatorSet()) {}
  ~NodeImpl() override { Stop(); }

  proto::Result<void> Init(std::optional<proto::Ed25519KeyPair> key, std::optional<proto::Ed25519KeyPair> node_key) {
    proto::Result<std::unique_ptr<Ledger>> ledger = Ledger::Open(config_.data_dir, genesis_, OpenMode::kReadWrite);
    if (!ledger) return tl::unexpected(ledger.error());
    ledger_ = std::move(*ledger);
    ledger_->SetFreeSpaceFloor(config_.disk_free_min_mb * 1024 * 1024);
    if (proto::Result<void> room = ledger_->CheckFreeSpace(); !room) return room;
    // Every table file's checksums, in the background: damage is never served (RocksDB checks
    // each block it reads), and this finds it before a read does, then halts.
    verify_thread_ = std::thread([this] {
      const auto started = Clock::now();
      proto::Result<std::size_t> checked = ledger_->VerifyFiles(verify_stop_);
      if (!checked) {
        asio::post(core_, [this, error = checked.error()] { Halt(error); });
      } else if (!verify_stop_.load()) {
        spdlog::info("ledger files checked: {} table files, {} ms", *checked,
                     std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count());
      }
    });
    executor_ = std::make_unique<Executor>(*ledger_);
    mempool_ = std::make_unique<Mempool>(executor_->contracts(), [this] { return ledger_->StateSnapshot(); },
                                         MempoolLimits{config_.mempool.txs_max, config_.mempool.bytes_max});
    const Tip tip = ledger_->tip();
    spdlog::info("ledger at height {} (block {}), app hash {}", tip.height, proto::ToHex(tip.block_hash),
                 proto::ToHex(ledger_->app_hash()));
    proto::Result<consensus::ValidatorSchedule> schedule =
        ScheduleFromState(genesis_, executor_->contracts(), ledger_->state());
    if (!schedule) return tl::unexpected(schedule.error());
    schedule_ = std::move(*schedule);
    RefreshValidatorKeys();

    if (key) {
      if (!IsValidatorKey(key->public_key())) {
        // A validator the clerks are about to add starts before their change: it follows the
        // chain and signs from the height the change names.
        spdlog::warn("the validator key {} is not a validator at height {} or {}: this node follows the chain and "
                     "signs only once a validator change names it (if that is not expected, fix node.validator_key)",
                     proto::ToHex(key->public_key()), tip.height + 1, tip.height + 2);
      }
      node_key_hex_ = proto::ToHex(key->public_key());
      self_ = key->public_key();
      safety_ = std::make_unique<consensus::SafetyStore>(ledger_->safety_storage());
      proto::Result<std::optional<consensus::LastSigned>> last = safety_->Load();
      if (!last) return proto::Fail(last.error().code, "the consensus safety record: " + last.error().message);
      loaded_record_ = *last;
      validator_key_ = std::move(*key);
      // The newest certificates held here against the record (a record copied back alone).
      for (std::uint64_t h = tip.height; h >= 1 && h + kOwnPrecommitsCheckedAtStart > tip.height; --h) {
        proto::Result<std::optional<proto::CommitCertificate>> certificate = ledger_->CertificateAt(h);
        if (!certificate) return tl::unexpected(certificate.error());
        if (*certificate) CheckOwnPrecommit(**certificate);
      }
      // With peers, the consensus engine starts once this node has caught up with them: it
      // signs nothing at heights they have decided (consensus/safety.h, "Restored records").
      if (config_.p2p.enabled() && OtherValidatorsPower() > 0) {
        if (!stale_record_) {  // else CheckOwnPrecommit said why
          SetSigningSuspended("catching up with the peers after a start: this validator signs once no peer is "
                              "ahead of it");
        }
      } else if (proto::Result<void> started = StartEngine(/*on_core_thread=*/false); !started) {
        return started;
      }
    }
    if (config_.p2p.enabled() && !node_key) {
      return proto::Fail(proto::ErrorCode::kInvalidArgument,
                         "talking to peers needs a node key: set p2p.node_key (an observer) or node.validator_key");
    }

    ApiContext context;
    context.genesis = &genesis_;
    context.ledger = ledger_.get();
    context.mempool = mempool_.get();
    context.contracts = &executor_->contracts();
    context.tracker = &tracker_;
    context.validator = self_.has_value();
    context.forwards_txs = config_.p2p.enabled();
    context.node_key_hex = node_key_hex_;
    context.on_admitted = [this](std::vector<proto::Bytes> admitted) {
      WakeCore();
      Gossip(admitted);
    };
    context.peers = [this] { return network_ ? network_->Peers() : std::vector<PeerInfo>{}; };
    context.consensus_round = [this] { return round_.load(); };
    if (self_) context.in_validator_set = [this, self = *self_] { return IsValidatorKey(self); };
    context.signing_suspended = [this] {
      std::lock_guard lock(signing_suspended_mutex_);
      return signing_suspended_;
    };
    api_ = std::make_unique<Api>(std::move(context));

    // The network first: the core thread may send as soon as it runs (a restarted proposer
    // sends its proposal again). What peers send meanwhile waits in the core's queue.
    if (config_.p2p.enabled()) {
      if (proto::Result<void> started = StartNetwork(std::move(*node_key)); !started) return started;
    }
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
    return {};
  }

  std::uint16_t http_port() const override { return http_->port(); }
  std::uint16_t p2p_port() const override { return network_ ? network_->port() : 0; }

  void Stop() override {
    {
      std::lock_guard lock(stop_mutex_);
      if (stopped_) return;
      stopped_ = true;
    }
    verify_stop_ = true;
    if (verify_thread_.joinable()) verify_thread_.join();
    if (network_) network_->Stop();
    worker_.join();
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
  // ---- the peer network ----

  proto::Result<void> StartNetwork(proto::Ed25519KeyPair node_key) {
    P2pOptions options;
    options.chain_id = genesis_.chain_id;
    options.genesis_hash = GenesisHash(genesis_);
    options.key = std::make_shared<const proto::Ed25519KeyPair>(std::move(node_key));
#ifdef CIVIC_BYZANTINE_TEST
    byzantine_key_ = options.key;
#endif
    options.allowed = AllowedPeers();
    for (const P2pPeerConfig& peer : config_.p2p.peers) {
      if (peer.host) options.dial.push_back(PeerAddress{peer.key, *peer.host, peer.port});
    }
    options.listen_address = config_.p2p.listen_address;
    options.listen_port = config_.p2p.listen_port;
    // The largest message this network can need: a proposal or a block of the largest block
    // the genesis allows, or a batch of transactions.
    const std::uint64_t block_frame = 1 + consensus::Proposal::kEncodedBytesMax +
                                      proto::CommitCertificate::kEncodedBytesMax + genesis_.consensus.block_bytes_max +
                                      64 * 1024;
    options.frame_bytes_max = static_cast<std::uint32_t>(
        std::min<std::uint64_t>(kWireMessageBytesMax, std::max<std::uint64_t>(block_frame, 1 + TxsMessage::kEncodedBytesMax)));
    options.send_queue_bytes_max = config_.p2p.send_queue_bytes_max;
    PeerNetwork::Handlers handlers;
    handlers.on_connected = [this](const proto::Ed25519PublicKey& peer) {
      asio::post(core_, [this, peer] { OnPeerConnected(peer); });
    };
    handlers.on_message = [this](const proto::Ed25519PublicKey& peer, WireMessage message, std::size_t bytes) {
      OnPeerMessage(peer, std::move(message), bytes);
    };
    handlers.on_disconnected = [this](const proto::Ed25519PublicKey& peer) {
      asio::post(core_, [this, peer] { peer_tips_.erase(peer); });
    };
    proto::Result<std::unique_ptr<PeerNetwork>> network = PeerNetwork::Start(std::move(options), std::move(handlers));
    if (!network) return tl::unexpected(network.error());
    network_ = std::move(*network);
    network_ready_.store(true, std::memory_order_release);  // the worker may use network_ from now on
    spdlog::info("p2p on port {}, {} peers listed", network_->port(), config_.p2p.peers.size());
    asio::post(core_, [this] { SyncTick(); });
    return {};
  }

  // The network's thread: hand each message to the thread that deals with it, within a bound
  // in bytes (a peer flooding messages finds them dropped, not queued without end). For the
  // core thread, past half the bound only proposals, votes, blocks and statuses are taken;
  // past the bound nothing; and each peer has a share of it (TakeForCore), so that one peer's
  // flood leaves room for the others' votes.
  void OnPeerMessage(const proto::Ed25519PublicKey& peer, WireMessage message, std::size_t bytes) {
    if (!network_ready_.load(std::memory_order_acquire)) return;
    const bool worker = std::holds_alternative<TxsMessage>(message) || std::holds_alternative<BlockRequestMessage>(message);
    std::atomic<std::uint64_t>& backlog = worker ? worker_backlog_ : core_backlog_;
    const std::uint64_t bound = worker ? kWorkerBacklogBytesMax : kCoreBacklogBytesMax;
    // The worker's queue is transactions and block requests: both take it up to the bound.
    // A peer's status too: a validator that has just started waits for its peers' tips.
    const bool urgent = worker || std::holds_alternative<ProposalMessage>(message) ||
                        std::holds_alternative<VoteMessage>(message) || std::holds_alternative<BlockMessage>(message) ||
                        std::holds_alternative<StatusMessage>(message) || std::holds_alternative<PolkaMessage>(message);
    const std::uint64_t queued = backlog.load();
    if (queued + bytes > bound || (!urgent && queued + bytes > bound / 2)) return;  // resent or retried later
    if (!worker && !TakeForCore(peer, bytes)) return;
    backlog += bytes;
    if (worker) {
      asio::post(worker_, [this, peer, bytes, message = std::move(message)]() mutable {
        if (auto* txs = std::get_if<TxsMessage>(&message)) {
          AdmitGossiped(peer, std::move(*txs));
        } else {
          ServeBlock(peer, std::get<BlockRequestMessage>(message).height);
        }
        worker_backlog_ -= bytes;
      });
      return;
    }
    asio::post(core_, [this, peer, bytes, message = std::move(message)]() mutable {
      core_backlog_ -= bytes;
      ReleaseForCore(peer, bytes);
      OnCoreMessage(peer, std::move(message));
    });
  }

  // A peer's share of the core thread's queue: at most kCorePeerMessagesMax messages and
  // kCorePeerBytesMax bytes waiting (or one message of any size, if it has none waiting).
  // An honest peer has a few at a time; a peer that floods (copies of real votes, say) has
  // the rest discarded here, and is named in the log at most every kDiscardLogEvery.
  bool TakeForCore(const proto::Ed25519PublicKey& peer, std::size_t bytes) {
    std::lock_guard lock(core_queued_mutex_);
    PeerQueued& queued = core_queued_[peer];  // one entry per authenticated peer at most
    if (queued.messages > 0 &&
        (queued.messages >= kCorePeerMessagesMax || queued.bytes + bytes > kCorePeerBytesMax)) {
      ++queued.discarded;
      const auto now = Clock::now();
      if (!queued.logged_at || now - *queued.logged_at >= kDiscardLogEvery) {
        queued.logged_at = now;
        spdlog::warn("p2p: peer {} has {} messages ({} bytes) waiting for this node's consensus thread: {} more "
                     "discarded since it started or was last named here (a peer that floods, or a node that falls "
                     "behind)",
                     proto::ToHex(peer).substr(0, 12), queued.messages, queued.bytes, queued.discarded);
        queued.discarded = 0;
      }
      return false;
    }
    ++queued.messages;
    queued.bytes += bytes;
    return true;
  }

  void ReleaseForCore(const proto::Ed25519PublicKey& peer, std::size_t bytes) {
    std::lock_guard lock(core_queued_mutex_);
    PeerQueued& queued = core_queued_[peer];
    CIVIC_ASSERT(queued.messages > 0 && queued.bytes >= bytes);
    --queued.messages;
    queued.bytes -= bytes;
  }

  // The worker thread: transactions other nodes admitted. A node checks size, decoding,
  // chain and signature before it gossips a transaction, so one that fails those comes from
  // a peer that misbehaves.
  void AdmitGossiped(const proto::Ed25519PublicKey& peer, TxsMessage message) {
    const AdmissionContext context{&genesis_, ledger_.get(), mempool_.get(), &tracker_};
    std::vector<proto::Bytes> admitted;
    std::optional<std::string> misbehaved;
    for (TxBytes& tx : message.txs) {
      proto::Result<proto::Tx> decoded = proto::Decode<proto::Tx>(tx.bytes);
      if (!decoded) {
        misbehaved = "it gossiped a transaction that does not decode: " + decoded.error().message;
        break;
      }
      const std::size_t size = tx.bytes.size();
      const TxAdmission admission = AdmitTx(context, std::move(*decoded), size);
      if (admission.verdict == TxVerdict::kWrongChain || admission.verdict == TxVerdict::kBadSignature) {
        misbehaved = "it gossiped a transaction that fails its checks: " + admission.message;
        break;
      }
      if (admission.verdict == TxVerdict::kAdmitted) admitted.push_back(std::move(tx.bytes));
    }
    if (!admitted.empty()) {
      WakeCore();
      // Validators are all connected to each other; what an observer forwards, pass on.
      if (!IsValidatorKey(peer)) Gossip(admitted);
    }
    if (misbehaved) network_->Drop(peer, *misbehaved);
  }

  void ServeBlock(const proto::Ed25519PublicKey& peer, std::uint64_t height) {
    proto::Result<std::optional<proto::Block>> block = ledger_->BlockAt(height);
    proto::Result<std::optional<proto::CommitCertificate>> certificate = ledger_->CertificateAt(height);
    if (!block || !certificate || !block->has_value() || !certificate->has_value()) return;
    network_->Send(peer, MakeFrame(BlockMessage{std::move(**block), std::move(**certificate)}), Lane::kConsensus);
  }

  // Any thread: admitted transactions to every peer, in batches of about
  // kTxsMessageBytesTarget.
  void Gossip(std::vector<proto::Bytes>& txs) {
    if (!network_ || txs.empty()) return;
    TxsMessage batch;
    std::size_t bytes = 0;
    const auto flush = [&] {
      if (batch.txs.empty()) return;
      network_->Broadcast(MakeFrame(batch), Lane::kBulk);
      batch.txs.clear();
      bytes = 0;
    };
    for (proto::Bytes& tx : txs) {
      if (batch.txs.size() == kTxsPerMessageMax || bytes + tx.size() > kTxsMessageBytesTarget) flush();
      bytes += tx.size();
      batch.txs.push_back(TxBytes{std::move(tx)});
    }
    flush();
  }

  void WakeCore() {
    // One wake-up in flight at a time, however many transactions arrive meanwhile.
    if (!wake_posted_.exchange(true)) asio::post(core_, [this] { OnTxArrived(); });
  }

  // ---- the core thread ----

  void OnPeerConnected(const proto::Ed25519PublicKey& peer) {
    const Tip tip = ledger_->tip();
    network_->Send(peer, MakeFrame(StatusMessage{tip.height, tip.block_hash}), Lane::kConsensus);
    // What we signed at this height may never have reached it (it was away), nor what others
    // sent it meanwhile.
    SendOwn(peer, /*relay=*/true);
  }

  void OnCoreMessage(const proto::Ed25519PublicKey& peer, WireMessage message) {
    if (halted_) return;
    if (auto* status = std::get_if<StatusMessage>(&message)) {
      peer_tips_[peer] = status->height;
      MaybeSync();
      MaybeResumeSigning();
    } else if (auto* proposal = std::get_if<ProposalMessage>(&message)) {
      OnProposalMessage(peer, std::move(*proposal));
    } else if (auto* vote = std::get_if<VoteMessage>(&message)) {
      if (engine_) {
        Feed(consensus::VoteEvent{vote->vote}, &peer);
      } else {
        HoldForEngine(peer, std::vector<proto::Vote>{vote->vote}, /*polka=*/false);
      }
    } else if (auto* polka = std::get_if<PolkaMessage>(&message)) {
      if (std::any_of(polka->votes.begin(), polka->votes.end(),
                      [](const proto::Vote& v) { return v.body.type != proto::VoteType::kPrevote; })) {
        network_->Drop(peer, "it sent a polka holding a vote that is not a prevote");
        return;
      }
      if (engine_) {
        Feed(consensus::CertificateEvent{std::move(polka->votes)}, &peer);
      } else {
        HoldForEngine(peer, std::move(polka->votes), /*polka=*/true);
      }
    } else if (auto* block = std::get_if<BlockMessage>(&message)) {
      OnBlockMessage(peer, std::move(*block));
    }
  }

  // A validator catching up after a start has no engine yet, and its peers sent what they
  // would send again when it connected: votes and polkas are held for the engine (up to
  // kHeldForEngineVotesMax votes, the oldest going first), and fed to it when it starts.
  // (Proposals, with their blocks, are not: a proposer sends its own again when stalled.)
  void HoldForEngine(const proto::Ed25519PublicKey& peer, std::vector<proto::Vote> votes, bool polka) {
    if (!validator_key_ || votes.size() > kHeldForEngineVotesMax) return;
    held_for_engine_votes_ += votes.size();
    held_for_engine_.push_back(HeldForEngine{peer, std::move(votes), polka});
    while (held_for_engine_votes_ > kHeldForEngineVotesMax) {
      held_for_engine_votes_ -= held_for_engine_.front().votes.size();
      held_for_engine_.pop_front();
    }
  }

  void FeedHeldToEngine() {
    std::deque<HeldForEngine> held = std::move(held_for_engine_);
    held_for_engine_.clear();
    held_for_engine_votes_ = 0;
    for (HeldForEngine& message : held) {
      if (halted_ || !engine_) return;
      if (message.polka) {
        Feed(consensus::CertificateEvent{std::move(message.votes)}, &message.peer);
      } else {
        Feed(consensus::VoteEvent{message.votes.front()}, &message.peer);
      }
    }
  }

  void OnProposalMessage(const proto::Ed25519PublicKey& peer, ProposalMessage message) {
    if (!engine_) return;
    // A validator waiting for transactions before its next height goes there now: the
    // others already are.
    if (waiting_for_txs_ && message.proposal.body.height == engine_->height() + 1) NextHeight(*waiting_for_txs_);
    const consensus::ProposalBody& body = message.proposal.body;
    if (body.height != engine_->height() && body.height != engine_->height() + 1) return;  // late or far early
    const auto round_now = static_cast<std::uint64_t>(std::max<consensus::Round>(engine_->round(), 0));
    if (body.round > round_now + consensus::kProposalRoundsAheadMax) return;
    // Only the blocks of real proposers take room here: a proposal of this height must come
    // from the round's proposer, one of the next height from a validator (who proposes there
    // is known only once we are there; the engine checks it then).
    const bool from_proposer = body.height == engine_->height()
                                   ? body.proposer == engine_->driver().Proposer(static_cast<consensus::Round>(body.round))
                                   : IsMember(schedule_.SetAt(engine_->height() + 1), body.proposer);
    if (!from_proposer) {
      network_->Drop(peer, "it sent a proposal of height " + std::to_string(body.height) + " round " +
                               std::to_string(body.round) + " from " + proto::ToHex(body.proposer).substr(0, 12) +
                               ", who does not propose there");
      return;
    }
    proto::Result<proto::Hash32> hash = proto::BlockHash(message.block.header);
    if (!hash || *hash != body.block_hash || message.block.header.height != body.height) {
      network_->Drop(peer, "it sent a proposal of height " + std::to_string(body.height) +
                               " with a block that is not the one proposed");
      return;
    }
    if (proto::Result<void> signed_ok = consensus::VerifyProposal(genesis_.chain_id, message.proposal); !signed_ok) {
      network_->Drop(peer, "it sent a proposal that does not verify: " + signed_ok.error().message);
      return;
    }
    // Keep the block until the engine asks whether it is valid (RequestValidation): at most
    // kProposalsPerRoundMax blocks per height and round (an honest proposer sends one), and
    // kReceivedBlocksMax in all, the oldest going first.
    const auto per_round = std::count_if(received_blocks_.begin(), received_blocks_.end(), [&](const auto& entry) {
      return entry.second.height == body.height && entry.second.round == body.round;
    });
    if (!prepared_.contains(*hash) && !received_blocks_.contains(*hash) &&
        static_cast<std::size_t>(per_round) < consensus::kProposalsPerRoundMax) {
      received_blocks_.emplace(*hash, ReceivedBlock{body.height, body.round, std::move(message.block)});
      received_order_.push_back(*hash);
      while (received_order_.size() > kReceivedBlocksMax) {
        received_blocks_.erase(received_order_.front());
        received_order_.pop_front();
      }
    }
    Feed(consensus::ProposalEvent{std::move(message.proposal)});
  }

  // A block with its commit certificate, from block sync.
  void OnBlockMessage(const proto::Ed25519PublicKey& peer, BlockMessage message) {
    if (waiting_for_txs_ && engine_) NextHeight(*waiting_for_txs_);  // the others went on: so do we
    const Tip tip = ledger_->tip();
    const std::uint64_t height = message.block.header.height;
    if (height != tip.height + 1) return;  // already have it, or not asked for
    // A validator in its commit wait finishes that height first.
    if (engine_ && engine_->height() != height) return;
    proto::Result<proto::Hash32> hash = proto::BlockHash(message.block.header);
    if (!hash || message.certificate.block_hash != *hash || message.certificate.height != height) {
      network_->Drop(peer, "it sent block " + std::to_string(height) + " with a certificate for another block");
      return;
    }
    if (proto::Result<void> certified =
            proto::VerifyCommitCertificate(genesis_.chain_id, schedule_.SetAt(height), message.certificate);
        !certified) {
      network_->Drop(peer, "its certificate for block " + std::to_string(height) +
                               " does not verify: " + certified.error().message);
      return;
    }
    // More than two thirds of the voting power committed this block. If it does not execute
    // here to what its header says, this node's state is not the network's: stop rather
    // than serve it.
    proto::Result<ExecutedBlock> executed = ValidateOnTip(message.block, std::numeric_limits<std::uint64_t>::max());
    if (!executed) {
      Halt(proto::Error{proto::ErrorCode::kInvalidArgument,
                        "block " + std::to_string(height) + " (" + proto::ToHex(*hash) +
                            "), certified by more than two thirds of the validators, does not check out on this "
                            "node's ledger (app hash here " +
                            proto::ToHex(ledger_->app_hash()) + "): " + executed.error().message +
                            ". This node's state differs from the network's; replay the ledger (civicd replay) "
                            "or resync it from an empty data folder"});
      return;
    }
    sync_request_.reset();
    spdlog::info("block sync: block {} from peer {}", height, proto::ToHex(peer).substr(0, 12));
    CommitBlock(*executed, message.certificate, message.certificate.round, /*from_sync=*/true);
  }

  // Asks a peer for the next block when peers are ahead of this ledger.
  void MaybeSync() {
    if (!network_ || halted_) return;
    const std::uint64_t want = ledger_->tip().height + 1;
    std::vector<proto::Ed25519PublicKey> holders;
    std::uint64_t best = 0;
    for (const auto& [peer, height] : peer_tips_) {
      if (height < want) continue;
      holders.push_back(peer);
      best = std::max(best, height);
    }
    if (holders.empty()) return;
    const auto now = Clock::now();
    if (behind_since_.first != want) behind_since_ = {want, now};
    // A validator at the height a peer has just committed is most likely deciding it too.
    if (engine_ && !engine_->signing_suspended() && best == want && now - behind_since_.second < kSyncPatience) return;
    if (sync_request_ && sync_request_->first == want && now - sync_request_->second < kSyncRequestTimeout) return;
    const proto::Ed25519PublicKey& peer = holders[sync_rotation_++ % holders.size()];
    sync_request_ = {want, now};
    network_->Send(peer, MakeFrame(BlockRequestMessage{want}), Lane::kConsensus);
  }

  void SyncTick() {
    if (halted_) return;
    MaybeSync();
    MaybeResumeSigning();
    // The tip again now and then: a status lost on the way (a full queue, a connection not
    // yet handed over) would otherwise wait for the next commit, and a validator that has
    // just started waits for its peers' tips before it signs.
    if (network_ && ++status_ticks_ % kStatusEveryTicks == 0) {
      const Tip tip = ledger_->tip();
      network_->Broadcast(MakeFrame(StatusMessage{tip.height, tip.block_hash}), Lane::kConsensus);
      SendOwnIfStalled();
    }
    sync_timer_.expires_after(kSyncTick);
    sync_timer_.async_wait([this](const boost::system::error_code& error) {
      if (!error) SyncTick();
    });
  }

  void Halt(proto::Error error) {
    spdlog::critical("halting: {}", proto::ToString(error));
    halted_ = true;
    {
      std::lock_guard lock(stop_mutex_);
      if (!halt_) halt_ = std::move(error);
    }
    stop_cv_.notify_all();
  }

  BlockLimits Limits() const { return BlockLimits{genesis_.consensus.block_txs_max, genesis_.consensus.block_bytes_max}; }

  // Executes `block` on the tip; signatures the mempool already checked are not checked again.
  proto::Result<ExecutedBlock> ValidateOnTip(const proto::Block& block, std::uint64_t time_max_unix_ms) const {
    return executor_->Validate(block, schedule_, Limits(),
                               [this](const proto::Hash32& id) { return mempool_->Find(id); }, time_max_unix_ms);
  }

  // Steps the engine with `first` and with every answer the application gives at once.
  // `from`: the peer that sent `first`, dropped if it carries a signature that does not verify
  // (an honest peer sends only what it signed or checked).
  void Feed(consensus::Event first, const proto::Ed25519PublicKey* from = nullptr) {
    std::deque<consensus::Event> queue;
    queue.push_back(std::move(first));
    for (bool first_step = true; !queue.empty() && !halted_; first_step = false) {
      proto::Result<consensus::Actions> actions = engine_->Step(queue.front());
      const bool committed = std::holds_alternative<consensus::CommittedEvent>(queue.front());
      queue.pop_front();
      if (!actions && first_step && from && network_ && actions.error().code == proto::ErrorCode::kBadSignature) {
        network_->Drop(*from, "it sent a message whose signature does not verify: " + actions.error().message);
        continue;
      }
      if (!actions && committed) {
        // The block is written but the engine cannot leave its height (e.g. it refuses the
        // block's validator change): going on would leave this validator silent for good.
        Halt(proto::Error{actions.error().code, "the consensus engine refused the commit of height " +
                                                    std::to_string(engine_->height()) + ": " + actions.error().message});
        return;
      }
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
      // Kept so that after a restart the engine hears its own proposal again
      // (RestoreOwnProposal).
      proto::Result<proto::Bytes> encoded = proto::Encode(proposal->proposal);
      if (!encoded || !ledger_->WriteOwnSignedProposal(*encoded)) {
        spdlog::warn("cannot keep the signed proposal of height {} for a restart", proposal->proposal.body.height);
      }
      SendOwnProposal(proposal->proposal);
    } else if (const auto* vote = std::get_if<consensus::BroadcastVote>(&action)) {
      // The engine counts its own votes; peers hear them here.
      if (network_) {
        Frame frame = MakeFrame(VoteMessage{vote->vote});
        own_votes_.push_back(frame);
        if (own_votes_.size() > kOwnVotesKept) own_votes_.pop_front();
        network_->Broadcast(std::move(frame), Lane::kConsensus);
#ifdef CIVIC_BYZANTINE_TEST
        EquivocateVote(vote->vote);
#endif
      }
    } else if (const auto* timeout = std::get_if<consensus::ScheduleTimeout>(&action)) {
      Schedule(*timeout);
    } else if (const auto* request = std::get_if<consensus::RequestProposal>(&action)) {
      queue.push_back(Propose(request->height, request->round));
    } else if (const auto* validation = std::get_if<consensus::RequestValidation>(&action)) {
      const bool valid = ValidateProposed(validation->value);
      queue.push_back(consensus::ValidationEvent{validation->height, validation->value,
                                                 valid ? consensus::Validity::kValid : consensus::Validity::kInvalid});
    } else if (const auto* decide = std::get_if<consensus::Decide>(&action)) {
      Commit(*decide);
    } else if (const auto* evidence = std::get_if<consensus::ReportEvidence>(&action)) {
      // Two conflicting votes go into this validator's next proposed block (the chain records
      // them once); two conflicting proposals are logged only (P2P.md, "Not done yet").
      if (const auto* votes = std::get_if<consensus::VoteEquivocation>(&evidence->evidence)) {
        spdlog::warn("equivocation evidence: validator {} signed two votes at height {} round {}",
                     proto::ToHex(votes->first.body.validator), votes->first.body.height, votes->first.body.round);
        const proto::VoteBody& slot = votes->first.body;
        const bool known = std::any_of(pending_evidence_.begin(), pending_evidence_.end(), [&](const auto& held) {
          const proto::VoteBody& other = held.first.body;
          return other.validator == slot.validator && other.height == slot.height && other.round == slot.round &&
                 other.type == slot.type;
        });
        if (!known && pending_evidence_.size() < kPendingEvidenceMax) pending_evidence_.push_back(*votes);
      } else {
        const auto& proposals = std::get<consensus::ProposalEquivocation>(evidence->evidence);
        spdlog::warn("equivocation evidence: validator {} signed two proposals at height {} round {}",
                     proto::ToHex(proposals.first.body.proposer), proposals.first.body.height,
                     proposals.first.body.round);
      }
    }
  }

  void SendOwnProposal(const consensus::Proposal& proposal) {
    if (!network_) return;
    const auto block = prepared_.find(proposal.body.block_hash);
    if (block == prepared_.end()) return;
    own_proposal_ = MakeFrame(ProposalMessage{proposal, block->second.block});
    // A value proposed again (line 16) goes with the polka that makes it acceptable (line
    // 28) to a validator that missed some of its prevotes.
    if (proposal.body.valid_round && engine_) {
      std::optional<std::vector<proto::Vote>> polka =
          engine_->Polka(consensus::Round{*proposal.body.valid_round}, proposal.body.block_hash);
      if (polka) network_->Broadcast(MakeFrame(PolkaMessage{std::move(*polka)}), Lane::kConsensus);
    }
    network_->Broadcast(own_proposal_, Lane::kConsensus);
#ifdef CIVIC_BYZANTINE_TEST
    EquivocateProposal(proposal, block->second.block);
#endif
  }

#ifdef CIVIC_BYZANTINE_TEST
  // Test-only: the civicd-byzantine program (tests/CMakeLists.txt) is civicd with this
  // validator equivocating. After each honest proposal or vote it has sent to every peer, it
  // signs a conflicting one (a proposal of the same block one millisecond later, a vote for
  // nil instead of a block or for a block instead of nil) and sends that to every other peer,
  // so that those peers hold both and can report evidence. civicd itself never has this code.
  std::vector<proto::Ed25519PublicKey> EveryOtherPeer() const {
    std::vector<proto::Ed25519PublicKey> out;
    const std::vector<PeerInfo> peers = network_->Peers();
    for (std::size_t i = 0; i < peers.size(); i += 2) out.push_back(peers[i].key);
    return out;
  }

  void EquivocateProposal(const consensus::Proposal& proposal, const proto::Block& block) {
    proto::Block twin = block;
    twin.header.time_unix_ms += 1;
    proto::Result<proto::Hash32> hash = proto::BlockHash(twin.header);
    if (!hash) return;
    consensus::ProposalBody body = proposal.body;
    body.block_hash = *hash;
    proto::Result<consensus::Proposal> signed_twin = consensus::SignProposal(genesis_.chain_id, body, *byzantine_key_);
    if (!signed_twin) return;
    spdlog::warn("byzantine test mode: a second proposal at height {} round {}", body.height, body.round);
    const Frame frame = MakeFrame(ProposalMessage{*signed_twin, std::move(twin)});
    for (const proto::Ed25519PublicKey& peer : EveryOtherPeer()) network_->Send(peer, frame, Lane::kConsensus);
  }

  void EquivocateVote(const proto::Vote& vote) {
    proto::VoteBody body = vote.body;
    if (body.block_hash) {
      body.block_hash.reset();
    } else {
      body.block_hash = proto::Sha256(proto::AsBytes("a block nobody proposed"));
    }
    proto::Result<proto::Vote> twin = proto::SignVote(genesis_.chain_id, body, *byzantine_key_);
    if (!twin) return;
    const Frame frame = MakeFrame(VoteMessage{*twin});
    for (const proto::Ed25519PublicKey& peer : EveryOtherPeer()) network_->Send(peer, frame, Lane::kConsensus);
  }
#endif

  // Whether a proposed block is valid on this node's tip: ours, or one a peer sent with its
  // proposal, executed here in full.
  bool ValidateProposed(const proto::Hash32& hash) {
    if (prepared_.contains(hash)) return true;
    const auto received = received_blocks_.find(hash);
    if (received == received_blocks_.end()) return false;
    proto::Result<ExecutedBlock> executed =
        ValidateOnTip(received->second.block, NowUnixMs() + kBlockTimeDriftMaxMs);
    if (!executed) {
      spdlog::warn("proposed block {} is not valid here: {}", proto::ToHex(hash).substr(0, 16), executed.error().message);
      return false;
    }
    prepared_.insert_or_assign(hash, std::move(*executed));
    return true;
  }

  void Schedule(const consensus::ScheduleTimeout& timeout) {
    auto timer = std::make_shared<asio::steady_timer>(core_, std::chrono::milliseconds(timeout.duration_ticks));
    timers_.insert(timer);
    const consensus::TimeoutEvent event{timeout.height, timeout.round, timeout.kind};
    timer->async_wait([this, timer, event](const boost::system::error_code& error) {
      timers_.erase(timer);
      if (error || halted_) return;
      // A round that runs out of time may have lost our messages on the way: send them again.
      if (event.height == engine_->height() && event.round == engine_->round()) SendOwn(std::nullopt);
      Feed(event);
    });
  }

  // Tendermint goes on only if every vote reaches every honest validator in the end, but a
  // vote can be lost on the way: to a peer that was away (cut off, restarting, catching up
  // with no engine yet, or heights behind) or in a queue that was full. And a step waiting
  // for votes has no timer, so no timeout sends them again: validators in different rounds of
  // a height, none of them with two thirds in its own, would each wait for ever. So a height
  // and round unchanged for 2 s (looked at with each status) sends this node's proposal,
  // votes and valid polka again: a peer in an earlier round then skips to ours (more than a
  // third in it), one that missed the polka can take the value the others are locked on, and
  // the votes of this round and the one before held from others go too (a Byzantine validator
  // may have sent a vote to some only, leaving the rest a round behind, short of two thirds,
  // with too little power ahead of them to skip: the simulator found this, ConsensusSim.NodeGossip*).
  // Again after 4, 8, 16 and 32 s, then every 32 s: in a long stall (a partition) a proposed
  // block of up to block_bytes_max is not sent to every peer every 2 s. A decided height
  // (waiting for its commit, or for transactions) has nothing to send.
  void SendOwnIfStalled() {
    if (!engine_ || engine_->decided()) return;
    const std::pair<consensus::Height, consensus::Round> now{engine_->height(), engine_->round()};
    if (now != last_status_point_) {
      last_status_point_ = now;
      stalled_looks_ = 0;
      return;
    }
    if (!consensus::ResendWhenStalled(++stalled_looks_)) return;
    const std::size_t sent = SendOwn(std::nullopt, /*relay=*/true);
    if (sent == 0) return;
    spdlog::info("consensus at height {} round {} for {} s: sent its proposal, votes and valid polka again, and the "
                 "votes it holds of this round and the one before ({} messages to each peer)",
                 now.first, now.second,
                 std::chrono::duration_cast<std::chrono::seconds>(kSyncTick * kStatusEveryTicks * stalled_looks_).count(),
                 sent);
  }

  // This height's own proposal and latest votes again, to `peer` or (nullopt) to every peer.
  // `relay`: with the votes of the engine's round, then of the round before, that it holds
  // from others (consensus::Engine::VotesToRelay), kRelayedVotesMax at most. Returns how many
  // messages it sent (to each peer).
  std::size_t SendOwn(const std::optional<proto::Ed25519PublicKey>& peer, bool relay = false) {
    if (!network_) return 0;
    std::size_t sent = 0;
    const auto send = [&](const Frame& frame) {
      if (!frame) return;
      ++sent;
      if (peer) {
        network_->Send(*peer, frame, Lane::kConsensus);
      } else {
        network_->Broadcast(frame, Lane::kConsensus);
      }
    };
    send(ValidPolkaFrame());
    if (own_proposal_) send(own_proposal_);
    for (const Frame& vote : own_votes_) send(vote);
    if (!relay || !engine_) return sent;
    for (const proto::Vote& vote : engine_->VotesToRelay(kRelayedVotesMax)) send(MakeFrame(VoteMessage{vote}));
    return sent;
  }

  // The prevotes behind this validator's valid value (consensus::Engine::ValidPolka), or none.
  Frame ValidPolkaFrame() const {
    if (!engine_) return nullptr;
    std::optional<std::vector<proto::Vote>> polka = engine_->ValidPolka();
    return polka ? MakeFrame(PolkaMessage{std::move(*polka)}) : nullptr;
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
    ExecutedBlock block =
        executor_->Build(candidates, pending_evidence_, NowUnixMs(), engine_->self(), schedule_, Limits(), &dropped);
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
  // block its safety record already vouched for; peers get it again when they connect.
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
    if (network_) own_proposal_ = MakeFrame(ProposalMessage{*proposal, prepared_.at(proposal->body.block_hash).block});
    Feed(consensus::ProposalEvent{*proposal});
  }

  std::optional<ExecutedBlock> ProposeAgain(consensus::Height height) {
    // Only the height the node started at can have a proposal from before the restart.
    if (height != start_height_) return std::nullopt;
    proto::Result<std::optional<proto::Block>> stored = ledger_->OwnProposal();
    if (!stored || !stored->has_value() || (*stored)->header.height != height) return std::nullopt;
    proto::Result<ExecutedBlock> validated = ValidateOnTip(**stored, NowUnixMs() + kBlockTimeDriftMaxMs);
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
    const ExecutedBlock block = std::move(found->second);  // CommitBlock clears prepared_
    CommitBlock(block, decide.certificate, decide.certificate.round, /*from_sync=*/false);
  }

  // Writes a decided or synced block, then moves on: the mempool, peers, the next height.
  void CommitBlock(const ExecutedBlock& block, const proto::CommitCertificate& certificate, std::uint32_t round,
                   bool from_sync) {
    const std::uint64_t height = block.block.header.height;
    last_progress_ = Clock::now();
    CheckOwnPrecommit(certificate);
    if (proto::Result<void> written = executor_->Commit(block, certificate); !written) {
      Halt(proto::Error{written.error().code,
                        "cannot write block " + std::to_string(height) + ": " + written.error().message});
      return;
    }
    if (block.next_validators) {
      if (proto::Result<void> scheduled = schedule_.ScheduleChange(height, *block.next_validators); !scheduled) {
        Halt(proto::Error{scheduled.error().code, "block " + std::to_string(height) +
                                                      " decided a validator change this node cannot schedule: " +
                                                      scheduled.error().message});
        return;
      }
      spdlog::info("block {} changes the validator set from height {}: {} validators, voting power {}", height,
                   height + consensus::kValidatorSetDelay, block.next_validators->validators.size(),
                   block.next_validators->TotalPower());
    }
    RefreshValidatorKeys();
    // Evidence is kept until the ledger records its vote slot (from this pair or another) or
    // it is too old for any block.
    std::erase_if(pending_evidence_, [&](const proto::VoteEquivocation& held) {
      const contracts::Result<bool> recorded =
          executor_->contracts().EquivocationRecorded(ledger_->state(), held.first.body);
      return !recorded || *recorded || held.first.body.height + kEvidenceAgeMax <= height;
    });
    for (const proto::VoteEquivocation& e : block.block.evidence) {
      spdlog::warn("block {} records that validator {} signed two votes at height {} round {}", height,
                   proto::ToHex(e.first.body.validator), e.first.body.height, e.first.body.round);
    }
    const auto now = TxTracker::Clock::now();
    tracker_.Committed(block.tx_ids, now);
    const Tip tip = ledger_->tip();
    mempool_->Update(block.tx_ids, NextBlockContext(tip, NowUnixMs()), [this](const Dropped& drop) {
      tracker_.Rejected(drop.id,
                        RejectionNote{std::string(contracts::TxErrorName(drop.reason.code)), drop.reason.message});
    });
    spdlog::info("committed block {} ({} txs, round {}{}), app hash {}", height, block.tx_ids.size(), round,
                 from_sync ? ", from a peer" : "", proto::ToHex(ledger_->app_hash()).substr(0, 16));
    prepared_.clear();
    own_proposal_.reset();
    own_votes_.clear();
    // Blocks proposed for the next height stay: the engine may already hold their proposals.
    std::erase_if(received_order_, [&](const proto::Hash32& hash) {
      const auto it = received_blocks_.find(hash);
      if (it != received_blocks_.end() && it->second.height > tip.height) return false;
      received_blocks_.erase(hash);
      return true;
    });
    if (network_) network_->Broadcast(MakeFrame(StatusMessage{tip.height, tip.block_hash}), Lane::kConsensus);
    if (!from_sync) {
      WaitBeforeNextHeight(height);
      return;
    }
    if (engine_) Feed(consensus::CommittedEvent{height, ChangeDecidedAt(height), /*from_sync=*/true});
    MaybeSync();
    MaybeResumeSigning();
  }

  // ---- starting to sign, and a safety record older than what this validator signed ----
  // (consensus/safety.h, "Restored records")

  // Creates the consensus engine at the next height and starts it, from the stored safety
  // record, or behind a fence at that height if the record proved old (persisted first).
  proto::Result<void> StartEngine(bool on_core_thread) {
    const consensus::Height height = ledger_->tip().height + 1;
    std::optional<consensus::LastSigned> record = loaded_record_;
    if (stale_record_) {
      proto::Result<consensus::LastSigned> fenced = PersistFence(FenceHeight(), record);
      if (!fenced) return tl::unexpected(fenced.error());
      record = *fenced;
    } else {
      spdlog::info("this validator signs from height {}", height);
    }
    start_height_ = height;
    engine_ = std::make_unique<consensus::Engine>(
        consensus::EngineConfig{genesis_.chain_id, Timeouts(genesis_.consensus)}, std::move(*validator_key_), schedule_,
        height, record);
    validator_key_.reset();
    SetSigningSuspended("");
    const auto start = [this] {
      Feed(consensus::StartEvent{});
      RestoreOwnProposal();
      FeedHeldToEngine();
    };
    // On the core thread (after catching up) the engine starts at once: a block already
    // waiting there must not reach it before its start (it would refuse that commit, and this
    // node would halt). Before the core thread runs, its first task starts it.
    if (on_core_thread) {
      start();
    } else {
      asio::post(core_, start);
    }
    return {};
  }

  // Notes a proof that the safety record is older than what this validator signed: the
  // certificate carries its precommit at a later point. Nothing this process signed can be
  // there, so the record was restored from an older copy, or the key signs elsewhere too.
  void CheckOwnPrecommit(const proto::CommitCertificate& certificate) {
    if (!self_ || signing_stopped_) return;
    const std::vector<proto::Validator>& validators = schedule_.SetAt(certificate.height).validators;
    if (std::none_of(certificate.signatures.begin(), certificate.signatures.end(), [&](const proto::CommitSignature& s) {
          return s.validator_index < validators.size() && validators[s.validator_index].key == *self_;
        })) {
      return;
    }
    const std::optional<consensus::LastSigned>& last = engine_ ? engine_->last_signed() : loaded_record_;
    if (last && std::make_tuple(certificate.height, certificate.round, consensus::SignedStep::kPrecommit) <= last->Point()) {
      return;
    }
    const std::string proof =
        "the certificate of block " + std::to_string(certificate.height) + " carries this validator's precommit of round " +
        std::to_string(certificate.round) + ", but its safety record " +
        (last ? "is at " + consensus::Describe(*last) : std::string("holds nothing signed"));
    if (signing_fence_ && certificate.height > *signing_fence_) {
      // Everything signed here since the fence is in the record: the key signs somewhere else now.
      signing_stopped_ = true;
      const std::string reason = proof + ". This validator key is signing on another machine too: this node signs "
                                         "nothing more. Stop the other copy, then restart this one";
      spdlog::error("not signing: {}", reason);
      if (engine_) engine_->SuspendSigning();
      SetSigningSuspended(reason);
      return;
    }
    if (engine_) {
      // Found while signing (its peers had not shown it yet): stop now, resume behind a fence.
      if (engine_->signing_suspended()) return;
      engine_->SuspendSigning();
    } else if (stale_record_) {
      return;  // the first proof found stands
    }
    stale_record_ = true;
    const std::string reason = proof + ". The data folder was restored from an older copy (or the key signed "
                                       "elsewhere): this node signs nothing until it has caught up with its peers, "
                                       "then nothing at the height they are deciding then, or below";
    spdlog::error("not signing: {}", reason);
    SetSigningSuspended(reason);
  }

  void SetSigningSuspended(std::string reason) {
    std::lock_guard lock(signing_suspended_mutex_);
    signing_suspended_ = std::move(reason);
  }

  // The voting power of the validators of the next height other than this one.
  std::uint64_t OtherValidatorsPower() const {
    std::uint64_t power = 0;
    for (const proto::Validator& validator : schedule_.SetAt(ledger_->tip().height + 1).validators) {
      if (validator.key != self_) power += validator.power;
    }
    return power;
  }

  // Whether this node has caught up with its peers, as far as it can tell: no peer that told
  // it its tip is more than one block ahead, and every connected peer has told it (at least one). It never waits
  // for ever: a peer that stays silent, or none connected, delays it kCatchUpWait from the
  // start; a peer that claims to be ahead but delivers no block delays it kCatchUpWait from
  // the last block committed here. (So a peer that lies, or lags, can make it start early;
  // with an old record that is what the fence, and then the stop for good, are for.)
  bool CaughtUp() const {
    if (!network_) return true;
    const auto now = Clock::now();
    // One block behind is caught up: a network that commits faster than one block can be
    // fetched keeps a follower one behind for ever (the fence is set at the peers' height).
    if (NetworkHeight() > ledger_->tip().height + 2) return now - last_progress_ >= kCatchUpWait;
    const std::vector<PeerInfo> connected = network_->Peers();
    const bool all_heard = !connected.empty() && std::all_of(connected.begin(), connected.end(), [&](const PeerInfo& peer) {
      return peer_tips_.contains(peer.key);
    });
    return all_heard || now - started_at_ >= kCatchUpWait;
  }

  // The height the network decides now, as far as the peers tell: the next after the highest
  // tip reported, or after this node's own.
  std::uint64_t NetworkHeight() const {
    std::uint64_t highest = ledger_->tip().height;
    for (const auto& [peer, height] : peer_tips_) highest = std::max(highest, height);
    return highest + 1;
  }

  // Where a validator with an old record resumes: behind the height the network decides, but
  // at most one past this node's next height (a peer that claims more and sends nothing must
  // not silence it).
  std::uint64_t FenceHeight() const { return std::min(NetworkHeight(), ledger_->tip().height + 2); }

  // Starts the engine, or lets a suspended one sign again behind a fence, once caught up.
  void MaybeResumeSigning() {
    if (!self_ || signing_stopped_ || halted_) return;
    if (engine_ ? !engine_->signing_suspended() : !validator_key_) return;
    if (!CaughtUp()) return;
    if (!engine_) {
      if (proto::Result<void> started = StartEngine(/*on_core_thread=*/true); !started) Halt(started.error());
      return;
    }
    const std::uint64_t height = FenceHeight();
    if (proto::Result<consensus::LastSigned> fenced = PersistFence(height, engine_->last_signed()); !fenced) {
      Halt(fenced.error());
      return;
    }
    engine_->ResumeSigning(consensus::FenceAt(height));
    SetSigningSuspended("");
  }

  // Puts the safety record behind a fence at `height` (persisted, unless `last` is already
  // later) and returns the record to sign from: nothing at `height` or below either way.
  proto::Result<consensus::LastSigned> PersistFence(consensus::Height height,
                                                    const std::optional<consensus::LastSigned>& last) {
    const consensus::LastSigned fence = consensus::FenceAt(height);
    const bool later = !last || last->Point() < fence.Point();
    if (later) {
      if (proto::Result<void> written = safety_->Persist(fence); !written) {
        return proto::Fail(written.error().code, "cannot record the safety fence: " + written.error().message);
      }
    }
    signing_fence_ = height;
    spdlog::warn("signing from height {}: nothing at {} or below, where an older copy of this validator may have "
                 "signed",
                 height + 1, height);
    return later ? fence : *last;
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
    Feed(consensus::CommittedEvent{committed, ChangeDecidedAt(committed)});
  }

  // The validator change the block at `height` decided, for the engine: the schedule holds
  // it from height + 2, and only a change decided at `height` starts a set there.
  std::optional<proto::ValidatorSet> ChangeDecidedAt(consensus::Height height) const {
    const consensus::Height effective = height + consensus::kValidatorSetDelay;
    if (schedule_.EffectiveFrom(effective) != effective) return std::nullopt;
    return schedule_.SetAt(effective);
  }

  static bool IsMember(const proto::ValidatorSet& set, const proto::Ed25519PublicKey& key) {
    return std::any_of(set.validators.begin(), set.validators.end(),
                       [&](const proto::Validator& validator) { return validator.key == key; });
  }

  // The keys that validate at the next two heights: a change decided now reaches no further.
  // Core thread (or Init, before it runs); the network is told who may connect.
  void RefreshValidatorKeys() {
    const std::uint64_t next = ledger_->tip().height + 1;
    std::set<proto::Ed25519PublicKey> keys;
    for (std::uint64_t height : {next, next + 1}) {
      for (const proto::Validator& validator : schedule_.SetAt(height).validators) keys.insert(validator.key);
    }
    {
      std::lock_guard lock(validator_keys_mutex_);
      if (keys == validator_keys_) return;
      validator_keys_ = std::move(keys);
    }
    if (network_) network_->SetAllowed(AllowedPeers());
  }

  bool IsValidatorKey(const proto::Ed25519PublicKey& key) const {
    std::lock_guard lock(validator_keys_mutex_);
    return validator_keys_.contains(key);
  }

  // Who may connect: the validators of the next two heights and the peers the config lists.
  std::set<proto::Ed25519PublicKey> AllowedPeers() const {
    std::set<proto::Ed25519PublicKey> allowed;
    {
      std::lock_guard lock(validator_keys_mutex_);
      allowed = validator_keys_;
    }
    for (const P2pPeerConfig& peer : config_.p2p.peers) allowed.insert(peer.key);
    return allowed;
  }

  // Bytes of peer messages waiting for the core thread (about four of the largest blocks),
  // and for the worker (transaction batches and block requests: a burst of transactions
  // from three peers must fit, or validators end up verifying them inside blocks).
  static constexpr std::uint64_t kCoreBacklogBytesMax = 256ull * 1024 * 1024;
  static constexpr std::uint64_t kWorkerBacklogBytesMax = 256ull * 1024 * 1024;
  // One peer's share of the core thread's queue (TakeForCore): an honest validator has a
  // proposal and a few votes waiting at a time, a syncing peer one block.
  static constexpr std::uint32_t kCorePeerMessagesMax = 1024;
  static constexpr std::uint64_t kCorePeerBytesMax = kCoreBacklogBytesMax / 8;
  static constexpr auto kDiscardLogEvery = std::chrono::seconds(10);

  Config config_;
  Genesis genesis_;
  // Who validates at each height: the genesis set, then each change committed blocks decided.
  // Core thread only once it runs.
  consensus::ValidatorSchedule schedule_;
  static constexpr std::size_t kPendingEvidenceMax = 64;
  std::vector<proto::VoteEquivocation> pending_evidence_;  // seen here, for the next block proposed here
  mutable std::mutex validator_keys_mutex_;  // the worker thread reads the keys too
  std::set<proto::Ed25519PublicKey> validator_keys_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<Executor> executor_;
  std::unique_ptr<Mempool> mempool_;
  TxTracker tracker_;
  std::unique_ptr<consensus::SafetyStore> safety_;
  std::unique_ptr<consensus::Engine> engine_;
  // The newest certificates checked against the safety record at start.
  static constexpr std::uint64_t kOwnPrecommitsCheckedAtStart = 16;
  // Core thread (or Init, before it runs):
  std::optional<proto::Ed25519PublicKey> self_;              // a validator's key
  std::optional<proto::Ed25519KeyPair> validator_key_;       // until the engine starts
  struct HeldForEngine {
    proto::Ed25519PublicKey peer;
    std::vector<proto::Vote> votes;  // one vote, or a polka
    bool polka = false;
  };
  std::deque<HeldForEngine> held_for_engine_;  // HoldForEngine
  std::size_t held_for_engine_votes_ = 0;
  std::optional<consensus::LastSigned> loaded_record_;       // the safety record read at start
  bool stale_record_ = false;                                // a certificate proved it old
  std::optional<std::uint64_t> signing_fence_;  // where this process resumed signing behind a fence
  Clock::time_point started_at_ = Clock::now();
  Clock::time_point last_progress_ = Clock::now();  // the last block committed here (or the start)
  std::uint64_t status_ticks_ = 0;
  std::pair<consensus::Height, consensus::Round> last_status_point_{0, 0};  // the engine's, at the last status
  std::uint64_t stalled_looks_ = 0;  // statuses since the engine's height and round last changed
  bool signing_stopped_ = false;                // suspended for good (the key signs elsewhere)
  std::mutex signing_suspended_mutex_;
  std::string signing_suspended_;  // why the engine signs nothing, empty while it signs
  std::string node_key_hex_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> http_;

  asio::io_context core_{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{core_.get_executor()};
  std::thread core_thread_;
  asio::thread_pool worker_{1};  // gossiped transactions and block requests
  std::unique_ptr<PeerNetwork> network_;
  std::atomic<bool> network_ready_{false};  // network_ is set
  std::thread verify_thread_;               // checks the ledger's files once, at start
  std::atomic<bool> verify_stop_{false};
#ifdef CIVIC_BYZANTINE_TEST
  std::shared_ptr<const proto::Ed25519KeyPair> byzantine_key_;
#endif
  std::atomic<std::uint64_t> core_backlog_{0};    // bytes
  std::atomic<std::uint64_t> worker_backlog_{0};  // bytes
  struct PeerQueued {
    std::uint32_t messages = 0;
    std::uint64_t bytes = 0;
    std::uint64_t discarded = 0;  // since logged_at
    std::optional<Clock::time_point> logged_at;
  };
  std::mutex core_queued_mutex_;  // the network's thread takes, the core thread releases
  std::map<proto::Ed25519PublicKey, PeerQueued> core_queued_;

  // Core thread only.
  std::set<std::shared_ptr<asio::steady_timer>> timers_;
  asio::steady_timer heartbeat_{core_};   // the empty-block interval
  asio::steady_timer sync_timer_{core_};  // looks for missing blocks every kSyncTick
  std::atomic<bool> wake_posted_{false};
  std::map<proto::Hash32, ExecutedBlock> prepared_;  // blocks valid on the tip, by hash
  struct ReceivedBlock {
    std::uint64_t height;
    std::uint32_t round;
    proto::Block block;
  };
  std::map<proto::Hash32, ReceivedBlock> received_blocks_;  // proposed by peers, not yet validated
  std::deque<proto::Hash32> received_order_;               // arrival order, for the bound
  Frame own_proposal_;                                     // this height's, for sending again
  std::deque<Frame> own_votes_;                            // this height's latest, for sending again
  std::map<proto::Ed25519PublicKey, std::uint64_t> peer_tips_;  // each peer's last reported height
  std::pair<std::uint64_t, Clock::time_point> behind_since_{0, {}};
  std::optional<std::pair<std::uint64_t, Clock::time_point>> sync_request_;  // height asked, when
  std::size_t sync_rotation_ = 0;
  std::optional<consensus::Height> waiting_for_txs_;
  consensus::Height start_height_ = 0;
  bool halted_ = false;
  std::atomic<std::uint64_t> round_{0};

  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopped_ = false;
  std::optional<proto::Error> halt_;
};

}  // namespace

proto::Result<std::unique_ptr<Node>> Node::Start(const Config& config, const Genesis& genesis,
                                                 std::optional<proto::Ed25519KeyPair> validator_key,
                                                 std::optional<proto::Ed25519KeyPair> node_key) {
  auto node = std::make_unique<NodeImpl>(config, genesis);
  if (proto::Result<void> started = node->Init(std::move(validator_key), std::move(node_key)); !started) {
    return tl::unexpected(started.error());
  }
  return std::unique_ptr<Node>(std::move(node));
}

}  // namespace civic::node
