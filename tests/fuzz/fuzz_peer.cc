// libFuzzer target for the peer handshake and frame reader (node/peer_session.h), driven the
// way p2p.cc drives them over TCP: read the hello, answer it, read the stream header, read the
// signature frame, then read frames (bounded by the default frame_bytes_max, the largest wire
// message) until one fails to open or its message fails to decode, where p2p.cc drops the
// peer. Here the bytes "read" come from the input instead of a socket (p2p.cc's chunked reads
// and deadlines are not here), and what this node would send goes nowhere.
//
// The first input byte picks this node's role (bit 0: it dialed the peer) and what the peer
// sends (bits 1-2):
//   raw          the rest of the input is the peer's whole byte stream;
//   tampered     an honest peer's stream (its handshake, then a keepalive, a status, a block
//                request and another status), with the rest of the input XORed over it from
//                its first byte (input beyond its end is appended as more stream);
//   honest       an honest peer's handshake, then the rest of the input cut into messages
//                (2-byte little-endian length, then the message), each sealed by the peer;
//   reordered    an honest peer's handshake, then its four frames of `tampered` sent in the
//                order the rest of the input gives (each byte picks one: repeats, skips and
//                swaps), the way a relay replaying or reordering recorded frames would.
// What must hold:
//   - nothing crashes, and every refusal says what was wrong;
//   - a tampered stream passes the handshake exactly when no byte of the handshake was
//     changed, and then only as the honest peer;
//   - the frames that open are exactly the honest peer's frames, in the order it sealed them,
//     up to the first changed, replayed, skipped or moved one: nothing changed, replayed or
//     invented ever opens, and after one fails nothing more is read;
//   - every message the honest peer seals opens to exactly that message.
// libsodium's randomness is replaced by a fixed sequence, restarted for each input, so a run
// is reproducible from its input alone (and a recorded stream can pass the handshake).
#include <sodium.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <set>
#include <vector>

#include "civic/node/peer_session.h"
#include "civic/node/wire.h"
#include "civic/proto/assert.h"
#include "civic/proto/hash.h"

namespace {

namespace proto = civic::proto;
namespace node = civic::node;
using Key = proto::Ed25519PublicKey;

std::uint64_t g_random = 0;

std::uint64_t NextRandom() {  // splitmix64
  std::uint64_t z = (g_random += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
const char* RandomName() { return "civic-fuzz-fixed-sequence"; }
std::uint32_t RandomWord() { return static_cast<std::uint32_t>(NextRandom()); }
void RandomBuf(void* const buf, const std::size_t size) {
  auto* out = static_cast<std::uint8_t*>(buf);
  for (std::size_t i = 0; i < size; ++i) out[i] = static_cast<std::uint8_t>(NextRandom());
}
randombytes_implementation g_fixed_randomness = {RandomName, RandomWord, nullptr, nullptr, RandomBuf, nullptr};

std::shared_ptr<const proto::Ed25519KeyPair> KeyFrom(std::uint8_t fill) {
  proto::Secret32 seed;
  seed.fill(fill);
  return std::make_shared<const proto::Ed25519KeyPair>(proto::Ed25519KeyPair::FromSeed(seed));
}

struct Identities {
  node::HandshakeIdentity node{proto::ChainId::Parse("fuzz").value(), proto::Sha256(proto::AsBytes("genesis")),
                               KeyFrom(0x11)};
  node::HandshakeIdentity peer{node.chain_id, node.genesis_hash, KeyFrom(0x22)};
};

const Identities& Ids() {
  static const Identities ids;
  return ids;
}

// What the node reads, as a socket would give it: whole reads or the end of the connection.
class Stream {
 public:
  explicit Stream(proto::ByteView bytes) : bytes_(bytes) {}
  template <std::size_t N>
  std::optional<std::array<std::uint8_t, N>> Read() {
    if (bytes_.size() - at_ < N) return std::nullopt;
    std::array<std::uint8_t, N> out{};
    std::copy_n(bytes_.begin() + static_cast<std::ptrdiff_t>(at_), N, out.begin());
    at_ += N;
    return out;
  }
  std::optional<proto::ByteView> Read(std::size_t n) {
    if (bytes_.size() - at_ < n) return std::nullopt;
    const proto::ByteView out = bytes_.subspan(at_, n);
    at_ += n;
    return out;
  }

 private:
  proto::ByteView bytes_;
  std::size_t at_ = 0;
};

// p2p.cc's ReadFrame: the prefix, its bound, the ciphertext, authentication.
std::optional<proto::Bytes> ReadFrame(Stream& stream, node::SecureChannel& channel, std::size_t max_plaintext) {
  const auto prefix = stream.Read<node::kFramePrefixBytes>();
  if (!prefix) return std::nullopt;
  proto::Result<std::size_t> length = node::SecureChannel::CiphertextBytes(*prefix, max_plaintext);
  if (!length) {
    CIVIC_ASSERT(!length.error().message.empty());
    return std::nullopt;
  }
  const std::optional<proto::ByteView> ciphertext = stream.Read(*length);
  if (!ciphertext) return std::nullopt;
  proto::Result<proto::Bytes> plaintext = channel.Open(*prefix, *ciphertext);
  if (!plaintext) {
    CIVIC_ASSERT(!plaintext.error().message.empty());
    return std::nullopt;
  }
  return std::move(*plaintext);
}

struct Outcome {
  std::optional<Key> peer;          // set once the handshake passed
  std::vector<proto::Bytes> frames;  // every frame that opened after it
};

// p2p.cc's Handshake, then its Reader, on what `stream` holds.
Outcome Drive(bool outbound, Stream& stream) {
  const Identities& ids = Ids();
  node::SecureChannel channel;
  const std::optional<Key> expected = outbound ? std::optional<Key>(ids.peer.key->public_key()) : std::nullopt;
  node::PeerHandshake handshake(ids.node, outbound, expected, channel);
  Outcome outcome;
  const auto hello = stream.Read<node::kHelloBytes>();
  if (!hello) return outcome;
  proto::Result<proto::Bytes> reply = handshake.OnHello(*hello, {ids.peer.key->public_key()});
  if (!reply) {
    CIVIC_ASSERT(!reply.error().message.empty());
    return outcome;
  }
  const auto header = stream.Read<node::kStreamHeaderBytes>();
  if (!header) return outcome;
  if (proto::Result<void> ok = handshake.OnStreamHeader(*header); !ok) {
    CIVIC_ASSERT(!ok.error().message.empty());
    return outcome;
  }
  std::optional<proto::Bytes> signature = ReadFrame(stream, channel, node::kSignatureBytes);
  if (!signature) return outcome;
  proto::Result<Key> peer = handshake.OnSignature(*signature);
  if (!peer) {
    CIVIC_ASSERT(!peer.error().message.empty());
    return outcome;
  }
  outcome.peer = *peer;
  while (std::optional<proto::Bytes> frame = ReadFrame(stream, channel, node::kWireMessageBytesMax)) {
    const bool decodes = frame->empty() || node::DecodeWire(*frame).has_value();  // empty: a keepalive
    outcome.frames.push_back(std::move(*frame));
    if (!decodes) break;  // p2p.cc drops the peer
  }
  return outcome;
}

// An honest peer's stream: its hello, its reply to the node's hello, and where each part ends.
struct HonestPeer {
  node::SecureChannel channel;
  proto::Bytes stream;
  std::size_t handshake_bytes = 0;
};

// The node's handshake draws its ephemeral key first, then the peer's; Drive's handshake must
// therefore be made from the same point of the fixed sequence as the one made here.
void MakeHonestPeer(bool node_outbound, HonestPeer& peer) {
  const Identities& ids = Ids();
  const std::uint64_t start = g_random;
  node::SecureChannel unused;
  node::PeerHandshake node_side(ids.node, node_outbound, std::nullopt, unused);
  const std::optional<Key> expected =
      node_outbound ? std::nullopt : std::optional<Key>(ids.node.key->public_key());
  node::PeerHandshake peer_side(ids.peer, !node_outbound, expected, peer.channel);
  proto::Result<proto::Bytes> reply = peer_side.OnHello(node_side.hello(), {ids.node.key->public_key()});
  CIVIC_ASSERT(reply.has_value());
  peer.stream.assign(peer_side.hello().begin(), peer_side.hello().end());
  peer.stream.insert(peer.stream.end(), reply->begin(), reply->end());
  peer.handshake_bytes = peer.stream.size();
  // Drive's node handshake must draw the same ephemeral key as node_side did, and the peer's
  // stream header was drawn after it: restart the sequence at the node's draw.
  g_random = start;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  randombytes_set_implementation(&g_fixed_randomness);
  CIVIC_ASSERT(sodium_init() >= 0);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  g_random = 0;
  const bool outbound = (data[0] & 1) != 0;
  const int mode = (data[0] >> 1) & 3;
  const proto::ByteView rest(data + 1, size - 1);

  if (mode == 0) {  // raw
    Stream stream(rest);
    const Outcome outcome = Drive(outbound, stream);
    if (outcome.peer) CIVIC_ASSERT(*outcome.peer == Ids().peer.key->public_key());
    return 0;
  }

  HonestPeer peer;
  MakeHonestPeer(outbound, peer);
  const std::vector<proto::Bytes> four = {
      proto::Bytes{}, node::EncodeWire(node::StatusMessage{7, proto::Sha256(proto::AsBytes("tip"))}).value(),
      node::EncodeWire(node::BlockRequestMessage{3}).value(),
      node::EncodeWire(node::StatusMessage{8, proto::Sha256(proto::AsBytes("next"))}).value()};
  if (mode == 1) {  // tampered
    const std::vector<proto::Bytes>& sent = four;
    std::vector<std::size_t> frame_ends;
    for (const proto::Bytes& message : sent) {
      peer.channel.Seal(message, peer.stream);
      frame_ends.push_back(peer.stream.size());
    }
    std::size_t first_changed = std::numeric_limits<std::size_t>::max();  // nothing changed
    for (std::size_t i = 0; i < rest.size(); ++i) {
      if (i >= peer.stream.size()) {
        peer.stream.push_back(rest[i]);
      } else if (rest[i] != 0) {
        peer.stream[i] ^= rest[i];
        first_changed = std::min(first_changed, i);
      }
    }
    Stream stream(peer.stream);
    const Outcome outcome = Drive(outbound, stream);
    const bool handshake_changed = first_changed < peer.handshake_bytes;
    CIVIC_ASSERT(outcome.peer.has_value() == !handshake_changed);
    if (!outcome.peer) return 0;
    CIVIC_ASSERT(*outcome.peer == Ids().peer.key->public_key());
    std::size_t intact = 0;
    while (intact < frame_ends.size() && frame_ends[intact] <= first_changed) ++intact;
    CIVIC_ASSERT(outcome.frames.size() == intact);
    for (std::size_t i = 0; i < intact; ++i) CIVIC_ASSERT(outcome.frames[i] == sent[i]);
    return 0;
  }

  if (mode == 3) {  // reordered
    std::vector<proto::Bytes> frames;
    for (const proto::Bytes& message : four) {
      frames.emplace_back();
      peer.channel.Seal(message, frames.back());
    }
    std::size_t in_order = 0;  // how many leading picks are 0, 1, 2, 3
    bool still = true;
    for (const std::uint8_t pick : rest) {
      const std::size_t i = pick % frames.size();
      peer.stream.insert(peer.stream.end(), frames[i].begin(), frames[i].end());
      still = still && i == in_order;
      if (still) ++in_order;
    }
    Stream stream(peer.stream);
    const Outcome outcome = Drive(outbound, stream);
    CIVIC_ASSERT(outcome.peer.has_value());
    CIVIC_ASSERT(outcome.frames.size() == in_order);
    for (std::size_t i = 0; i < in_order; ++i) CIVIC_ASSERT(outcome.frames[i] == four[i]);
    return 0;
  }

  // honest: the peer seals messages cut from the input
  std::vector<proto::Bytes> sent;
  for (std::size_t at = 0; at < rest.size();) {
    std::size_t length = rest[at];
    if (at + 1 < rest.size()) length |= static_cast<std::size_t>(rest[at + 1]) << 8;
    at = std::min(rest.size(), at + 2);
    length = std::min(length, rest.size() - at);
    sent.emplace_back(rest.begin() + static_cast<std::ptrdiff_t>(at),
                      rest.begin() + static_cast<std::ptrdiff_t>(at + length));
    at += length;
    peer.channel.Seal(sent.back(), peer.stream);
  }
  // The node reads them all, or up to the first whose message does not decode.
  std::size_t expected = 0;
  while (expected < sent.size()) {
    const proto::Bytes& message = sent[expected++];
    if (!message.empty() && !node::DecodeWire(message)) break;
  }
  Stream stream(peer.stream);
  const Outcome outcome = Drive(outbound, stream);
  CIVIC_ASSERT(outcome.peer.has_value());
  CIVIC_ASSERT(outcome.frames.size() == expected);
  CIVIC_ASSERT(std::equal(outcome.frames.begin(), outcome.frames.end(), sent.begin()));
  return 0;
}
