// The safety component: every consensus signature goes through it.
//
// A validator that signs two different proposals, prevotes or precommits for one height and
// round is Byzantine, whatever its intentions, and enough of those break agreement. So:
//   - SafetySigner (pure, in the engine) remembers the last (height, round, step) it signed
//     and the digest it signed there. It refuses anything earlier than that, and anything
//     different at that same point; signing the very same message again is allowed and
//     gives the same signature (Ed25519 is deterministic). Each signature comes with the
//     LastSigned record that must be made durable before the signature is released.
//   - The engine therefore emits PersistSigned(record) before the Broadcast that carries the
//     signature, and node/ executes actions in order: it writes the record through
//     SafetyStore, and broadcasts only if that write succeeded (a failed write stops the
//     node). After a crash the node loads the record (SafetyStore::Load) and gives it to the
//     new engine, which then cannot sign anything conflicting with what left before.
//   - SafetyStore checks the same rule again on the storage side, so that a bug above it
//     cannot move the record backwards or replace it.
// Only the last record is kept: anything before it is refused wholesale, which is safe
// (at worst a restarted validator stays silent for the rest of a round it had reached; the
// engine sends its last vote once more, engine.h).
//
// Restored records. All of this holds only if the record is really the last one: a data folder
// restored from a backup, or copied from another machine, carries an older record, and the
// validator could sign again at a height it already signed at. So node/ starts its engine only
// once it has caught up with its peers, as far as they tell (node/P2P.md), and
// looks for proof of an old record: a commit certificate (of a block it syncs or holds)
// carrying this validator's precommit at a point after its record. With a proof, the engine
// starts (or, if found later, resumes: Suspend, Resume) behind a fence at the height the
// network is deciding then (FenceAt, persisted first), so it signs nothing at any height the
// old copy could have reached before it stopped. A proof found above that fence means the key
// signs somewhere else right now, and the node signs nothing more.
//
// The record also carries the lock (paper lines 36-43: lockedValue, lockedRound) of its
// height. A validator that restarted without it could prevote against its lock, and if more
// than 1/3 of the power restarted at once, that forks the chain with no Byzantine validator
// at all (found by the simulator; tests/consensus/scenario_test.cc,
// ValidatorsThatRestartKeepTheirLock). A record without a lock encodes exactly as version 1
// did; one with a lock is version 2.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <tuple>

#include "civic/consensus/messages.h"
#include "civic/consensus/types.h"
#include "civic/proto/bytes.h"
#include "civic/proto/chain.h"
#include "civic/proto/ed25519.h"
#include "civic/proto/fields.h"
#include "civic/proto/result.h"
#include "civic/proto/vote.h"

namespace civic::consensus {

// Within a round a validator signs in this order: its proposal, its prevote, its precommit.
enum class SignedStep : std::uint8_t { kProposal = 1, kPrevote = 2, kPrecommit = 3 };
bool IsKnownValue(SignedStep step);

inline constexpr std::uint8_t kLastSignedVersion = 1;        // no lock
inline constexpr std::uint8_t kLastSignedVersionLocked = 2;  // with the lock of its height

// The paper's lockedRound and lockedValue (lines 38-39), while they are set.
struct Lock {
  std::uint32_t round = 0;
  proto::Hash32 value;

  friend bool operator==(const Lock&, const Lock&) = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(round, value);
  }
};

struct LastSigned {
  static constexpr std::uint32_t kEncodedBytesMax = 96;

  std::uint8_t version = kLastSignedVersion;  // kLastSignedVersionLocked exactly when `lock` is set
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  SignedStep step = SignedStep::kProposal;
  proto::Hash32 digest;      // the signing digest of the message signed there
  std::optional<Lock> lock = std::nullopt;  // the lock at `height` when it was signed; at or below `round`

  friend bool operator==(const LastSigned&, const LastSigned&) = default;
  // The point in the signing order; digests and locks do not order.
  auto Point() const { return std::make_tuple(height, round, step); }

  template <class Archive>
  void serialize(Archive& ar) {
    ar(version);
    ar.Require(version == kLastSignedVersion || version == kLastSignedVersionLocked,
               proto::ErrorCode::kUnknownVersion,
               "last-signed record version is neither 1 nor 2; this build speaks those two only");
    ar(height, round, step, digest);
    ar.Require(height >= 1, proto::ErrorCode::kInvalidArgument, "last-signed height must be at least 1");
    if (version == kLastSignedVersionLocked) {
      ar(proto::Maybe(lock));
      ar.Require(lock.has_value(), proto::ErrorCode::kNonCanonical, "a version-2 last-signed record has a lock");
      ar.Require(!lock || lock->round <= round, proto::ErrorCode::kInvalidArgument,
                 "a last-signed record's lock is from a later round than the record");
    } else {
      ar.Require(!lock.has_value(), proto::ErrorCode::kNonCanonical,
                 "a last-signed record with a lock is version 2, not 1");
    }
  }
};

// "height 7 round 0 prevote": where a record stands, for messages.
std::string Describe(const LastSigned& record);

// May `next` be signed after `last`? Later points yes; the same point only for the same digest.
[[nodiscard]] proto::Result<void> CheckSigningOrder(const std::optional<LastSigned>& last, const LastSigned& next);

struct SignedVote {
  proto::Vote vote;
  LastSigned record;  // persist this before releasing `vote`
};
struct SignedProposal {
  Proposal proposal;
  LastSigned record;  // persist this before releasing `proposal`
};

class SafetySigner {
 public:
  // `persisted` is what SafetyStore::Load returned (nullopt on a validator's first start).
  SafetySigner(proto::ChainId chain_id, proto::Ed25519KeyPair key, std::optional<LastSigned> persisted);

  // Refuses (kInvalidArgument, saying what was signed before) a vote or proposal that
  // conflicts with the last one signed; the body's validator/proposer must be our key.
  // `lock` is the signer's lock at the body's height (after the step that signs, so a
  // precommit for v carries the lock on v it sets); it goes into the record.
  [[nodiscard]] proto::Result<SignedVote> SignVote(const proto::VoteBody& body, const std::optional<Lock>& lock);
  [[nodiscard]] proto::Result<SignedProposal> SignProposal(const ProposalBody& body, const std::optional<Lock>& lock);

  // A record restored from an older copy (see "Restored records" above): sign nothing until
  // Resume. Every Sign* call fails meanwhile, as a refusal does.
  void Suspend() { suspended_ = true; }
  // Signs again, only after `fence` (the record becomes the fence if that is later).
  void Resume(const LastSigned& fence);
  bool suspended() const { return suspended_; }

  const std::optional<LastSigned>& last_signed() const { return last_; }
  const ValidatorId& public_key() const { return key_.public_key(); }
  const proto::ChainId& chain_id() const { return chain_id_; }

 private:
  [[nodiscard]] proto::Result<void> CheckNotSuspended() const;

  proto::ChainId chain_id_;
  proto::Ed25519KeyPair key_;
  std::optional<LastSigned> last_;
  bool suspended_ = false;
};

// A record that refuses everything at `height` and before: a validator that may have signed
// there without remembering it (a restored record) signs again only above it.
LastSigned FenceAt(std::uint64_t height);

// Where node/ keeps the record: RocksDB with a synced write there, memory in tests and in the
// simulator (which "crashes" a validator by keeping only what was written).
class SafetyStorage {
 public:
  virtual ~SafetyStorage() = default;
  // Durable once it returns success.
  [[nodiscard]] virtual proto::Result<void> Write(const proto::Bytes& record) = 0;
  // nullopt if nothing was ever written.
  [[nodiscard]] virtual proto::Result<std::optional<proto::Bytes>> Read() = 0;
};

class SafetyStore {
 public:
  explicit SafetyStore(SafetyStorage& storage) : storage_(storage) {}

  // The stored record, decoded (refusing a corrupt one rather than guessing).
  [[nodiscard]] proto::Result<std::optional<LastSigned>> Load();
  // Writes `record` if CheckSigningOrder allows it after the stored one; an identical record
  // is accepted without a write.
  [[nodiscard]] proto::Result<void> Persist(const LastSigned& record);

 private:
  SafetyStorage& storage_;
  std::optional<LastSigned> cached_;
  bool loaded_ = false;
};

}  // namespace civic::consensus
