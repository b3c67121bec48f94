#include "civic/wallet/audit.h"

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include <nlohmann/json.hpp>

#include "civic/contracts/state.h"
#include "civic/node/chain_verifier.h"
#include "civic/node/ledger.h"
#include "civic/node/round_json.h"
#include "civic/node/wire.h"
#include "civic/proto/codec.h"
#include "civic/wallet/node_json.h"

namespace civic::wallet {
namespace {

using nlohmann::json;

// How many times the audit of a live node chases a tip that moved while it was auditing,
// before it compares against the next block's header instead.
constexpr int kChaseTipMax = 20;

unsigned Threads() { return std::max(1u, std::thread::hardware_concurrency()); }

std::uint64_t ElapsedMs(std::chrono::steady_clock::time_point start) {
  return static_cast<std::uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count());
}

// The rounds of the re-derived state, for the report.
std::vector<AuditedRound> RoundsOf(const node::ChainVerifier& verifier) {
  std::vector<AuditedRound> out;
  contracts::Result<std::vector<std::pair<std::uint64_t, contracts::RoundRecord>>> rounds =
      verifier.contracts().Rounds(verifier.state());
  if (!rounds) return out;
  for (const auto& [id, record] : *rounds) {
    AuditedRound round{id, record.constitution.title, record.closed, 0, {}, 0};
    contracts::Result<std::optional<contracts::TallyRecord>> tally = verifier.contracts().Tally(verifier.state(), id);
    if (tally && tally->has_value()) {
      round.ballots = (*tally)->ballots;
      for (const contracts::UnitResult& unit : (*tally)->units) {
        round.funded.insert(round.funded.end(), unit.funded_in_order.begin(), unit.funded_in_order.end());
        round.spent += unit.spent;
      }
    }
    out.push_back(std::move(round));
  }
  return out;
}

// The first difference between what was re-derived and what is served, as "round N: FIELD:
// served X, recomputed Y". The phase of a round still open depends on the clock of whoever
// answers, so it is left out.
std::optional<std::string> RoundDifference(std::uint64_t id, json recomputed, json served) {
  if (!recomputed.value("closed", false)) {
    recomputed.erase("phase");
    served.erase("phase");
  }
  const json patch = json::diff(served, recomputed);
  if (patch.empty()) return std::nullopt;
  const std::string path = patch[0].value("path", std::string());
  const json::json_pointer pointer(path);
  const std::string served_value = served.contains(pointer) ? served[pointer].dump() : std::string("nothing");
  const std::string recomputed_value = recomputed.contains(pointer) ? recomputed[pointer].dump() : std::string("nothing");
  return "round " + std::to_string(id) + ": " + path + ": served " + served_value + ", recomputed from the ledger " +
         recomputed_value;
}

// Compares every round of the re-derived state (or only the closed ones) with `served(id)`.
template <class Served>
std::optional<std::string> CompareRounds(const node::ChainVerifier& verifier, Served served, bool closed_only,
                                         std::string& io_error) {
  contracts::Result<std::vector<std::pair<std::uint64_t, contracts::RoundRecord>>> rounds =
      verifier.contracts().Rounds(verifier.state());
  if (!rounds) return "the re-derived state does not read back: " + rounds.error().message;
  for (const auto& [id, record] : *rounds) {
    if (closed_only && !record.closed) continue;
    proto::Result<std::optional<json>> recomputed = node::RoundJson(verifier.contracts(), verifier.state(), id, verifier.tip());
    if (!recomputed || !recomputed->has_value()) return "round " + std::to_string(id) + " does not read back";
    std::optional<json> answer = served(id, io_error);
    if (!io_error.empty()) return std::nullopt;
    if (!answer) return "round " + std::to_string(id) + " is on the ledger but the node does not serve it";
    if (std::optional<std::string> difference = RoundDifference(id, **recomputed, *answer)) return difference;
  }
  return std::nullopt;
}

AuditReport Finish(AuditReport report, const node::ChainVerifier& verifier, std::chrono::steady_clock::time_point start) {
  report.blocks = verifier.tip().height;
  report.txs = verifier.txs();
  report.signatures = verifier.signatures();
  report.tip_hash = verifier.tip().block_hash;
  report.app_hash = verifier.app_hash();
  report.rounds = RoundsOf(verifier);
  report.elapsed_ms = ElapsedMs(start);
  return report;
}

AuditReport Passed(AuditReport report, node::ChainVerifier verifier, std::chrono::steady_clock::time_point start) {
  report.verdict = AuditVerdict::kPass;
  report = Finish(std::move(report), verifier, start);
  report.chain = std::make_shared<const node::ChainVerifier>(std::move(verifier));
  return report;
}

AuditReport Failed(AuditReport report, AuditVerdict verdict, std::string why) {
  report.verdict = verdict;
  report.failure = std::move(why);
  return report;
}

// One block and its certificate from the node, as stored (GET /v1/blocks/H/raw).
proto::Result<node::BlockMessage> FetchBlock(const NodeClient& node, std::uint64_t height) {
  proto::Result<NodeReply> reply =
      node.Get("/v1/blocks/" + std::to_string(height) + "/raw", node::BlockMessage::kEncodedBytesMax);
  if (!reply) return tl::unexpected(reply.error());
  if (reply->status != 200) {
    return proto::Fail(proto::ErrorCode::kIo, "the node does not serve block " + std::to_string(height) + " (HTTP " +
                                                  std::to_string(reply->status) + ")");
  }
  proto::Result<node::BlockMessage> block = proto::Decode<node::BlockMessage>(proto::AsBytes(reply->body));
  if (!block) {
    return proto::Fail(proto::ErrorCode::kBadProof,
                       "block " + std::to_string(height) + ": what the node serves does not decode: " + block.error().message);
  }
  return block;
}

}  // namespace

AuditReport AuditNode(const NodeClient& node, const node::Genesis& genesis, const AuditProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  AuditReport report;
  report.source = node.url();
  proto::Result<node::ChainVerifier> verifier = node::ChainVerifier::Start(genesis);
  if (!verifier) return Failed(report, AuditVerdict::kFail, verifier.error().message);

  std::string error;
  unsigned status_code = 0;
  const auto status = [&]() { return GetJson(node, "/v1/status", error, &status_code); };
  std::optional<json> now = status();
  if (!now) return Failed(report, AuditVerdict::kIncomplete, error);
  if (now->value("genesis_hash", std::string()) != proto::ToHex(node::GenesisHash(genesis))) {
    return Failed(report, AuditVerdict::kFail,
                  "the node serves another network: its genesis hash is " + now->value("genesis_hash", std::string()) +
                      ", the genesis file's is " + proto::ToHex(node::GenesisHash(genesis)));
  }
  // The rounds as the node serves them, for comparison with the re-derived ones.
  const auto served = [&](std::uint64_t id, std::string& io_error) -> std::optional<json> {
    unsigned code = 0;
    std::optional<json> round = GetJson(node, "/v1/rounds/" + std::to_string(id), io_error, &code);
    if (!round) return std::nullopt;
    if (code == 404) return std::nullopt;
    if (code != 200) {
      io_error = "the node answers /v1/rounds/" + std::to_string(id) + " with HTTP " + std::to_string(code);
      return std::nullopt;
    }
    return round;
  };
  const auto height_of = [](const json& status_json) {
    return status_json.is_object() ? status_json.value("height", std::uint64_t{0}) : std::uint64_t{0};
  };
  // Verify up to the node's tip, then compare its state and rounds with the re-derived ones.
  // A live node may commit meanwhile: a comparison counts only if the node's height was the
  // same before and after it; otherwise chase the new blocks and compare again.
  std::optional<std::string> difference;
  bool settled = false;
  for (int chase = 0; chase < kChaseTipMax && !settled; ++chase) {
    const std::uint64_t target = height_of(*now);
    while (verifier->tip().height < target) {
      const std::uint64_t height = verifier->tip().height + 1;
      proto::Result<node::BlockMessage> block = FetchBlock(node, height);
      if (!block) {
        return Finish(Failed(report, block.error().code == proto::ErrorCode::kIo ? AuditVerdict::kIncomplete : AuditVerdict::kFail,
                             block.error().message),
                      *verifier, start);
      }
      if (proto::Result<void> applied = verifier->Apply(block->block, block->certificate, Threads()); !applied) {
        return Finish(Failed(report, AuditVerdict::kFail, applied.error().message), *verifier, start);
      }
      if (progress && (height % 100 == 0 || height == target)) progress(height, target);
    }
    now = status();
    if (!now) return Finish(Failed(report, AuditVerdict::kIncomplete, error), *verifier, start);
    if (height_of(*now) != verifier->tip().height) continue;
    // The node's own account of this very height must be what re-derivation gives.
    if (now->value("block_hash", std::string()) != proto::ToHex(verifier->tip().block_hash)) {
      return Finish(Failed(report, AuditVerdict::kFail,
                           "block " + std::to_string(verifier->tip().height) + ": the node names its tip " +
                               now->value("block_hash", std::string()) + ", the chain it served hashes to " +
                               proto::ToHex(verifier->tip().block_hash)),
                    *verifier, start);
    }
    if (now->value("app_hash", std::string()) != proto::ToHex(verifier->app_hash())) {
      return Finish(Failed(report, AuditVerdict::kFail,
                           "after block " + std::to_string(verifier->tip().height) + ": the node's app hash is " +
                               now->value("app_hash", std::string()) + ", re-execution gives " +
                               proto::ToHex(verifier->app_hash())),
                    *verifier, start);
    }
    std::string io_error;
    difference = CompareRounds(*verifier, served, /*closed_only=*/false, io_error);
    if (!io_error.empty()) return Finish(Failed(report, AuditVerdict::kIncomplete, io_error), *verifier, start);
    now = status();
    if (!now) return Finish(Failed(report, AuditVerdict::kIncomplete, error), *verifier, start);
    settled = height_of(*now) == verifier->tip().height;
  }
  if (!settled) {
    // Still moving: the next block's header commits to the state after our last one, and a
    // closed round's tally never changes; open rounds cannot be compared against a moving node.
    proto::Result<node::BlockMessage> next = FetchBlock(node, verifier->tip().height + 1);
    if (!next) return Finish(Failed(report, AuditVerdict::kIncomplete, next.error().message), *verifier, start);
    if (next->block.header.app_hash != verifier->app_hash()) {
      return Finish(Failed(report, AuditVerdict::kFail,
                           "block " + std::to_string(verifier->tip().height + 1) + ": its header's app hash " +
                               proto::ToHex(next->block.header.app_hash) + " is not the re-executed state's " +
                               proto::ToHex(verifier->app_hash())),
                    *verifier, start);
    }
    std::string io_error;
    difference = CompareRounds(*verifier, served, /*closed_only=*/true, io_error);
    if (!io_error.empty()) return Finish(Failed(report, AuditVerdict::kIncomplete, io_error), *verifier, start);
    report.open_rounds_compared = false;
  }
  if (difference) return Finish(Failed(report, AuditVerdict::kFail, *difference), *verifier, start);
  return Passed(std::move(report), std::move(*verifier), start);
}

AuditReport AuditLedger(const std::filesystem::path& data_dir, const node::Genesis& genesis, const AuditProgress& progress) {
  const auto start = std::chrono::steady_clock::now();
  AuditReport report;
  report.source = data_dir.string();
  proto::Result<std::unique_ptr<node::Ledger>> ledger = node::Ledger::Open(data_dir, genesis, node::OpenMode::kReadOnly);
  if (!ledger) return Failed(report, AuditVerdict::kIncomplete, ledger.error().message);
  proto::Result<node::ChainVerifier> verifier = node::ChainVerifier::Start(genesis);
  if (!verifier) return Failed(report, AuditVerdict::kFail, verifier.error().message);
  const std::uint64_t target = (*ledger)->tip().height;
  for (std::uint64_t height = 1; height <= target; ++height) {
    const auto fail = [&](const std::string& why) { return Finish(Failed(report, AuditVerdict::kFail, why), *verifier, start); };
    proto::Result<std::optional<proto::Block>> block = (*ledger)->BlockAt(height);
    if (!block) return fail("block " + std::to_string(height) + ": " + block.error().message);
    if (!block->has_value()) return fail("block " + std::to_string(height) + " is missing below the tip " + std::to_string(target));
    proto::Result<std::optional<proto::CommitCertificate>> certificate = (*ledger)->CertificateAt(height);
    if (!certificate) return fail("block " + std::to_string(height) + ": certificate: " + certificate.error().message);
    if (!certificate->has_value()) return fail("block " + std::to_string(height) + " has no commit certificate");
    if (proto::Result<void> applied = verifier->Apply(**block, **certificate, Threads()); !applied) {
      return fail(applied.error().message);
    }
    proto::Result<std::vector<proto::Hash32>> ids = (*ledger)->TxIdsAt(height);
    if (!ids || *ids != verifier->last_tx_ids()) {
      return fail("block " + std::to_string(height) + ": the ledger's transaction index does not match its transactions");
    }
    if (progress && (height % 100 == 0 || height == target)) progress(height, target);
  }
  const auto fail = [&](const std::string& why) { return Finish(Failed(report, AuditVerdict::kFail, why), *verifier, start); };
  if ((*ledger)->tip().block_hash != verifier->tip().block_hash) return fail("the ledger's tip record names another block");
  // Every stored record against the re-derived one, in key order: the first difference is
  // named (a changed tally, ballot, roll entry...).
  std::vector<std::pair<proto::Bytes, proto::Bytes>> derived;
  verifier->state().Scan({}, [&](contracts::ByteView key, contracts::ByteView value) {
    derived.emplace_back(proto::Bytes(key.begin(), key.end()), proto::Bytes(value.begin(), value.end()));
    return true;
  });
  std::size_t next = 0;
  std::optional<std::string> difference;
  (*ledger)->state().Scan({}, [&](contracts::ByteView key, contracts::ByteView value) {
    const proto::Bytes stored_key(key.begin(), key.end());
    if (next < derived.size() && derived[next].first < stored_key) {
      difference = contracts::DescribeStateKey(derived[next].first) + " is missing from the stored state";
    } else if (next >= derived.size() || stored_key < derived[next].first) {
      difference = contracts::DescribeStateKey(key) + " is stored but re-execution never wrote it";
    } else if (!std::equal(value.begin(), value.end(), derived[next].second.begin(), derived[next].second.end())) {
      difference = contracts::DescribeStateKey(key) + " is stored with other contents than re-execution gives";
    }
    ++next;
    return !difference;
  });
  if (!difference && next < derived.size()) {
    difference = contracts::DescribeStateKey(derived[next].first) + " is missing from the stored state";
  }
  if (difference) return fail("the state after block " + std::to_string(target) + ": " + *difference);
  if ((*ledger)->app_hash() != verifier->app_hash()) {
    return fail("the ledger's app hash after block " + std::to_string(target) + " is " + proto::ToHex((*ledger)->app_hash()) +
                ", re-execution gives " + proto::ToHex(verifier->app_hash()));
  }
  return Passed(std::move(report), std::move(*verifier), start);
}

}  // namespace civic::wallet
