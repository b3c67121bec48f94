// Signed proposals, and evidence of equivocation that a block can carry.
//
// A proposer signs TaggedHash(chain_id, Domain::kProposal, Encode(ProposalBody)) with its
// Ed25519 consensus key (paper line 19: broadcast <PROPOSAL, h, round, v, validRound>).
// Votes are proto::Vote (proto/vote.h): their digest uses Domain::kVote, so a proposal's
// signature never verifies as a vote's and the other way round.
//
// Like proto's types, each message here has one canonical encoding, a bound on its size, and
// Encode/Decode through proto's codec (instantiated in src/messages.cc).
#pragma once

#include <cstdint>
#include <optional>

#include "civic/consensus/types.h"
#include "civic/proto/bytes.h"
#include "civic/proto/chain.h"
#include "civic/proto/ed25519.h"
#include "civic/proto/fields.h"
#include "civic/proto/result.h"
#include "civic/proto/vote.h"

namespace civic::consensus {

inline constexpr std::uint8_t kProposalVersion = 1;

struct ProposalBody {
  static constexpr std::uint32_t kEncodedBytesMax = 128;

  std::uint8_t version = kProposalVersion;
  std::uint64_t height = 0;
  std::uint32_t round = 0;
  proto::Hash32 block_hash;
  // The paper's validRound: nullopt is -1 (a value proposed fresh in this round); otherwise
  // the earlier round in which the proposer saw a polka for this value (line 16), < round.
  std::optional<std::uint32_t> valid_round;
  proto::Ed25519PublicKey proposer;

  friend bool operator==(const ProposalBody&, const ProposalBody&) = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(version);
    ar.Require(version == kProposalVersion, proto::ErrorCode::kUnknownVersion,
               "proposal version is not 1; this build speaks version 1 only");
    ar(height, round, block_hash, proto::Maybe(valid_round), proposer);
    ar.Require(height >= 1, proto::ErrorCode::kInvalidArgument, "proposal height must be at least 1");
    ar.Require(!valid_round.has_value() || *valid_round < round, proto::ErrorCode::kInvalidArgument,
               "a proposal's valid round must be below its round");
  }
};

struct Proposal {
  static constexpr std::uint32_t kEncodedBytesMax = 192;

  ProposalBody body;
  proto::Ed25519Signature signature;

  friend bool operator==(const Proposal&, const Proposal&) = default;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(body, signature);
  }
};

// The paper's validRound of a proposal: -1 or a round below the proposal's round.
Round ValidRoundOf(const ProposalBody& body);

[[nodiscard]] proto::Result<proto::Hash32> ProposalSigningDigest(const proto::ChainId& chain_id,
                                                                 const ProposalBody& body);
// Fails if body.proposer is not key's public key, or the body would not encode.
[[nodiscard]] proto::Result<Proposal> SignProposal(const proto::ChainId& chain_id, ProposalBody body,
                                                   const proto::Ed25519KeyPair& key);
[[nodiscard]] proto::Result<void> VerifyProposal(const proto::ChainId& chain_id, const Proposal& proposal);

// Two votes by one validator for one height, round and type but different values: a proto
// type, since blocks carry it (proto/vote.h).
using proto::VoteEquivocation;
using proto::MakeVoteEquivocation;

// Two different proposals signed by one proposer for the same height and round.
// Canonical: ordered by (block hash, valid round), nullopt valid round first.
struct ProposalEquivocation {
  static constexpr std::uint32_t kEncodedBytesMax = 2 * Proposal::kEncodedBytesMax;

  Proposal first;
  Proposal second;

  friend bool operator==(const ProposalEquivocation&, const ProposalEquivocation&) = default;

  static bool IsWellFormed(const Proposal& first, const Proposal& second);

  template <class Archive>
  void serialize(Archive& ar) {
    ar(first, second);
    ar.Require(IsWellFormed(first, second), proto::ErrorCode::kInvalidArgument,
               "proposal equivocation needs two different proposals of one proposer for one height and round, "
               "in canonical order");
  }
};

// Puts two conflicting proposals in canonical order. Fails if they do not conflict.
[[nodiscard]] proto::Result<ProposalEquivocation> MakeProposalEquivocation(Proposal a, Proposal b);

// Both signatures verify on `chain_id` (the caller checks that the signer was a validator
// at that height).
[[nodiscard]] proto::Result<void> VerifyEvidence(const proto::ChainId& chain_id, const VoteEquivocation& evidence);
[[nodiscard]] proto::Result<void> VerifyEvidence(const proto::ChainId& chain_id, const ProposalEquivocation& evidence);

}  // namespace civic::consensus
