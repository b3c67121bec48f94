#include "civic/contracts/records.h"

#include "civic/contracts/errors.h"
#include "civic/proto/codec_impl.h"

namespace civic::contracts {

bool IsKnownValue(ResidentKind kind) { return kind == ResidentKind::kKey || kind == ResidentKind::kPaper; }
bool IsKnownValue(ReviewState state) { return state >= ReviewState::kPending && state <= ReviewState::kInfeasible; }

proto::Result<void> GenesisState::Check() const {
  const auto invalid = [](std::string message) {
    return proto::Fail(proto::ErrorCode::kInvalidArgument, "genesis: " + std::move(message));
  };
  if (clerks.empty()) return invalid("at least one clerk is needed");
  for (std::size_t i = 1; i < clerks.size(); ++i) {
    if (!(clerks[i - 1] < clerks[i])) return invalid("clerk keys must be unique and in ascending order");
  }
  if (districts.empty()) return invalid("at least one district is needed");
  for (std::size_t i = 0; i < districts.size(); ++i) {
    if (districts[i].id == 0) return invalid("district id 0 is reserved for city-wide proposals");
    if (districts[i].name.empty()) return invalid("district " + std::to_string(districts[i].id) + " needs a name");
    if (i > 0 && districts[i - 1].id >= districts[i].id) return invalid("district ids must be unique and ascending");
  }
  if (clerk_threshold == 0 || clerk_threshold > clerks.size()) {
    return invalid("clerk_threshold must be between 1 and the number of clerks (" + std::to_string(clerks.size()) + ")");
  }
  return {};
}

std::string_view TxErrorName(TxError code) {
  switch (code) {
    case TxError::kMalformedPayload: return "malformed_payload";
    case TxError::kWrongChain: return "wrong_chain";
    case TxError::kTxExpired: return "tx_expired";
    case TxError::kTxWindowTooLong: return "tx_window_too_long";
    case TxError::kReplayed: return "replayed";
    case TxError::kNotClerk: return "not_clerk";
    case TxError::kNotRegistered: return "not_registered";
    case TxError::kRegistrationRevoked: return "registration_revoked";
    case TxError::kRegistrationExpired: return "registration_expired";
    case TxError::kAlreadyRegistered: return "already_registered";
    case TxError::kUnknownDistrict: return "unknown_district";
    case TxError::kUnknownRound: return "unknown_round";
    case TxError::kRoundFrozen: return "round_frozen";
    case TxError::kWrongPhase: return "wrong_phase";
    case TxError::kUnknownProposal: return "unknown_proposal";
    case TxError::kAlreadyReviewed: return "already_reviewed";
    case TxError::kProposalNotFeasible: return "proposal_not_feasible";
    case TxError::kProposalOutsideDistrict: return "proposal_outside_district";
    case TxError::kBallotTooFewChoices: return "ballot_too_few_choices";
    case TxError::kBallotTooManyChoices: return "ballot_too_many_choices";
    case TxError::kBallotBadPoints: return "ballot_bad_points";
    case TxError::kBallotTooManyPoints: return "ballot_too_many_points";
    case TxError::kBallotOverBudget: return "ballot_over_budget";
    case TxError::kRoundClosed: return "round_closed";
    case TxError::kUnsupportedKind: return "unsupported_kind";
    case TxError::kCorruptState: return "corrupt_state";
    case TxError::kTallyFailed: return "tally_failed";
    case TxError::kProposalOverBudget: return "proposal_over_budget";
    case TxError::kTooManyProposals: return "too_many_proposals";
    case TxError::kStaleBallot: return "stale_ballot";
    case TxError::kSelfCastBallotCounts: return "self_cast_ballot_counts";
    case TxError::kValidatorChangeOutOfOrder: return "validator_change_out_of_order";
    case TxError::kValidatorChangeExpired: return "validator_change_expired";
    case TxError::kBadClerkSignature: return "bad_clerk_signature";
    case TxError::kTooFewClerkSignatures: return "too_few_clerk_signatures";
    case TxError::kEvidenceAlreadyRecorded: return "evidence_already_recorded";
  }
  return "unknown";
}

}  // namespace civic::contracts

CIVIC_CODEC_INSTANTIATE(civic::contracts::GenesisState)
CIVIC_CODEC_INSTANTIATE(civic::contracts::ResidentRecord)
CIVIC_CODEC_INSTANTIATE(civic::contracts::RoundRecord)
CIVIC_CODEC_INSTANTIATE(civic::contracts::ProposalRecord)
CIVIC_CODEC_INSTANTIATE(civic::contracts::ProposalLine)
CIVIC_CODEC_INSTANTIATE(civic::contracts::BallotRecord)
CIVIC_CODEC_INSTANTIATE(civic::contracts::TallyRecord)
CIVIC_CODEC_INSTANTIATE(civic::contracts::VoterSpending)
CIVIC_CODEC_INSTANTIATE(civic::contracts::ValidatorChangeRecord)
CIVIC_CODEC_INSTANTIATE(civic::contracts::EquivocationRecord)
