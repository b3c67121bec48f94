#include "civic/consensus/messages.h"

#include <tuple>
#include <utility>

#include "civic/proto/codec_impl.h"
#include "civic/proto/hash.h"

namespace civic::consensus {
namespace {

using proto::ErrorCode;
using proto::Fail;

bool SameSlot(const ProposalBody& a, const ProposalBody& b) {
  return a.version == b.version && a.height == b.height && a.round == b.round && a.proposer == b.proposer;
}

// The canonical order of two conflicting proposals: by block hash, then valid round.
auto ProposalOrderKey(const ProposalBody& body) { return std::tie(body.block_hash, body.valid_round); }

}  // namespace

Round ValidRoundOf(const ProposalBody& body) { return body.valid_round ? Round{*body.valid_round} : kNilRound; }

proto::Result<proto::Hash32> ProposalSigningDigest(const proto::ChainId& chain_id, const ProposalBody& body) {
  proto::Result<proto::Bytes> encoded = proto::Encode(body);
  if (!encoded) return tl::unexpected(encoded.error());
  return proto::TaggedHash(chain_id, proto::Domain::kProposal, *encoded);
}

proto::Result<Proposal> SignProposal(const proto::ChainId& chain_id, ProposalBody body,
                                     const proto::Ed25519KeyPair& key) {
  if (body.proposer != key.public_key()) {
    return Fail(ErrorCode::kInvalidArgument, "proposal's proposer " + proto::ToHex(body.proposer) +
                                                 " is not the signing key " + proto::ToHex(key.public_key()));
  }
  proto::Result<proto::Hash32> digest = ProposalSigningDigest(chain_id, body);
  if (!digest) return tl::unexpected(digest.error());
  Proposal proposal{std::move(body), key.Sign(digest->view())};
  return proposal;
}

proto::Result<void> VerifyProposal(const proto::ChainId& chain_id, const Proposal& proposal) {
  proto::Result<proto::Hash32> digest = ProposalSigningDigest(chain_id, proposal.body);
  if (!digest) return tl::unexpected(digest.error());
  if (!proto::Ed25519Verify(proposal.body.proposer, digest->view(), proposal.signature)) {
    return Fail(ErrorCode::kBadSignature,
                "proposal signature does not verify for proposer " + proto::ToHex(proposal.body.proposer));
  }
  return {};
}

bool ProposalEquivocation::IsWellFormed(const Proposal& first, const Proposal& second) {
  return SameSlot(first.body, second.body) && ProposalOrderKey(first.body) < ProposalOrderKey(second.body);
}

proto::Result<ProposalEquivocation> MakeProposalEquivocation(Proposal a, Proposal b) {
  if (ProposalOrderKey(b.body) < ProposalOrderKey(a.body)) std::swap(a, b);
  if (!ProposalEquivocation::IsWellFormed(a, b)) {
    return Fail(ErrorCode::kInvalidArgument,
                "the two proposals do not conflict: they differ in more than the "
                "value and valid round, or not at all");
  }
  return ProposalEquivocation{std::move(a), std::move(b)};
}

proto::Result<void> VerifyEvidence(const proto::ChainId& chain_id, const VoteEquivocation& evidence) {
  return proto::VerifyVoteEquivocation(chain_id, evidence);
}

proto::Result<void> VerifyEvidence(const proto::ChainId& chain_id, const ProposalEquivocation& evidence) {
  if (!ProposalEquivocation::IsWellFormed(evidence.first, evidence.second)) {
    return Fail(ErrorCode::kInvalidArgument,
                "proposal equivocation is not two conflicting proposals in canonical order");
  }
  if (proto::Result<void> ok = VerifyProposal(chain_id, evidence.first); !ok) return ok;
  return VerifyProposal(chain_id, evidence.second);
}

}  // namespace civic::consensus

CIVIC_CODEC_INSTANTIATE(civic::consensus::ProposalBody)
CIVIC_CODEC_INSTANTIATE(civic::consensus::Proposal)
CIVIC_CODEC_INSTANTIATE(civic::consensus::ProposalEquivocation)
