#include "civic/node/testnet.h"

#include <sodium.h>

#include <fstream>
#include <system_error>

#include "civic/node/key_file.h"

namespace civic::node {
namespace {

using proto::ErrorCode;
using proto::Fail;

proto::Result<void> WriteText(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) return Fail(ErrorCode::kIo, "cannot write " + path.string());
  return {};
}

proto::Result<proto::Ed25519PublicKey> NewKey(const std::filesystem::path& path) {
  proto::Secret32 seed{};
  randombytes_buf(seed.data(), seed.size());
  proto::Result<proto::Ed25519PublicKey> key = WriteValidatorKey(path, seed);
  sodium_memzero(seed.data(), seed.size());
  return key;
}

// A peer without a port is accepted, not dialed.
std::string PeerLine(const TestnetNode& peer, std::uint16_t port) {
  std::string line = "  {key = \"" + proto::ToHex(peer.key) + "\"";
  if (port != 0) line += ", address = \"127.0.0.1:" + std::to_string(port) + "\"";
  return line + "},\n";
}

}  // namespace

proto::Result<std::vector<TestnetNode>> WriteTestnet(const std::filesystem::path& dir, Genesis genesis,
                                                    const TestnetLayout& layout) {
  if (sodium_init() < 0) return Fail(ErrorCode::kIo, "libsodium failed to initialise");
  const std::uint32_t total = layout.validators + layout.observers;
  if (layout.validators < 1 || layout.validators > 64 || layout.observers > 64) {
    return Fail(ErrorCode::kInvalidArgument, "a testnet has 1 to 64 validators and 0 to 64 observers");
  }
  if (layout.http_ports.size() != total || layout.p2p_ports.size() != layout.validators) {
    return Fail(ErrorCode::kInvalidArgument, "a testnet needs one HTTP port per node and one p2p port per validator");
  }
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_empty(dir, ec)) {
    return Fail(ErrorCode::kInvalidArgument, dir.string() + " exists and is not empty: choose a new folder");
  }
  std::filesystem::create_directories(dir, ec);
  if (ec) return Fail(ErrorCode::kIo, "cannot create " + dir.string() + ": " + ec.message());

  std::vector<TestnetNode> nodes;
  for (std::uint32_t i = 0; i < total; ++i) {
    TestnetNode node;
    node.validator = i < layout.validators;
    node.name = node.validator ? "v" + std::to_string(i) : "o" + std::to_string(i - layout.validators);
    node.dir = dir / node.name;
    node.http_port = layout.http_ports[i];
    node.p2p_port = node.validator ? layout.p2p_ports[i] : 0;
    std::filesystem::create_directories(node.dir, ec);
    if (ec) return Fail(ErrorCode::kIo, "cannot create " + node.dir.string() + ": " + ec.message());
    proto::Result<proto::Ed25519PublicKey> key = NewKey(node.dir / (node.validator ? "validator.key" : "node.key"));
    if (!key) return tl::unexpected(key.error());
    node.key = *key;
    if (node.validator) genesis.validators.push_back(GenesisValidator{"validator-" + std::to_string(i), *key, layout.validator_power});
    nodes.push_back(std::move(node));
  }
  if (proto::Result<void> written = WriteText(dir / "genesis.json", GenesisToJson(genesis)); !written) return tl::unexpected(written.error());
  // Check what we wrote reads back (a layout the genesis rules refuse fails here, not at start).
  if (proto::Result<Genesis> reread = LoadGenesisFile(dir / "genesis.json"); !reread) return tl::unexpected(reread.error());

  for (std::size_t from = 0; from < nodes.size(); ++from) {
    const TestnetNode& node = nodes[from];
    std::string toml = "[node]\ndata_dir = \"data\"\ngenesis = \"../genesis.json\"\n";
    if (node.validator) toml += "validator_key = \"validator.key\"\n";
    toml += "\n[http]\nlisten = \"127.0.0.1:" + std::to_string(node.http_port) + "\"\n\n[p2p]\n";
    if (node.validator) {
      toml += "listen = \"127.0.0.1:" + std::to_string(node.p2p_port) + "\"\n";
    } else {
      toml += "node_key = \"node.key\"\n";
    }
    toml += "peers = [\n";
    for (std::size_t to = 0; to < nodes.size(); ++to) {
      const TestnetNode& peer = nodes[to];
      if (to == from || (!node.validator && !peer.validator)) continue;  // observers talk to validators only
      const std::uint16_t port = !peer.validator ? 0 : layout.dial_port ? layout.dial_port(from, to) : peer.p2p_port;
      toml += PeerLine(peer, port);
    }
    toml += "]\n" + layout.extra_toml;
    if (proto::Result<void> written = WriteText(node.dir / "civicd.toml", toml); !written) return tl::unexpected(written.error());
  }
  return nodes;
}

}  // namespace civic::node
