#include "civic/node/chain_verifier.h"

#include <algorithm>
#include <optional>
#include <string>
#include <system_error>
#include <thread>

#include "civic/node/executor.h"

namespace civic::node {
namespace {

tl::unexpected<proto::Error> Mismatch(std::uint64_t height, const std::string& what) {
  return proto::Fail(proto::ErrorCode::kBadProof, "block " + std::to_string(height) + ": " + what);
}

// Every transaction's signature checked and its id computed, on `threads` threads (each takes
// every threads-th transaction). The order of the results is the block's.
std::vector<std::optional<proto::Result<proto::VerifiedTx>>> VerifyAll(const std::vector<proto::Tx>& txs, unsigned threads) {
  std::vector<std::optional<proto::Result<proto::VerifiedTx>>> out(txs.size());
  const auto work = [&](std::size_t first, std::size_t step) {
    for (std::size_t i = first; i < txs.size(); i += step) out[i] = proto::VerifyTx(txs[i]);
  };
  threads = std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(txs.size() / 64 + 1)));
  std::vector<std::thread> helpers;
  unsigned started = 1;
  try {
    for (; started < threads; ++started) helpers.emplace_back(work, started, threads);
  } catch (const std::system_error&) {
    // No thread to be had: this thread takes the shares of those that did not start.
  }
  for (unsigned t = started; t < threads; ++t) work(t, threads);
  work(0, threads);
  for (std::thread& helper : helpers) helper.join();
  return out;
}

}  // namespace

ChainVerifier::ChainVerifier(const Genesis& genesis)
    : genesis_(genesis),
      contracts_(genesis.chain_id),
      schedule_(1, genesis.ValidatorSet()),
      state_(std::make_unique<contracts::MemoryKv>()),
      commitment_(genesis.chain_id),
      tip_{0, proto::Hash32{}, genesis.genesis_time_unix_ms} {}

proto::Result<ChainVerifier> ChainVerifier::Start(const Genesis& genesis) {
  ChainVerifier verifier(genesis);
  contracts::WriteBuffer init(*verifier.state_);
  if (contracts::Result<void> done = verifier.contracts_.InitGenesis(init, genesis.contracts); !done) {
    return proto::Fail(proto::ErrorCode::kInvalidArgument, "genesis contract state: " + done.error().message);
  }
  UpdateCommitment(verifier.commitment_, *verifier.state_, init.pending_writes());
  init.Commit();
  return verifier;
}

proto::Result<void> ChainVerifier::Apply(const proto::Block& block, const proto::CommitCertificate& certificate,
                                         unsigned threads) {
  const std::uint64_t height = tip_.height + 1;
  const proto::BlockHeader& header = block.header;
  if (header.height != height) {
    return Mismatch(height, "the block given for it says height " + std::to_string(header.height));
  }
  const proto::ValidatorSet& validators = schedule_.SetAt(height);
  const HeaderExpectation expected{genesis_.chain_id, tip_, commitment_.Digest(), &validators};
  if (proto::Result<void> checked = CheckHeader(header, expected); !checked) {
    return proto::Fail(proto::ErrorCode::kBadProof, checked.error().message);
  }
  if (block.txs.size() > genesis_.consensus.block_txs_max) {
    return Mismatch(height, "has " + std::to_string(block.txs.size()) + " transactions, more than the genesis allows (" +
                                std::to_string(genesis_.consensus.block_txs_max) + ")");
  }
  proto::Result<proto::Hash32> hash = proto::BlockHash(header);
  if (!hash) return tl::unexpected(hash.error());
  if (certificate.block_hash != *hash || certificate.height != height) {
    return Mismatch(height, "its commit certificate is for another block (height " + std::to_string(certificate.height) +
                                ", hash " + proto::ToHex(certificate.block_hash) + ")");
  }
  if (proto::Result<void> verified = proto::VerifyCommitCertificate(genesis_.chain_id, validators, certificate);
      !verified) {
    return Mismatch(height, "commit certificate: " + verified.error().message);
  }

  std::vector<std::optional<proto::Result<proto::VerifiedTx>>> verified = VerifyAll(block.txs, threads);
  contracts::WriteBuffer changes(*state_);
  const contracts::BlockContext context{height, header.time_unix_ms};
  contracts_.BeginBlock(changes, context);
  std::vector<proto::Hash32> ids;
  ids.reserve(block.txs.size());
  std::optional<proto::ValidatorSet> next_validators;
  for (std::size_t i = 0; i < block.txs.size(); ++i) {
    proto::Result<proto::VerifiedTx>& tx = *verified[i];
    if (!tx) return Mismatch(height, "transaction " + std::to_string(i) + ": " + proto::ToString(tx.error()));
    contracts::Result<contracts::Applied> applied = contracts_.Apply(changes, context, *tx);
    if (!applied) {
      return Mismatch(height, "transaction " + std::to_string(i) + " (" + proto::ToHex(tx->id()) + ", " +
                                  std::string(proto::TxKindName(tx->tx().body.kind)) + ") does not take effect on replay (" +
                                  std::string(contracts::TxErrorName(applied.error().code)) +
                                  "): " + applied.error().message);
    }
    if (applied->next_validators) next_validators = std::move(applied->next_validators);
    ids.push_back(tx->id());
  }
  if (proto::TxRoot(ids) != header.tx_root) return Mismatch(height, "tx_root does not match its transactions");
  if (proto::Result<void> applied = ApplyBlockEvidence(contracts_, changes, context, schedule_, block); !applied) {
    return Mismatch(height, applied.error().message);
  }
  if (next_validators) {
    if (proto::Result<void> scheduled = schedule_.ScheduleChange(height, std::move(*next_validators)); !scheduled) {
      return Mismatch(height, "its validator change does not fit the schedule: " + scheduled.error().message);
    }
  }
  UpdateCommitment(commitment_, *state_, changes.pending_writes());
  changes.Commit();
  tip_ = Tip{height, *hash, header.time_unix_ms};
  txs_ += ids.size();
  signatures_ += ids.size() + certificate.signatures.size();
  last_tx_ids_ = std::move(ids);
  return {};
}

}  // namespace civic::node
