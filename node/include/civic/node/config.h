// civicd's configuration file: TOML, read strictly (docs in node/CONFIG.md):
//
//   [node]
//   data_dir = "data"                 # RocksDB ledger; relative paths are from this file's folder
//   genesis = "genesis.json"
//   validator_key = "validator.key"   # absent: an observer that never signs
//   disk_free_min_mb = 256            # stop before the data folder's disk has less free
//
//   [http]
//   listen = "127.0.0.1:8700"
//   threads = 2
//   body_bytes_max = 1048576
//   header_bytes_max = 8192
//   connections_max = 512
//   idle_timeout_ms = 30000
//
//   [mempool]
//   txs_max = 100000
//   bytes_max = 67108864
//
//   [p2p]                             # absent: a node on its own (no peers)
//   listen = "127.0.0.1:26600"        # absent: dials out only
//   node_key = "node.key"             # the key this node proves to peers; default validator_key
//   send_queue_bytes_max = 134217728
//   peers = [{key = "<64 hex>", address = "127.0.0.1:26601"},   # dialed and accepted
//            {key = "<64 hex>"}]                                # accepted only (e.g. an observer)
//
//   [log]
//   level = "info"                    # trace, debug, info, warn, error
//
// Every section and key is optional except node.data_dir and node.genesis. Unknown sections
// or keys, wrong types and out-of-range values are errors naming the key and the line.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "civic/proto/bytes.h"
#include "civic/proto/result.h"

namespace civic::node {

struct HttpConfig {
  std::string listen_address = "127.0.0.1";  // an IPv4 or IPv6 literal
  std::uint16_t listen_port = 8700;          // 0: any free port (the node logs and reports it)
  std::uint32_t threads = 2;                 // 1..64
  std::uint32_t body_bytes_max = 1024 * 1024;     // 1 KiB..64 MiB
  std::uint32_t header_bytes_max = 8 * 1024;      // 1 KiB..64 KiB
  std::uint32_t connections_max = 512;            // 1..100000
  std::uint64_t idle_timeout_ms = 30000;          // 100..3600000
};

struct MempoolConfig {
  std::uint32_t txs_max = 100000;                 // 1..10000000
  std::uint64_t bytes_max = 64ull * 1024 * 1024;  // 64 KiB..16 GiB
};

struct P2pPeerConfig {
  proto::Ed25519PublicKey key;
  std::optional<std::string> host;  // with port: this node dials the peer
  std::uint16_t port = 0;
};

inline constexpr std::size_t kPeersMax = 1024;

struct P2pConfig {
  std::optional<std::string> listen_address;  // an IPv4 or IPv6 literal
  std::uint16_t listen_port = 0;              // 0: any free port
  std::optional<std::filesystem::path> node_key;
  std::uint64_t send_queue_bytes_max = 128ull * 1024 * 1024;  // 1 MiB..4 GiB
  std::vector<P2pPeerConfig> peers;

  // Whether this node talks to peers at all.
  bool enabled() const { return listen_address.has_value() || !peers.empty(); }
};

struct Config {
  std::filesystem::path data_dir;                      // absolute after loading
  std::filesystem::path genesis;                       // absolute after loading
  std::optional<std::filesystem::path> validator_key;  // absolute after loading
  // The node stops, with a message, rather than write to a disk with less free (0: never):
  // RocksDB must not run into a full disk (Ledger::SetFreeSpaceFloor says why).
  std::uint64_t disk_free_min_mb = 256;  // 0..1048576
  HttpConfig http;
  MempoolConfig mempool;
  P2pConfig p2p;
  std::string log_level = "info";
};

// `base_dir` is the folder relative paths are taken from (the config file's folder).
// `toml_text` is at most kConfigBytesMax.
inline constexpr std::size_t kConfigBytesMax = 1024 * 1024;
[[nodiscard]] proto::Result<Config> ParseConfig(std::string_view toml_text, const std::filesystem::path& base_dir);
// Reads the file (error names the path) and parses it.
[[nodiscard]] proto::Result<Config> LoadConfigFile(const std::filesystem::path& path);

}  // namespace civic::node
