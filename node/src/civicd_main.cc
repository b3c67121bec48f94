// civicd: the civic-ledger node. `civicd run --config FILE` runs a validator (with a
// validator_key in the config) or an observer; `civicd keygen` makes a validator key;
// `civicd replay` re-derives a stopped node's ledger from its genesis and checks every hash;
// `civicd testnet` writes the files of a network of validators and observers on this machine.
//
// Exit codes: 0 done (or stopped by SIGINT/SIGTERM), 1 the node halted or a check failed,
// 2 a usage, configuration or genesis error (the message says what to fix).
#include <signal.h>
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include "civic/node/clock.h"
#include "civic/node/config.h"
#include "civic/node/genesis.h"
#include "civic/node/key_file.h"
#include "civic/node/ledger.h"
#include "civic/node/node.h"
#include "civic/node/replay.h"
#include "civic/node/testnet.h"

namespace {

using namespace civic;

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUsage = 2;

int Usage(const std::string& message) {
  std::cerr << "civicd: " << message << "\n";
  return kExitUsage;
}

struct Loaded {
  node::Config config;
  node::Genesis genesis;
};

std::optional<Loaded> Load(const std::string& config_path, int& exit_code) {
  proto::Result<node::Config> config = node::LoadConfigFile(config_path);
  if (!config) {
    exit_code = Usage(config.error().message);
    return std::nullopt;
  }
  proto::Result<node::Genesis> genesis = node::LoadGenesisFile(config->genesis);
  if (!genesis) {
    exit_code = Usage(genesis.error().message);
    return std::nullopt;
  }
  return Loaded{std::move(*config), std::move(*genesis)};
}

int Run(const std::string& config_path) {
  int exit_code = kExitOk;
  std::optional<Loaded> loaded = Load(config_path, exit_code);
  if (!loaded) return exit_code;
  spdlog::set_level(spdlog::level::from_str(loaded->config.log_level));

  std::optional<proto::Ed25519KeyPair> key;
  if (loaded->config.validator_key) {
    proto::Result<proto::Ed25519KeyPair> read = node::LoadValidatorKey(*loaded->config.validator_key);
    if (!read) return Usage(read.error().message);
    key = std::move(*read);
  }
  // The key this node proves to its peers: its own node key, or else its validator key.
  std::optional<proto::Ed25519KeyPair> node_key;
  if (loaded->config.p2p.enabled()) {
    const std::optional<std::filesystem::path>& path =
        loaded->config.p2p.node_key ? loaded->config.p2p.node_key : loaded->config.validator_key;
    if (!path) {
      return Usage("p2p.node_key: an observer that talks to peers needs a node key (make one with civicd keygen)");
    }
    proto::Result<proto::Ed25519KeyPair> read = node::LoadValidatorKey(*path);
    if (!read) return Usage(read.error().message);
    node_key = std::move(*read);
  }

  // SIGINT and SIGTERM are taken by one thread that stops the node; every other thread
  // (started after this) inherits the mask and never sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  spdlog::info("civicd starting: chain {}, {}", loaded->genesis.chain_id.str(), key ? "validator" : "observer");
  proto::Result<std::unique_ptr<node::Node>> node = node::Node::Start(loaded->config, loaded->genesis, std::move(key), std::move(node_key));
  if (!node) {
    spdlog::error("{}", proto::ToString(node.error()));
    return node.error().code == proto::ErrorCode::kIo ? kExitFailed : kExitUsage;
  }
  std::thread signal_waiter([&] {
    int received = 0;
    sigwait(&signals, &received);
    spdlog::info("signal {}: shutting down", received);
    (*node)->Stop();
  });
  proto::Result<void> result = (*node)->Wait();
  if (!result) {
    // A halt: stop everything, then wake the signal thread so it can be joined.
    (*node)->Stop();
    pthread_kill(signal_waiter.native_handle(), SIGTERM);
    signal_waiter.join();
    spdlog::critical("civicd halted: {}", proto::ToString(result.error()));
    return kExitFailed;
  }
  signal_waiter.join();
  (*node)->Stop();
  spdlog::info("civicd stopped cleanly");
  return kExitOk;
}

int Keygen(const std::string& out) {
  proto::Secret32 seed{};
  randombytes_buf(seed.data(), seed.size());
  proto::Result<proto::Ed25519PublicKey> written = node::WriteValidatorKey(out, seed);
  sodium_memzero(seed.data(), seed.size());
  if (!written) return Usage(written.error().message);
  std::cout << proto::ToHex(*written) << "\n";
  return kExitOk;
}

int Replay(const std::string& config_path) {
  int exit_code = kExitOk;
  std::optional<Loaded> loaded = Load(config_path, exit_code);
  if (!loaded) return exit_code;
  proto::Result<std::unique_ptr<node::Ledger>> ledger =
      node::Ledger::Open(loaded->config.data_dir, loaded->genesis, node::OpenMode::kReadOnly);
  if (!ledger) return Usage(ledger.error().message);
  proto::Result<node::ReplayReport> report = node::ReplayLedger(**ledger);
  if (!report) {
    std::cerr << "civicd replay: MISMATCH: " << report.error().message << "\n";
    return kExitFailed;
  }
  std::cout << "replayed " << report->blocks << " blocks, " << report->txs << " transactions from genesis; app hash "
            << proto::ToHex(report->app_hash) << " matches the ledger\n";
  return kExitOk;
}

struct TestnetArgs {
  std::string dir;
  std::uint32_t validators = 4;
  std::uint32_t observers = 1;
  std::uint16_t http_port = 8700;
  std::uint16_t p2p_port = 26600;
  std::uint16_t proxy_port = 0;
  std::string chain_id = "civic-testnet";
  std::vector<std::string> clerks;
  std::uint32_t clerk_threshold = 1;
  std::vector<std::string> districts;
};

// civicd testnet: the files of a network on this machine (testnet.h).
int Testnet(const TestnetArgs& args) {
  node::Genesis genesis;
  proto::Result<proto::ChainId> chain = proto::ChainId::Parse(args.chain_id);
  if (!chain) return Usage("--chain-id: " + chain.error().message);
  genesis.chain_id = *chain;
  genesis.genesis_time_unix_ms = node::NowUnixMs();
  for (const std::string& hex : args.clerks) {
    proto::Result<proto::SchnorrPublicKey> key = proto::FixedFromHex<proto::SchnorrPublicKey>(hex);
    if (!key) return Usage("--clerk " + hex + ": a clerk's key is 64 hex digits (civic-wallet whoami prints it)");
    genesis.contracts.clerks.push_back(*key);
  }
  std::sort(genesis.contracts.clerks.begin(), genesis.contracts.clerks.end());
  genesis.contracts.clerk_threshold = args.clerk_threshold;
  for (const std::string& district : args.districts) {
    const std::size_t colon = district.find(':');
    std::uint32_t id = 0;
    const char* end = district.data() + (colon == std::string::npos ? 0 : colon);
    const auto parsed = std::from_chars(district.data(), end, id);
    if (colon == std::string::npos || parsed.ptr != end || parsed.ec != std::errc()) {
      return Usage("--district " + district + ": write ID:NAME, e.g. 1:Centrum");
    }
    genesis.contracts.districts.push_back(contracts::District{id, district.substr(colon + 1)});
  }
  if (genesis.contracts.districts.empty()) genesis.contracts.districts.push_back(contracts::District{1, "City"});
  std::sort(genesis.contracts.districts.begin(), genesis.contracts.districts.end(),
            [](const contracts::District& a, const contracts::District& b) { return a.id < b.id; });

  node::TestnetLayout layout;
  layout.validators = args.validators;
  layout.observers = args.observers;
  const std::uint32_t total = args.validators + args.observers;
  if (args.http_port + total > 65536 || args.p2p_port + args.validators > 65536) return Usage("the ports run past 65535");
  for (std::uint32_t i = 0; i < total; ++i) layout.http_ports.push_back(static_cast<std::uint16_t>(args.http_port + i));
  for (std::uint32_t i = 0; i < args.validators; ++i) layout.p2p_ports.push_back(static_cast<std::uint16_t>(args.p2p_port + i));
  if (args.proxy_port != 0) {
    if (args.proxy_port + args.validators * args.validators > 65536) return Usage("--proxy-port: the ports run past 65535");
    // Validator i reaches validator j through the proxy on proxy_port + i * validators + j.
    layout.dial_port = [&args](std::size_t from, std::size_t to) {
      return static_cast<std::uint16_t>(from < args.validators ? args.proxy_port + from * args.validators + to
                                                               : args.p2p_port + to);
    };
  }
  proto::Result<std::vector<node::TestnetNode>> nodes = node::WriteTestnet(args.dir, std::move(genesis), layout);
  if (!nodes) return Usage(nodes.error().message);
  for (const node::TestnetNode& n : *nodes) {
    std::cout << n.name << " " << (n.validator ? "validator" : "observer ") << " " << proto::ToHex(n.key)
              << " http 127.0.0.1:" << n.http_port;
    if (n.validator) std::cout << " p2p 127.0.0.1:" << n.p2p_port;
    std::cout << " config " << (n.dir / "civicd.toml").string() << "\n";
  }
  return kExitOk;
}

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) {
    std::cerr << "civicd: libsodium failed to initialise\n";
    return kExitFailed;
  }
  spdlog::set_default_logger(spdlog::stderr_color_mt("civicd"));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  CLI::App app{"civicd: a civic-ledger node (validator or observer). See node/CONFIG.md and node/API.md."};
  app.require_subcommand(1);
  std::string config_path;
  std::string key_out;

  CLI::App* run = app.add_subcommand("run", "Run the node until SIGINT or SIGTERM");
  run->add_option("-c,--config", config_path, "The node's TOML config file (node/CONFIG.md)")->required();
  CLI::App* keygen = app.add_subcommand("keygen", "Make a validator key file (mode 0600) and print its public key");
  keygen->add_option("-o,--out", key_out, "Where to write the key file (must not exist)")->required();
  CLI::App* replay = app.add_subcommand("replay", "Re-derive a stopped node's ledger from genesis and check every hash");
  replay->add_option("-c,--config", config_path, "The node's TOML config file")->required();

  TestnetArgs testnet_args;
  CLI::App* testnet = app.add_subcommand("testnet", "Write the keys, genesis and configs of a network on this machine");
  testnet->add_option("-d,--dir", testnet_args.dir, "A new folder for the network")->required();
  testnet->add_option("--validators", testnet_args.validators, "How many validators")->check(CLI::Range(1, 64));
  testnet->add_option("--observers", testnet_args.observers, "How many observers")->check(CLI::Range(0, 64));
  testnet->add_option("--http-port", testnet_args.http_port, "The first HTTP port (one per node, validators first)");
  testnet->add_option("--p2p-port", testnet_args.p2p_port, "The first p2p port (one per validator)");
  testnet->add_option("--proxy-port", testnet_args.proxy_port,
                      "Validators reach each other through proxies from this port (testnet/net partition)");
  testnet->add_option("--chain-id", testnet_args.chain_id, "The network's chain id");
  testnet->add_option("--clerk", testnet_args.clerks, "A clerk's public key (64 hex); at least one")->required();
  testnet->add_option("--clerk-threshold", testnet_args.clerk_threshold, "Clerk signatures a validator change needs");
  testnet->add_option("--district", testnet_args.districts, "A district as ID:NAME (default 1:City)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (*run) return Run(config_path);
  if (*keygen) return Keygen(key_out);
  if (*replay) return Replay(config_path);
  if (*testnet) return Testnet(testnet_args);
  return kExitUsage;
}
