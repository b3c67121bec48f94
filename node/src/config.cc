// Reading civicd's configuration file (config.h, docs in node/CONFIG.md).
//
// toml++ parses the text (TOML itself refuses a key given twice); then every section and key
// is looked up in what we know, and anything else is an error naming the key and its line.
// Errors read "http.threads (line 9): must be an integer between 1 and 64, got 0".
//
// Nothing throws past this file: toml++'s parse_error (thrown when the header is built with
// exceptions, as Debian's is) and bad_alloc become an Error at each public function.
#include "civic/node/config.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <new>
#include <system_error>
#include <utility>

#include <toml++/toml.h>
#include "civic/proto/ed25519.h"
#include "civic/node/read_file.h"

namespace civic::node {
namespace {

using proto::ErrorCode;
using proto::Fail;
using proto::Result;

constexpr std::array<std::string_view, 5> kLogLevels = {"trace", "debug", "info", "warn", "error"};

// "http.threads (line 9)": the name of a key in errors.
std::string Where(std::string_view section, const toml::key& key) {
  return std::string(section) + "." + std::string(key.str()) + " (line " + std::to_string(key.source().begin.line) +
         ")";
}

tl::unexpected<proto::Error> Malformed(const std::string& where, const std::string& why) {
  return Fail(ErrorCode::kMalformed, where + ": " + why);
}

tl::unexpected<proto::Error> Invalid(const std::string& where, const std::string& why) {
  return Fail(ErrorCode::kInvalidArgument, where + ": " + why);
}

std::string Describe(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a floating-point number";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    case toml::node_type::none: break;
  }
  return "an unexpected value";
}

template <class T>
Result<void> ReadInteger(const toml::node& node, const std::string& where, T min, T max, T& out) {
  const std::string allowed = "must be an integer between " + std::to_string(min) + " and " + std::to_string(max);
  const toml::value<std::int64_t>* value = node.as_integer();
  if (value == nullptr) return Malformed(where, allowed + ", got " + Describe(node));
  const std::int64_t n = value->get();
  if (n < 0 || static_cast<std::uint64_t>(n) < min || static_cast<std::uint64_t>(n) > max) {
    return Invalid(where, allowed + ", got " + std::to_string(n));
  }
  out = static_cast<T>(n);
  return {};
}

Result<std::string> ReadString(const toml::node& node, const std::string& where) {
  const toml::value<std::string>* value = node.as_string();
  if (value == nullptr) return Malformed(where, "must be a string, got " + Describe(node));
  return value->get();
}

// Relative paths are taken from base_dir, and a relative base_dir from the current directory,
// so that the node never depends on where it was started once the file is read.
Result<std::filesystem::path> ReadPath(const toml::node& node, const std::string& where,
                                       const std::filesystem::path& base_dir) {
  Result<std::string> text = ReadString(node, where);
  if (!text) return tl::unexpected(text.error());
  if (text->empty()) return Invalid(where, "must be a path, got an empty string");
  if (text->find('\0') != std::string::npos) return Invalid(where, "must not contain a NUL character");
  std::filesystem::path path(*text);
  if (path.is_relative()) path = base_dir / path;
  if (path.is_relative()) {
    std::error_code ec;
    path = std::filesystem::absolute(path, ec);
    if (ec) return Fail(ErrorCode::kIo, where + ": cannot make the path absolute: " + ec.message());
  }
  return path.lexically_normal();
}

// The port of "ADDRESS:PORT": 1 to 5 decimal digits, no sign, no leading zero, at most 65535.
Result<std::uint16_t> ParsePort(std::string_view text, const std::string& where) {
  const bool digits_only = !text.empty() && text.size() <= 5 &&
                           std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits_only || (text.size() > 1 && text.front() == '0')) {
    return Invalid(where, "the port must be a number from 0 to 65535, got \"" + std::string(text) + "\"");
  }
  std::uint32_t port = 0;
  for (char c : text) port = port * 10 + static_cast<std::uint32_t>(c - '0');
  if (port > 65535) return Invalid(where, "the port must be a number from 0 to 65535, got " + std::to_string(port));
  return static_cast<std::uint16_t>(port);
}

// "127.0.0.1:8700" or "[::1]:8700". Only IP literals: a host name would need a resolver, and
// what it resolves to can change under a running node.
Result<void> ReadListen(const toml::node& node, const std::string& where, std::string& address_out,
                        std::uint16_t& port_out) {
  Result<std::string> text = ReadString(node, where);
  if (!text) return tl::unexpected(text.error());
  const std::string usage = "must be ADDRESS:PORT with an IPv4 literal (127.0.0.1:8700) or a bracketed IPv6 literal "
                            "([::1]:8700)";
  std::string address;
  std::string_view port;
  int family = AF_INET;
  if (text->starts_with('[')) {
    const std::size_t close = text->find("]:");
    if (close == std::string::npos) return Invalid(where, usage + ", got \"" + *text + "\"");
    address = text->substr(1, close - 1);
    port = std::string_view(*text).substr(close + 2);
    family = AF_INET6;
  } else {
    const std::size_t colon = text->rfind(':');
    if (colon == std::string::npos) return Invalid(where, usage + "; the port is missing in \"" + *text + "\"");
    address = text->substr(0, colon);
    port = std::string_view(*text).substr(colon + 1);
    if (address.find(':') != std::string::npos) {
      return Invalid(where, usage + "; an IPv6 address needs brackets, got \"" + *text + "\"");
    }
  }
  std::array<unsigned char, sizeof(in6_addr)> buffer{};
  if (inet_pton(family, address.c_str(), buffer.data()) != 1) {
    return Invalid(where, usage + "; \"" + address + "\" is not an " + (family == AF_INET ? "IPv4" : "IPv6") +
                              " literal");
  }
  Result<std::uint16_t> parsed_port = ParsePort(port, where);
  if (!parsed_port) return tl::unexpected(parsed_port.error());
  address_out = address;
  port_out = *parsed_port;
  return {};
}

tl::unexpected<proto::Error> UnknownKey(std::string_view section, const toml::key& key,
                                        std::string_view allowed) {
  return Malformed(Where(section, key), "unknown key; allowed in [" + std::string(section) + "]: " +
                                            std::string(allowed));
}

Result<void> ReadNodeSection(const toml::table& table, const std::filesystem::path& base_dir, Config& config,
                             bool& has_data_dir, bool& has_genesis) {
  for (const auto& [key, node] : table) {
    const std::string where = Where("node", key);
    if (key == "data_dir" || key == "genesis" || key == "validator_key") {
      Result<std::filesystem::path> path = ReadPath(node, where, base_dir);
      if (!path) return tl::unexpected(path.error());
      if (key == "data_dir") {
        config.data_dir = std::move(*path);
        has_data_dir = true;
      } else if (key == "genesis") {
        config.genesis = std::move(*path);
        has_genesis = true;
      } else {
        config.validator_key = std::move(*path);
      }
    } else if (key == "disk_free_min_mb") {
      if (Result<void> read = ReadInteger<std::uint64_t>(node, where, 0, 1024 * 1024, config.disk_free_min_mb); !read) {
        return read;
      }
    } else {
      return UnknownKey("node", key, "data_dir, genesis, validator_key, disk_free_min_mb");
    }
  }
  return {};
}

Result<void> ReadHttpSection(const toml::table& table, HttpConfig& http) {
  for (const auto& [key, node] : table) {
    const std::string where = Where("http", key);
    Result<void> read;
    if (key == "listen") {
      read = ReadListen(node, where, http.listen_address, http.listen_port);
    } else if (key == "threads") {
      read = ReadInteger<std::uint32_t>(node, where, 1, 64, http.threads);
    } else if (key == "body_bytes_max") {
      read = ReadInteger<std::uint32_t>(node, where, 1024, 64 * 1024 * 1024, http.body_bytes_max);
    } else if (key == "header_bytes_max") {
      read = ReadInteger<std::uint32_t>(node, where, 1024, 64 * 1024, http.header_bytes_max);
    } else if (key == "connections_max") {
      read = ReadInteger<std::uint32_t>(node, where, 1, 100'000, http.connections_max);
    } else if (key == "idle_timeout_ms") {
      read = ReadInteger<std::uint64_t>(node, where, 100, 3'600'000, http.idle_timeout_ms);
    } else {
      return UnknownKey("http", key,
                        "listen, threads, body_bytes_max, header_bytes_max, connections_max, idle_timeout_ms");
    }
    if (!read) return read;
  }
  return {};
}

// One entry of p2p.peers: {key = "<64 hex>", address = "127.0.0.1:26601"}, address optional.
Result<P2pPeerConfig> ReadPeer(const toml::node& node, const std::string& where) {
  const toml::table* table = node.as_table();
  if (table == nullptr) {
    return Malformed(where, "must be a table {key = \"<64 hex>\", address = \"HOST:PORT\"}, got " + Describe(node));
  }
  P2pPeerConfig peer;
  bool has_key = false;
  for (const auto& [key, value] : *table) {
    const std::string at = where + "." + std::string(key.str());
    if (key == "key") {
      Result<std::string> hex = ReadString(value, at);
      if (!hex) return tl::unexpected(hex.error());
      proto::Result<proto::Ed25519PublicKey> parsed = proto::FixedFromHex<proto::Ed25519PublicKey>(*hex);
      if (!parsed) return Invalid(at, "must be an Ed25519 public key, 64 hex digits: " + parsed.error().message);
      if (!proto::IsValidEd25519PublicKey(*parsed)) return Invalid(at, "is not a valid Ed25519 public key");
      peer.key = *parsed;
      has_key = true;
    } else if (key == "address") {
      std::string host;
      std::uint16_t port = 0;
      if (Result<void> read = ReadListen(value, at, host, port); !read) return tl::unexpected(read.error());
      if (port == 0) return Invalid(at, "a peer's port cannot be 0");
      peer.host = std::move(host);
      peer.port = port;
    } else {
      return Malformed(at, "unknown key; allowed in a peer: key, address");
    }
  }
  if (!has_key) return Malformed(where, "a peer needs its key (the Ed25519 key it proves on connecting)");
  return peer;
}

Result<void> ReadP2pSection(const toml::table& table, const std::filesystem::path& base_dir, P2pConfig& p2p) {
  for (const auto& [key, node] : table) {
    const std::string where = Where("p2p", key);
    Result<void> read;
    if (key == "listen") {
      std::string address;
      read = ReadListen(node, where, address, p2p.listen_port);
      if (read) p2p.listen_address = std::move(address);
    } else if (key == "node_key") {
      Result<std::filesystem::path> path = ReadPath(node, where, base_dir);
      if (!path) return tl::unexpected(path.error());
      p2p.node_key = std::move(*path);
    } else if (key == "send_queue_bytes_max") {
      read = ReadInteger<std::uint64_t>(node, where, 1024 * 1024, 4ull * 1024 * 1024 * 1024, p2p.send_queue_bytes_max);
    } else if (key == "peers") {
      const toml::array* peers = node.as_array();
      if (peers == nullptr) return Malformed(where, "must be an array of {key, address} tables, got " + Describe(node));
      if (peers->size() > kPeersMax) return Invalid(where, "at most " + std::to_string(kPeersMax) + " peers");
      for (std::size_t i = 0; i < peers->size(); ++i) {
        Result<P2pPeerConfig> peer = ReadPeer(*peers->get(i), where + "[" + std::to_string(i) + "]");
        if (!peer) return tl::unexpected(peer.error());
        const bool seen = std::any_of(p2p.peers.begin(), p2p.peers.end(),
                                      [&](const P2pPeerConfig& other) { return other.key == peer->key; });
        if (seen) return Invalid(where + "[" + std::to_string(i) + "]", "this key is listed twice");
        p2p.peers.push_back(std::move(*peer));
      }
    } else {
      return UnknownKey("p2p", key, "listen, node_key, send_queue_bytes_max, peers");
    }
    if (!read) return read;
  }
  return {};
}

Result<void> ReadMempoolSection(const toml::table& table, MempoolConfig& mempool) {
  for (const auto& [key, node] : table) {
    const std::string where = Where("mempool", key);
    Result<void> read;
    if (key == "txs_max") {
      read = ReadInteger<std::uint32_t>(node, where, 1, 10'000'000, mempool.txs_max);
    } else if (key == "bytes_max") {
      read = ReadInteger<std::uint64_t>(node, where, 64 * 1024, 16ull * 1024 * 1024 * 1024, mempool.bytes_max);
    } else {
      return UnknownKey("mempool", key, "txs_max, bytes_max");
    }
    if (!read) return read;
  }
  return {};
}

Result<void> ReadLogSection(const toml::table& table, Config& config) {
  for (const auto& [key, node] : table) {
    const std::string where = Where("log", key);
    if (key != "level") return UnknownKey("log", key, "level");
    Result<std::string> level = ReadString(node, where);
    if (!level) return tl::unexpected(level.error());
    if (std::find(kLogLevels.begin(), kLogLevels.end(), *level) == kLogLevels.end()) {
      return Invalid(where, "must be one of trace, debug, info, warn, error, got \"" + *level + "\"");
    }
    config.log_level = std::move(*level);
  }
  return {};
}

Result<toml::table> ParseToml(std::string_view text) {
  const auto describe = [](const toml::parse_error& e) {
    return Fail(ErrorCode::kMalformed, "config is not valid TOML: line " + std::to_string(e.source().begin.line) +
                                           ", column " + std::to_string(e.source().begin.column) + ": " +
                                           std::string(e.description()));
  };
#if TOML_EXCEPTIONS
  try {
    return toml::parse(text);
  } catch (const toml::parse_error& e) {
    return describe(e);
  }
#else
  toml::parse_result parsed = toml::parse(text);
  if (!parsed) return describe(parsed.error());
  return std::move(parsed).table();
#endif
}

Result<Config> ReadConfig(const toml::table& root, const std::filesystem::path& base_dir) {
  Config config;
  bool has_data_dir = false;
  bool has_genesis = false;
  for (const auto& [key, node] : root) {
    const std::string where = std::string(key.str()) + " (line " + std::to_string(key.source().begin.line) + ")";
    if (key != "node" && key != "http" && key != "mempool" && key != "p2p" && key != "log") {
      return Malformed(where, "unknown section; allowed: [node], [http], [mempool], [p2p], [log]");
    }
    const toml::table* table = node.as_table();
    if (table == nullptr) {
      return Malformed(where, "must be a section [" + std::string(key.str()) + "], got " + Describe(node));
    }
    Result<void> read;
    if (key == "node") {
      read = ReadNodeSection(*table, base_dir, config, has_data_dir, has_genesis);
    } else if (key == "http") {
      read = ReadHttpSection(*table, config.http);
    } else if (key == "mempool") {
      read = ReadMempoolSection(*table, config.mempool);
    } else if (key == "p2p") {
      read = ReadP2pSection(*table, base_dir, config.p2p);
    } else {
      read = ReadLogSection(*table, config);
    }
    if (!read) return tl::unexpected(read.error());
  }
  if (!has_data_dir) {
    return Fail(ErrorCode::kMalformed, "node.data_dir: missing; the [node] section must name the ledger's folder");
  }
  if (!has_genesis) {
    return Fail(ErrorCode::kMalformed, "node.genesis: missing; the [node] section must name the genesis file");
  }
  return config;
}


}  // namespace

proto::Result<Config> ParseConfig(std::string_view toml_text, const std::filesystem::path& base_dir) {
  if (toml_text.size() > kConfigBytesMax) {
    return Fail(ErrorCode::kTooLarge, "config: the text is " + std::to_string(toml_text.size()) +
                                          " bytes; at most " + std::to_string(kConfigBytesMax) + " are allowed");
  }
  try {
    Result<toml::table> root = ParseToml(toml_text);
    if (!root) return tl::unexpected(root.error());
    return ReadConfig(*root, base_dir);
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kIo, "config: out of memory while reading it");
  }
}

proto::Result<Config> LoadConfigFile(const std::filesystem::path& path) {
  try {
    Result<std::string> text = ReadFileBounded(path, kConfigBytesMax, "config file");
    if (!text) return tl::unexpected(text.error());
    Result<Config> config = ParseConfig(*text, path.parent_path());
    if (!config) return Fail(config.error().code, "config file " + path.string() + ": " + config.error().message);
    return config;
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kIo, "config file " + path.string() + ": out of memory while reading it");
  }
}

}  // namespace civic::node
