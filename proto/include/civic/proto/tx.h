// The transaction envelope, and the ballot payload.
//
// A Tx is a TxBody and a BIP-340 signature by body.signer over
//   TaggedHash(body.chain_id, Domain::kTransaction, Encode(body)).
// Replay protection: the ledger refuses a transaction after its valid_until_height, and
// remembers every (signer, nonce, valid_until_height) that took effect until then, so the
// same signed transaction never counts twice and what it must remember stays bounded. A
// resident who signs a ballot offline picks how long it stays valid. Wallets number a
// signer's transactions in increasing nonces: a ballot only replaces an earlier ballot of
// the same signer if its nonce is higher, so an old signed ballot resubmitted later cannot
// undo a newer choice.
#pragma once

#include <cstdint>
#include <vector>

#include "civic/proto/bytes.h"
#include "civic/proto/chain.h"
#include "civic/proto/fields.h"
#include "civic/proto/result.h"
#include "civic/proto/schnorr.h"

namespace civic::proto {

inline constexpr std::uint8_t kTxVersion = 1;
inline constexpr std::uint32_t kTxPayloadBytesMax = 60 * 1024;
inline constexpr std::uint32_t kTxEncodedBytesMax = 64 * 1024;

// What a transaction does; the payload's type follows from it. Values are part of the
// encoding: never renumber, only append.
enum class TxKind : std::uint8_t {
  kRegisterResident = 1,
  kRevokeResident = 2,
  kRegisterPaperResident = 3,
  kOpenRound = 4,
  kSubmitProposal = 5,
  kReviewProposal = 6,
  kCastBallot = 7,
  kAssistedBallot = 8,
  kCloseRound = 9,
  kChangeValidators = 10,
};
bool IsKnownValue(TxKind kind);
std::string_view TxKindName(TxKind kind);  // "cast-ballot", ...

struct TxBody {
  static constexpr std::uint32_t kEncodedBytesMax = kTxEncodedBytesMax;

  std::uint8_t version = kTxVersion;
  TxKind kind = TxKind::kCastBallot;
  ChainId chain_id;
  SchnorrPublicKey signer;
  std::uint64_t nonce = 0;
  std::uint64_t valid_until_height = 0;
  Bytes payload;  // the kind's payload, itself canonically encoded (e.g. a Ballot)

  friend bool operator==(const TxBody&, const TxBody&) = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(version);
    ar.Require(version == kTxVersion, ErrorCode::kUnknownVersion,
               "transaction version is not 1; this build speaks version 1 only");
    ar(kind, chain_id, signer, nonce, valid_until_height, Bounded(payload, kTxPayloadBytesMax));
  }
};

struct Tx {
  static constexpr std::uint32_t kEncodedBytesMax = kTxEncodedBytesMax;

  TxBody body;
  SchnorrSignature signature;

  friend bool operator==(const Tx&, const Tx&) = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(body, signature);
  }
};

// The digest body.signer signs.
[[nodiscard]] Result<Hash32> TxSigningDigest(const TxBody& body);
// Signs `body` with `key`; fails if body.signer is not key's public key or body won't encode.
[[nodiscard]] Result<Tx> SignTx(TxBody body, const SchnorrKeyPair& key, const Secret32& aux_rand);
// kBadSignature if the signature does not verify for body.signer.
[[nodiscard]] Result<void> VerifyTxSignature(const Tx& tx);
// The transaction's id: TaggedHash(chain, kTransactionId, Encode(tx)). Signatures are not
// malleable (BIP-340 verification is strict), so one signed transaction has one id.
[[nodiscard]] Result<Hash32> TxId(const Tx& tx);

// A transaction whose signature has been checked, with its id. Only VerifyTx makes one, so
// code that takes a VerifiedTx (mempool, block execution, contracts) never verifies again:
// each signature is checked once per node.
class VerifiedTx {
 public:
  const Tx& tx() const { return tx_; }
  const Hash32& id() const { return id_; }

 private:
  friend Result<VerifiedTx> VerifyTx(Tx tx);
  VerifiedTx(Tx tx, const Hash32& id) : tx_(std::move(tx)), id_(id) {}
  Tx tx_;
  Hash32 id_;
};

// Checks the signature and computes the id. kBadSignature, or an encoding error.
[[nodiscard]] Result<VerifiedTx> VerifyTx(Tx tx);

// One choice on a ballot: a project and the points given to it (1 for approval ballots).
struct BallotChoice {
  std::uint32_t project_id = 0;
  std::uint32_t points = 0;

  friend bool operator==(const BallotChoice&, const BallotChoice&) = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(project_id, points);
  }
};

inline constexpr std::uint32_t kBallotChoicesMax = 256;

// The payload of kCastBallot. Canonical: choices strictly ascending by project and every
// choice with at least one point. Whether the choices fit the round's rules (how many,
// how many points, within budget) is the contracts' check, not the encoding's.
struct Ballot {
  static constexpr std::uint32_t kEncodedBytesMax = kTxPayloadBytesMax;

  std::uint64_t round_id = 0;
  std::vector<BallotChoice> choices;

  friend bool operator==(const Ballot&, const Ballot&) = default;

  static bool IsCanonical(const std::vector<BallotChoice>& choices);

  template <class Archive>
  void serialize(Archive& ar) {
    ar(round_id, List(choices, kBallotChoicesMax));
    ar.Require(IsCanonical(choices), ErrorCode::kNonCanonical,
               "ballot choices must be in strictly ascending project order, each with at least one point");
  }
};

}  // namespace civic::proto
