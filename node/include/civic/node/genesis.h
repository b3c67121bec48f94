// The genesis file: the one document every node, wallet and observer of a network starts
// from. JSON, read strictly (docs in node/GENESIS.md):
//
//   {
//     "chain_id": "assen-2024",
//     "genesis_time_unix_ms": 1732406400000,
//     "validators": [{"name": "clerk-office-1", "ed25519": "<64 hex>", "power": 10}, ...],
//     "clerks": ["<64 hex: BIP-340 x-only key>", ...],
//     "clerk_threshold": 2,
//     "districts": [{"id": 1, "name": "Centrum"}, ...],
//     "consensus": {"timeout_propose_ms": 3000, ...}          (optional; defaults below)
//   }
//
// Unknown fields, wrong types, duplicates and out-of-range values are errors that name the
// field ("validators[2].power: must be between 1 and 2^50"). The genesis hash (hash of the
// canonical encoding of everything here) ties a data directory and every receipt to one
// genesis.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "civic/contracts/records.h"
#include "civic/proto/bytes.h"
#include "civic/proto/chain.h"
#include "civic/proto/result.h"
#include "civic/proto/vote.h"

namespace civic::node {

struct GenesisValidator {
  std::string name;  // 1..64 printable characters, for logs and the public page
  proto::Ed25519PublicKey key;
  std::uint64_t power = 0;  // 1..proto::kVotingPowerMax

  friend bool operator==(const GenesisValidator&, const GenesisValidator&) = default;
};

// Consensus parameters every validator must share. Times are milliseconds (one engine tick is
// one millisecond).
struct ConsensusParams {
  std::uint64_t timeout_propose_ms = 3000;
  std::uint64_t timeout_propose_delta_ms = 500;
  std::uint64_t timeout_prevote_ms = 1000;
  std::uint64_t timeout_prevote_delta_ms = 500;
  std::uint64_t timeout_precommit_ms = 1000;
  std::uint64_t timeout_precommit_delta_ms = 500;
  std::uint64_t timeout_max_ms = 60000;
  // After a commit, wait this long before the next height (collects transactions).
  std::uint64_t commit_wait_ms = 100;
  // With an empty mempool, the next height waits for a transaction at most this long, then
  // makes an empty block (a heartbeat that shows the network is alive).
  std::uint64_t empty_block_interval_ms = 10000;
  std::uint32_t block_txs_max = 20000;           // 1..100000
  std::uint32_t block_bytes_max = 8 * 1024 * 1024;  // 64 KiB..64 MiB

  friend bool operator==(const ConsensusParams&, const ConsensusParams&) = default;
};

struct Genesis {
  proto::ChainId chain_id;
  std::uint64_t genesis_time_unix_ms = 0;
  std::vector<GenesisValidator> validators;  // 1..256, distinct keys, in file order
  contracts::GenesisState contracts;         // clerks (sorted ascending), districts, clerk_threshold
  ConsensusParams consensus;

  // The validators as a canonical proto::ValidatorSet (sorted by key).
  proto::ValidatorSet ValidatorSet() const;

  friend bool operator==(const Genesis&, const Genesis&) = default;
};

// Parses and checks a genesis document. `text` is at most kGenesisBytesMax.
inline constexpr std::size_t kGenesisBytesMax = 1024 * 1024;
[[nodiscard]] proto::Result<Genesis> ParseGenesis(std::string_view text);
// Reads the file (error names the path) and parses it.
[[nodiscard]] proto::Result<Genesis> LoadGenesisFile(const std::filesystem::path& path);
// The JSON text of a genesis (canonical field order, 2-space indent); ParseGenesis of it
// gives back an equal Genesis.
std::string GenesisToJson(const Genesis& genesis);
// TaggedHash(chain_id, Domain::kGenesis, canonical binary encoding of every field; the layout
// is documented in genesis.cc and GENESIS.md). REQUIRES: a chain id (as ParseGenesis gives).
proto::Hash32 GenesisHash(const Genesis& genesis);

}  // namespace civic::node
