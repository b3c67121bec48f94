#include "civic/node/api.h"

#include <charconv>
#include <exception>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "civic/contracts/round_export.h"
#include "civic/contracts/tally.h"
#include "civic/node/admission.h"
#include "civic/node/clock.h"
#include "civic/node/executor.h"
#include "civic/node/round_json.h"
#include "civic/node/wire.h"
#include "civic/proto/codec.h"
#include "civic/proto/merkle.h"

namespace civic::node {
namespace {

using nlohmann::json;
using proto::Hash32;

HttpResponse Json(unsigned status, const json& body) {
  HttpResponse response;
  response.status = status;
  response.body = body.dump();
  return response;
}

HttpResponse NotFound(std::string_view what) { return JsonError(404, "not_found", what); }

std::vector<std::string_view> Split(std::string_view path) {
  std::vector<std::string_view> parts;
  while (!path.empty()) {
    if (path.front() == '/') {
      path.remove_prefix(1);
      continue;
    }
    const std::size_t end = path.find('/');
    parts.push_back(path.substr(0, end));
    if (end == std::string_view::npos) break;
    path.remove_prefix(end);
  }
  return parts;
}

std::optional<std::uint64_t> ParseU64(std::string_view text) {
  std::uint64_t value = 0;
  if (text.empty() || text.size() > 20) return std::nullopt;
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

// A body that must be one JSON object with exactly the fields `allowed` (each required).
tl::expected<json, HttpResponse> ParseObject(const std::string& body, std::initializer_list<std::string_view> fields) {
  json parsed = json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return tl::unexpected(JsonError(400, "malformed_json", "the request body is not valid JSON"));
  }
  if (!parsed.is_object()) return tl::unexpected(JsonError(400, "bad_request", "the request body must be a JSON object"));
  for (const auto& [key, value] : parsed.items()) {
    bool known = false;
    for (std::string_view field : fields) known = known || key == field;
    if (!known) {
      return tl::unexpected(JsonError(400, "unknown_field", "unknown field \"" + key + "\" in the request body"));
    }
  }
  for (std::string_view field : fields) {
    if (!parsed.contains(field)) {
      return tl::unexpected(JsonError(400, "missing_field", "the request body needs the field \"" +
                                                                std::string(field) + "\""));
    }
  }
  return parsed;
}

json HeaderJson(const proto::BlockHeader& header) {
  return {{"version", header.version},
          {"chain_id", header.chain_id.str()},
          {"height", header.height},
          {"time_unix_ms", header.time_unix_ms},
          {"previous_block_hash", proto::ToHex(header.previous_block_hash)},
          {"tx_root", proto::ToHex(header.tx_root)},
          {"evidence_root", proto::ToHex(header.evidence_root)},
          {"app_hash", proto::ToHex(header.app_hash)},
          {"validator_set_hash", proto::ToHex(header.validator_set_hash)},
          {"proposer", proto::ToHex(header.proposer)}};
}

json RejectionJson(std::string_view code, std::string_view message) { return {{"code", code}, {"message", message}}; }

// A storage failure: the details go to the node's log, not to the client.
HttpResponse StorageError(const proto::Error& error) {
  spdlog::error("storage: {}", proto::ToString(error));
  return JsonError(500, "io", "the node's storage failed to answer; its operator can see why in the node's log");
}

// Logs the error of each read that failed, for an answer that says only "incomplete".
template <class... Results>
void LogStorageErrors(const Results&... results) {
  ((results ? void() : spdlog::error("storage: {}", proto::ToString(results.error()))), ...);
}

}  // namespace

ApiContext::ApiContext(ApiContext&& other) noexcept
    : genesis(other.genesis),
      ledger(other.ledger),
      mempool(other.mempool),
      contracts(other.contracts),
      tracker(other.tracker),
      http_stats(other.http_stats.load()),
      validator(other.validator),
      node_key_hex(std::move(other.node_key_hex)),
      forwards_txs(other.forwards_txs),
      on_admitted(std::move(other.on_admitted)),
      peers(std::move(other.peers)),
      consensus_round(std::move(other.consensus_round)),
      in_validator_set(std::move(other.in_validator_set)),
      signing_suspended(std::move(other.signing_suspended)) {}

// ---- submission ----

namespace {

struct SubmitResult {
  unsigned status = 202;
  json body;
  bool full = false;
  proto::Bytes admitted;  // the transaction as received, when admitted (for gossip)
};

SubmitResult SubmitOne(ApiContext& context, const json& tx_field, std::string_view field_name) {
  const auto error = [&](unsigned status, std::string_view code, const std::string& message) {
    return SubmitResult{status, {{"error", RejectionJson(code, std::string(field_name) + ": " + message)}}, false, {}};
  };
  if (!tx_field.is_string()) return error(400, "bad_field", "must be a string of hex (the encoded transaction)");
  const std::string& hex = tx_field.get_ref<const std::string&>();
  // 1. size, before anything is decoded.
  if (hex.size() > 2 * static_cast<std::size_t>(proto::kTxEncodedBytesMax)) {
    return error(413, "too_large", "a transaction is at most " + std::to_string(proto::kTxEncodedBytesMax) + " bytes");
  }
  // 2. decode.
  proto::Result<proto::Bytes> bytes = proto::FromHex(hex);
  if (!bytes) return error(400, "malformed", "not hex: " + bytes.error().message);
  proto::Result<proto::Tx> tx = proto::Decode<proto::Tx>(*bytes);
  if (!tx) return error(400, std::string(proto::ErrorCodeName(tx.error().code)), tx.error().message);
  // 3.-6. chain id, signature, already committed, mempool and contracts (admission.h).
  const TxAdmission admission = AdmitTx(
      AdmissionContext{context.genesis, context.ledger, context.mempool, context.tracker}, std::move(*tx), bytes->size());
  unsigned status = 400;
  switch (admission.verdict) {
    case TxVerdict::kAdmitted: {
      SubmitResult result{202, {{"id", proto::ToHex(*admission.id)}, {"status", "pending"}}, false, {}};
      result.admitted = std::move(*bytes);
      return result;
    }
    case TxVerdict::kWrongChain:
    case TxVerdict::kBadSignature: status = 400; break;
    case TxVerdict::kAlreadyCommitted:
    case TxVerdict::kAlreadyPending: status = 409; break;
    case TxVerdict::kMempoolFull: status = 503; break;
    case TxVerdict::kRejected: status = 422; break;
    case TxVerdict::kStorageFailed: status = 500; break;
  }
  SubmitResult result = error(status, admission.code, admission.message);
  if (admission.id && status != 500 && status != 503) result.body["id"] = proto::ToHex(*admission.id);
  result.full = admission.verdict == TxVerdict::kMempoolFull;
  return result;
}

// An observer with no peers cannot get a transaction into a block.
std::optional<HttpResponse> RefuseUnlessValidator(const ApiContext& context) {
  if (context.validator || context.forwards_txs) return std::nullopt;
  return JsonError(503, "not_a_validator",
                   "this node is an observer without peers: it does not take transactions; submit them to a validator");
}

HttpResponse Submit(ApiContext& context, const HttpRequest& request) {
  if (auto refused = RefuseUnlessValidator(context)) return *refused;
  auto body = ParseObject(request.body, {"tx"});
  if (!body) return body.error();
  SubmitResult result = SubmitOne(context, (*body)["tx"], "tx");
  if (result.status == 202 && context.on_admitted) {
    std::vector<proto::Bytes> admitted;
    admitted.push_back(std::move(result.admitted));
    context.on_admitted(std::move(admitted));
  }
  HttpResponse response = Json(result.status, result.body);
  if (result.full) response.headers.emplace_back("Retry-After", "1");
  return response;
}

HttpResponse SubmitBatch(ApiContext& context, const HttpRequest& request) {
  if (auto refused = RefuseUnlessValidator(context)) return *refused;
  auto body = ParseObject(request.body, {"txs"});
  if (!body) return body.error();
  const json& txs = (*body)["txs"];
  if (!txs.is_array()) return JsonError(400, "bad_field", "txs: must be an array of hex strings");
  if (txs.size() > kBatchTxsMax) {
    return JsonError(413, "too_large", "txs: at most " + std::to_string(kBatchTxsMax) + " transactions per batch");
  }
  json results = json::array();
  std::vector<proto::Bytes> admitted;
  bool full = false;
  for (std::size_t i = 0; i < txs.size(); ++i) {
    SubmitResult result = SubmitOne(context, txs[i], "txs[" + std::to_string(i) + "]");
    if (result.status == 202) admitted.push_back(std::move(result.admitted));
    full = full || result.full;
    result.body["http_status"] = result.status;
    results.push_back(std::move(result.body));
  }
  if (!admitted.empty() && context.on_admitted) context.on_admitted(std::move(admitted));
  HttpResponse response = Json(200, {{"results", std::move(results)}});
  if (full) response.headers.emplace_back("Retry-After", "1");
  return response;
}

// ---- reads ----

tl::expected<Hash32, HttpResponse> ParseId(std::string_view text) {
  proto::Result<Hash32> id = proto::FixedFromHex<Hash32>(text);
  if (!id) return tl::unexpected(JsonError(400, "bad_id", "a transaction id is 64 hex digits: " + id.error().message));
  return *id;
}

HttpResponse TxStatus(ApiContext& context, std::string_view id_text) {
  auto id = ParseId(id_text);
  if (!id) return id.error();
  const std::string hex = proto::ToHex(*id);
  // The mempool first, then the ledger: a transaction leaves the mempool only after its
  // block is written (or after its rejection is noted), so asking in this order never finds
  // it nowhere.
  if (context.mempool->Contains(*id)) return Json(200, {{"id", hex}, {"status", "pending"}});
  proto::Result<std::optional<TxLocation>> location = context.ledger->FindTx(*id);
  if (!location) return StorageError(location.error());
  if (location->has_value()) {
    return Json(200, {{"id", hex}, {"status", "committed"}, {"height", (*location)->height}, {"index", (*location)->index}});
  }
  if (std::optional<RejectionNote> note = context.tracker->Rejection(*id)) {
    return Json(200, {{"id", hex}, {"status", "rejected"}, {"reason", RejectionJson(note->code, note->message)}});
  }
  return NotFound("no transaction " + hex + " is committed, pending or recently rejected here");
}

// The proof that transaction `id` is in a committed block: the transaction, its place in the
// block with the Merkle path to the header's tx_root, the header and the commit certificate.
tl::expected<json, HttpResponse> InclusionProof(ApiContext& context, const Hash32& id) {
  proto::Result<std::optional<TxLocation>> location = context.ledger->FindTx(id);
  if (!location) return tl::unexpected(StorageError(location.error()));
  if (!location->has_value()) {
    return tl::unexpected(
        NotFound("transaction " + proto::ToHex(id) + " is not committed (yet): see /v1/txs/" + proto::ToHex(id)));
  }
  const TxLocation where = **location;
  proto::Result<std::optional<proto::Block>> block = context.ledger->BlockAt(where.height);
  proto::Result<std::optional<proto::CommitCertificate>> certificate = context.ledger->CertificateAt(where.height);
  proto::Result<std::vector<Hash32>> ids = context.ledger->TxIdsAt(where.height);
  if (!block || !certificate || !ids || !block->has_value() || !certificate->has_value() ||
      ids->size() != (*block)->txs.size() || where.index >= ids->size() || (*ids)[where.index] != id) {
    LogStorageErrors(block, certificate, ids);
    return tl::unexpected(
        JsonError(500, "io", "the ledger's records of block " + std::to_string(where.height) + " are incomplete"));
  }
  std::vector<Hash32> leaves;
  leaves.reserve(ids->size());
  for (const Hash32& tx_id : *ids) leaves.push_back(proto::MerkleLeafHash(tx_id.view()));
  proto::Result<std::vector<Hash32>> proof = proto::MerkleInclusionProof(leaves, where.index);
  if (!proof) return tl::unexpected(JsonError(500, "internal", proof.error().message));
  json proof_json = json::array();
  for (const Hash32& step : *proof) proof_json.push_back(proto::ToHex(step));
  proto::Result<proto::Bytes> tx_bytes = proto::Encode((*block)->txs[where.index]);
  proto::Result<proto::Bytes> header_bytes = proto::Encode((*block)->header);
  proto::Result<proto::Bytes> certificate_bytes = proto::Encode(**certificate);
  if (!tx_bytes || !header_bytes || !certificate_bytes) {
    return tl::unexpected(JsonError(500, "internal", "re-encoding a stored record failed"));
  }
  return json{{"tx_id", proto::ToHex(id)},
              {"tx", proto::ToHex(*tx_bytes)},
              {"height", where.height},
              {"index", where.index},
              {"tx_count", ids->size()},
              {"inclusion_proof", std::move(proof_json)},
              {"header", proto::ToHex(*header_bytes)},
              {"header_fields", HeaderJson((*block)->header)},
              {"certificate", proto::ToHex(*certificate_bytes)}};
}

HttpResponse Receipt(ApiContext& context, std::string_view id_text) {
  auto id = ParseId(id_text);
  if (!id) return id.error();
  tl::expected<json, HttpResponse> proof = InclusionProof(context, *id);
  if (!proof) return proof.error();
  // The validator changes in effect by the block's height, each with its own proof: a
  // verifier that holds only the genesis learns from them which set signed the block.
  const std::uint64_t height = proof->at("height").get<std::uint64_t>();
  std::unique_ptr<const contracts::KvView> state = context.ledger->StateSnapshot();
  contracts::Result<std::vector<contracts::ValidatorChangeRecord>> changes = context.contracts->ValidatorChanges(*state);
  if (!changes) return JsonError(500, "corrupt_state", changes.error().message);
  json change_proofs = json::array();
  for (const contracts::ValidatorChangeRecord& change : *changes) {
    if (change.effective_from_height > height) break;
    if (change_proofs.size() == proto::kReceiptValidatorChangesMax) {
      return JsonError(501, "too_many_validator_changes",
                       "the block was signed after more than " + std::to_string(proto::kReceiptValidatorChangesMax) +
                           " validator changes, more than a receipt carries; check it with civic-wallet audit instead");
    }
    tl::expected<json, HttpResponse> change_proof = InclusionProof(context, change.tx_id);
    if (!change_proof) return change_proof.error();
    change_proofs.push_back(std::move(*change_proof));
  }
  json receipt = {{"receipt_version", 1},
                  {"chain_id", context.genesis->chain_id.str()},
                  {"genesis_hash", proto::ToHex(GenesisHash(*context.genesis))}};
  receipt.update(*proof);
  receipt["validator_changes"] = std::move(change_proofs);
  return Json(200, receipt);
}

// The committed block at `height_text` and its certificate, or the error answer.
tl::expected<BlockMessage, HttpResponse> CommittedBlock(ApiContext& context, std::string_view height_text) {
  const std::optional<std::uint64_t> height = ParseU64(height_text);
  if (!height || *height == 0) {
    return tl::unexpected(JsonError(400, "bad_height", "a block height is a whole number from 1"));
  }
  proto::Result<std::optional<proto::Block>> block = context.ledger->BlockAt(*height);
  if (!block) return tl::unexpected(StorageError(block.error()));
  if (!block->has_value()) {
    return tl::unexpected(NotFound("no block at height " + std::to_string(*height) + "; the tip is at " +
                                   std::to_string(context.ledger->tip().height)));
  }
  proto::Result<std::optional<proto::CommitCertificate>> certificate = context.ledger->CertificateAt(*height);
  if (!certificate || !certificate->has_value()) {
    LogStorageErrors(certificate);
    return tl::unexpected(
        JsonError(500, "io", "the ledger's records of block " + std::to_string(*height) + " are incomplete"));
  }
  return BlockMessage{std::move(**block), std::move(**certificate)};
}

HttpResponse BlockAt(ApiContext& context, std::string_view height_text) {
  tl::expected<BlockMessage, HttpResponse> committed = CommittedBlock(context, height_text);
  if (!committed) return committed.error();
  const proto::Block& block = committed->block;
  const std::uint64_t height = block.header.height;
  proto::Result<std::vector<Hash32>> ids = context.ledger->TxIdsAt(height);
  proto::Result<Hash32> hash = proto::BlockHash(block.header);
  if (!ids || !hash || ids->size() != block.txs.size()) {
    LogStorageErrors(ids, hash);
    return JsonError(500, "io", "the ledger's records of block " + std::to_string(height) + " are incomplete");
  }
  json txs = json::array();
  for (std::size_t i = 0; i < block.txs.size(); ++i) {
    const proto::TxBody& body = block.txs[i].body;
    txs.push_back({{"id", proto::ToHex((*ids)[i])},
                   {"kind", proto::TxKindName(body.kind)},
                   {"signer", proto::ToHex(body.signer)},
                   {"nonce", body.nonce}});
  }
  json evidence = json::array();
  for (const proto::VoteEquivocation& e : block.evidence) {
    evidence.push_back({{"validator", proto::ToHex(e.first.body.validator)},
                        {"height", e.first.body.height},
                        {"round", e.first.body.round},
                        {"type", e.first.body.type == proto::VoteType::kPrevote ? "prevote" : "precommit"}});
  }
  proto::Result<proto::Bytes> certificate_bytes = proto::Encode(committed->certificate);
  return Json(200, {{"height", height},
                    {"hash", proto::ToHex(*hash)},
                    {"header", HeaderJson(block.header)},
                    {"txs", std::move(txs)},
                    {"evidence", std::move(evidence)},
                    {"certificate",
                     {{"round", committed->certificate.round},
                      {"signatures", committed->certificate.signatures.size()},
                      {"encoded", certificate_bytes ? proto::ToHex(*certificate_bytes) : std::string()}}}});
}

// The block and its certificate exactly as stored: the canonical encoding of a
// BlockMessage (wire.h), what block sync sends, for audits that re-derive the chain.
HttpResponse RawBlockAt(ApiContext& context, std::string_view height_text) {
  tl::expected<BlockMessage, HttpResponse> committed = CommittedBlock(context, height_text);
  if (!committed) return committed.error();
  proto::Result<proto::Bytes> bytes = proto::Encode(*committed);
  if (!bytes) return JsonError(500, "io", "block " + std::string(height_text) + " does not encode: " + bytes.error().message);
  HttpResponse response;
  response.content_type = "application/octet-stream";
  response.body.assign(bytes->begin(), bytes->end());
  return response;
}

// Why a validator signs nothing for now, or null.
json SigningSuspended(const ApiContext& context) {
  const std::string reason = context.signing_suspended ? context.signing_suspended() : std::string();
  return reason.empty() ? json(nullptr) : json(reason);
}

HttpResponse Status(ApiContext& context) {
  const Tip tip = context.ledger->tip();
  const LatencySummary latency = context.tracker->CommitLatency();
  json peers = json::array();
  if (context.peers) {
    for (const PeerInfo& peer : context.peers()) {
      peers.push_back({{"key", proto::ToHex(peer.key)},
                       {"address", peer.address},
                       {"direction", peer.outbound ? "dialed" : "accepted"}});
    }
  }
  return Json(200, {{"chain_id", context.genesis->chain_id.str()},
                    {"genesis_hash", proto::ToHex(GenesisHash(*context.genesis))},
                    {"role", context.validator ? "validator" : "observer"},
                    {"in_validator_set", context.validator && context.in_validator_set && context.in_validator_set()},
                    {"signing_suspended", SigningSuspended(context)},
                    {"node_key", context.node_key_hex},
                    {"height", tip.height},
                    {"block_hash", proto::ToHex(tip.block_hash)},
                    {"block_time_unix_ms", tip.time_unix_ms},
                    {"app_hash", proto::ToHex(context.ledger->app_hash())},
                    {"consensus_round", context.consensus_round ? context.consensus_round() : 0},
                    {"peers", std::move(peers)},
                    {"mempool",
                     {{"txs", context.mempool->size()},
                      {"bytes", context.mempool->bytes()},
                      {"txs_max", context.mempool->limits().txs_max},
                      {"bytes_max", context.mempool->limits().bytes_max}}},
                    {"committed_txs", context.tracker->committed_total()},
                    {"commit_latency_ms",
                     {{"samples", latency.samples},
                      {"p50", latency.p50_ms},
                      {"p99", latency.p99_ms},
                      {"max", latency.max_ms}}}});
}

// A set as JSON, with the genesis names of the validators that have one.
json ValidatorsJson(const Genesis& genesis, const proto::ValidatorSet& set) {
  json out = json::array();
  for (const proto::Validator& validator : set.validators) {
    std::string name;
    for (const GenesisValidator& listed : genesis.validators) {
      if (listed.key == validator.key) name = listed.name;
    }
    out.push_back({{"name", name}, {"ed25519", proto::ToHex(validator.key)}, {"power", validator.power}});
  }
  return out;
}

HttpResponse Validators(ApiContext& context) {
  const std::uint64_t height = context.ledger->tip().height;
  std::unique_ptr<const contracts::KvView> state = context.ledger->StateSnapshot();
  contracts::Result<std::vector<contracts::ValidatorChangeRecord>> changes = context.contracts->ValidatorChanges(*state);
  proto::Result<consensus::ValidatorSchedule> schedule = proto::Fail(proto::ErrorCode::kIo, "not read");
  if (changes) schedule = ScheduleFromChanges(*context.genesis, *changes);
  if (!schedule || !changes) {
    return JsonError(500, "corrupt_state", "the stored validator changes do not read back; the node's database is damaged");
  }
  json history = json::array();
  for (const contracts::ValidatorChangeRecord& change : *changes) {
    json signers = json::array();
    for (const proto::SchnorrPublicKey& clerk : change.signed_by) signers.push_back(proto::ToHex(clerk));
    history.push_back({{"sequence", change.change.sequence},
                       {"reason", change.change.reason},
                       {"decided_at_height", change.decided_at_height},
                       {"effective_from_height", change.effective_from_height},
                       {"tx_id", proto::ToHex(change.tx_id)},
                       {"signed_by", std::move(signers)},
                       {"validators", ValidatorsJson(*context.genesis, change.change.validators)}});
  }
  // `height` and the state are read one after the other: the state may already hold a change
  // of the next block. `latest` and `next_change_sequence` come from the state alone, so a
  // new change always builds on the last one; `pending` is any change not yet in effect.
  const proto::ValidatorSet& now = schedule->SetAt(height + 1);
  const proto::ValidatorSet latest = changes->empty() ? context.genesis->ValidatorSet() : changes->back().change.validators;
  json pending = nullptr;
  if (!changes->empty() && changes->back().effective_from_height > height + 1) {
    pending = {{"effective_from_height", changes->back().effective_from_height},
               {"validators", ValidatorsJson(*context.genesis, latest)}};
  }
  return Json(200, {{"height", height},
                    {"validators", ValidatorsJson(*context.genesis, now)},
                    {"total_power", now.TotalPower()},
                    {"pending", std::move(pending)},
                    {"latest", {{"sequence", changes->size()}, {"validators", ValidatorsJson(*context.genesis, latest)}}},
                    {"next_change_sequence", changes->size() + 1},
                    {"clerk_threshold", context.genesis->contracts.clerk_threshold},
                    {"changes", std::move(history)}});
}

tl::expected<std::uint64_t, HttpResponse> ParseRoundId(std::string_view text) {
  const std::optional<std::uint64_t> round_id = ParseU64(text);
  if (!round_id || *round_id == 0) return tl::unexpected(JsonError(400, "bad_round", "a round id is a whole number from 1"));
  return *round_id;
}

tl::expected<proto::ResidentId, HttpResponse> ParseResident(std::string_view text) {
  proto::Result<proto::ResidentId> id = proto::FixedFromHex<proto::ResidentId>(text);
  if (!id) {
    return tl::unexpected(JsonError(400, "bad_resident",
                                    "a resident id is 64 hex digits: the resident's public key (civic-wallet whoami)"));
  }
  return *id;
}

HttpResponse Rounds(ApiContext& context) {
  std::unique_ptr<const contracts::KvView> state = context.ledger->StateSnapshot();
  const Tip tip = context.ledger->tip();
  contracts::Result<std::vector<std::pair<std::uint64_t, contracts::RoundRecord>>> rounds = context.contracts->Rounds(*state);
  if (!rounds) return JsonError(500, "corrupt_state", rounds.error().message);
  json list = json::array();
  for (const auto& [id, round] : *rounds) {
    list.push_back({{"id", id},
                    {"title", round.constitution.title},
                    {"total_budget", round.constitution.total_budget},
                    {"phase", RoundPhase(round, tip)},
                    {"proposals", round.proposal_count}});
  }
  return Json(200, {{"rounds", std::move(list)}});
}

HttpResponse RoundInfo(ApiContext& context, std::string_view id_text) {
  const tl::expected<std::uint64_t, HttpResponse> round_id = ParseRoundId(id_text);
  if (!round_id) return round_id.error();
  std::unique_ptr<const contracts::KvView> state = context.ledger->StateSnapshot();
  proto::Result<std::optional<json>> round = RoundJson(*context.contracts, *state, *round_id, context.ledger->tip());
  if (!round) return JsonError(500, "corrupt_state", round.error().message);
  if (!round->has_value()) return NotFound("no round " + std::to_string(*round_id));
  return Json(200, **round);
}

json BallotJson(const contracts::BallotRecord& ballot) {
  json choices = json::array();
  for (const proto::BallotChoice& choice : ballot.choices) {
    choices.push_back({{"proposal", choice.project_id}, {"points", choice.points}});
  }
  json out = {{"choices", std::move(choices)},
              {"tx", proto::ToHex(ballot.tx_id)},
              {"cast_at_height", ballot.cast_at_height},
              {"cast_by", proto::ToHex(ballot.cast_by)},
              {"sequence", ballot.sequence}};
  if (!ballot.paper_ballot_reference.empty()) out["paper_ballot_reference"] = ballot.paper_ballot_reference;
  if (ballot.replaced_by != Hash32{}) out["replaced_by"] = proto::ToHex(ballot.replaced_by);
  return out;
}

// One resident's ballots in a round: the one that counts, the ones it replaced, and once
// the round is closed what the rule spent on the resident's behalf.
HttpResponse ResidentBallot(ApiContext& context, std::string_view round_text, std::string_view resident_text) {
  const tl::expected<std::uint64_t, HttpResponse> round_id = ParseRoundId(round_text);
  if (!round_id) return round_id.error();
  const tl::expected<proto::ResidentId, HttpResponse> resident = ParseResident(resident_text);
  if (!resident) return resident.error();
  std::unique_ptr<const contracts::KvView> state = context.ledger->StateSnapshot();
  contracts::Result<std::optional<contracts::RoundRecord>> round = context.contracts->Round(*state, *round_id);
  if (!round) return JsonError(500, "corrupt_state", round.error().message);
  if (!round->has_value()) return NotFound("no round " + std::to_string(*round_id));
  contracts::Result<std::optional<contracts::BallotRecord>> counted =
      context.contracts->CountedBallot(*state, *round_id, *resident);
  if (!counted) return JsonError(500, "corrupt_state", counted.error().message);
  if (!counted->has_value()) {
    return NotFound("resident " + std::string(resident_text) + " has no ballot in round " + std::to_string(*round_id));
  }
  contracts::Result<std::vector<contracts::BallotRecord>> replaced =
      context.contracts->ReplacedBallots(*state, *round_id, *resident);
  if (!replaced) return JsonError(500, "corrupt_state", replaced.error().message);
  json replaced_json = json::array();
  for (const contracts::BallotRecord& ballot : *replaced) replaced_json.push_back(BallotJson(ballot));
  json result = {{"round", *round_id},
                 {"resident", std::string(resident_text)},
                 {"counted", BallotJson(**counted)},
                 {"replaced", std::move(replaced_json)}};
  contracts::Result<std::optional<contracts::VoterSpending>> spending =
      context.contracts->Spending(*state, *round_id, *resident);
  if (!spending) return JsonError(500, "corrupt_state", spending.error().message);
  // Whether it counts: after closing, what the close decided (a spending record); before,
  // what closing now would decide from the registration.
  if ((*round)->closed) {
    if (!spending->has_value()) {
      result["void"] = "it did not count at closing: the registration had been revoked, or the ballot was cast "
                       "under an earlier registration";
    }
  } else {
    contracts::Result<std::optional<contracts::ResidentRecord>> voter = context.contracts->Resident(*state, *resident);
    if (!voter) return JsonError(500, "corrupt_state", voter.error().message);
    std::optional<std::string> reason =
        voter->has_value() ? contracts::BallotVoidReason(**voter, **counted) : std::optional<std::string>("not on the roll");
    if (reason) result["void"] = *reason;
  }
  if (spending->has_value()) {
    json entries = json::array();
    for (const contracts::VoterSpending::Entry& entry : (*spending)->entries) {
      entries.push_back({{"district", entry.district}, {"spent", entry.spent}});
    }
    result["spending"] = std::move(entries);
  }
  return Json(200, result);
}

HttpResponse ResidentInfo(ApiContext& context, std::string_view resident_text) {
  const tl::expected<proto::ResidentId, HttpResponse> resident = ParseResident(resident_text);
  if (!resident) return resident.error();
  std::unique_ptr<const contracts::KvView> state = context.ledger->StateSnapshot();
  const Tip tip = context.ledger->tip();
  contracts::Result<std::optional<contracts::ResidentRecord>> record = context.contracts->Resident(*state, *resident);
  if (!record) return JsonError(500, "corrupt_state", record.error().message);
  if (!record->has_value()) return NotFound("resident " + std::string(resident_text) + " is not on the roll");
  const contracts::ResidentRecord& r = **record;
  // Active as the next block sees it: registration expires before expires_at_height.
  const bool expired = r.expires_at_height != 0 && tip.height + 1 >= r.expires_at_height;
  json result = {{"resident", std::string(resident_text)},
                 {"kind", r.kind == contracts::ResidentKind::kPaper ? "paper" : "key"},
                 {"districts", r.districts},
                 {"registered_at_height", r.registered_at_height},
                 {"registered_by", proto::ToHex(r.registered_by)},
                 {"expires_at_height", r.expires_at_height},
                 {"status", r.revoked ? "revoked" : expired ? "expired" : "active"}};
  if (r.revoked) {
    result["revoked_at_height"] = r.revoked_at_height;
    result["revoke_reason"] = r.revoke_reason;
  }
  return Json(200, result);
}

HttpResponse Metrics(ApiContext& context) {
  const Tip tip = context.ledger->tip();
  const LatencySummary latency = context.tracker->CommitLatency();
  std::string text;
  const auto metric = [&text](std::string_view name, std::string_view type, std::string_view help, auto value) {
    text += "# HELP " + std::string(name) + " " + std::string(help) + "\n";
    text += "# TYPE " + std::string(name) + " " + std::string(type) + "\n";
    text += std::string(name) + " " + std::to_string(value) + "\n";
  };
  metric("civic_height", "gauge", "Height of the last committed block.", tip.height);
  metric("civic_mempool_txs", "gauge", "Transactions pending in the mempool.", context.mempool->size());
  metric("civic_mempool_bytes", "gauge", "Bytes of transactions pending in the mempool.", context.mempool->bytes());
  metric("civic_committed_txs_total", "counter", "Transactions committed since the node started.",
         context.tracker->committed_total());
  text += "# HELP civic_commit_latency_seconds Admission to durable commit, last 100000 transactions.\n";
  text += "# TYPE civic_commit_latency_seconds summary\n";
  text += "civic_commit_latency_seconds{quantile=\"0.5\"} " + std::to_string(latency.p50_ms / 1000.0) + "\n";
  text += "civic_commit_latency_seconds{quantile=\"0.99\"} " + std::to_string(latency.p99_ms / 1000.0) + "\n";
  text += "civic_commit_latency_seconds_count " + std::to_string(latency.samples) + "\n";
  if (const HttpServerStats* stats = context.http_stats.load()) {
    metric("civic_http_requests_total", "counter", "HTTP requests read.", stats->requests.load());
    metric("civic_http_requests_rejected_total", "counter", "HTTP requests refused by the server's limits.",
           stats->requests_rejected.load());
    metric("civic_http_connections_open", "gauge", "Open HTTP connections.", stats->connections_open.load());
    metric("civic_http_connections_refused_total", "counter", "Connections refused over the limit.",
           stats->connections_refused.load());
    metric("civic_http_connections_evicted_total", "counter",
           "Connections closed at the limit to make room (the one waiting longest for a request).",
           stats->connections_evicted.load());
    metric("civic_http_idle_timeouts_total", "counter", "Connections closed for idling.", stats->idle_timeouts.load());
  }
  HttpResponse response;
  response.content_type = "text/plain; version=0.0.4";
  response.body = std::move(text);
  return response;
}

// GET /v1/rounds/{id}/export.pb or export.json [?district=D]: a closed round as Pabulib.
using ExportCache = OnceCache<std::tuple<std::uint64_t, std::uint64_t, bool>, HttpResponse>;

HttpResponse RoundExport(ApiContext& context, ExportCache& cache, std::string_view id_text, bool pabulib,
                         std::string_view query) {
  const tl::expected<std::uint64_t, HttpResponse> round_id = ParseRoundId(id_text);
  if (!round_id) return round_id.error();
  std::optional<std::uint32_t> district;
  if (!query.empty()) {
    constexpr std::string_view kDistrict = "district=";
    const std::optional<std::uint64_t> value =
        query.starts_with(kDistrict) ? ParseU64(query.substr(kDistrict.size())) : std::nullopt;
    if (!value || *value > UINT32_MAX) {
      return JsonError(400, "bad_query", "the only query is ?district=N (0: the city-wide pool)");
    }
    district = static_cast<std::uint32_t>(*value);
  }
  // Only a closed round exports, and then its export never changes; a failure is not kept.
  HttpResponse failure;
  const auto build = [&]() -> ExportCache::Pointer {
    std::unique_ptr<const contracts::KvView> state = context.ledger->StateSnapshot();
    proto::Result<contracts::PabulibInstance> instance = contracts::RoundAsPabulib(
        *context.contracts, *state, *round_id, district,
        {{"comment", "served by a civic-ledger node from its state; check it with civic-wallet audit and export; "
                     "voter_id is the resident's public key (pseudonymous)"}});
    if (!instance) {
      failure = instance.error().code == proto::ErrorCode::kIo ? JsonError(500, "corrupt_state", instance.error().message)
                                                               : JsonError(409, "not_exportable", instance.error().message);
      return nullptr;
    }
    auto response = std::make_shared<HttpResponse>();
    if (pabulib) {
      response->content_type = "text/plain; charset=utf-8";
      response->body = contracts::WritePabulib(*instance);
      response->headers.emplace_back("Content-Disposition",
                                     "attachment; filename=\"round-" + std::to_string(*round_id) +
                                         (district ? "-district-" + std::to_string(*district) : std::string()) + ".pb\"");
    } else {
      response->body = PabulibToJson(*instance).dump();
    }
    return response;
  };
  const std::uint64_t unit = district ? *district : std::uint64_t{1} << 32;  // above every district id
  if (ExportCache::Pointer cached = cache.Get({*round_id, unit, pabulib}, build)) return *cached;
  return failure;
}

}  // namespace

Api::Api(ApiContext context) : context_(std::move(context)) {
  if (context_.genesis != nullptr && context_.ledger != nullptr && context_.contracts != nullptr) {
    page_ = std::make_unique<TallyPage>(*context_.genesis, *context_.ledger, *context_.contracts);
  }
}

Api::~Api() = default;

HttpResponse Api::Handle(const HttpRequest& request) {
  const std::string_view target = request.target;
  const std::string_view path = target.substr(0, target.find('?'));
  const std::vector<std::string_view> parts = Split(path);
  const bool get = request.method == "GET";
  const bool post = request.method == "POST";
  const auto wrong_method = [&](std::string_view allowed) {
    HttpResponse response = JsonError(405, "method_not_allowed", std::string(path) + " takes " + std::string(allowed));
    response.headers.emplace_back("Allow", std::string(allowed));
    return response;
  };

  if (parts.size() == 1 && parts[0] == "metrics") return get ? Metrics(context_) : wrong_method("GET");
  if ((parts.empty() || parts[0] != "v1") && page_ != nullptr && get) {
    if (std::optional<HttpResponse> page = page_->Handle(path)) return std::move(*page);
  }
  if (parts.empty() || parts[0] != "v1") {
    return NotFound("no such endpoint: " + std::string(path) + " (the API is under /v1; see node/API.md)");
  }
  if (parts.size() == 2 && parts[1] == "status") return get ? Status(context_) : wrong_method("GET");
  if (parts.size() == 2 && parts[1] == "validators") return get ? Validators(context_) : wrong_method("GET");
  if (parts.size() == 2 && parts[1] == "txs") return post ? Submit(context_, request) : wrong_method("POST");
  if (parts.size() == 3 && parts[1] == "txs" && parts[2] == "batch") {
    return post ? SubmitBatch(context_, request) : wrong_method("POST");
  }
  if (parts.size() == 3 && parts[1] == "txs") return get ? TxStatus(context_, parts[2]) : wrong_method("GET");
  if (parts.size() == 4 && parts[1] == "txs" && parts[3] == "receipt") {
    return get ? Receipt(context_, parts[2]) : wrong_method("GET");
  }
  if (parts.size() == 3 && parts[1] == "blocks") return get ? BlockAt(context_, parts[2]) : wrong_method("GET");
  if (parts.size() == 4 && parts[1] == "blocks" && parts[3] == "raw") {
    return get ? RawBlockAt(context_, parts[2]) : wrong_method("GET");
  }
  if (parts.size() == 2 && parts[1] == "rounds") return get ? Rounds(context_) : wrong_method("GET");
  if (parts.size() == 3 && parts[1] == "rounds") return get ? RoundInfo(context_, parts[2]) : wrong_method("GET");
  if (parts.size() == 4 && parts[1] == "rounds" && (parts[3] == "export.pb" || parts[3] == "export.json")) {
    const std::size_t question = target.find('?');
    return get ? RoundExport(context_, exports_, parts[2], parts[3] == "export.pb",
                             question == std::string_view::npos ? std::string_view() : target.substr(question + 1))
               : wrong_method("GET");
  }
  if (parts.size() == 5 && parts[1] == "rounds" && parts[3] == "ballots") {
    return get ? ResidentBallot(context_, parts[2], parts[4]) : wrong_method("GET");
  }
  if (parts.size() == 3 && parts[1] == "residents") return get ? ResidentInfo(context_, parts[2]) : wrong_method("GET");
  return NotFound("no such endpoint: " + std::string(path) + " (see node/API.md)");
}

}  // namespace civic::node
