// The peer protocol without sockets (node/peer_session.h): what each side checks in the
// handshake and in every frame. p2p_test.cc runs the same over real TCP; fuzz_peer runs it
// on hostile bytes.
#include <gtest/gtest.h>

#include "civic/node/peer_session.h"
#include "civic/node/wire.h"
#include "node_fixture.h"

namespace civic::node {
namespace {

using namespace civic::node::testing;
using Key = proto::Ed25519PublicKey;

HandshakeIdentity Identity(std::uint8_t seed) {
  return HandshakeIdentity{proto::ChainId::Parse("civic-session-test").value(), proto::Sha256(proto::AsBytes("genesis")),
                           std::make_shared<const proto::Ed25519KeyPair>(proto::Ed25519KeyPair::FromSeed(Filled(seed)))};
}

Key KeyOf(const HandshakeIdentity& identity) { return identity.key->public_key(); }

// The bytes one side sent after its hello: its stream header, then one frame.
struct Reply {
  std::array<std::uint8_t, kStreamHeaderBytes> header{};
  std::array<std::uint8_t, kFramePrefixBytes> prefix{};
  proto::Bytes ciphertext;
};

Reply Split(const proto::Bytes& sent) {
  Reply reply;
  EXPECT_GE(sent.size(), kStreamHeaderBytes + kFramePrefixBytes + kFrameTagBytes);
  std::copy_n(sent.begin(), kStreamHeaderBytes, reply.header.begin());
  std::copy_n(sent.begin() + kStreamHeaderBytes, kFramePrefixBytes, reply.prefix.begin());
  reply.ciphertext.assign(sent.begin() + kStreamHeaderBytes + kFramePrefixBytes, sent.end());
  return reply;
}

// `reader` takes the frame `reply` holds: OnStreamHeader, Open, OnSignature.
proto::Result<Key> Finish(PeerHandshake& reader, SecureChannel& channel, const Reply& reply) {
  if (proto::Result<void> ok = reader.OnStreamHeader(reply.header); !ok) return tl::unexpected(ok.error());
  proto::Result<std::size_t> length = SecureChannel::CiphertextBytes(reply.prefix, kSignatureBytes);
  if (!length) return tl::unexpected(length.error());
  EXPECT_EQ(*length, reply.ciphertext.size());
  proto::Result<proto::Bytes> signature = channel.Open(reply.prefix, reply.ciphertext);
  if (!signature) return tl::unexpected(signature.error());
  return reader.OnSignature(*signature);
}

// One frame from `from` to `to`, as the reader sees it.
proto::Result<proto::Bytes> Pass(SecureChannel& from, SecureChannel& to, proto::ByteView message) {
  proto::Bytes wire;
  from.Seal(message, wire);
  std::array<std::uint8_t, kFramePrefixBytes> prefix{};
  std::copy_n(wire.begin(), kFramePrefixBytes, prefix.begin());
  return to.Open(prefix, proto::ByteView(wire).subspan(kFramePrefixBytes));
}

TEST(PeerSession, BothSidesLearnTheOthersKeyAndFramesFlowBothWaysOnceAndInOrder) {
  const HandshakeIdentity a = Identity(1), b = Identity(2);
  SecureChannel a_channel, b_channel;
  PeerHandshake dialer(a, true, KeyOf(b), a_channel);
  PeerHandshake listener(b, false, std::nullopt, b_channel);
  proto::Result<proto::Bytes> from_dialer = dialer.OnHello(listener.hello(), {KeyOf(b)});
  proto::Result<proto::Bytes> from_listener = listener.OnHello(dialer.hello(), {KeyOf(a)});
  ASSERT_TRUE(from_dialer.has_value()) << from_dialer.error().message;
  ASSERT_TRUE(from_listener.has_value()) << from_listener.error().message;
  proto::Result<Key> dialer_learned = Finish(dialer, a_channel, Split(*from_listener));
  proto::Result<Key> listener_learned = Finish(listener, b_channel, Split(*from_dialer));
  ASSERT_TRUE(dialer_learned.has_value()) << dialer_learned.error().message;
  ASSERT_TRUE(listener_learned.has_value()) << listener_learned.error().message;
  EXPECT_EQ(*dialer_learned, KeyOf(b));
  EXPECT_EQ(*listener_learned, KeyOf(a));

  const proto::ByteView text = proto::AsBytes("a vote");
  const proto::Bytes hello(text.begin(), text.end());
  EXPECT_EQ(Pass(a_channel, b_channel, hello).value(), hello);
  EXPECT_EQ(Pass(b_channel, a_channel, proto::Bytes{}).value(), proto::Bytes{});  // a keepalive

  // A replayed frame, or a frame sent back to its sender, does not open.
  proto::Bytes wire;
  a_channel.Seal(hello, wire);
  std::array<std::uint8_t, kFramePrefixBytes> prefix{};
  std::copy_n(wire.begin(), kFramePrefixBytes, prefix.begin());
  const proto::ByteView ciphertext = proto::ByteView(wire).subspan(kFramePrefixBytes);
  ASSERT_TRUE(b_channel.Open(prefix, ciphertext).has_value());
  proto::Result<proto::Bytes> replayed = b_channel.Open(prefix, ciphertext);
  ASSERT_FALSE(replayed.has_value());
  EXPECT_EQ(replayed.error().code, proto::ErrorCode::kBadSignature);
  EXPECT_FALSE(Pass(a_channel, a_channel, hello).has_value());
  // After a frame failed, even the genuine next one is refused: the connection is over.
  EXPECT_FALSE(Pass(a_channel, b_channel, hello).has_value());

  // Two frames swapped on the way: the first to arrive does not open.
  SecureChannel c_channel, d_channel;
  PeerHandshake c(a, true, KeyOf(b), c_channel), d(b, false, std::nullopt, d_channel);
  proto::Result<proto::Bytes> from_c = c.OnHello(d.hello(), {KeyOf(b)});
  ASSERT_TRUE(from_c.has_value());
  ASSERT_TRUE(d.OnHello(c.hello(), {KeyOf(a)}).has_value());
  ASSERT_TRUE(Finish(d, d_channel, Split(*from_c)).has_value());
  proto::Bytes first, second;
  c_channel.Seal(hello, first);
  c_channel.Seal(hello, second);
  std::copy_n(second.begin(), kFramePrefixBytes, prefix.begin());
  EXPECT_FALSE(d_channel.Open(prefix, proto::ByteView(second).subspan(kFramePrefixBytes)).has_value());
}

TEST(PeerSession, AHelloFromAnotherNetworkAnUnknownKeyOrTheWrongPeerEndsTheHandshakeSayingWhy) {
  const HandshakeIdentity a = Identity(1), b = Identity(2), c = Identity(3);
  SecureChannel channel, other;
  const auto refusal = [&](const HandshakeIdentity& me, bool outbound, std::optional<Key> expected,
                           const std::array<std::uint8_t, kHelloBytes>& theirs, std::set<Key> allowed) {
    PeerHandshake handshake(me, outbound, expected, channel);
    proto::Result<proto::Bytes> out = handshake.OnHello(theirs, allowed);
    EXPECT_FALSE(out.has_value());
    return out ? std::string() : out.error().message;
  };
  PeerHandshake from_b(b, false, std::nullopt, other);

  HandshakeIdentity elsewhere = b;
  elsewhere.genesis_hash = proto::Sha256(proto::AsBytes("another city"));
  PeerHandshake from_elsewhere(elsewhere, false, std::nullopt, other);
  EXPECT_NE(refusal(a, false, std::nullopt, from_elsewhere.hello(), {KeyOf(b)}).find("different genesis"),
            std::string::npos);
  EXPECT_NE(refusal(a, false, std::nullopt, from_b.hello(), {KeyOf(c)}).find("is not a known peer"), std::string::npos);
  EXPECT_NE(refusal(a, true, KeyOf(c), from_b.hello(), {KeyOf(b), KeyOf(c)}).find("but the peer is"),
            std::string::npos);
  PeerHandshake from_myself(a, false, std::nullopt, other);
  EXPECT_NE(refusal(a, false, std::nullopt, from_myself.hello(), {KeyOf(a)}).find("own key"), std::string::npos);
  std::array<std::uint8_t, kHelloBytes> http = from_b.hello();
  std::copy_n("GET / HT", 8, http.begin());
  EXPECT_NE(refusal(a, false, std::nullopt, http, {KeyOf(b)}).find("does not speak civic-ledger p2p"),
            std::string::npos);
  std::array<std::uint8_t, kHelloBytes> no_exchange = from_b.hello();
  std::fill_n(no_exchange.begin() + 40, crypto_kx_PUBLICKEYBYTES, 0);  // a point that gives no shared key
  EXPECT_NE(refusal(a, false, std::nullopt, no_exchange, {KeyOf(b)}).find("key exchange value is not acceptable"),
            std::string::npos);
}

// A relay in the middle that swaps in its own key exchange values holds a session with each
// side and can pass b's signature frame on, re-sealed for the dialer. But b signed the hellos
// it saw, not the ones the dialer saw: the dialer refuses the relayed session.
TEST(PeerSession, ARelayInTheMiddleCannotPassTheHandshake) {
  const HandshakeIdentity a = Identity(1), b = Identity(2);
  SecureChannel a_channel, b_channel;
  PeerHandshake dialer(a, true, KeyOf(b), a_channel);
  PeerHandshake listener(b, false, std::nullopt, b_channel);
  constexpr std::size_t kEphemeralAt = 40;  // in a hello (p2p.h)
  const auto swap_ephemeral = [&](std::array<std::uint8_t, kHelloBytes> hello, const std::uint8_t* ephemeral) {
    std::copy_n(ephemeral, crypto_kx_PUBLICKEYBYTES, hello.begin() + kEphemeralAt);
    return hello;
  };
  std::array<std::uint8_t, crypto_kx_PUBLICKEYBYTES> to_a_public{}, to_b_public{};
  std::array<std::uint8_t, crypto_kx_SECRETKEYBYTES> to_a_secret{}, to_b_secret{};
  crypto_kx_keypair(to_a_public.data(), to_a_secret.data());
  crypto_kx_keypair(to_b_public.data(), to_b_secret.data());

  // Each side takes the other's hello with the relay's key exchange value in it.
  ASSERT_TRUE(dialer.OnHello(swap_ephemeral(listener.hello(), to_a_public.data()), {KeyOf(b)}).has_value());
  proto::Result<proto::Bytes> from_b = listener.OnHello(swap_ephemeral(dialer.hello(), to_b_public.data()), {KeyOf(a)});
  ASSERT_TRUE(from_b.has_value());

  // The relay opens b's signature frame (it is b's client) ...
  std::array<std::uint8_t, crypto_kx_SESSIONKEYBYTES> rx_b{}, tx_b{}, rx_a{}, tx_a{};
  ASSERT_EQ(crypto_kx_client_session_keys(rx_b.data(), tx_b.data(), to_b_public.data(), to_b_secret.data(),
                                          listener.hello().data() + kEphemeralAt),
            0);
  ASSERT_EQ(crypto_kx_server_session_keys(rx_a.data(), tx_a.data(), to_a_public.data(), to_a_secret.data(),
                                          dialer.hello().data() + kEphemeralAt),
            0);
  const Reply b_reply = Split(*from_b);
  crypto_secretstream_xchacha20poly1305_state from_b_state{}, to_a_state{};
  ASSERT_EQ(crypto_secretstream_xchacha20poly1305_init_pull(&from_b_state, b_reply.header.data(), rx_b.data()), 0);
  proto::Bytes b_signature(b_reply.ciphertext.size() - kFrameTagBytes);
  ASSERT_EQ(crypto_secretstream_xchacha20poly1305_pull(&from_b_state, b_signature.data(), nullptr, nullptr,
                                                       b_reply.ciphertext.data(), b_reply.ciphertext.size(),
                                                       b_reply.prefix.data(), b_reply.prefix.size()),
            0);
  // ... and seals it for the dialer (it is the dialer's server).
  Reply to_a;
  to_a.prefix = b_reply.prefix;
  to_a.ciphertext.resize(b_reply.ciphertext.size());
  crypto_secretstream_xchacha20poly1305_init_push(&to_a_state, to_a.header.data(), tx_a.data());
  crypto_secretstream_xchacha20poly1305_push(&to_a_state, to_a.ciphertext.data(), nullptr, b_signature.data(),
                                             b_signature.size(), to_a.prefix.data(), to_a.prefix.size(),
                                             crypto_secretstream_xchacha20poly1305_TAG_MESSAGE);

  proto::Result<Key> learned = Finish(dialer, a_channel, to_a);
  ASSERT_FALSE(learned.has_value());
  EXPECT_NE(learned.error().message.find("does not verify for key"), std::string::npos) << learned.error().message;
}

TEST(PeerSession, AFrameLengthOutsideItsBoundsIsRefusedBeforeAnyOfItIsRead) {
  const auto length = [](std::uint32_t n, std::size_t max) {
    const std::array<std::uint8_t, kFramePrefixBytes> prefix = {
        static_cast<std::uint8_t>(n), static_cast<std::uint8_t>(n >> 8), static_cast<std::uint8_t>(n >> 16),
        static_cast<std::uint8_t>(n >> 24)};
    return SecureChannel::CiphertextBytes(prefix, max);
  };
  EXPECT_EQ(length(kFrameTagBytes, 64).value(), kFrameTagBytes);  // a keepalive
  EXPECT_EQ(length(kFrameTagBytes + 64, 64).value(), kFrameTagBytes + 64);
  EXPECT_EQ(length(kFrameTagBytes + 65, 64).error().code, proto::ErrorCode::kTooLarge);
  EXPECT_EQ(length(kFrameTagBytes - 1, 64).error().code, proto::ErrorCode::kTooLarge);
  EXPECT_EQ(length(0xFFFFFFFFu, kWireMessageBytesMax).error().code, proto::ErrorCode::kTooLarge);
  EXPECT_NE(length(0xFFFFFFFFu, 64).error().message.find("4294967295"), std::string::npos);
}

TEST(PeerSession, StepsOutOfOrderOrAfterARefusalAreRefused) {
  const HandshakeIdentity a = Identity(1), b = Identity(2);
  const auto refused_with = [](const auto& result, std::string_view why) {
    return !result.has_value() && result.error().message.find(why) != std::string::npos;
  };
  const auto out_of_order = [&](const auto& result) { return refused_with(result, "came out of order"); };
  SecureChannel channel, other;
  PeerHandshake from_b(b, false, std::nullopt, other);
  {
    PeerHandshake handshake(a, false, std::nullopt, channel);
    EXPECT_TRUE(out_of_order(handshake.OnStreamHeader({})));
  }
  {
    PeerHandshake handshake(a, false, std::nullopt, channel);
    EXPECT_TRUE(out_of_order(handshake.OnSignature(proto::Bytes(kSignatureBytes))));
  }
  {  // a second hello
    PeerHandshake handshake(a, false, std::nullopt, channel);
    ASSERT_TRUE(handshake.OnHello(from_b.hello(), {KeyOf(b)}).has_value());
    EXPECT_TRUE(out_of_order(handshake.OnHello(from_b.hello(), {KeyOf(b)})));
  }
  {  // a good hello after a refused one
    PeerHandshake handshake(a, false, std::nullopt, channel);
    EXPECT_FALSE(handshake.OnHello(from_b.hello(), {}).has_value());
    EXPECT_TRUE(refused_with(handshake.OnHello(from_b.hello(), {KeyOf(b)}), "already failed"));
  }
  {  // no frame opens before the peer's stream header
    SecureChannel fresh;
    std::array<std::uint8_t, kFramePrefixBytes> prefix = {static_cast<std::uint8_t>(kFrameTagBytes), 0, 0, 0};
    EXPECT_FALSE(fresh.Open(prefix, proto::Bytes(kFrameTagBytes)).has_value());
  }
}

}  // namespace
}  // namespace civic::node
