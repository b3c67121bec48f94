#include "civic/node/executor.h"

#include <algorithm>
#include <string>
#include <utility>

#include "civic/node/clock.h"
#include "civic/proto/assert.h"
#include "civic/proto/codec.h"

namespace civic::node {
namespace {

using proto::ErrorCode;
using proto::Fail;

tl::unexpected<proto::Error> Invalid(const proto::Block& block, const std::string& why) {
  return Fail(ErrorCode::kInvalidArgument, "block " + std::to_string(block.header.height) + ": " + why);
}

static_assert(contracts::kValidatorChangeDelay == consensus::kValidatorSetDelay,
              "the contracts and consensus must agree on when a validator change takes effect");

}  // namespace

proto::Result<consensus::ValidatorSchedule> ScheduleFromState(const Genesis& genesis,
                                                              const contracts::BudgetContracts& contracts,
                                                              const contracts::KvView& state) {
  contracts::Result<std::vector<contracts::ValidatorChangeRecord>> changes = contracts.ValidatorChanges(state);
  if (!changes) return Fail(ErrorCode::kIo, "the stored validator changes: " + changes.error().message);
  return ScheduleFromChanges(genesis, *changes);
}

proto::Result<consensus::ValidatorSchedule> ScheduleFromChanges(
    const Genesis& genesis, const std::vector<contracts::ValidatorChangeRecord>& changes) {
  consensus::ValidatorSchedule schedule(1, genesis.ValidatorSet());
  for (const contracts::ValidatorChangeRecord& change : changes) {
    if (proto::Result<void> scheduled = schedule.ScheduleChange(change.decided_at_height, change.change.validators);
        !scheduled) {
      return Fail(ErrorCode::kIo, "stored validator change " + std::to_string(change.change.sequence) +
                                      " does not fit the schedule: " + scheduled.error().message);
    }
  }
  return schedule;
}

Executor::Executor(Ledger& ledger) : ledger_(ledger), contracts_(ledger.genesis().chain_id) {}

proto::Result<void> ApplyEvidence(const contracts::BudgetContracts& contracts, contracts::KvView& changes,
                                  const contracts::BlockContext& block, const consensus::ValidatorSchedule& schedule,
                                  const proto::VoteEquivocation& evidence, std::size_t index) {
  const auto invalid = [&](const std::string& why) {
    return Fail(ErrorCode::kInvalidArgument, "evidence " + std::to_string(index) + ": " + why);
  };
  if (proto::Result<void> verified = proto::VerifyVoteEquivocation(contracts.chain_id(), evidence); !verified) {
    return invalid(verified.error().message);
  }
  const proto::VoteBody& vote = evidence.first.body;
  if (vote.height > block.height || block.height - vote.height > kEvidenceAgeMax) {
    return invalid("its votes are for height " + std::to_string(vote.height) + ", not within the " +
                   std::to_string(kEvidenceAgeMax) + " heights up to this block's");
  }
  const auto& members = schedule.SetAt(vote.height).validators;
  if (std::none_of(members.begin(), members.end(), [&](const proto::Validator& v) { return v.key == vote.validator; })) {
    return invalid(proto::ToHex(vote.validator) + " was not a validator at height " + std::to_string(vote.height));
  }
  if (contracts::Result<void> recorded = contracts.RecordEquivocation(changes, block, evidence); !recorded) {
    return invalid(recorded.error().message);
  }
  return {};
}

proto::Result<void> ApplyBlockEvidence(const contracts::BudgetContracts& contracts, contracts::KvView& changes,
                                       const contracts::BlockContext& context,
                                       const consensus::ValidatorSchedule& schedule, const proto::Block& block) {
  if (block.evidence.size() > proto::kBlockEvidenceMax) {
    return Fail(ErrorCode::kInvalidArgument, "carries more evidence than a block may");
  }
  for (std::size_t i = 0; i < block.evidence.size(); ++i) {
    if (proto::Result<void> applied = ApplyEvidence(contracts, changes, context, schedule, block.evidence[i], i);
        !applied) {
      return applied;
    }
  }
  proto::Result<proto::Hash32> evidence_root = proto::EvidenceRoot(block.header.chain_id, block.evidence);
  if (!evidence_root || block.header.evidence_root != *evidence_root) {
    return Fail(ErrorCode::kInvalidArgument, "its evidence_root does not match its evidence");
  }
  return {};
}

ExecutedBlock Executor::Build(std::span<const proto::VerifiedTx> candidates,
                              std::span<const proto::VoteEquivocation> evidence, std::uint64_t time_unix_ms,
                              const proto::Ed25519PublicKey& proposer, const consensus::ValidatorSchedule& schedule,
                              const BlockLimits& limits, std::vector<Dropped>* dropped) const {
  const Tip tip = ledger_.tip();
  const proto::ValidatorSet& validators = schedule.SetAt(tip.height + 1);
  ExecutedBlock executed;
  proto::BlockHeader& header = executed.block.header;
  header.chain_id = ledger_.genesis().chain_id;
  header.height = tip.height + 1;
  const contracts::BlockContext context = NextBlockContext(tip, time_unix_ms);
  header.time_unix_ms = context.time_unix_ms;
  header.previous_block_hash = tip.block_hash;
  header.app_hash = ledger_.app_hash();
  proto::Result<proto::Hash32> set_hash = proto::ValidatorSetHash(header.chain_id, validators);
  CIVIC_ASSERT(set_hash.has_value());  // a set the schedule holds is canonical
  header.validator_set_hash = *set_hash;
  header.proposer = proposer;

  executed.changes = std::make_unique<contracts::WriteBuffer>(ledger_.state());
  contracts_.BeginBlock(*executed.changes, context);
  std::uint64_t bytes = 0;
  for (const proto::VerifiedTx& tx : candidates) {
    if (executed.block.txs.size() >= limits.txs_max) break;
    proto::Result<proto::Bytes> encoded = proto::Encode(tx.tx());
    CIVIC_ASSERT(encoded.has_value());  // it was decoded once
    if (bytes + encoded->size() > limits.bytes_max) break;
    contracts::Result<contracts::Applied> applied = contracts_.Apply(*executed.changes, context, tx);
    if (!applied) {
      if (dropped != nullptr) dropped->push_back(Dropped{tx.id(), applied.error()});
      continue;
    }
    if (applied->next_validators) executed.next_validators = std::move(applied->next_validators);
    bytes += encoded->size();
    executed.block.txs.push_back(tx.tx());
    executed.tx_ids.push_back(tx.id());
  }
  header.tx_root = proto::TxRoot(executed.tx_ids);
  for (const proto::VoteEquivocation& e : evidence) {
    if (executed.block.evidence.size() == proto::kBlockEvidenceMax) break;
    // ApplyEvidence writes nothing unless the evidence checks out.
    if (!ApplyEvidence(contracts_, *executed.changes, context, schedule, e, executed.block.evidence.size())) continue;
    executed.block.evidence.push_back(e);
  }
  proto::Result<proto::Hash32> evidence_root = proto::EvidenceRoot(header.chain_id, executed.block.evidence);
  CIVIC_ASSERT(evidence_root.has_value());  // it decoded or was signed here
  header.evidence_root = *evidence_root;
  proto::Result<proto::Hash32> hash = proto::BlockHash(header);
  CIVIC_ASSERT(hash.has_value());
  executed.hash = *hash;
  return executed;
}

proto::Result<void> CheckHeader(const proto::BlockHeader& header, const HeaderExpectation& expected) {
  const auto invalid = [&](const std::string& why) {
    return Fail(ErrorCode::kInvalidArgument, "block " + std::to_string(header.height) + ": " + why);
  };
  if (header.chain_id != expected.chain_id) return invalid("is for chain " + header.chain_id.str());
  if (header.height != expected.tip.height + 1) {
    return invalid("does not follow the tip at height " + std::to_string(expected.tip.height));
  }
  if (header.previous_block_hash != expected.tip.block_hash) return invalid("does not extend the committed tip");
  if (header.time_unix_ms <= expected.tip.time_unix_ms) return invalid("its time is not after the previous block's");
  if (header.app_hash != expected.app_hash) {
    return invalid("carries app hash " + proto::ToHex(header.app_hash) + " but the state after block " +
                   std::to_string(expected.tip.height) + " is " + proto::ToHex(expected.app_hash));
  }
  CIVIC_ASSERT(expected.validators != nullptr);
  proto::Result<proto::Hash32> set_hash = proto::ValidatorSetHash(header.chain_id, *expected.validators);
  CIVIC_ASSERT(set_hash.has_value());  // a set the schedule holds is canonical
  if (header.validator_set_hash != *set_hash) return invalid("names another validator set");
  const auto& members = expected.validators->validators;
  if (std::none_of(members.begin(), members.end(),
                   [&](const proto::Validator& validator) { return validator.key == header.proposer; })) {
    return invalid("its proposer " + proto::ToHex(header.proposer) + " is not a validator");
  }
  return {};
}

proto::Result<ExecutedBlock> Executor::Validate(const proto::Block& block, const consensus::ValidatorSchedule& schedule,
                                                const BlockLimits& limits, const KnownTx& known,
                                                std::uint64_t time_max_unix_ms) const {
  const proto::BlockHeader& header = block.header;
  const proto::ValidatorSet& validators = schedule.SetAt(ledger_.tip().height + 1);
  const HeaderExpectation expected{ledger_.genesis().chain_id, ledger_.tip(), ledger_.app_hash(), &validators};
  if (proto::Result<void> checked = CheckHeader(header, expected); !checked) return tl::unexpected(checked.error());
  if (header.time_unix_ms > time_max_unix_ms) {
    return Invalid(block, "its time is " + std::to_string(header.time_unix_ms - time_max_unix_ms) +
                              " ms beyond what this node's clock allows");
  }
  if (block.txs.size() > limits.txs_max) return Invalid(block, "has more transactions than the genesis allows");

  ExecutedBlock executed;
  executed.block = block;
  executed.changes = std::make_unique<contracts::WriteBuffer>(ledger_.state());
  const contracts::BlockContext context{header.height, header.time_unix_ms};
  contracts_.BeginBlock(*executed.changes, context);
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < block.txs.size(); ++i) {
    proto::Result<proto::Hash32> id = proto::TxId(block.txs[i]);
    if (!id) return Invalid(block, "transaction " + std::to_string(i) + ": " + proto::ToString(id.error()));
    std::optional<proto::VerifiedTx> verified = known ? known(*id) : std::nullopt;
    if (!verified) {
      proto::Result<proto::VerifiedTx> checked = proto::VerifyTx(block.txs[i]);
      if (!checked) return Invalid(block, "transaction " + std::to_string(i) + ": " + proto::ToString(checked.error()));
      verified = std::move(*checked);
    }
    proto::Result<proto::Bytes> encoded = proto::Encode(block.txs[i]);
    if (!encoded) return Invalid(block, "transaction " + std::to_string(i) + ": " + proto::ToString(encoded.error()));
    bytes += encoded->size();
    if (bytes > limits.bytes_max) return Invalid(block, "its transactions exceed the block size limit");
    contracts::Result<contracts::Applied> applied = contracts_.Apply(*executed.changes, context, *verified);
    if (!applied) {
      return Invalid(block, "transaction " + std::to_string(i) + " does not take effect (" +
                                std::string(contracts::TxErrorName(applied.error().code)) +
                                "): " + applied.error().message);
    }
    if (applied->next_validators) executed.next_validators = std::move(applied->next_validators);
    executed.tx_ids.push_back(*id);
  }
  if (header.tx_root != proto::TxRoot(executed.tx_ids)) return Invalid(block, "its tx_root does not match its transactions");
  if (proto::Result<void> applied = ApplyBlockEvidence(contracts_, *executed.changes, context, schedule, block);
      !applied) {
    return Invalid(block, applied.error().message);
  }
  proto::Result<proto::Hash32> hash = proto::BlockHash(header);
  if (!hash) return Invalid(block, proto::ToString(hash.error()));
  executed.hash = *hash;
  return executed;
}

proto::Result<void> Executor::Commit(const ExecutedBlock& executed, const proto::CommitCertificate& certificate) {
  BlockWrite write;
  write.block = &executed.block;
  write.block_hash = executed.hash;
  write.certificate = &certificate;
  write.tx_ids = &executed.tx_ids;
  write.state_changes = &executed.changes->pending_writes();
  return ledger_.CommitBlock(write);
}

}  // namespace civic::node
