#include "civic/node/admission.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "civic/node/clock.h"

namespace civic::node {

TxAdmission AdmitTx(const AdmissionContext& context, proto::Tx tx, std::size_t encoded_bytes) {
  TxAdmission out;
  const auto fail = [&](TxVerdict verdict, std::string code, std::string message) {
    out.verdict = verdict;
    out.code = std::move(code);
    out.message = std::move(message);
    return out;
  };
  if (tx.body.chain_id != context.genesis->chain_id) {
    return fail(TxVerdict::kWrongChain, "wrong_chain",
                "signed for chain \"" + tx.body.chain_id.str() + "\", this node serves \"" +
                    context.genesis->chain_id.str() + "\"");
  }
  proto::Result<proto::VerifiedTx> verified = proto::VerifyTx(std::move(tx));
  if (!verified) {
    return fail(TxVerdict::kBadSignature, std::string(proto::ErrorCodeName(verified.error().code)),
                verified.error().message);
  }
  out.id = verified->id();
  // Already committed? (The contracts would say "replayed"; this says where it is.)
  proto::Result<std::optional<TxLocation>> location = context.ledger->FindTx(verified->id());
  if (!location) {
    spdlog::error("storage: {}", proto::ToString(location.error()));
    return fail(TxVerdict::kStorageFailed, "io", "the node's storage failed to answer; retry later");
  }
  if (location->has_value()) {
    out.committed_height = (*location)->height;
    return fail(TxVerdict::kAlreadyCommitted, "already_committed",
                "this transaction is already in block " + std::to_string((*location)->height));
  }
  const contracts::BlockContext next = NextBlockContext(context.ledger->tip(), NowUnixMs());
  const bool was_pending = context.mempool->Contains(verified->id());
  if (!was_pending) context.tracker->Admitted(verified->id(), TxTracker::Clock::now());
  const Admission admission = context.mempool->Add(*verified, encoded_bytes, next);
  if (admission.status != AdmitStatus::kAdmitted && !was_pending) context.tracker->Forget(verified->id());
  switch (admission.status) {
    case AdmitStatus::kAdmitted: return out;
    case AdmitStatus::kDuplicate:
      return fail(TxVerdict::kAlreadyPending, "already_pending",
                  "this transaction is already pending; its status is at /v1/txs/" + proto::ToHex(verified->id()));
    case AdmitStatus::kFull:
      return fail(TxVerdict::kMempoolFull, "mempool_full",
                  "the node has too many pending transactions; retry in a second");
    case AdmitStatus::kRejected:
      out.rejection = admission.rejection;
      return fail(TxVerdict::kRejected, std::string(contracts::TxErrorName(admission.rejection->code)),
                  admission.rejection->message);
  }
  return fail(TxVerdict::kStorageFailed, "internal", "unknown admission status");
}

}  // namespace civic::node
