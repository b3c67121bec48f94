// The peer-to-peer transport: authenticated, encrypted TCP connections between the nodes of
// one network (Boost.Asio on its own thread; nothing Asio in this header).
//
// Permissioned: a node accepts a connection only from a key it knows (the genesis
// validators, and the peers its config lists), and dials only the peers its config gives an
// address for. The handshake, on a fresh TCP connection, both sides at once:
//
//   1. Hello, in the clear: "civicp2p" (8 bytes), the genesis hash (32), a fresh X25519 key
//      (32) and the node's Ed25519 key (32). A different genesis, an unknown key, our own key,
//      or (when dialing) a key other than the one we dialed ends it here.
//   2. Session keys from the two X25519 keys (libsodium crypto_kx; the dialer is the client),
//      one per direction, each starting a crypto_secretstream_xchacha20poly1305 stream; each
//      side sends its stream header.
//   3. Each side sends, as its first encrypted frame, its Ed25519 signature over
//      TaggedHash(chain, "peer-handshake", dialer's Hello || listener's Hello || role), role 0
//      for the dialer and 1 for the listener. The signature binds the node key to this
//      session's ephemeral keys, so a relay in the middle cannot pass the handshake on.
//
// Then frames: a 4-byte little-endian length, then the secretstream ciphertext of one message
// (wire.h) with the length as additional data. An empty message is a keepalive, sent after
// kKeepaliveMs without other traffic. A frame longer than the bound, one that fails
// authentication, one that does not decode, or silence longer than kIdleMs drops the peer.
//
// Each peer has its own send queue, bounded in bytes: consensus messages are always queued (a
// peer whose queue overflows is too slow and is dropped); bulk messages (transactions) are
// skipped for a peer whose queue is more than half full. Frames are written and read in
// chunks of at most kChunkBytes: a peer that takes no chunk for write_stall_ms, or sends none
// for kIdleMs, is dropped (a large frame on a slow link is slow, not stalled). One slow or hostile peer never delays the others: every
// peer has its own queue and its own reads and writes.
//
// Dialed peers are reconnected with exponential backoff (reconnect_min_ms doubling up to
// reconnect_max_ms). When two nodes dial each other at once, both keep the connection dialed
// by the smaller key.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "civic/node/wire.h"
#include "civic/proto/bytes.h"
#include "civic/proto/chain.h"
#include "civic/proto/ed25519.h"
#include "civic/proto/result.h"

namespace civic::node {

inline constexpr std::uint64_t kKeepaliveMs = 2000;
inline constexpr std::uint64_t kIdleMs = 15000;
inline constexpr std::size_t kChunkBytes = 256 * 1024;

struct PeerAddress {
  proto::Ed25519PublicKey key;
  std::string host;  // an IPv4 or IPv6 literal
  std::uint16_t port = 0;
};

struct P2pOptions {
  proto::ChainId chain_id;
  proto::Hash32 genesis_hash;
  std::shared_ptr<const proto::Ed25519KeyPair> key;  // this node's identity
  std::set<proto::Ed25519PublicKey> allowed;         // keys that may connect
  std::vector<PeerAddress> dial;                     // peers to keep connected
  std::optional<std::string> listen_address;         // no inbound connections without it
  std::uint16_t listen_port = 0;                     // 0: any free port
  std::uint32_t frame_bytes_max = kWireMessageBytesMax;
  std::uint64_t send_queue_bytes_max = 128ull * 1024 * 1024;
  std::uint64_t handshake_timeout_ms = 5000;
  std::uint64_t write_stall_ms = 10000;
  std::uint64_t reconnect_min_ms = 100;
  std::uint64_t reconnect_max_ms = 5000;
  std::uint32_t handshakes_max = 64;  // inbound connections still in their handshake (5 s each at most)
};

enum class Lane : std::uint8_t {
  kConsensus,  // proposals, votes, status, blocks: never skipped
  kBulk,       // transactions: skipped for a peer whose queue is over half full
};

struct PeerInfo {
  proto::Ed25519PublicKey key;
  std::string address;  // host:port of the other end
  bool outbound = false;
  std::uint64_t frames_in = 0;
  std::uint64_t frames_out = 0;
};

struct P2pStats {
  std::uint64_t connections_accepted = 0;  // handshakes completed, both directions
  std::uint64_t connections_refused = 0;   // handshakes that failed
  std::uint64_t peers_dropped = 0;         // established peers dropped for misbehaving or stalling
  std::uint64_t bulk_skipped = 0;          // bulk messages not queued for a slow peer
};

using Frame = std::shared_ptr<const proto::Bytes>;  // an encoded wire message, shared by all peers

class PeerNetwork {
 public:
  struct Handlers {
    // All run on the network's thread: they must not block (post work elsewhere).
    std::function<void(const proto::Ed25519PublicKey& peer)> on_connected;
    std::function<void(const proto::Ed25519PublicKey& peer)> on_disconnected;
    // `bytes`: the size of the message's frame.
    std::function<void(const proto::Ed25519PublicKey& peer, WireMessage message, std::size_t bytes)> on_message;
  };

  [[nodiscard]] static proto::Result<std::unique_ptr<PeerNetwork>> Start(P2pOptions options, Handlers handlers);
  virtual ~PeerNetwork() = default;

  // 0 without a listener.
  virtual std::uint16_t port() const = 0;
  // Thread-safe; they return at once (the frame is queued on the network's thread).
  virtual void Broadcast(Frame frame, Lane lane) = 0;
  virtual void Send(const proto::Ed25519PublicKey& peer, Frame frame, Lane lane) = 0;
  // Drops the peer, e.g. for a message that checks out as a lie; its dialer reconnects later.
  virtual void Drop(const proto::Ed25519PublicKey& peer, std::string reason) = 0;
  // Replaces the keys that may connect (the validator set changed) and closes connections of
  // peers no longer among them. Thread-safe.
  virtual void SetAllowed(std::set<proto::Ed25519PublicKey> allowed) = 0;
  virtual std::vector<PeerInfo> Peers() const = 0;
  virtual P2pStats stats() const = 0;
  // Closes every connection and joins the thread. Idempotent.
  virtual void Stop() = 0;
};

// EncodeWire into a shared frame; nullptr (logged) if the message would not encode.
Frame MakeFrame(const WireMessage& message);

}  // namespace civic::node
