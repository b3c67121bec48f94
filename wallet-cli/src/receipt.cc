#include "civic/wallet/receipt.h"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "civic/proto/codec.h"
#include "civic/proto/merkle.h"
#include "civic/proto/vote.h"
#include "civic/consensus/validator_schedule.h"
#include "civic/contracts/state.h"
#include "civic/proto/payloads.h"

namespace civic::wallet {
namespace {

using nlohmann::json;
using proto::ErrorCode;
using proto::Fail;

tl::unexpected<proto::Error> Bad(const std::string& why) {
  return Fail(ErrorCode::kBadProof, "the receipt does not check out: " + why);
}
tl::unexpected<proto::Error> Malformed(const std::string& why) {
  return Fail(ErrorCode::kMalformed, "the receipt is malformed: " + why);
}

proto::Result<std::string> String(const json& receipt, const char* field) {
  if (!receipt.contains(field) || !receipt[field].is_string()) return Malformed(std::string(field) + " must be a string");
  return receipt[field].get<std::string>();
}

proto::Result<std::uint64_t> Unsigned(const json& receipt, const char* field) {
  if (!receipt.contains(field) || !receipt[field].is_number_unsigned()) {
    return Malformed(std::string(field) + " must be a whole number");
  }
  return receipt[field].get<std::uint64_t>();
}

template <class T>
proto::Result<T> Decoded(const json& receipt, const char* field) {
  proto::Result<std::string> hex = String(receipt, field);
  if (!hex) return tl::unexpected(hex.error());
  proto::Result<proto::Bytes> bytes = proto::FromHex(*hex);
  if (!bytes) return Malformed(std::string(field) + ": " + bytes.error().message);
  proto::Result<T> value = proto::Decode<T>(*bytes);
  if (!value) return Malformed(std::string(field) + " does not decode: " + proto::ToString(value.error()));
  return value;
}

// Steps 2 to 5 for one transaction proof (the receipt's own, or a validator change's): the
// signed transaction, its inclusion under the header, and the certificate against the set
// `schedule` says validates the header's height. `what` names the proof in errors.
proto::Result<VerifiedReceipt> VerifyInclusion(const json& receipt, const node::Genesis& genesis,
                                               const consensus::ValidatorSchedule& schedule, const std::string& what) {
  const auto bad = [&](const std::string& why) { return Bad(what + why); };
  VerifiedReceipt verified;
  // 2. the transaction and its signature.
  proto::Result<proto::Tx> tx = Decoded<proto::Tx>(receipt, "tx");
  if (!tx) return tl::unexpected(tx.error());
  if (tx->body.chain_id != genesis.chain_id) return bad("the transaction is signed for another chain");
  proto::Result<proto::VerifiedTx> signed_tx = proto::VerifyTx(*tx);
  if (!signed_tx) return bad("the transaction's signature does not verify: " + signed_tx.error().message);
  verified.tx = signed_tx->tx();
  verified.tx_id = signed_tx->id();
  proto::Result<std::string> claimed_id = String(receipt, "tx_id");
  if (!claimed_id) return tl::unexpected(claimed_id.error());
  if (*claimed_id != proto::ToHex(verified.tx_id)) return bad("tx_id is not the id of the transaction it carries");

  // 3. inclusion under the header's tx_root.
  proto::Result<std::uint64_t> index = Unsigned(receipt, "index");
  proto::Result<std::uint64_t> count = Unsigned(receipt, "tx_count");
  if (!index) return tl::unexpected(index.error());
  if (!count) return tl::unexpected(count.error());
  if (*count > proto::kBlockTxsMax || *index >= *count) return Malformed(what + "index and tx_count do not fit a block");
  verified.index = static_cast<std::uint32_t>(*index);
  if (!receipt.contains("inclusion_proof") || !receipt.at("inclusion_proof").is_array() ||
      receipt.at("inclusion_proof").size() > 64) {
    return Malformed(what + "inclusion_proof must be an array of at most 64 hashes");
  }
  std::vector<proto::Hash32> proof;
  for (const json& step : receipt.at("inclusion_proof")) {
    if (!step.is_string()) return Malformed(what + "inclusion_proof holds a non-string");
    proto::Result<proto::Hash32> hash = proto::FixedFromHex<proto::Hash32>(step.get<std::string>());
    if (!hash) return Malformed(what + "inclusion_proof: " + hash.error().message);
    proof.push_back(*hash);
  }
  proto::Result<proto::BlockHeader> header = Decoded<proto::BlockHeader>(receipt, "header");
  if (!header) return tl::unexpected(header.error());
  verified.header = *header;
  if (proto::Result<void> included = proto::VerifyMerkleInclusion(proto::MerkleLeafHash(verified.tx_id.view()), *index,
                                                                  *count, proof, header->tx_root);
      !included) {
    return bad("the transaction is not in the block's tx_root: " + included.error().message);
  }

  // 4. the header.
  proto::Result<std::uint64_t> height = Unsigned(receipt, "height");
  if (!height) return tl::unexpected(height.error());
  if (header->chain_id != genesis.chain_id || header->height != *height || *height == 0) {
    return bad("the header is for another chain or height");
  }
  proto::Result<proto::Hash32> block_hash = proto::BlockHash(*header);
  if (!block_hash) return Malformed(what + "header: " + block_hash.error().message);
  verified.block_hash = *block_hash;

  // 5. the certificate, against the set in effect at the block's height.
  proto::Result<proto::CommitCertificate> certificate = Decoded<proto::CommitCertificate>(receipt, "certificate");
  if (!certificate) return tl::unexpected(certificate.error());
  if (certificate->block_hash != *block_hash || certificate->height != header->height) {
    return bad("the certificate is for another block than the header");
  }
  const proto::ValidatorSet& validators = schedule.SetAt(*height);
  proto::Result<proto::Hash32> set_hash = proto::ValidatorSetHash(genesis.chain_id, validators);
  if (!set_hash || header->validator_set_hash != *set_hash) {
    return bad("block " + std::to_string(*height) +
               " names a validator set other than the one the genesis and the receipt's validator changes put in "
               "effect there (a change is missing from the receipt, or the block is not this network's)");
  }
  if (proto::Result<void> committed = proto::VerifyCommitCertificate(genesis.chain_id, validators, *certificate);
      !committed) {
    return bad("the commit certificate does not verify: " + committed.error().message);
  }
  verified.total_power = validators.TotalPower();
  for (const proto::CommitSignature& signature : certificate->signatures) {
    verified.signed_power += validators.validators.at(signature.validator_index).power;
  }
  return verified;
}

}  // namespace

proto::Result<VerifiedReceipt> VerifyReceipt(std::string_view receipt_json, const node::Genesis& genesis) {
  if (receipt_json.size() > kReceiptBytesMax) return Malformed("larger than a receipt can be");
  const json receipt = json::parse(receipt_json, nullptr, /*allow_exceptions=*/false);
  if (receipt.is_discarded() || !receipt.is_object()) return Malformed("not a JSON object");

  // 1. this genesis.
  proto::Result<std::uint64_t> version = Unsigned(receipt, "receipt_version");
  if (!version) return tl::unexpected(version.error());
  if (*version != 1) return Malformed("receipt_version " + std::to_string(*version) + " is not 1");
  proto::Result<std::string> chain = String(receipt, "chain_id");
  if (!chain) return tl::unexpected(chain.error());
  if (*chain != genesis.chain_id.str()) {
    return Bad("it is for chain \"" + *chain + "\", the genesis file is for \"" + genesis.chain_id.str() + "\"");
  }
  proto::Result<std::string> genesis_hash = String(receipt, "genesis_hash");
  if (!genesis_hash) return tl::unexpected(genesis_hash.error());
  if (*genesis_hash != proto::ToHex(node::GenesisHash(genesis))) {
    return Bad("it names genesis " + *genesis_hash + ", the genesis file hashes to " +
               proto::ToHex(node::GenesisHash(genesis)));
  }

  // 6. the validator changes since genesis, each proven like the receipt itself against the
  // set in effect at its own height, numbered 1, 2, ... and signed by enough clerks.
  consensus::ValidatorSchedule schedule(1, genesis.ValidatorSet());
  const json changes = receipt.value("validator_changes", json::array());
  if (!changes.is_array() || changes.size() > kReceiptValidatorChangesMax) {
    return Malformed("validator_changes must be an array of at most " + std::to_string(kReceiptValidatorChangesMax));
  }
  std::uint64_t last_height = 0;
  for (std::size_t i = 0; i < changes.size(); ++i) {
    const std::string what = "validator change " + std::to_string(i + 1) + ": ";
    if (!changes[i].is_object()) return Malformed(what + "not a JSON object");
    proto::Result<VerifiedReceipt> change = VerifyInclusion(changes[i], genesis, schedule, what);
    if (!change) return tl::unexpected(change.error());
    if (change->tx.body.kind != proto::TxKind::kChangeValidators) return Bad(what + "the transaction is not a validator change");
    proto::Result<proto::ChangeValidators> payload = proto::Decode<proto::ChangeValidators>(change->tx.body.payload);
    if (!payload) return Bad(what + "its payload does not decode: " + proto::ToString(payload.error()));
    const std::uint64_t height = change->header.height;
    if (payload->change.sequence != i + 1 || height <= last_height) {
      return Bad(what + "the changes are not in their order on the ledger");
    }
    if (height > payload->change.valid_until_height) return Bad(what + "it was committed after its signatures lapsed");
    contracts::Result<std::vector<proto::SchnorrPublicKey>> clerks =
        contracts::CheckValidatorChangeSignatures(genesis.chain_id, genesis.contracts, change->tx.body.signer, *payload);
    if (!clerks) return Bad(what + clerks.error().message);
    if (proto::Result<void> scheduled = schedule.ScheduleChange(height, payload->change.validators); !scheduled) {
      return Bad(what + scheduled.error().message);
    }
    last_height = height;
  }

  proto::Result<VerifiedReceipt> verified = VerifyInclusion(receipt, genesis, schedule, "");
  if (!verified) return verified;
  verified->validator_changes = static_cast<std::uint32_t>(changes.size());
  return verified;
}

}  // namespace civic::wallet
