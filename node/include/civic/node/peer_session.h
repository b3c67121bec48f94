// The peer protocol with no socket: what a node sends and what it checks during the handshake
// and in every frame (p2p.h describes the protocol). p2p.cc moves these bytes over TCP;
// tests/fuzz/fuzz_peer.cc feeds them whatever a hostile peer might send. Nothing here waits,
// reads a clock or touches the network: each call takes the bytes the caller read and says
// what to send or what was wrong.
//
// The order, on each side (dialer and listener alike):
//   send hello()              read kHelloBytes        -> OnHello: send what it returns
//   read kStreamHeaderBytes   -> OnStreamHeader
//   read one frame (at most kSignatureBytes of plaintext) -> OnSignature: the peer is known
// then frames both ways through the same SecureChannel.
#pragma once

#include <sodium.h>

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "civic/proto/bytes.h"
#include "civic/proto/chain.h"
#include "civic/proto/ed25519.h"
#include "civic/proto/hash.h"
#include "civic/proto/result.h"

namespace civic::node {

inline constexpr std::size_t kHelloBytes = 8 + 32 + crypto_kx_PUBLICKEYBYTES + 32;
inline constexpr std::size_t kStreamHeaderBytes = crypto_secretstream_xchacha20poly1305_HEADERBYTES;
inline constexpr std::size_t kFrameTagBytes = crypto_secretstream_xchacha20poly1305_ABYTES;
inline constexpr std::size_t kFramePrefixBytes = 4;
inline constexpr std::size_t kSignatureBytes = 64;

// The two encrypted streams of one connection, once the handshake has set them up. A frame is
// a 4-byte little-endian length, then that many bytes of secretstream ciphertext (the
// plaintext and a 17-byte tag), with the length as additional data.
class SecureChannel {
 public:
  SecureChannel() = default;
  SecureChannel(const SecureChannel&) = delete;
  SecureChannel& operator=(const SecureChannel&) = delete;
  ~SecureChannel();

  // Appends one frame holding `plaintext` to `out`. REQUIRES: the handshake has sent this
  // side's stream header (PeerHandshake::OnHello succeeded).
  void Seal(proto::ByteView plaintext, proto::Bytes& out);
  // How many bytes of ciphertext follow this prefix; an error (kTooLarge) for a length that
  // cannot hold a tag or would hold more than `max_plaintext` bytes. Read nothing more then.
  static proto::Result<std::size_t> CiphertextBytes(const std::array<std::uint8_t, kFramePrefixBytes>& prefix,
                                                    std::size_t max_plaintext);
  // The plaintext of the next frame (kBadSignature if it does not authenticate: tampered,
  // replayed, reordered, or from another session). After an error, and before the peer's
  // stream header was taken, every frame is refused: close the connection.
  proto::Result<proto::Bytes> Open(const std::array<std::uint8_t, kFramePrefixBytes>& prefix,
                                   proto::ByteView ciphertext);

 private:
  friend class PeerHandshake;
  crypto_secretstream_xchacha20poly1305_state tx_{};
  crypto_secretstream_xchacha20poly1305_state rx_{};
  bool can_send_ = false;  // tx_ holds a session key
  bool can_read_ = false;  // rx_ holds a session key, and no frame has failed
};

// A peer's key as the log and the handshake's refusals name it: its first 12 hex digits.
std::string ShortKey(const proto::Ed25519PublicKey& key);

struct HandshakeIdentity {
  proto::ChainId chain_id;
  proto::Hash32 genesis_hash;
  std::shared_ptr<const proto::Ed25519KeyPair> key;  // this node's
};

// One side of one handshake. It writes the session keys into `channel` (which must outlive
// it); ephemeral secrets are wiped when it goes.
class PeerHandshake {
 public:
  // `outbound`: this side dialed. `expected`: the key it dialed, if any.
  PeerHandshake(const HandshakeIdentity& identity, bool outbound, std::optional<proto::Ed25519PublicKey> expected,
                SecureChannel& channel);
  ~PeerHandshake();
  PeerHandshake(const PeerHandshake&) = delete;
  PeerHandshake& operator=(const PeerHandshake&) = delete;

  // This side's hello, to send first.
  const std::array<std::uint8_t, kHelloBytes>& hello() const { return mine_; }
  // Checks the peer's hello (magic, genesis, a key in `allowed`, not ours, the one dialed) and
  // returns what to send next: this side's stream header and its signature frame.
  proto::Result<proto::Bytes> OnHello(const std::array<std::uint8_t, kHelloBytes>& theirs,
                                      const std::set<proto::Ed25519PublicKey>& allowed);
  proto::Result<void> OnStreamHeader(const std::array<std::uint8_t, kStreamHeaderBytes>& header);
  // The plaintext of the peer's first frame: its signature over the transcript. On success
  // the peer's key, proven for this session.
  proto::Result<proto::Ed25519PublicKey> OnSignature(proto::ByteView plaintext);

 private:
  enum class Step : std::uint8_t { kHello, kStreamHeader, kSignature, kDone, kFailed };
  proto::Result<void> Expect(Step step);

  HandshakeIdentity identity_;
  bool outbound_;
  std::optional<proto::Ed25519PublicKey> expected_;
  SecureChannel& channel_;
  Step step_ = Step::kHello;
  std::array<std::uint8_t, crypto_kx_PUBLICKEYBYTES> ephemeral_{};
  std::array<std::uint8_t, crypto_kx_SECRETKEYBYTES> ephemeral_secret_{};
  std::array<std::uint8_t, crypto_kx_SESSIONKEYBYTES> rx_key_{};
  std::array<std::uint8_t, crypto_kx_SESSIONKEYBYTES> tx_key_{};
  std::array<std::uint8_t, kHelloBytes> mine_{};
  proto::Ed25519PublicKey peer_{};
  proto::Hash32 their_digest_{};
};

}  // namespace civic::node
