// Block execution over the ledger's committed state: building a block from candidate
// transactions, validating a block proposed by someone else, and committing an executed block
// with its certificate. Used from the node's core thread only.
//
// A block is valid only if every transaction in it takes effect, in order, at the block's
// height and time (contracts Apply succeeds): a proposer leaves out what would fail, so a
// transaction in a committed block has always taken effect, and its receipt proves it.
//
// Signatures are checked once per node: Build takes VerifiedTx (checked at mempool
// admission); Validate verifies only the transactions `known` cannot supply.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "civic/consensus/validator_schedule.h"
#include "civic/contracts/kv.h"
#include "civic/contracts/state.h"
#include "civic/node/genesis.h"
#include "civic/node/ledger.h"
#include "civic/proto/block.h"
#include "civic/proto/result.h"
#include "civic/proto/tx.h"
#include "civic/proto/vote.h"

namespace civic::node {

struct ExecutedBlock {
  proto::Block block;
  proto::Hash32 hash;
  std::vector<proto::Hash32> tx_ids;
  std::unique_ptr<contracts::WriteBuffer> changes;  // the block's writes over the ledger's state
  // The validator set that a change in this block decided, effective two heights on.
  std::optional<proto::ValidatorSet> next_validators;
};

// The validator schedule of a ledger: the genesis set from height 1, then each change the
// contracts stored (at its effective height). A kIo error if a stored change does not read
// back or does not fit the schedule.
[[nodiscard]] proto::Result<consensus::ValidatorSchedule> ScheduleFromState(const Genesis& genesis,
                                                                           const contracts::BudgetContracts& contracts,
                                                                           const contracts::KvView& state);
// The same from changes already read (contracts::BudgetContracts::ValidatorChanges).
[[nodiscard]] proto::Result<consensus::ValidatorSchedule> ScheduleFromChanges(
    const Genesis& genesis, const std::vector<contracts::ValidatorChangeRecord>& changes);

struct BlockLimits {
  std::uint32_t txs_max = 0;
  std::uint32_t bytes_max = 0;  // sum of encoded transaction sizes
};

// What a block header must say on top of the tip; the same rules for Validate and for
// ReplayLedger, so a block one accepts the other accepts.
struct HeaderExpectation {
  proto::ChainId chain_id;
  Tip tip;
  proto::Hash32 app_hash;  // the state after the tip
  const proto::ValidatorSet* validators = nullptr;
};
// "block H: <what is wrong>" (kInvalidArgument) unless: the chain, the height (tip + 1), the
// previous block hash, a time after the tip's, the app hash, the validator-set hash, and a
// proposer that is in the set.
[[nodiscard]] proto::Result<void> CheckHeader(const proto::BlockHeader& header, const HeaderExpectation& expected);

struct Dropped {
  proto::Hash32 id;
  contracts::Rejection reason;
};

// How old evidence may be, in blocks, when a block carries it.
inline constexpr std::uint64_t kEvidenceAgeMax = 10'000;

// Checks one piece of evidence for a block at `block.height` and records it in `changes`:
// both votes are well formed and signed for this chain, at a height from block.height -
// kEvidenceAgeMax to block.height, by a validator of that height's set (`schedule`), and
// the ledger does not hold that vote slot's equivocation yet. "evidence N: why" otherwise,
// and nothing recorded. Build, Validate and the chain verifier all use it.
[[nodiscard]] proto::Result<void> ApplyEvidence(const contracts::BudgetContracts& contracts, contracts::KvView& changes,
                                                const contracts::BlockContext& block,
                                                const consensus::ValidatorSchedule& schedule,
                                                const proto::VoteEquivocation& evidence, std::size_t index);
// Every piece of `block`'s evidence through ApplyEvidence, then its evidence_root: what
// Validate and the chain verifier check alike. The error says what (without "block H: ").
[[nodiscard]] proto::Result<void> ApplyBlockEvidence(const contracts::BudgetContracts& contracts,
                                                     contracts::KvView& changes, const contracts::BlockContext& context,
                                                     const consensus::ValidatorSchedule& schedule,
                                                     const proto::Block& block);

class Executor {
 public:
  explicit Executor(Ledger& ledger);

  // Block tip+1 from `candidates` in order, leaving out (and reporting in `dropped`) those
  // that fail, until `limits` are reached; then the `evidence` that checks out (ApplyEvidence),
  // at most kBlockEvidenceMax. time_unix_ms is raised to tip time + 1 if needed, so block
  // times strictly increase. The block names the set `schedule` gives for tip+1.
  ExecutedBlock Build(std::span<const proto::VerifiedTx> candidates, std::span<const proto::VoteEquivocation> evidence,
                      std::uint64_t time_unix_ms, const proto::Ed25519PublicKey& proposer,
                      const consensus::ValidatorSchedule& schedule, const BlockLimits& limits,
                      std::vector<Dropped>* dropped) const;

  // Checks a block for height tip+1 from elsewhere: the header (CheckHeader, and a time no
  // later than `time_max_unix_ms`, which the node sets from its clock plus the allowed drift),
  // the limits, every signature (except for transactions `known` returns), the tx root, that
  // every transaction takes effect, and the evidence (ApplyEvidence) and its root.
  using KnownTx = std::function<std::optional<proto::VerifiedTx>(const proto::Hash32& id)>;
  [[nodiscard]] proto::Result<ExecutedBlock> Validate(const proto::Block& block,
                                                      const consensus::ValidatorSchedule& schedule,
                                                      const BlockLimits& limits, const KnownTx& known,
                                                      std::uint64_t time_max_unix_ms) const;

  // Writes the block with its certificate (Ledger::CommitBlock). REQUIRES: `executed` was
  // built or validated on the current tip.
  [[nodiscard]] proto::Result<void> Commit(const ExecutedBlock& executed, const proto::CommitCertificate& certificate);

  const contracts::BudgetContracts& contracts() const { return contracts_; }

 private:
  Ledger& ledger_;
  contracts::BudgetContracts contracts_;
};

}  // namespace civic::node
