#include "civic/proto/vote.h"

#include <utility>

#include "civic/proto/assert.h"
#include "civic/proto/codec.h"
#include "civic/proto/hash.h"

namespace civic::proto {

bool IsKnownValue(VoteType type) { return type == VoteType::kPrevote || type == VoteType::kPrecommit; }

Result<Hash32> VoteSigningDigest(const ChainId& chain_id, const VoteBody& body) {
  Result<Bytes> encoded = Encode(body);
  if (!encoded) return tl::unexpected(encoded.error());
  return TaggedHash(chain_id, Domain::kVote, *encoded);
}

Result<Vote> SignVote(const ChainId& chain_id, VoteBody body, const Ed25519KeyPair& key) {
  if (body.validator != key.public_key()) {
    return Fail(ErrorCode::kInvalidArgument, "vote's validator " + ToHex(body.validator) +
                                                 " is not the signing key " + ToHex(key.public_key()));
  }
  Result<Hash32> digest = VoteSigningDigest(chain_id, body);
  if (!digest) return tl::unexpected(digest.error());
  Vote vote{std::move(body), key.Sign(digest->view())};
  return vote;
}

Result<void> VerifyVote(const ChainId& chain_id, const Vote& vote) {
  Result<Hash32> digest = VoteSigningDigest(chain_id, vote.body);
  if (!digest) return tl::unexpected(digest.error());
  if (!Ed25519Verify(vote.body.validator, digest->view(), vote.signature)) {
    return Fail(ErrorCode::kBadSignature, "vote signature does not verify for validator " + ToHex(vote.body.validator));
  }
  return {};
}

bool ValidatorSet::IsCanonical(const std::vector<Validator>& validators) {
  if (validators.empty() || validators.size() > kValidatorsMax) return false;
  for (std::size_t i = 1; i < validators.size(); ++i) {
    if (!(validators[i - 1].key < validators[i].key)) return false;
  }
  return true;
}

std::uint64_t ValidatorSet::TotalPower() const {
  std::uint64_t total = 0;
  for (const Validator& v : validators) total += v.power;  // at most 2^8 * 2^50: no overflow
  return total;
}

bool VoteEquivocation::IsWellFormed(const Vote& first, const Vote& second) {
  const VoteBody& a = first.body;
  const VoteBody& b = second.body;
  return a.version == b.version && a.type == b.type && a.height == b.height && a.round == b.round &&
         a.validator == b.validator && a.block_hash < b.block_hash;
}

Result<VoteEquivocation> MakeVoteEquivocation(Vote a, Vote b) {
  if (b.body.block_hash < a.body.block_hash) std::swap(a, b);
  if (!VoteEquivocation::IsWellFormed(a, b)) {
    return Fail(ErrorCode::kInvalidArgument,
                "the two votes do not conflict: they differ in more than the value, or not at all");
  }
  return VoteEquivocation{std::move(a), std::move(b)};
}

Result<void> VerifyVoteEquivocation(const ChainId& chain_id, const VoteEquivocation& evidence) {
  if (!VoteEquivocation::IsWellFormed(evidence.first, evidence.second)) {
    return Fail(ErrorCode::kInvalidArgument, "vote equivocation is not two conflicting votes in canonical order");
  }
  if (Result<void> ok = VerifyVote(chain_id, evidence.first); !ok) return ok;
  return VerifyVote(chain_id, evidence.second);
}

Result<Hash32> ValidatorSetHash(const ChainId& chain_id, const ValidatorSet& set) {
  Result<Bytes> encoded = Encode(set);
  if (!encoded) return tl::unexpected(encoded.error());
  return TaggedHash(chain_id, Domain::kValidatorSet, *encoded);
}

bool CommitCertificate::IsCanonical(const std::vector<CommitSignature>& signatures) {
  if (signatures.empty()) return false;
  for (std::size_t i = 1; i < signatures.size(); ++i) {
    if (signatures[i - 1].validator_index >= signatures[i].validator_index) return false;
  }
  return true;
}

Result<void> VerifyCommitCertificate(const ChainId& chain_id, const ValidatorSet& validators,
                                     const CommitCertificate& certificate) {
  if (!ValidatorSet::IsCanonical(validators.validators)) {
    return Fail(ErrorCode::kInvalidArgument, "validator set is not canonical (1-256 validators, ascending keys)");
  }
  if (!CommitCertificate::IsCanonical(certificate.signatures) || certificate.signatures.size() > kValidatorsMax) {
    return Fail(ErrorCode::kNonCanonical, "commit signatures must be non-empty and strictly ascending by index");
  }
  const TaggedHasher hasher(chain_id, Domain::kVote);
  VoteBody precommit;
  precommit.type = VoteType::kPrecommit;
  precommit.height = certificate.height;
  precommit.round = certificate.round;
  precommit.block_hash = certificate.block_hash;
  std::uint64_t signed_power = 0;
  for (const CommitSignature& sig : certificate.signatures) {
    if (sig.validator_index >= validators.validators.size()) {
      return Fail(ErrorCode::kBadProof, "commit signature names validator " + std::to_string(sig.validator_index) +
                                            " but the set has " + std::to_string(validators.validators.size()));
    }
    const Validator& validator = validators.validators[sig.validator_index];
    precommit.validator = validator.key;
    Result<Bytes> encoded = Encode(precommit);
    if (!encoded) return tl::unexpected(encoded.error());
    if (!Ed25519Verify(validator.key, hasher.Hash(*encoded).view(), sig.signature)) {
      return Fail(ErrorCode::kBadSignature, "precommit signature of validator " + std::to_string(sig.validator_index) +
                                                " (" + ToHex(validator.key) + ") does not verify for height " +
                                                std::to_string(certificate.height) + " round " +
                                                std::to_string(certificate.round));
    }
    signed_power += validator.power;
  }
  const std::uint64_t total_power = validators.TotalPower();
  CIVIC_ASSERT(signed_power <= total_power);
  // More than 2/3: 3 * signed > 2 * total. Both sides stay below 2^61 (vote.h bounds).
  if (3 * signed_power <= 2 * total_power) {
    return Fail(ErrorCode::kBadProof, "commit carries " + std::to_string(signed_power) + " of " +
                                          std::to_string(total_power) + " voting power; more than 2/3 is needed");
  }
  return {};
}

}  // namespace civic::proto
