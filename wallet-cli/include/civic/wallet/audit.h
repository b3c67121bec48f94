// The observer's audit: re-derive a whole chain from the genesis file alone and compare it
// with what a node serves, or with what a ledger directory holds.
//
// Every block is fetched, its header checked against the state re-derived so far, its commit
// certificate against the validator set, every transaction's signature checked again and
// every transaction re-executed with the same contracts code (node::ChainVerifier); then
// the application hash must equal the node's, and every closed round's tally, recomputed by
// that re-execution, must equal the one the node serves (or the ledger stores). A ledger
// directory is compared key by key as well, so a changed record is named.
//
// The verdict is kPass, kFail (a mismatch: `failure` names the height, the transaction or
// the round and field) or kIncomplete (the node could not be read to the end: not a verdict
// on the ledger).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "civic/node/chain_verifier.h"
#include "civic/node/genesis.h"
#include "civic/proto/hash.h"
#include "civic/wallet/node_client.h"

namespace civic::wallet {

enum class AuditVerdict : std::uint8_t { kPass, kFail, kIncomplete };

struct AuditedRound {
  std::uint64_t id = 0;
  std::string title;
  bool closed = false;
  std::uint64_t ballots = 0;             // counted at closing
  std::vector<std::uint32_t> funded;     // every unit's funded proposals, in the rule's order
  std::uint64_t spent = 0;
};

struct AuditReport {
  AuditVerdict verdict = AuditVerdict::kIncomplete;
  std::string failure;  // why, unless kPass
  std::string source;   // the node's URL or the ledger directory
  std::uint64_t blocks = 0;
  std::uint64_t txs = 0;
  std::uint64_t signatures = 0;  // transaction and validator signatures checked
  proto::Hash32 tip_hash;
  proto::Hash32 app_hash;
  std::vector<AuditedRound> rounds;
  // False when a live node kept committing through the whole audit: closed rounds were
  // compared, open ones (which the new blocks may have changed) were not.
  bool open_rounds_compared = true;
  std::uint64_t elapsed_ms = 0;
  // With kPass: the re-derived chain and state, for what is built on an audit (export).
  std::shared_ptr<const node::ChainVerifier> chain;
};

// Called now and then with the height reached and the height aimed at.
using AuditProgress = std::function<void(std::uint64_t height, std::uint64_t target)>;

AuditReport AuditNode(const NodeClient& node, const node::Genesis& genesis, const AuditProgress& progress);
AuditReport AuditLedger(const std::filesystem::path& data_dir, const node::Genesis& genesis,
                        const AuditProgress& progress);

}  // namespace civic::wallet
