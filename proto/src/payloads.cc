#include "civic/proto/payloads.h"

#include "civic/proto/codec_impl.h"
#include "civic/proto/hash.h"

namespace civic::proto {

ResidentId ResidentIdOfKey(const SchnorrPublicKey& key) { return ResidentId{key.bytes}; }

ResidentId PaperResidentId(const ChainId& chain_id, std::string_view reference) {
  return ResidentId{TaggedHash(chain_id, Domain::kPaperResident, AsBytes(reference)).bytes};
}

bool IsDistrictList(const std::vector<std::uint32_t>& districts, std::uint32_t max) {
  if (districts.empty() || districts.size() > max) return false;
  for (std::size_t i = 0; i < districts.size(); ++i) {
    if (districts[i] == 0) return false;
    if (i > 0 && districts[i - 1] >= districts[i]) return false;
  }
  return true;
}

bool IsKnownValue(PhaseBasis basis) { return basis == PhaseBasis::kHeight || basis == PhaseBasis::kTimeUnixMs; }
bool IsKnownValue(BallotType type) { return type >= BallotType::kApproval && type <= BallotType::kCumulative; }
bool IsKnownValue(TieBreak tie_break) { return tie_break == TieBreak::kSupportCostId; }

namespace {
// Keeps every budget and cost exact in the tally (contracts::kTallyBudgetMax).
constexpr std::uint64_t kBudgetMax = std::uint64_t{1} << 53;
constexpr std::uint8_t kOutcomeRuleMax = 6;  // contracts::OutcomeRule values are 1..6

tl::unexpected<Error> Invalid(std::string message) {
  return Fail(ErrorCode::kInvalidArgument, "constitution: " + std::move(message));
}
}  // namespace

Result<void> Constitution::Check() const {
  if (round_id == 0) return Invalid("round_id must be at least 1");
  if (title.empty()) return Invalid("title must not be empty");
  if (total_budget == 0 || total_budget > kBudgetMax) return Invalid("total_budget must be between 1 and 2^53");
  std::uint64_t districts_total = 0;
  for (std::size_t i = 0; i < district_budgets.size(); ++i) {
    const DistrictBudget& d = district_budgets[i];
    if (d.district == 0) return Invalid("district_budgets: district 0 is the city-wide pool, not a district");
    if (i > 0 && district_budgets[i - 1].district >= d.district) {
      return Invalid("district_budgets must be in strictly ascending district order");
    }
    if (d.budget == 0 || d.budget > total_budget) return Invalid("district_budgets: each budget is 1..total_budget");
    districts_total += d.budget;  // at most 64 * 2^53: no overflow
    if (districts_total > total_budget) return Invalid("district_budgets add up to more than total_budget");
  }
  if (!(proposals_start <= review_start && review_start <= voting_start && voting_start < voting_end)) {
    return Invalid("phases must satisfy proposals_start <= review_start <= voting_start < voting_end");
  }
  if (max_choices == 0 || max_choices > kBallotChoicesMax) return Invalid("max_choices must be between 1 and 256");
  if (min_choices > max_choices) return Invalid("min_choices must not exceed max_choices");
  if (ballot_type == BallotType::kCumulative) {
    if (points_total_max == 0) return Invalid("a cumulative ballot needs points_total_max of at least 1");
    if (points_per_project_max == 0 || points_per_project_max > points_total_max) {
      return Invalid("points_per_project_max must be between 1 and points_total_max");
    }
  } else if (points_total_max != 0 || points_per_project_max != 0) {
    return Invalid("points_total_max and points_per_project_max are for cumulative ballots only; set them to 0");
  }
  if (outcome_rule == 0 || outcome_rule > kOutcomeRuleMax) return Invalid("outcome_rule must be 1..6");
  return {};
}

bool ChangeValidators::IsCanonical(const std::vector<ClerkSignature>& cosignatures) {
  for (std::size_t i = 1; i < cosignatures.size(); ++i) {
    if (!(cosignatures[i - 1].clerk < cosignatures[i].clerk)) return false;
  }
  return true;
}

Result<Hash32> ValidatorChangeDigest(const ChainId& chain_id, const ValidatorChange& change) {
  Result<Bytes> encoded = Encode(change);
  if (!encoded) return tl::unexpected(encoded.error());
  return TaggedHash(chain_id, Domain::kValidatorChange, *encoded);
}

Result<ClerkSignature> CosignValidatorChange(const ChainId& chain_id, const ValidatorChange& change,
                                             const SchnorrKeyPair& clerk, const Secret32& aux_rand) {
  Result<Hash32> digest = ValidatorChangeDigest(chain_id, change);
  if (!digest) return tl::unexpected(digest.error());
  return ClerkSignature{clerk.public_key(), clerk.Sign(digest->view(), aux_rand)};
}

bool VerifyCosignature(const Hash32& digest, const ClerkSignature& cosignature) {
  return SchnorrVerify(cosignature.clerk, digest.view(), cosignature.signature);
}

CIVIC_CODEC_INSTANTIATE(RegisterResident)
CIVIC_CODEC_INSTANTIATE(ValidatorChange)
CIVIC_CODEC_INSTANTIATE(ChangeValidators)
CIVIC_CODEC_INSTANTIATE(RegisterPaperResident)
CIVIC_CODEC_INSTANTIATE(RevokeResident)
CIVIC_CODEC_INSTANTIATE(OpenRound)
CIVIC_CODEC_INSTANTIATE(SubmitProposal)
CIVIC_CODEC_INSTANTIATE(ReviewProposal)
CIVIC_CODEC_INSTANTIATE(AssistedBallot)
CIVIC_CODEC_INSTANTIATE(CloseRound)

}  // namespace civic::proto
