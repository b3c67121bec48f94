#include "civic/node/replay.h"

#include <algorithm>
#include <string>
#include <thread>
#include <vector>

#include "civic/node/chain_verifier.h"

namespace civic::node {
namespace {

tl::unexpected<proto::Error> Mismatch(std::uint64_t height, const std::string& what) {
  return proto::Fail(proto::ErrorCode::kBadProof, "block " + std::to_string(height) + ": " + what);
}

}  // namespace

proto::Result<ReplayReport> ReplayLedger(const Ledger& ledger) {
  proto::Result<ChainVerifier> verifier = ChainVerifier::Start(ledger.genesis());
  if (!verifier) return tl::unexpected(verifier.error());
  const std::uint64_t tip = ledger.tip().height;
  const unsigned threads = std::max(1u, std::thread::hardware_concurrency());
  for (std::uint64_t height = 1; height <= tip; ++height) {
    proto::Result<std::optional<proto::Block>> block = ledger.BlockAt(height);
    if (!block) return tl::unexpected(block.error());
    if (!block->has_value()) return Mismatch(height, "missing from the ledger below its tip " + std::to_string(tip));
    proto::Result<std::optional<proto::CommitCertificate>> certificate = ledger.CertificateAt(height);
    if (!certificate) return tl::unexpected(certificate.error());
    if (!certificate->has_value()) return Mismatch(height, "has no commit certificate");
    if (proto::Result<void> applied = verifier->Apply(**block, **certificate, threads); !applied) {
      return tl::unexpected(applied.error());
    }
    proto::Result<std::vector<proto::Hash32>> stored_ids = ledger.TxIdsAt(height);
    if (!stored_ids) return tl::unexpected(stored_ids.error());
    if (*stored_ids != verifier->last_tx_ids()) {
      return Mismatch(height, "its transaction index does not match its transactions");
    }
  }
  if (verifier->tip().block_hash != ledger.tip().block_hash) return Mismatch(tip, "the tip record names another block");
  ReplayReport report{verifier->tip().height, verifier->txs(), verifier->app_hash()};
  if (report.app_hash != ledger.app_hash()) {
    return Mismatch(tip, "the ledger's app hash after it is " + proto::ToHex(ledger.app_hash()) + ", replay computed " +
                             proto::ToHex(report.app_hash));
  }
  proto::Result<StateCommitment> stored = ledger.RecomputeCommitment();
  if (!stored) return tl::unexpected(stored.error());
  if (!(*stored == verifier->commitment())) {
    return Mismatch(tip, "the stored state hashes to " + proto::ToHex(stored->Digest()) + ", replay computed " +
                             proto::ToHex(report.app_hash));
  }
  return report;
}

}  // namespace civic::node
