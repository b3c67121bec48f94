// A network of validators and observers on one machine, written as files: one genesis, and
// per node a folder with its key and civicd.toml (civicd testnet, testnet/net, the tests).
//
//   DIR/genesis.json
//   DIR/v0 .. DIR/v{N-1}   validator.key, civicd.toml   (validator i: HTTP and p2p port i)
//   DIR/o0 .. DIR/o{M-1}   node.key, civicd.toml        (observer j: HTTP port N + j)
//
// Validators listen for peers and dial every other validator; observers dial every
// validator, and every validator accepts them (their keys are in its peer list). All keys
// are fresh (libsodium's random generator); key files are written as civicd keygen writes
// them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "civic/node/genesis.h"
#include "civic/proto/bytes.h"
#include "civic/proto/result.h"

namespace civic::node {

struct TestnetNode {
  std::string name;  // "v0", "o0", ...
  std::filesystem::path dir;
  bool validator = false;
  proto::Ed25519PublicKey key;
  std::uint16_t http_port = 0;
  std::uint16_t p2p_port = 0;  // 0 for an observer (it only dials)
};

struct TestnetLayout {
  std::uint32_t validators = 4;     // 1..64
  std::uint32_t observers = 1;      // 0..64
  std::uint64_t validator_power = 10;
  // One port per node, validators first; p2p_ports needs one per validator.
  std::vector<std::uint16_t> http_ports;
  std::vector<std::uint16_t> p2p_ports;
  std::string extra_toml;  // appended to every node's config (e.g. "[log]\nlevel = \"debug\"\n")
  // The port node `from` dials to reach validator `to` (indexes as above); default the
  // validator's own p2p port. Tests put a proxy on each link to cut it.
  std::function<std::uint16_t(std::size_t from, std::size_t to)> dial_port;
};

// `genesis`: everything but the validators, which this fills in. Refuses a DIR that exists
// and is not empty.
[[nodiscard]] proto::Result<std::vector<TestnetNode>> WriteTestnet(const std::filesystem::path& dir, Genesis genesis,
                                                                   const TestnetLayout& layout);

}  // namespace civic::node
