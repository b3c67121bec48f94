// Re-derives a chain from its genesis, one committed block at a time, trusting nothing but
// the genesis file: each header is checked against the state re-derived so far, each commit
// certificate against the validator set, each signature again, and each transaction is
// re-applied with the same contracts code on a fresh in-memory state. `civicd replay` (a
// ledger on disk) and `civic-wallet audit` (a node's API, or a ledger directory) both feed
// blocks to it.
//
//   ChainVerifier verifier(genesis);
//   for each height from 1: verifier.Apply(block, certificate);   // the first error stops it
//   verifier.app_hash(), verifier.state()                          // after the last block
//
// Errors name the height, and for a transaction its index, id and what was wrong.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "civic/consensus/validator_schedule.h"
#include "civic/contracts/kv.h"
#include "civic/contracts/state.h"
#include "civic/node/app_hash.h"
#include "civic/node/genesis.h"
#include "civic/node/ledger.h"
#include "civic/proto/block.h"
#include "civic/proto/result.h"
#include "civic/proto/vote.h"

namespace civic::node {

class ChainVerifier {
 public:
  // Fails if the genesis's contract state cannot be built.
  [[nodiscard]] static proto::Result<ChainVerifier> Start(const Genesis& genesis);

  // Checks and applies the block at height tip+1. On error nothing changes.
  // `threads` >= 1 check the block's signatures in parallel.
  [[nodiscard]] proto::Result<void> Apply(const proto::Block& block, const proto::CommitCertificate& certificate,
                                          unsigned threads = 1);

  const Tip& tip() const { return tip_; }
  proto::Hash32 app_hash() const { return commitment_.Digest(); }
  const StateCommitment& commitment() const { return commitment_; }
  const contracts::KvView& state() const { return *state_; }
  const contracts::BudgetContracts& contracts() const { return contracts_; }
  // The ids of the last applied block's transactions, in block order.
  const std::vector<proto::Hash32>& last_tx_ids() const { return last_tx_ids_; }
  std::uint64_t txs() const { return txs_; }
  std::uint64_t signatures() const { return signatures_; }
  // Who validates at each height, as the blocks so far decided it.
  const consensus::ValidatorSchedule& schedule() const { return schedule_; }

 private:
  explicit ChainVerifier(const Genesis& genesis);

  Genesis genesis_;
  contracts::BudgetContracts contracts_;
  consensus::ValidatorSchedule schedule_;  // the genesis set, then each change the blocks decide
  std::unique_ptr<contracts::MemoryKv> state_;  // movable without moving the map
  StateCommitment commitment_;
  Tip tip_;
  std::vector<proto::Hash32> last_tx_ids_;
  std::uint64_t txs_ = 0;
  std::uint64_t signatures_ = 0;  // transaction and certificate signatures checked
};

}  // namespace civic::node
