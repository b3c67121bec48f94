#include "civic/proto/tx.h"

#include "civic/proto/codec.h"
#include "civic/proto/hash.h"

namespace civic::proto {

bool IsKnownValue(TxKind kind) {
  return kind >= TxKind::kRegisterResident && kind <= TxKind::kChangeValidators;
}

std::string_view TxKindName(TxKind kind) {
  switch (kind) {
    case TxKind::kRegisterResident: return "register-resident";
    case TxKind::kRevokeResident: return "revoke-resident";
    case TxKind::kRegisterPaperResident: return "register-paper-resident";
    case TxKind::kOpenRound: return "open-round";
    case TxKind::kSubmitProposal: return "submit-proposal";
    case TxKind::kReviewProposal: return "review-proposal";
    case TxKind::kCastBallot: return "cast-ballot";
    case TxKind::kAssistedBallot: return "assisted-ballot";
    case TxKind::kCloseRound: return "close-round";
    case TxKind::kChangeValidators: return "change-validators";
  }
  return "unknown";
}

bool Ballot::IsCanonical(const std::vector<BallotChoice>& choices) {
  for (std::size_t i = 0; i < choices.size(); ++i) {
    if (choices[i].points == 0) return false;
    if (i > 0 && choices[i - 1].project_id >= choices[i].project_id) return false;
  }
  return true;
}

Result<Hash32> TxSigningDigest(const TxBody& body) {
  Result<Bytes> encoded = Encode(body);
  if (!encoded) return tl::unexpected(encoded.error());
  return TaggedHash(body.chain_id, Domain::kTransaction, *encoded);
}

Result<Tx> SignTx(TxBody body, const SchnorrKeyPair& key, const Secret32& aux_rand) {
  if (body.signer != key.public_key()) {
    return Fail(ErrorCode::kInvalidArgument, "transaction signer " + ToHex(body.signer) +
                                                 " is not the signing key " + ToHex(key.public_key()));
  }
  Result<Hash32> digest = TxSigningDigest(body);
  if (!digest) return tl::unexpected(digest.error());
  Tx tx{std::move(body), key.Sign(digest->view(), aux_rand)};
  return tx;
}

Result<void> VerifyTxSignature(const Tx& tx) {
  Result<Hash32> digest = TxSigningDigest(tx.body);
  if (!digest) return tl::unexpected(digest.error());
  if (!SchnorrVerify(tx.body.signer, digest->view(), tx.signature)) {
    return Fail(ErrorCode::kBadSignature, "transaction signature does not verify for signer " + ToHex(tx.body.signer));
  }
  return {};
}

Result<Hash32> TxId(const Tx& tx) {
  Result<Bytes> encoded = Encode(tx);
  if (!encoded) return tl::unexpected(encoded.error());
  return TaggedHash(tx.body.chain_id, Domain::kTransactionId, *encoded);
}

Result<VerifiedTx> VerifyTx(Tx tx) {
  Result<void> signature = VerifyTxSignature(tx);
  if (!signature) return tl::unexpected(signature.error());
  Result<Hash32> id = TxId(tx);
  if (!id) return tl::unexpected(id.error());
  return VerifiedTx(std::move(tx), *id);
}

}  // namespace civic::proto
