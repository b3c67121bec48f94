#include "civic/node/p2p.h"

#include <sodium.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <spdlog/spdlog.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>
#include <thread>
#include <utility>

#include "civic/node/peer_session.h"
#include "civic/proto/hash.h"

namespace civic::node {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using asio::awaitable;
using Clock = std::chrono::steady_clock;
using Key = proto::Ed25519PublicKey;
using boost::system::error_code;

// Frames handed to one async_write, at most (bytes); more wait for the next write.
constexpr std::size_t kWriteBatchBytes = 1024 * 1024;
// A listed peer that stays connected this long has its backoff reset.
constexpr std::chrono::seconds kStableConnection{10};
constexpr std::chrono::milliseconds kWatchdogTick{250};


std::string Endpoint(const tcp::socket& socket) {
  error_code ec;
  const tcp::endpoint remote = socket.remote_endpoint(ec);
  if (ec) return "?";
  return remote.address().to_string() + ":" + std::to_string(remote.port());
}

class PeerNetworkImpl;

struct Connection {
  Connection(asio::io_context& io, tcp::socket s, bool out) : socket(std::move(s)), outbound(out), signal(io), watchdog(io) {
    signal.expires_at(Clock::time_point::max());
  }

  tcp::socket socket;
  bool outbound;
  std::string address;
  Key peer{};
  bool established = false;
  bool closed = false;
  std::string close_reason;
  Clock::time_point read_deadline = Clock::time_point::max();
  Clock::time_point write_deadline = Clock::time_point::max();
  Clock::time_point last_sent = Clock::now();
  asio::steady_timer signal;    // wakes the writer when the queue gains a frame
  asio::steady_timer watchdog;  // enforces the deadlines
  std::deque<Frame> queue;
  std::uint64_t queued_bytes = 0;
  SecureChannel channel;
  std::uint64_t frames_in = 0;
  std::uint64_t frames_out = 0;

  void Close(std::string reason) {
    if (closed) return;
    closed = true;
    close_reason = std::move(reason);
    error_code ignored;
    socket.shutdown(tcp::socket::shutdown_both, ignored);
    socket.close(ignored);
    signal.cancel();
    watchdog.cancel();
  }
};

using ConnectionPtr = std::shared_ptr<Connection>;

class PeerNetworkImpl final : public PeerNetwork {
 public:
  PeerNetworkImpl(P2pOptions options, Handlers handlers)
      : options_(std::move(options)), handlers_(std::move(handlers)) {}
  ~PeerNetworkImpl() override { Stop(); }

  proto::Result<void> Init() {
    if (sodium_init() < 0) return proto::Fail(proto::ErrorCode::kIo, "libsodium failed to initialise");
    if (options_.listen_address) {
      error_code ec;
      const asio::ip::address address = asio::ip::make_address(*options_.listen_address, ec);
      if (ec) {
        return proto::Fail(proto::ErrorCode::kInvalidArgument,
                           "p2p listen address \"" + *options_.listen_address + "\" is not an IP address");
      }
      const tcp::endpoint endpoint(address, options_.listen_port);
      acceptor_.open(endpoint.protocol(), ec);
      if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
      if (!ec) acceptor_.bind(endpoint, ec);
      if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
      if (ec) {
        return proto::Fail(proto::ErrorCode::kIo, "cannot listen for peers on " + *options_.listen_address + ":" +
                                                      std::to_string(options_.listen_port) + ": " + ec.message());
      }
      port_ = acceptor_.local_endpoint().port();
      asio::co_spawn(io_, Accept(), asio::detached);
    }
    for (const PeerAddress& peer : options_.dial) asio::co_spawn(io_, Dial(peer), asio::detached);
    thread_ = std::thread([this] { io_.run(); });
    return {};
  }

  std::uint16_t port() const override { return port_; }

  void Broadcast(Frame frame, Lane lane) override {
    if (!frame) return;
    asio::post(io_, [this, frame = std::move(frame), lane] {
      for (auto& [key, connection] : peers_) Enqueue(connection, frame, lane);
    });
  }

  void Send(const Key& peer, Frame frame, Lane lane) override {
    if (!frame) return;
    asio::post(io_, [this, peer, frame = std::move(frame), lane] {
      const auto found = peers_.find(peer);
      if (found != peers_.end()) Enqueue(found->second, frame, lane);
    });
  }

  void Drop(const Key& peer, std::string reason) override {
    asio::post(io_, [this, peer, reason = std::move(reason)]() mutable {
      const auto found = peers_.find(peer);
      if (found == peers_.end()) return;
      ++stats_.peers_dropped;
      found->second->Close(std::move(reason));
    });
  }

  void SetAllowed(std::set<Key> allowed) override {
    asio::post(io_, [this, allowed = std::move(allowed)]() mutable {
      options_.allowed = std::move(allowed);
      std::vector<ConnectionPtr> gone;
      for (const auto& [key, connection] : peers_) {
        if (!options_.allowed.contains(key)) gone.push_back(connection);
      }
      for (const ConnectionPtr& connection : gone) {
        connection->Close("it is no longer a validator, and this node's config does not list it as a peer");
      }
    });
  }

  std::vector<PeerInfo> Peers() const override {
    std::lock_guard lock(info_mutex_);
    return info_;
  }

  P2pStats stats() const override {
    std::lock_guard lock(info_mutex_);
    return stats_copy_;
  }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    asio::post(io_, [this] {
      error_code ignored;
      acceptor_.close(ignored);
      for (const ConnectionPtr& connection : all_) connection->Close("this node is stopping");
    });
    work_.reset();
    // Then stop the loop: coroutines still suspended are destroyed with io_ (their frames
    // hold connections, never `this`'s other members in their destructors).
    asio::post(io_, [this] { io_.stop(); });
    if (thread_.joinable()) thread_.join();
  }

 private:
  // ---- the network's thread only ----

  void Enqueue(const ConnectionPtr& connection, const Frame& frame, Lane lane) {
    if (connection->closed) return;
    if (lane == Lane::kBulk && connection->queued_bytes > options_.send_queue_bytes_max / 2) {
      ++stats_.bulk_skipped;
      PublishStats();
      return;
    }
    connection->queued_bytes += frame->size();
    if (connection->queued_bytes > options_.send_queue_bytes_max) {
      ++stats_.peers_dropped;
      PublishStats();
      connection->Close("its send queue passed " + std::to_string(options_.send_queue_bytes_max) +
                        " bytes: the peer does not keep up");
      return;
    }
    connection->queue.push_back(frame);
    connection->signal.cancel();
  }

  void PublishPeers() {
    std::vector<PeerInfo> info;
    for (const auto& [key, connection] : peers_) {
      info.push_back(PeerInfo{key, connection->address, connection->outbound, connection->frames_in, connection->frames_out});
    }
    std::lock_guard lock(info_mutex_);
    info_ = std::move(info);
    stats_copy_ = stats_;
  }

  void PublishStats() {
    std::lock_guard lock(info_mutex_);
    stats_copy_ = stats_;
  }

  awaitable<void> Accept() {
    for (;;) {
      error_code ec;
      tcp::socket socket = co_await acceptor_.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (!acceptor_.is_open()) co_return;
        // E.g. out of file descriptors: wait a little instead of spinning.
        spdlog::warn("p2p: accept failed: {}", ec.message());
        asio::steady_timer pause(io_, std::chrono::milliseconds(100));
        co_await pause.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      if (handshaking_ >= options_.handshakes_max) {
        spdlog::warn("p2p: refusing {}: {} connections are already in their handshake", Endpoint(socket),
                     handshaking_);
        error_code ignored;
        socket.close(ignored);
        continue;
      }
      auto connection = std::make_shared<Connection>(io_, std::move(socket), false);
      asio::co_spawn(io_, Run(connection, std::nullopt), asio::detached);
    }
  }

  awaitable<void> Dial(PeerAddress peer) {
    std::uint64_t backoff_ms = options_.reconnect_min_ms;
    asio::steady_timer timer(io_);
    error_code ec;
    const asio::ip::address address = asio::ip::make_address(peer.host, ec);
    if (ec) {
      spdlog::error("p2p: peer {} has address \"{}\", which is not an IP address; not dialing it", ShortKey(peer.key),
                    peer.host);
      co_return;
    }
    const tcp::endpoint endpoint(address, peer.port);
    while (!stopped_) {
      if (peers_.contains(peer.key)) {  // connected (perhaps it dialed us): look again later
        timer.expires_after(std::chrono::milliseconds(500));
        co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        continue;
      }
      auto connection = std::make_shared<Connection>(io_, tcp::socket(io_), true);
      connection->read_deadline = Clock::now() + std::chrono::milliseconds(options_.handshake_timeout_ms);
      asio::co_spawn(io_, Watchdog(connection), asio::detached);
      co_await connection->socket.async_connect(endpoint, asio::redirect_error(asio::use_awaitable, ec));
      const Clock::time_point began = Clock::now();
      if (ec || connection->closed) {
        spdlog::debug("p2p: cannot reach {} at {}:{}: {}", ShortKey(peer.key), peer.host, peer.port,
                      ec ? ec.message() : "timed out");
        connection->Close("connect failed");
      } else {
        co_await Run(connection, peer.key);
      }
      if (stopped_) co_return;
      if (Clock::now() - began > kStableConnection) backoff_ms = options_.reconnect_min_ms;
      timer.expires_after(std::chrono::milliseconds(backoff_ms));
      co_await timer.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      backoff_ms = std::min(backoff_ms * 2, options_.reconnect_max_ms);
    }
  }

  // Closes the connection once a deadline passes.
  awaitable<void> Watchdog(ConnectionPtr connection) {
    error_code ec;
    while (!connection->closed) {
      connection->watchdog.expires_after(kWatchdogTick);
      co_await connection->watchdog.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      if (connection->closed) break;
      const Clock::time_point now = Clock::now();
      if (now >= connection->read_deadline) {
        if (connection->established) ++stats_.peers_dropped;
        connection->Close(connection->established ? "it sent nothing for " + std::to_string(kIdleMs) + " ms"
                                                  : "the handshake did not finish in time");
      } else if (now >= connection->write_deadline) {
        ++stats_.peers_dropped;
        connection->Close("it took no data for " + std::to_string(options_.write_stall_ms) + " ms");
      }
    }
  }

  // One connection, from its handshake to its end. `expected`: the key we dialed.
  awaitable<void> Run(ConnectionPtr connection, std::optional<Key> expected) {
    all_.insert(connection);
    connection->address = Endpoint(connection->socket);
    if (!expected) {
      connection->read_deadline = Clock::now() + std::chrono::milliseconds(options_.handshake_timeout_ms);
      asio::co_spawn(io_, Watchdog(connection), asio::detached);
    }
    if (!expected) ++handshaking_;
    proto::Result<void> shaken = co_await Handshake(*connection, expected);
    if (!expected) --handshaking_;
    if (!shaken) {
      ++stats_.connections_refused;
      PublishStats();
      const std::string why = connection->closed && !connection->close_reason.empty() ? connection->close_reason
                                                                                     : shaken.error().message;
      spdlog::info("p2p: handshake with {} failed: {}", connection->address, why);
      connection->Close(why);
      all_.erase(connection);
      co_return;
    }
    Register(connection);
    if (!connection->closed) {
      asio::co_spawn(io_, Writer(connection), asio::detached);
      co_await Reader(connection);
    }
    Unregister(connection);
    all_.erase(connection);
  }

  void Register(const ConnectionPtr& connection) {
    // The allowed keys may have changed while the handshake waited on the network.
    if (!options_.allowed.contains(connection->peer)) {
      ++stats_.connections_refused;
      connection->Close("key " + proto::ToHex(connection->peer) + " is no longer a known peer");
      return;
    }
    ++stats_.connections_accepted;
    connection->established = true;
    connection->read_deadline = Clock::now() + std::chrono::milliseconds(kIdleMs);
    const auto found = peers_.find(connection->peer);
    if (found != peers_.end()) {
      // Two connections with one peer: keep the one dialed by the smaller key (both ends
      // decide alike); between two dialed by the same end, the newer.
      const Key& self = options_.key->public_key();
      const auto dialer = [&](const Connection& c) { return c.outbound ? self : c.peer; };
      const ConnectionPtr& old = found->second;
      const bool keep_old = dialer(*old) != dialer(*connection) && dialer(*old) < dialer(*connection);
      if (keep_old) {
        connection->Close("a connection with this peer already exists");
        return;
      }
      old->Close("replaced by a newer connection with this peer");
    }
    peers_[connection->peer] = connection;
    spdlog::info("p2p: connected to {} at {} ({})", ShortKey(connection->peer), connection->address,
                 connection->outbound ? "dialed" : "accepted");
    PublishPeers();
    if (handlers_.on_connected) handlers_.on_connected(connection->peer);
  }

  void Unregister(const ConnectionPtr& connection) {
    const auto found = peers_.find(connection->peer);
    if (found != peers_.end() && found->second == connection) {
      peers_.erase(found);
      spdlog::info("p2p: disconnected from {}: {}", ShortKey(connection->peer),
                   connection->close_reason.empty() ? "the connection closed" : connection->close_reason);
      PublishPeers();
      if (handlers_.on_disconnected) handlers_.on_disconnected(connection->peer);
    }
  }

  awaitable<proto::Result<void>> Handshake(Connection& c, std::optional<Key> expected) {
    const auto fail = [&](std::string message) { return proto::Result<void>(proto::Fail(proto::ErrorCode::kInvalidArgument, std::move(message))); };
    PeerHandshake handshake(HandshakeIdentity{options_.chain_id, options_.genesis_hash, options_.key}, c.outbound,
                            expected, c.channel);
    std::array<std::uint8_t, kHelloBytes> theirs{};
    error_code ec;
    co_await asio::async_write(c.socket, asio::buffer(handshake.hello()), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail("cannot send hello: " + ec.message());
    co_await asio::async_read(c.socket, asio::buffer(theirs), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail("no hello from the peer: " + ec.message());
    proto::Result<proto::Bytes> out = handshake.OnHello(theirs, options_.allowed);
    if (!out) co_return tl::unexpected(out.error());
    co_await asio::async_write(c.socket, asio::buffer(*out), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail("cannot send the handshake signature: " + ec.message());

    std::array<std::uint8_t, kStreamHeaderBytes> header{};
    co_await asio::async_read(c.socket, asio::buffer(header), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return fail("no stream header from the peer: " + ec.message());
    if (proto::Result<void> ok = handshake.OnStreamHeader(header); !ok) co_return ok;
    proto::Result<proto::Bytes> auth = co_await ReadFrame(c, kSignatureBytes);
    if (!auth) co_return tl::unexpected(auth.error());
    proto::Result<Key> peer = handshake.OnSignature(*auth);
    if (!peer) co_return tl::unexpected(peer.error());
    c.peer = *peer;
    co_return proto::Result<void>{};
  }

  // One frame's plaintext. Fails on a length above `max_plaintext`, and on a frame that
  // does not authenticate.
  awaitable<proto::Result<proto::Bytes>> ReadFrame(Connection& c, std::size_t max_plaintext) {
    using Out = proto::Result<proto::Bytes>;
    std::array<std::uint8_t, kFramePrefixBytes> prefix{};
    error_code ec;
    co_await asio::async_read(c.socket, asio::buffer(prefix), asio::redirect_error(asio::use_awaitable, ec));
    if (ec) co_return Out(proto::Fail(proto::ErrorCode::kIo, ec == asio::error::eof ? "the peer closed the connection" : ec.message()));
    proto::Result<std::size_t> length = SecureChannel::CiphertextBytes(prefix, max_plaintext);
    if (!length) co_return Out(tl::unexpected(length.error()));
    // In chunks, each one moving the idle deadline on: a large frame on a slow link is slow,
    // not silent. (Memory: at most the frame bound, and only once the peer proved its key.)
    proto::Bytes ciphertext(*length);
    for (std::size_t at = 0; at < ciphertext.size();) {
      const std::size_t chunk = std::min(kChunkBytes, ciphertext.size() - at);
      co_await asio::async_read(c.socket, asio::buffer(ciphertext.data() + at, chunk),
                                asio::redirect_error(asio::use_awaitable, ec));
      if (ec) co_return Out(proto::Fail(proto::ErrorCode::kIo, "the connection ended inside a frame: " + ec.message()));
      at += chunk;
      if (c.established) c.read_deadline = Clock::now() + std::chrono::milliseconds(kIdleMs);
    }
    Out plaintext = c.channel.Open(prefix, ciphertext);
    if (plaintext) ++c.frames_in;
    co_return plaintext;
  }

  awaitable<void> Reader(ConnectionPtr connection) {
    while (!connection->closed) {
      proto::Result<proto::Bytes> frame = co_await ReadFrame(*connection, options_.frame_bytes_max);
      if (connection->closed) break;
      if (!frame) {
        if (frame.error().code != proto::ErrorCode::kIo) ++stats_.peers_dropped;
        connection->Close(frame.error().message);
        break;
      }
      connection->read_deadline = Clock::now() + std::chrono::milliseconds(kIdleMs);
      if (frame->empty()) continue;  // keepalive
      proto::Result<WireMessage> message = DecodeWire(*frame);
      if (!message) {
        ++stats_.peers_dropped;
        connection->Close("it sent a message that does not decode: " + message.error().message);
        break;
      }
      if (handlers_.on_message) handlers_.on_message(connection->peer, std::move(*message), frame->size());
    }
    PublishStats();
  }

  awaitable<void> Writer(ConnectionPtr connection) {
    static const Frame keepalive = std::make_shared<const proto::Bytes>();
    error_code ec;
    proto::Bytes out;
    while (!connection->closed) {
      if (connection->queue.empty()) {
        connection->signal.expires_at(connection->last_sent + std::chrono::milliseconds(kKeepaliveMs));
        co_await connection->signal.async_wait(asio::redirect_error(asio::use_awaitable, ec));
        if (connection->closed) break;
        if (connection->queue.empty() && !ec) connection->queue.push_back(keepalive);
        continue;
      }
      out.clear();
      std::size_t taken = 0;
      while (!connection->queue.empty() && (taken == 0 || out.size() < kWriteBatchBytes)) {
        const Frame frame = std::move(connection->queue.front());
        connection->queue.pop_front();
        connection->queued_bytes -= frame->size();
        connection->channel.Seal(*frame, out);
        ++taken;
      }
      connection->frames_out += taken;
      // In chunks: the stall deadline is for a chunk, so a large frame on a slow link is fine.
      ec.clear();  // (it may hold the cancelled wait that woke us)
      for (std::size_t at = 0; at < out.size() && !ec;) {
        const std::size_t chunk = std::min(kChunkBytes, out.size() - at);
        connection->write_deadline = Clock::now() + std::chrono::milliseconds(options_.write_stall_ms);
        co_await asio::async_write(connection->socket, asio::buffer(out.data() + at, chunk),
                                   asio::redirect_error(asio::use_awaitable, ec));
        at += chunk;
      }
      connection->write_deadline = Clock::time_point::max();
      connection->last_sent = Clock::now();
      if (ec) {
        connection->Close(connection->closed ? connection->close_reason : "cannot send: " + ec.message());
        break;
      }
    }
  }

  P2pOptions options_;
  Handlers handlers_;
  asio::io_context io_{1};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work_{io_.get_executor()};
  tcp::acceptor acceptor_{io_};
  std::uint16_t port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopped_{false};

  // The network's thread only.
  std::map<Key, ConnectionPtr> peers_;  // established, one per peer
  std::set<ConnectionPtr> all_;         // every connection being run
  std::uint32_t handshaking_ = 0;
  P2pStats stats_;

  mutable std::mutex info_mutex_;
  std::vector<PeerInfo> info_;
  P2pStats stats_copy_;
};

}  // namespace

Frame MakeFrame(const WireMessage& message) {
  proto::Result<proto::Bytes> encoded = EncodeWire(message);
  if (!encoded) {
    spdlog::error("p2p: cannot encode a {} message: {}", WireKindName(KindOf(message)), encoded.error().message);
    return nullptr;
  }
  return std::make_shared<const proto::Bytes>(std::move(*encoded));
}

proto::Result<std::unique_ptr<PeerNetwork>> PeerNetwork::Start(P2pOptions options, Handlers handlers) {
  if (!options.key) return proto::Fail(proto::ErrorCode::kInvalidArgument, "the p2p network needs this node's key");
  auto network = std::make_unique<PeerNetworkImpl>(std::move(options), std::move(handlers));
  if (proto::Result<void> started = network->Init(); !started) return tl::unexpected(started.error());
  return std::unique_ptr<PeerNetwork>(std::move(network));
}

}  // namespace civic::node
