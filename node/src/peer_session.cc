#include "civic/node/peer_session.h"

#include <cstring>
#include <string>
#include <utility>

#include "civic/proto/assert.h"

namespace civic::node {
namespace {

using Key = proto::Ed25519PublicKey;

constexpr std::array<std::uint8_t, 8> kMagic = {'c', 'i', 'v', 'i', 'c', 'p', '2', 'p'};
constexpr std::size_t kGenesisAt = kMagic.size();
constexpr std::size_t kEphemeralAt = kGenesisAt + 32;
constexpr std::size_t kKeyAt = kEphemeralAt + crypto_kx_PUBLICKEYBYTES;
static_assert(kKeyAt + 32 == kHelloBytes);

tl::unexpected<proto::Error> Refuse(std::string message) {
  return proto::Fail(proto::ErrorCode::kInvalidArgument, std::move(message));
}

std::array<std::uint8_t, kFramePrefixBytes> LengthBytes(std::uint32_t length) {
  return {static_cast<std::uint8_t>(length), static_cast<std::uint8_t>(length >> 8),
          static_cast<std::uint8_t>(length >> 16), static_cast<std::uint8_t>(length >> 24)};
}

}  // namespace

std::string ShortKey(const Key& key) { return proto::ToHex(key).substr(0, 12); }

SecureChannel::~SecureChannel() {
  sodium_memzero(&tx_, sizeof tx_);
  sodium_memzero(&rx_, sizeof rx_);
}

void SecureChannel::Seal(proto::ByteView plaintext, proto::Bytes& out) {
  CIVIC_ASSERT(can_send_);
  const auto length = static_cast<std::uint32_t>(plaintext.size() + kFrameTagBytes);
  const std::array<std::uint8_t, kFramePrefixBytes> prefix = LengthBytes(length);
  const std::size_t at = out.size();
  out.insert(out.end(), prefix.begin(), prefix.end());
  out.resize(at + kFramePrefixBytes + length);
  crypto_secretstream_xchacha20poly1305_push(&tx_, out.data() + at + kFramePrefixBytes, nullptr, plaintext.data(),
                                             plaintext.size(), prefix.data(), prefix.size(),
                                             crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);
}

proto::Result<std::size_t> SecureChannel::CiphertextBytes(const std::array<std::uint8_t, kFramePrefixBytes>& prefix,
                                                          std::size_t max_plaintext) {
  const std::uint32_t length = static_cast<std::uint32_t>(prefix[0]) | (static_cast<std::uint32_t>(prefix[1]) << 8) |
                               (static_cast<std::uint32_t>(prefix[2]) << 16) |
                               (static_cast<std::uint32_t>(prefix[3]) << 24);
  if (length < kFrameTagBytes || length - kFrameTagBytes > max_plaintext) {
    return proto::Fail(proto::ErrorCode::kTooLarge, "a frame of " + std::to_string(length) +
                                                        " bytes, outside the bounds of " +
                                                        std::to_string(kFrameTagBytes) + " to " +
                                                        std::to_string(max_plaintext + kFrameTagBytes));
  }
  return std::size_t{length};
}

proto::Result<proto::Bytes> SecureChannel::Open(const std::array<std::uint8_t, kFramePrefixBytes>& prefix,
                                                proto::ByteView ciphertext) {
  if (!can_read_) return proto::Fail(proto::ErrorCode::kBadSignature, "the stream from the peer is not open");
  can_read_ = false;  // until this frame authenticates
  if (ciphertext.size() < kFrameTagBytes) {
    return proto::Fail(proto::ErrorCode::kBadSignature, "a frame too short to hold its tag");
  }
  proto::Bytes plaintext(ciphertext.size() - kFrameTagBytes);
  unsigned char tag = 0;
  if (crypto_secretstream_xchacha20poly1305_pull(&rx_, plaintext.data(), nullptr, &tag, ciphertext.data(),
                                                 ciphertext.size(), prefix.data(), prefix.size()) != 0 ||
      tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE) {
    return proto::Fail(proto::ErrorCode::kBadSignature, "a frame failed authentication");
  }
  can_read_ = true;
  return plaintext;
}

PeerHandshake::PeerHandshake(const HandshakeIdentity& identity, bool outbound, std::optional<Key> expected,
                             SecureChannel& channel)
    : identity_(identity), outbound_(outbound), expected_(expected), channel_(channel) {
  CIVIC_ASSERT(sodium_init() >= 0);  // (once per process; later calls return at once)
  crypto_kx_keypair(ephemeral_.data(), ephemeral_secret_.data());
  std::memcpy(mine_.data(), kMagic.data(), kMagic.size());
  std::memcpy(mine_.data() + kGenesisAt, identity_.genesis_hash.bytes.data(), 32);
  std::memcpy(mine_.data() + kEphemeralAt, ephemeral_.data(), ephemeral_.size());
  std::memcpy(mine_.data() + kKeyAt, identity_.key->public_key().bytes.data(), 32);
}

PeerHandshake::~PeerHandshake() {
  sodium_memzero(ephemeral_secret_.data(), ephemeral_secret_.size());
  sodium_memzero(rx_key_.data(), rx_key_.size());
  sodium_memzero(tx_key_.data(), tx_key_.size());
}

proto::Result<void> PeerHandshake::Expect(Step step) {
  if (step_ == step) return {};
  const bool failed = step_ == Step::kFailed;
  step_ = Step::kFailed;
  return proto::Fail(proto::ErrorCode::kInvalidArgument,
                     failed ? "the handshake has already failed" : "the handshake's steps came out of order");
}

proto::Result<proto::Bytes> PeerHandshake::OnHello(const std::array<std::uint8_t, kHelloBytes>& theirs,
                                                   const std::set<Key>& allowed) {
  if (proto::Result<void> ok = Expect(Step::kHello); !ok) return tl::unexpected(ok.error());
  step_ = Step::kFailed;  // until this step succeeds
  if (std::memcmp(theirs.data(), kMagic.data(), kMagic.size()) != 0) {
    return Refuse("the peer does not speak civic-ledger p2p");
  }
  proto::Hash32 genesis;
  std::memcpy(genesis.bytes.data(), theirs.data() + kGenesisAt, 32);
  if (genesis != identity_.genesis_hash) {
    return Refuse("the peer runs a different genesis (" + proto::ToHex(genesis).substr(0, 16) + ")");
  }
  Key peer;
  std::memcpy(peer.bytes.data(), theirs.data() + kKeyAt, 32);
  if (peer == identity_.key->public_key()) return Refuse("the peer has this node's own key");
  if (expected_ && peer != *expected_) {
    return Refuse("dialed " + ShortKey(*expected_) + " but the peer is " + ShortKey(peer));
  }
  if (!allowed.contains(peer)) return Refuse("key " + proto::ToHex(peer) + " is not a known peer");

  const std::uint8_t* their_ephemeral = theirs.data() + kEphemeralAt;
  const int derived = outbound_ ? crypto_kx_client_session_keys(rx_key_.data(), tx_key_.data(), ephemeral_.data(),
                                                                ephemeral_secret_.data(), their_ephemeral)
                                : crypto_kx_server_session_keys(rx_key_.data(), tx_key_.data(), ephemeral_.data(),
                                                                ephemeral_secret_.data(), their_ephemeral);
  sodium_memzero(ephemeral_secret_.data(), ephemeral_secret_.size());
  if (derived != 0) return Refuse("the peer's key exchange value is not acceptable");

  // The transcript: the dialer's hello, then the listener's, then the signer's role.
  proto::Bytes transcript;
  const auto& dialer = outbound_ ? mine_ : theirs;
  const auto& listener = outbound_ ? theirs : mine_;
  transcript.insert(transcript.end(), dialer.begin(), dialer.end());
  transcript.insert(transcript.end(), listener.begin(), listener.end());
  transcript.push_back(outbound_ ? 0 : 1);
  const proto::Hash32 my_digest = proto::TaggedHash(identity_.chain_id, proto::Domain::kPeerHandshake, transcript);
  transcript.back() = outbound_ ? 1 : 0;
  their_digest_ = proto::TaggedHash(identity_.chain_id, proto::Domain::kPeerHandshake, transcript);
  const proto::Ed25519Signature signature = identity_.key->Sign(my_digest.view());

  proto::Bytes out(kStreamHeaderBytes);
  crypto_secretstream_xchacha20poly1305_init_push(&channel_.tx_, out.data(), tx_key_.data());
  sodium_memzero(tx_key_.data(), tx_key_.size());
  channel_.can_send_ = true;
  channel_.Seal(signature.view(), out);
  peer_ = peer;
  step_ = Step::kStreamHeader;
  return out;
}

proto::Result<void> PeerHandshake::OnStreamHeader(const std::array<std::uint8_t, kStreamHeaderBytes>& header) {
  if (proto::Result<void> ok = Expect(Step::kStreamHeader); !ok) return ok;
  const int pulled = crypto_secretstream_xchacha20poly1305_init_pull(&channel_.rx_, header.data(), rx_key_.data());
  sodium_memzero(rx_key_.data(), rx_key_.size());
  if (pulled != 0) {
    step_ = Step::kFailed;
    return Refuse("the peer's stream header is not acceptable");
  }
  channel_.can_read_ = true;
  step_ = Step::kSignature;
  return {};
}

proto::Result<Key> PeerHandshake::OnSignature(proto::ByteView plaintext) {
  if (proto::Result<void> ok = Expect(Step::kSignature); !ok) return tl::unexpected(ok.error());
  step_ = Step::kFailed;
  proto::Ed25519Signature signature{};
  if (plaintext.size() != signature.bytes.size()) {
    return Refuse("the peer's handshake signature has the wrong size");
  }
  std::memcpy(signature.bytes.data(), plaintext.data(), signature.bytes.size());
  if (!proto::Ed25519Verify(peer_, their_digest_.view(), signature)) {
    return Refuse("the peer's handshake signature does not verify for key " + ShortKey(peer_));
  }
  step_ = Step::kDone;
  return peer_;
}

}  // namespace civic::node
