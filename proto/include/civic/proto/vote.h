// Consensus votes, the validator set, and commit certificates.
//
// A validator signs TaggedHash(chain_id, Domain::kVote, Encode(VoteBody)) with Ed25519. A
// commit certificate holds the precommit signatures for one block at one (height, round);
// anyone holding the validator set verifies it alone with VerifyCommitCertificate.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "civic/proto/bytes.h"
#include "civic/proto/chain.h"
#include "civic/proto/ed25519.h"
#include "civic/proto/fields.h"
#include "civic/proto/result.h"

namespace civic::proto {

inline constexpr std::uint8_t kVoteVersion = 1;
inline constexpr std::uint32_t kValidatorsMax = 256;
// Each power and their sum stay far below 2^64, so 3 * sum never overflows.
inline constexpr std::uint64_t kVotingPowerMax = std::uint64_t{1} << 50;

enum class VoteType : std::uint8_t { kPrevote = 1, kPrecommit = 2 };
bool IsKnownValue(VoteType type);

struct VoteBody {
  static constexpr std::uint32_t kEncodedBytesMax = 128;

  std::uint8_t version = kVoteVersion;
  VoteType type = VoteType::kPrevote;
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  std::optional<Hash32> block_hash;  // nullopt is a vote for nil
  Ed25519PublicKey validator;

  friend bool operator==(const VoteBody&, const VoteBody&) = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(version);
    ar.Require(version == kVoteVersion, ErrorCode::kUnknownVersion,
               "vote version is not 1; this build speaks version 1 only");
    ar(type, height, round, Maybe(block_hash), validator);
    ar.Require(height >= 1, ErrorCode::kInvalidArgument, "vote height must be at least 1");
  }
};

struct Vote {
  static constexpr std::uint32_t kEncodedBytesMax = 192;

  VoteBody body;
  Ed25519Signature signature;

  friend bool operator==(const Vote&, const Vote&) = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(body, signature);
  }
};

[[nodiscard]] Result<Hash32> VoteSigningDigest(const ChainId& chain_id, const VoteBody& body);
// Fails if body.validator is not key's public key.
[[nodiscard]] Result<Vote> SignVote(const ChainId& chain_id, VoteBody body, const Ed25519KeyPair& key);
[[nodiscard]] Result<void> VerifyVote(const ChainId& chain_id, const Vote& vote);

struct Validator {
  Ed25519PublicKey key;
  std::uint64_t power = 0;

  friend bool operator==(const Validator&, const Validator&) = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(key, power);
    ar.Require(power >= 1 && power <= kVotingPowerMax, ErrorCode::kInvalidArgument,
               "validator voting power must be between 1 and 2^50");
  }
};

// Canonical: 1 to 256 validators in strictly ascending key order (so no key appears twice).
struct ValidatorSet {
  static constexpr std::uint32_t kEncodedBytesMax = 4 + kValidatorsMax * (32 + 8);

  std::vector<Validator> validators;

  friend bool operator==(const ValidatorSet&, const ValidatorSet&) = default;

  static bool IsCanonical(const std::vector<Validator>& validators);
  std::uint64_t TotalPower() const;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(List(validators, kValidatorsMax));
    ar.Require(IsCanonical(validators), ErrorCode::kNonCanonical,
               "a validator set needs 1 to 256 validators in strictly ascending key order");
  }
};

[[nodiscard]] Result<Hash32> ValidatorSetHash(const ChainId& chain_id, const ValidatorSet& set);

// Two votes by one validator for the same height, round and type but different values
// (nil counts as a value): proof that the validator broke the protocol. The consensus
// engine reports it; proposers put it in blocks (block.h). Canonical: `first` has the
// smaller block hash, nil first.
struct VoteEquivocation {
  static constexpr std::uint32_t kEncodedBytesMax = 2 * Vote::kEncodedBytesMax;

  Vote first;
  Vote second;

  friend bool operator==(const VoteEquivocation&, const VoteEquivocation&) = default;

  // The two bodies conflict as described above and are in canonical order.
  static bool IsWellFormed(const Vote& first, const Vote& second);

  template <class Archive>
  void serialize(Archive& ar) {
    ar(first, second);
    ar.Require(IsWellFormed(first, second), ErrorCode::kInvalidArgument,
               "vote equivocation needs two different votes of one validator for one height, round and type, "
               "in canonical order");
  }
};

// Puts two conflicting votes in canonical order. Fails if they do not conflict.
[[nodiscard]] Result<VoteEquivocation> MakeVoteEquivocation(Vote a, Vote b);
// Well formed, and both signatures verify on `chain_id` (the caller checks that the signer
// was a validator at that height).
[[nodiscard]] Result<void> VerifyVoteEquivocation(const ChainId& chain_id, const VoteEquivocation& evidence);

struct CommitSignature {
  std::uint32_t validator_index = 0;  // into ValidatorSet::validators
  Ed25519Signature signature;

  friend bool operator==(const CommitSignature&, const CommitSignature&) = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(validator_index, signature);
  }
};

// Canonical: signatures strictly ascending by validator index, at least one.
struct CommitCertificate {
  static constexpr std::uint32_t kEncodedBytesMax = 64 + kValidatorsMax * (4 + 64);

  std::uint64_t height = 0;
  std::uint32_t round = 0;
  Hash32 block_hash;
  std::vector<CommitSignature> signatures;

  friend bool operator==(const CommitCertificate&, const CommitCertificate&) = default;

  static bool IsCanonical(const std::vector<CommitSignature>& signatures);

  template <class Archive>
  void serialize(Archive& ar) {
    ar(height, round, block_hash, List(signatures, kValidatorsMax));
    ar.Require(height >= 1, ErrorCode::kInvalidArgument, "commit height must be at least 1");
    ar.Require(IsCanonical(signatures), ErrorCode::kNonCanonical,
               "commit signatures must be non-empty and strictly ascending by validator index");
  }
};

// Checks that more than 2/3 of `validators`' voting power signed a precommit for
// (certificate.height, certificate.round, certificate.block_hash) on `chain_id`. Every
// signature must verify and name a validator in the set; the error names the first that
// does not, or the power that signed against the power needed.
[[nodiscard]] Result<void> VerifyCommitCertificate(const ChainId& chain_id, const ValidatorSet& validators,
                                                   const CommitCertificate& certificate);

}  // namespace civic::proto
