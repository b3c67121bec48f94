#include "civic/wallet/receipt.h"

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "civic/proto/codec.h"
#include "civic/proto/merkle.h"
#include "civic/proto/vote.h"

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

  VerifiedReceipt verified;
  // 2. the transaction and its signature.
  proto::Result<proto::Tx> tx = Decoded<proto::Tx>(receipt, "tx");
  if (!tx) return tl::unexpected(tx.error());
  if (tx->body.chain_id != genesis.chain_id) return Bad("the transaction is signed for another chain");
  proto::Result<proto::VerifiedTx> signed_tx = proto::VerifyTx(*tx);
  if (!signed_tx) return Bad("the transaction's signature does not verify: " + signed_tx.error().message);
  verified.tx = signed_tx->tx();
  verified.tx_id = signed_tx->id();
  proto::Result<std::string> claimed_id = String(receipt, "tx_id");
  if (!claimed_id) return tl::unexpected(claimed_id.error());
  if (*claimed_id != proto::ToHex(verified.tx_id)) return Bad("tx_id is not the id of the transaction it carries");

  // 3. inclusion under the header's tx_root.
  proto::Result<std::uint64_t> index = Unsigned(receipt, "index");
  proto::Result<std::uint64_t> count = Unsigned(receipt, "tx_count");
  if (!index) return tl::unexpected(index.error());
  if (!count) return tl::unexpected(count.error());
  if (*count > proto::kBlockTxsMax || *index >= *count) return Malformed("index and tx_count do not fit a block");
  verified.index = static_cast<std::uint32_t>(*index);
  if (!receipt.contains("inclusion_proof") || !receipt.at("inclusion_proof").is_array() ||
      receipt.at("inclusion_proof").size() > 64) {
    return Malformed("inclusion_proof must be an array of at most 64 hashes");
  }
  std::vector<proto::Hash32> proof;
  for (const json& step : receipt.at("inclusion_proof")) {
    if (!step.is_string()) return Malformed("inclusion_proof holds a non-string");
    proto::Result<proto::Hash32> hash = proto::FixedFromHex<proto::Hash32>(step.get<std::string>());
    if (!hash) return Malformed("inclusion_proof: " + hash.error().message);
    proof.push_back(*hash);
  }
  proto::Result<proto::BlockHeader> header = Decoded<proto::BlockHeader>(receipt, "header");
  if (!header) return tl::unexpected(header.error());
  verified.header = *header;
  if (proto::Result<void> included = proto::VerifyMerkleInclusion(proto::MerkleLeafHash(verified.tx_id.view()), *index,
                                                                  *count, proof, header->tx_root);
      !included) {
    return Bad("the transaction is not in the block's tx_root: " + included.error().message);
  }

  // 4. the header.
  proto::Result<std::uint64_t> height = Unsigned(receipt, "height");
  if (!height) return tl::unexpected(height.error());
  if (header->chain_id != genesis.chain_id || header->height != *height) {
    return Bad("the header is for another chain or height");
  }
  proto::Result<proto::Hash32> block_hash = proto::BlockHash(*header);
  if (!block_hash) return Malformed("header: " + block_hash.error().message);
  verified.block_hash = *block_hash;

  // 5. the certificate, against the genesis validator set.
  proto::Result<proto::CommitCertificate> certificate = Decoded<proto::CommitCertificate>(receipt, "certificate");
  if (!certificate) return tl::unexpected(certificate.error());
  if (certificate->block_hash != *block_hash || certificate->height != header->height) {
    return Bad("the certificate is for another block than the header");
  }
  const proto::ValidatorSet validators = genesis.ValidatorSet();
  proto::Result<proto::Hash32> set_hash = proto::ValidatorSetHash(genesis.chain_id, validators);
  if (!set_hash || header->validator_set_hash != *set_hash) {
    return Bad("the block was signed by a validator set other than the genesis one (changes after genesis are not "
               "in receipts yet)");
  }
  if (proto::Result<void> committed = proto::VerifyCommitCertificate(genesis.chain_id, validators, *certificate);
      !committed) {
    return Bad("the commit certificate does not verify: " + committed.error().message);
  }
  verified.total_power = validators.TotalPower();
  for (const proto::CommitSignature& signature : certificate->signatures) {
    verified.signed_power += validators.validators.at(signature.validator_index).power;
  }
  return verified;
}

}  // namespace civic::wallet
