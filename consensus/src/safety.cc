#include "civic/consensus/safety.h"

#include <limits>
#include <string>
#include <utility>

#include "civic/proto/codec_impl.h"

// CIVIC_CONSENSUS_BROKEN_* breaks consensus on purpose, so that tests/consensus can show the
// simulator catches it (tests/README.md, "Consensus simulation"). Only the test-only object
// libraries there define it, together with CIVIC_CONSENSUS_TEST_ONLY_BUILD; anything else
// defining it fails to build.
#if defined(CIVIC_CONSENSUS_BROKEN_SIGN_TWICE) && !defined(CIVIC_CONSENSUS_TEST_ONLY_BUILD)
#error "CIVIC_CONSENSUS_BROKEN_SIGN_TWICE is for tests/consensus's broken variants only"
#endif

namespace civic::consensus {
namespace {

using proto::ErrorCode;
using proto::Fail;

std::string_view SignedStepName(SignedStep step) {
  switch (step) {
    case SignedStep::kProposal: return "proposal";
    case SignedStep::kPrevote: return "prevote";
    case SignedStep::kPrecommit: return "precommit";
  }
  return "unknown";
}

}  // namespace

std::string Describe(const LastSigned& record) {
  return "height " + std::to_string(record.height) + " round " + std::to_string(record.round) + " " +
         std::string(SignedStepName(record.step));
}

bool IsKnownValue(SignedStep step) { return step >= SignedStep::kProposal && step <= SignedStep::kPrecommit; }

proto::Result<void> CheckSigningOrder(const std::optional<LastSigned>& last, const LastSigned& next) {
#ifdef CIVIC_CONSENSUS_BROKEN_SIGN_TWICE
  return {};  // broken on purpose: anything may be signed, anywhere, again
#endif
  if (!last || last->Point() < next.Point()) return {};
  if (last->Point() == next.Point()) {
    if (last->digest == next.digest) return {};  // the same message again: same signature
    return Fail(ErrorCode::kInvalidArgument,
                "refusing to sign a second, different message at " + Describe(next) + ": that would be equivocation");
  }
  return Fail(ErrorCode::kInvalidArgument, "refusing to sign at " + Describe(next) + ", before the last signed " +
                                               Describe(*last) + ": what we signed there is not remembered");
}

LastSigned FenceAt(std::uint64_t height) {
  return LastSigned{kLastSignedVersion, height, std::numeric_limits<std::uint32_t>::max(), SignedStep::kPrecommit,
                    proto::Hash32{}, std::nullopt};
}

proto::Result<void> SafetySigner::CheckNotSuspended() const {
  if (!suspended_) return {};
  return Fail(ErrorCode::kInvalidArgument,
              "signing is suspended: this validator's safety record is older than what it has signed");
}

void SafetySigner::Resume(const LastSigned& fence) {
  if (!last_ || last_->Point() < fence.Point()) last_ = fence;
  suspended_ = false;
}

SafetySigner::SafetySigner(proto::ChainId chain_id, proto::Ed25519KeyPair key, std::optional<LastSigned> persisted)
    : chain_id_(std::move(chain_id)), key_(std::move(key)), last_(std::move(persisted)) {}

namespace {
LastSigned Record(std::uint64_t height, std::uint32_t round, SignedStep step, const proto::Hash32& digest,
                  const std::optional<Lock>& lock) {
  return LastSigned{lock ? kLastSignedVersionLocked : kLastSignedVersion, height, round, step, digest, lock};
}
}  // namespace

proto::Result<SignedVote> SafetySigner::SignVote(const proto::VoteBody& body, const std::optional<Lock>& lock) {
  if (proto::Result<void> ok = CheckNotSuspended(); !ok) return tl::unexpected(ok.error());
  if (body.validator != key_.public_key()) {
    return Fail(ErrorCode::kInvalidArgument, "vote's validator is not this signer's key");
  }
  proto::Result<proto::Hash32> digest = proto::VoteSigningDigest(chain_id_, body);
  if (!digest) return tl::unexpected(digest.error());
  const SignedStep step = body.type == proto::VoteType::kPrevote ? SignedStep::kPrevote : SignedStep::kPrecommit;
  const LastSigned record = Record(body.height, body.round, step, *digest, lock);
  if (proto::Result<void> ok = CheckSigningOrder(last_, record); !ok) return tl::unexpected(ok.error());
  proto::Vote vote{body, key_.Sign(digest->view())};
  last_ = record;
  return SignedVote{std::move(vote), record};
}

proto::Result<SignedProposal> SafetySigner::SignProposal(const ProposalBody& body, const std::optional<Lock>& lock) {
  if (proto::Result<void> ok = CheckNotSuspended(); !ok) return tl::unexpected(ok.error());
  if (body.proposer != key_.public_key()) {
    return Fail(ErrorCode::kInvalidArgument, "proposal's proposer is not this signer's key");
  }
  proto::Result<proto::Hash32> digest = ProposalSigningDigest(chain_id_, body);
  if (!digest) return tl::unexpected(digest.error());
  const LastSigned record = Record(body.height, body.round, SignedStep::kProposal, *digest, lock);
  if (proto::Result<void> ok = CheckSigningOrder(last_, record); !ok) return tl::unexpected(ok.error());
  Proposal proposal{body, key_.Sign(digest->view())};
  last_ = record;
  return SignedProposal{std::move(proposal), record};
}

proto::Result<std::optional<LastSigned>> SafetyStore::Load() {
  proto::Result<std::optional<proto::Bytes>> raw = storage_.Read();
  if (!raw) return tl::unexpected(raw.error());
  if (!raw->has_value()) {
    cached_.reset();
  } else {
    proto::Result<LastSigned> record = proto::Decode<LastSigned>(**raw);
    if (!record) {
      return Fail(record.error().code, "stored last-signed record is corrupt (" + record.error().message +
                                           "); refusing to sign until an operator restores it");
    }
    cached_ = *record;
  }
  loaded_ = true;
  return cached_;
}

proto::Result<void> SafetyStore::Persist(const LastSigned& record) {
  if (!loaded_) {
    proto::Result<std::optional<LastSigned>> loaded = Load();
    if (!loaded) return tl::unexpected(loaded.error());
  }
  if (cached_ == record) return {};
  if (proto::Result<void> ok = CheckSigningOrder(cached_, record); !ok) return ok;
  proto::Result<proto::Bytes> encoded = proto::Encode(record);
  if (!encoded) return tl::unexpected(encoded.error());
  if (proto::Result<void> written = storage_.Write(*encoded); !written) return written;
  cached_ = record;
  return {};
}

}  // namespace civic::consensus

CIVIC_CODEC_INSTANTIATE(civic::consensus::LastSigned)
