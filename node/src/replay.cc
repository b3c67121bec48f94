#include "civic/node/replay.h"

#include <string>
#include <vector>

#include "civic/contracts/state.h"
#include "civic/node/executor.h"

namespace civic::node {
namespace {

tl::unexpected<proto::Error> Mismatch(std::uint64_t height, const std::string& what) {
  return proto::Fail(proto::ErrorCode::kBadProof, "block " + std::to_string(height) + ": " + what);
}

}  // namespace

proto::Result<ReplayReport> ReplayLedger(const Ledger& ledger) {
  const Genesis& genesis = ledger.genesis();
  const contracts::BudgetContracts contracts(genesis.chain_id);
  const proto::ValidatorSet validators = genesis.ValidatorSet();

  contracts::MemoryKv state;
  StateCommitment commitment(genesis.chain_id);
  {
    contracts::WriteBuffer init(state);
    if (contracts::Result<void> done = contracts.InitGenesis(init, genesis.contracts); !done) {
      return proto::Fail(proto::ErrorCode::kInvalidArgument, "genesis contract state: " + done.error().message);
    }
    UpdateCommitment(commitment, state, init.pending_writes());
    init.Commit();
  }

  ReplayReport report;
  proto::Hash32 previous_hash;
  std::uint64_t previous_time = genesis.genesis_time_unix_ms;
  const std::uint64_t tip = ledger.tip().height;
  for (std::uint64_t height = 1; height <= tip; ++height) {
    proto::Result<std::optional<proto::Block>> block = ledger.BlockAt(height);
    if (!block) return tl::unexpected(block.error());
    if (!block->has_value()) return Mismatch(height, "missing from the ledger below its tip " + std::to_string(tip));
    proto::Result<std::optional<proto::CommitCertificate>> certificate = ledger.CertificateAt(height);
    if (!certificate) return tl::unexpected(certificate.error());
    if (!certificate->has_value()) return Mismatch(height, "has no commit certificate");
    const proto::BlockHeader& header = (*block)->header;

    if (header.height != height) return Mismatch(height, "is stored with height " + std::to_string(header.height));
    const HeaderExpectation expected{genesis.chain_id, Tip{height - 1, previous_hash, previous_time}, commitment.Digest(),
                                     &validators};
    if (proto::Result<void> checked = CheckHeader(header, expected); !checked) {
      return proto::Fail(proto::ErrorCode::kBadProof, checked.error().message);
    }
    if ((*block)->txs.size() > genesis.consensus.block_txs_max) {
      return Mismatch(height, "has more transactions than the genesis allows");
    }
    proto::Result<proto::Hash32> hash = proto::BlockHash(header);
    if (!hash) return tl::unexpected(hash.error());
    if ((*certificate)->block_hash != *hash || (*certificate)->height != height) {
      return Mismatch(height, "its certificate is for another block");
    }
    if (proto::Result<void> verified = proto::VerifyCommitCertificate(genesis.chain_id, validators, **certificate);
        !verified) {
      return Mismatch(height, "certificate: " + verified.error().message);
    }

    contracts::WriteBuffer changes(state);
    const contracts::BlockContext context{height, header.time_unix_ms};
    contracts.BeginBlock(changes, context);
    std::vector<proto::Hash32> ids;
    ids.reserve((*block)->txs.size());
    for (std::size_t i = 0; i < (*block)->txs.size(); ++i) {
      proto::Result<proto::VerifiedTx> tx = proto::VerifyTx((*block)->txs[i]);
      if (!tx) return Mismatch(height, "transaction " + std::to_string(i) + ": " + proto::ToString(tx.error()));
      contracts::Result<contracts::Applied> applied = contracts.Apply(changes, context, *tx);
      if (!applied) {
        return Mismatch(height, "transaction " + std::to_string(i) + " does not take effect on replay (" +
                                    std::string(contracts::TxErrorName(applied.error().code)) + "): " +
                                    applied.error().message);
      }
      ids.push_back(tx->id());
    }
    if (proto::TxRoot(ids) != header.tx_root) return Mismatch(height, "tx_root does not match its transactions");
    proto::Result<std::vector<proto::Hash32>> stored_ids = ledger.TxIdsAt(height);
    if (!stored_ids) return tl::unexpected(stored_ids.error());
    if (*stored_ids != ids) return Mismatch(height, "its transaction index does not match its transactions");
    UpdateCommitment(commitment, state, changes.pending_writes());
    changes.Commit();
    previous_hash = *hash;
    previous_time = header.time_unix_ms;
    report.blocks += 1;
    report.txs += ids.size();
  }
  if (previous_hash != ledger.tip().block_hash) return Mismatch(tip, "the tip record names another block");
  report.app_hash = commitment.Digest();
  if (report.app_hash != ledger.app_hash()) {
    return Mismatch(tip, "the ledger's app hash after it is " + proto::ToHex(ledger.app_hash()) + ", replay computed " +
                             proto::ToHex(report.app_hash));
  }
  proto::Result<StateCommitment> stored = ledger.RecomputeCommitment();
  if (!stored) return tl::unexpected(stored.error());
  if (!(*stored == commitment)) {
    return Mismatch(tip, "the stored state hashes to " + proto::ToHex(stored->Digest()) + ", replay computed " +
                             proto::ToHex(report.app_hash));
  }
  return report;
}

}  // namespace civic::node
