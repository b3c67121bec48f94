// The peer transport in process: two or three PeerNetworks on loopback (real TCP, real
// handshakes). Who may connect, what arrives, and what ends a connection.
#include <atomic>
#include <mutex>

#include "civic/node/genesis.h"
#include "civic/node/p2p.h"
#include "node_fixture.h"

namespace civic::node {
namespace {

using namespace civic::node::testing;
using Clock = std::chrono::steady_clock;

proto::ChainId Chain() { return proto::ChainId::Parse("civic-p2p-test").value(); }

struct Endpoint {
  std::shared_ptr<const proto::Ed25519KeyPair> key;
  std::mutex mutex;
  std::vector<std::pair<proto::Ed25519PublicKey, WireMessage>> received;
  std::atomic<int> connected{0};
  std::atomic<bool> stall{false};  // while set, the first message blocks the network's thread
  std::unique_ptr<PeerNetwork> network;

  explicit Endpoint(std::uint8_t seed)
      : key(std::make_shared<const proto::Ed25519KeyPair>(proto::Ed25519KeyPair::FromSeed(Filled(seed)))) {}

  proto::Result<void> Start(P2pOptions options) {
    options.key = key;
    PeerNetwork::Handlers handlers;
    handlers.on_connected = [this](const proto::Ed25519PublicKey&) { ++connected; };
    handlers.on_message = [this](const proto::Ed25519PublicKey& peer, WireMessage message, std::size_t) {
      while (stall) std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::lock_guard lock(mutex);
      received.emplace_back(peer, std::move(message));
    };
    proto::Result<std::unique_ptr<PeerNetwork>> started = PeerNetwork::Start(std::move(options), std::move(handlers));
    if (!started) return tl::unexpected(started.error());
    network = std::move(*started);
    return {};
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return received.size();
  }
};

P2pOptions Options(const proto::Hash32& genesis, std::set<proto::Ed25519PublicKey> allowed) {
  P2pOptions options;
  options.chain_id = Chain();
  options.genesis_hash = genesis;
  options.allowed = std::move(allowed);
  options.listen_address = "127.0.0.1";
  options.reconnect_min_ms = 50;
  options.reconnect_max_ms = 200;
  return options;
}

template <class Condition>
bool Eventually(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return condition();
}

const proto::Hash32 kGenesis = proto::Sha256(proto::AsBytes("genesis"));

TEST(P2p, TwoKnownNodesConnectOnceAndExchangeMessagesInOrder) {
  Endpoint a(1), b(2);
  ASSERT_TRUE(b.Start(Options(kGenesis, {a.key->public_key()})).has_value());
  P2pOptions dialing = Options(kGenesis, {b.key->public_key()});
  dialing.dial.push_back(PeerAddress{b.key->public_key(), "127.0.0.1", b.network->port()});
  ASSERT_TRUE(a.Start(std::move(dialing)).has_value());
  ASSERT_TRUE(Eventually([&] { return a.connected == 1 && b.connected == 1; }));

  for (std::uint64_t h = 1; h <= 100; ++h) {
    a.network->Broadcast(MakeFrame(StatusMessage{h, proto::Sha256(proto::AsBytes(std::to_string(h)))}), Lane::kConsensus);
  }
  ASSERT_TRUE(Eventually([&] { return b.count() == 100; }));
  std::lock_guard lock(b.mutex);
  for (std::size_t i = 0; i < 100; ++i) {
    EXPECT_EQ(b.received[i].first, a.key->public_key());
    EXPECT_EQ(std::get<StatusMessage>(b.received[i].second).height, i + 1);
  }
  ASSERT_EQ(a.network->Peers().size(), 1u);
  EXPECT_TRUE(a.network->Peers()[0].outbound);
  EXPECT_FALSE(b.network->Peers()[0].outbound);
}

TEST(P2p, BothDialingEachOtherKeepOneConnection) {
  Endpoint a(1), b(2);
  ASSERT_TRUE(a.Start(Options(kGenesis, {b.key->public_key()})).has_value());
  ASSERT_TRUE(b.Start(Options(kGenesis, {a.key->public_key()})).has_value());
  // Restart both with each other's address: they dial at once.
  const std::uint16_t port_a = a.network->port();
  const std::uint16_t port_b = b.network->port();
  a.network->Stop();
  b.network->Stop();
  P2pOptions to_b = Options(kGenesis, {b.key->public_key()});
  to_b.listen_port = port_a;
  to_b.dial.push_back(PeerAddress{b.key->public_key(), "127.0.0.1", port_b});
  P2pOptions to_a = Options(kGenesis, {a.key->public_key()});
  to_a.listen_port = port_b;
  to_a.dial.push_back(PeerAddress{a.key->public_key(), "127.0.0.1", port_a});
  ASSERT_TRUE(a.Start(std::move(to_b)).has_value());
  ASSERT_TRUE(b.Start(std::move(to_a)).has_value());
  ASSERT_TRUE(Eventually([&] { return a.network->Peers().size() == 1 && b.network->Peers().size() == 1; }));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // any duplicate has been settled
  ASSERT_EQ(a.network->Peers().size(), 1u);
  ASSERT_EQ(b.network->Peers().size(), 1u);
  // Both ends kept the same connection: the one dialed by the smaller key.
  const bool a_dialed = a.network->Peers()[0].outbound;
  EXPECT_NE(a_dialed, b.network->Peers()[0].outbound);
  EXPECT_EQ(a_dialed, a.key->public_key() < b.key->public_key());
}

TEST(P2p, UnknownKeysAndOtherGenesesAreRefused) {
  Endpoint listener(1), stranger(2), other_network(3);
  ASSERT_TRUE(listener.Start(Options(kGenesis, {other_network.key->public_key()})).has_value());
  // A key the listener does not know.
  P2pOptions unknown = Options(kGenesis, {listener.key->public_key()});
  unknown.dial.push_back(PeerAddress{listener.key->public_key(), "127.0.0.1", listener.network->port()});
  ASSERT_TRUE(stranger.Start(std::move(unknown)).has_value());
  // A known key, but another genesis.
  P2pOptions elsewhere = Options(proto::Sha256(proto::AsBytes("another genesis")), {listener.key->public_key()});
  elsewhere.dial.push_back(PeerAddress{listener.key->public_key(), "127.0.0.1", listener.network->port()});
  ASSERT_TRUE(other_network.Start(std::move(elsewhere)).has_value());

  ASSERT_TRUE(Eventually([&] { return listener.network->stats().connections_refused >= 4; }));
  EXPECT_EQ(listener.connected, 0);
  EXPECT_EQ(stranger.connected, 0);
  EXPECT_EQ(other_network.connected, 0);
  EXPECT_TRUE(listener.network->Peers().empty());
}

TEST(P2p, DialingAnAddressThatAnswersWithAnotherKeyIsRefused) {
  Endpoint a(1), b(2), c(3);
  ASSERT_TRUE(b.Start(Options(kGenesis, {a.key->public_key()})).has_value());
  // a believes c listens at b's address.
  P2pOptions wrong = Options(kGenesis, {b.key->public_key(), c.key->public_key()});
  wrong.dial.push_back(PeerAddress{c.key->public_key(), "127.0.0.1", b.network->port()});
  ASSERT_TRUE(a.Start(std::move(wrong)).has_value());
  ASSERT_TRUE(Eventually([&] { return a.network->stats().connections_refused >= 2; }));
  EXPECT_EQ(a.connected, 0);
}

TEST(P2p, ASlowReaderIsDroppedWhenItsQueueOverflowsAndOthersAreNotDelayed) {
  Endpoint sender(1), slow(2), fast(3);
  P2pOptions options = Options(kGenesis, {slow.key->public_key(), fast.key->public_key()});
  options.send_queue_bytes_max = 1024 * 1024;
  ASSERT_TRUE(sender.Start(std::move(options)).has_value());
  for (Endpoint* peer : {&slow, &fast}) {
    P2pOptions dial = Options(kGenesis, {sender.key->public_key()});
    dial.dial.push_back(PeerAddress{sender.key->public_key(), "127.0.0.1", sender.network->port()});
    ASSERT_TRUE(peer->Start(std::move(dial)).has_value());
  }
  ASSERT_TRUE(Eventually([&] { return sender.network->Peers().size() == 2; }));
  // The slow one stops reading: its network's thread blocks in the first message, so the
  // kernel's buffers fill and then the sender's queue for it.
  slow.stall = true;
  TxsMessage batch;
  batch.txs.push_back(TxBytes{proto::Bytes(60 * 1024, 0x42)});
  const Frame frame = MakeFrame(batch);
  ASSERT_TRUE(frame);
  // 24 MiB, more than loopback's buffers and the 1 MiB queue, at a pace the fast peer keeps
  // up with (a burst above the queue bound at once would overflow every queue).
  const std::size_t frames = 400;
  for (std::size_t i = 0; i < frames; ++i) {
    sender.network->Broadcast(frame, Lane::kConsensus);
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_TRUE(Eventually([&] { return fast.count() == frames; })) << fast.count();
  EXPECT_TRUE(Eventually([&] { return sender.network->Peers().size() == 1; }));
  EXPECT_GE(sender.network->stats().peers_dropped, 1u);
  slow.stall = false;
}

}  // namespace
}  // namespace civic::node
