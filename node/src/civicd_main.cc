// civicd: the civic-ledger node. `civicd run --config FILE` runs a validator (with a
// validator_key in the config) or an observer; `civicd keygen` makes a validator key;
// `civicd replay` re-derives a stopped node's ledger from its genesis and checks every hash.
//
// Exit codes: 0 done (or stopped by SIGINT/SIGTERM), 1 the node halted or a check failed,
// 2 a usage, configuration or genesis error (the message says what to fix).
#include <signal.h>
#include <sodium.h>

#include <CLI/CLI.hpp>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdio>
#include <iostream>
#include <optional>
#include <string>
#include <thread>

#include "civic/node/config.h"
#include "civic/node/genesis.h"
#include "civic/node/key_file.h"
#include "civic/node/ledger.h"
#include "civic/node/node.h"
#include "civic/node/replay.h"

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

  // SIGINT and SIGTERM are taken by one thread that stops the node; every other thread
  // (started after this) inherits the mask and never sees them.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  spdlog::info("civicd starting: chain {}, {}", loaded->genesis.chain_id.str(), key ? "validator" : "observer");
  proto::Result<std::unique_ptr<node::Node>> node = node::Node::Start(loaded->config, loaded->genesis, std::move(key));
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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    const int code = app.exit(error);
    return code == 0 ? kExitOk : kExitUsage;
  }
  if (*run) return Run(config_path);
  if (*keygen) return Keygen(key_out);
  if (*replay) return Replay(config_path);
  return kExitUsage;
}
