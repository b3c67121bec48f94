// The payloads of the budgeting transactions (TxBody::payload), one type per TxKind. What
// each may do, and when, is the contracts' business (contracts/); here is only their shape
// and canonical encoding.
//
// Residents are named by a 32-byte ResidentId: a resident with a key is her x-only public
// key; a paper-only resident (no key) is PaperResidentId(chain, reference). No name or other
// personal data is ever part of a payload.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "civic/proto/bytes.h"
#include "civic/proto/chain.h"
#include "civic/proto/fields.h"
#include "civic/proto/result.h"
#include "civic/proto/tx.h"
#include "civic/proto/vote.h"

namespace civic::proto {

using ResidentId = FixedBytes<32, struct ResidentIdTag>;

inline constexpr std::uint32_t kDistrictsPerResidentMax = 8;
inline constexpr std::uint32_t kDistrictsPerRoundMax = 64;
inline constexpr std::uint32_t kReferenceBytesMax = 64;
inline constexpr std::uint32_t kTitleBytesMax = 200;
inline constexpr std::uint32_t kReasonBytesMax = 1000;

ResidentId ResidentIdOfKey(const SchnorrPublicKey& key);
// TaggedHash(chain, "paper-resident", reference): the same reference always names the same
// resident, and the reference itself (which only the clerk's office can map to a person)
// is not needed to check a ballot.
ResidentId PaperResidentId(const ChainId& chain_id, std::string_view reference);

// True if `districts` is 1..max ids, strictly ascending, none of them 0 (0 means city-wide).
bool IsDistrictList(const std::vector<std::uint32_t>& districts, std::uint32_t max);

// kRegisterResident (a clerk): the resident's key goes on the roll.
struct RegisterResident {
  static constexpr std::uint32_t kEncodedBytesMax = 256;
  SchnorrPublicKey key;
  std::vector<std::uint32_t> districts;  // ascending, 1..8 of them
  std::uint64_t expires_at_height = 0;   // 0: never; else the registration ends before this height

  friend bool operator==(const RegisterResident&, const RegisterResident&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(key, List(districts, kDistrictsPerResidentMax), expires_at_height);
    ar.Require(IsDistrictList(districts, kDistrictsPerResidentMax), ErrorCode::kNonCanonical,
               "a resident needs 1 to 8 districts, ascending, none of them 0");
  }
};

// kRegisterPaperResident (a clerk): a resident without a key, for assisted ballots only.
struct RegisterPaperResident {
  static constexpr std::uint32_t kEncodedBytesMax = 256;
  std::string reference;  // the clerk's office's reference, 1..64 bytes; never a name
  std::vector<std::uint32_t> districts;
  std::uint64_t expires_at_height = 0;

  friend bool operator==(const RegisterPaperResident&, const RegisterPaperResident&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(Bounded(reference, kReferenceBytesMax), List(districts, kDistrictsPerResidentMax), expires_at_height);
    ar.Require(!reference.empty(), ErrorCode::kInvalidArgument, "a paper resident's reference must not be empty");
    ar.Require(IsDistrictList(districts, kDistrictsPerResidentMax), ErrorCode::kNonCanonical,
               "a resident needs 1 to 8 districts, ascending, none of them 0");
  }
};

// kRevokeResident (a clerk).
struct RevokeResident {
  static constexpr std::uint32_t kEncodedBytesMax = 64 + kReasonBytesMax;
  ResidentId resident;
  std::string reason;  // stored on the ledger; 1..1000 bytes

  friend bool operator==(const RevokeResident&, const RevokeResident&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(resident, Bounded(reason, kReasonBytesMax));
    ar.Require(!reason.empty(), ErrorCode::kInvalidArgument, "a revocation needs a reason");
  }
};

enum class PhaseBasis : std::uint8_t { kHeight = 1, kTimeUnixMs = 2 };
bool IsKnownValue(PhaseBasis basis);

enum class BallotType : std::uint8_t {
  kApproval = 1,    // min..max projects, one point each
  kKnapsack = 2,    // approved projects whose costs fit within the budget of their district
  kCumulative = 3,  // points: at most points_total_max in all, points_per_project_max each
};
bool IsKnownValue(BallotType type);

struct DistrictBudget {
  std::uint32_t district = 0;  // >= 1
  std::uint64_t budget = 0;

  friend bool operator==(const DistrictBudget&, const DistrictBudget&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(district, budget);
  }
};

enum class TieBreak : std::uint8_t {
  // More support first, then lower cost, then lower proposal id (the Pabulib README's order).
  kSupportCostId = 1,
};
bool IsKnownValue(TieBreak tie_break);

// A round's constitution: fixed when opened, changeable only until voting starts.
// Phases: proposals [proposals_start, review_start), review [review_start, voting_start),
// voting [voting_start, voting_end), closed from voting_end on, measured in block heights
// or block times (PhaseBasis).
struct Constitution {
  static constexpr std::uint32_t kEncodedBytesMax = 1024 + kTitleBytesMax;

  std::uint64_t round_id = 0;  // >= 1
  std::string title;           // 1..200 bytes
  std::uint64_t total_budget = 0;
  // Optional: each listed district is tallied alone with its own budget; city-wide
  // proposals (district 0) share what is left of total_budget. Ascending by district.
  std::vector<DistrictBudget> district_budgets;
  PhaseBasis phase_basis = PhaseBasis::kHeight;
  std::uint64_t proposals_start = 0;
  std::uint64_t review_start = 0;
  std::uint64_t voting_start = 0;
  std::uint64_t voting_end = 0;
  BallotType ballot_type = BallotType::kApproval;
  std::uint32_t min_choices = 0;             // every ballot type
  std::uint32_t max_choices = 0;             // every ballot type; at most kBallotChoicesMax
  std::uint32_t points_total_max = 0;        // kCumulative only, else 0
  std::uint32_t points_per_project_max = 0;  // kCumulative only, else 0
  std::uint8_t outcome_rule = 0;             // contracts::OutcomeRule
  TieBreak tie_break = TieBreak::kSupportCostId;

  friend bool operator==(const Constitution&, const Constitution&) = default;

  // What a constitution must satisfy, with a message naming the field; also run on decode.
  [[nodiscard]] Result<void> Check() const;

  template <class Archive>
  void serialize(Archive& ar) {
    ar(round_id, Bounded(title, kTitleBytesMax), total_budget, List(district_budgets, kDistrictsPerRoundMax),
       phase_basis, proposals_start, review_start, voting_start, voting_end, ballot_type, min_choices, max_choices,
       points_total_max, points_per_project_max, outcome_rule, tie_break);
    ar.Require(Check());
  }
};

// kOpenRound (a clerk): opens a round, or amends it before its voting starts.
struct OpenRound {
  static constexpr std::uint32_t kEncodedBytesMax = Constitution::kEncodedBytesMax;
  Constitution constitution;

  friend bool operator==(const OpenRound&, const OpenRound&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(constitution);
  }
};

// kSubmitProposal (a registered resident, proposals phase).
struct SubmitProposal {
  static constexpr std::uint32_t kEncodedBytesMax = 128 + kTitleBytesMax;
  std::uint64_t round_id = 0;
  std::string title;         // 1..200 bytes
  Hash32 description_digest; // SHA-256 of the full description, kept off the ledger
  std::uint64_t cost = 0;    // >= 1
  std::uint32_t district = 0;  // 0: city-wide

  friend bool operator==(const SubmitProposal&, const SubmitProposal&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(round_id, Bounded(title, kTitleBytesMax), description_digest, cost, district);
    ar.Require(!title.empty(), ErrorCode::kInvalidArgument, "a proposal needs a title");
    ar.Require(cost >= 1, ErrorCode::kInvalidArgument, "a proposal's cost must be at least 1");
  }
};

// kReviewProposal (a clerk, review phase): feasible or not, always with a reason.
struct ReviewProposal {
  static constexpr std::uint32_t kEncodedBytesMax = 64 + kReasonBytesMax;
  std::uint64_t round_id = 0;
  std::uint32_t proposal_id = 0;
  bool feasible = false;
  std::string reason;                        // 1..1000 bytes, stored on the ledger
  std::optional<std::uint64_t> adjusted_cost;  // only with feasible; >= 1

  friend bool operator==(const ReviewProposal&, const ReviewProposal&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(round_id, proposal_id, feasible, Bounded(reason, kReasonBytesMax), Maybe(adjusted_cost));
    ar.Require(!reason.empty(), ErrorCode::kInvalidArgument, "a review needs a reason");
    ar.Require(!adjusted_cost || (feasible && *adjusted_cost >= 1), ErrorCode::kInvalidArgument,
               "an adjusted cost goes only with a feasible review, and is at least 1");
  }
};

// kAssistedBallot (a clerk): a paper ballot entered for a resident.
struct AssistedBallot {
  static constexpr std::uint32_t kEncodedBytesMax = kTxPayloadBytesMax;
  ResidentId resident;
  std::string paper_ballot_reference;  // 1..64 bytes: where the paper ballot is filed
  Ballot ballot;

  friend bool operator==(const AssistedBallot&, const AssistedBallot&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(resident, Bounded(paper_ballot_reference, kReferenceBytesMax), ballot);
    ar.Require(!paper_ballot_reference.empty(), ErrorCode::kInvalidArgument,
               "an assisted ballot needs the paper ballot's reference");
  }
};

// kCloseRound (a clerk, once voting has ended): tally and store the result.
struct CloseRound {
  static constexpr std::uint32_t kEncodedBytesMax = 16;
  std::uint64_t round_id = 0;

  friend bool operator==(const CloseRound&, const CloseRound&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(round_id);
  }
};

// ---- validator-set changes ----
//
// Clerks change who validates: one clerk proposes a ValidatorChange, the others co-sign it
// (each a BIP-340 signature over ValidatorChangeDigest), and any clerk submits it as a
// kChangeValidators transaction. It takes effect when at least the genesis's clerk_threshold
// of distinct clerks signed it (the submitting clerk counts: the transaction's signature
// covers the change too), and then from the height after next (consensus/validator_schedule.h).
// Changes are numbered: change n applies only as the n-th, so a co-signed change can never
// be replayed later, and of two changes collected at the same time only the first counts.

inline constexpr std::uint32_t kCosignaturesMax = 64;  // the number of clerks a genesis may list
// A receipt carries every change in effect at its block (node/API.md): at most this many.
// A network that changed its validators more often needs a new genesis for receipts to work.
inline constexpr std::uint32_t kReceiptValidatorChangesMax = 128;

// What the clerks sign: the whole set from then on, not a difference, so that what each
// clerk reads before signing is exactly what will validate.
struct ValidatorChange {
  static constexpr std::uint32_t kEncodedBytesMax = 64 + ValidatorSet::kEncodedBytesMax + kReasonBytesMax;
  std::uint32_t sequence = 0;            // 1 for the first change after genesis, then 2, ...
  ValidatorSet validators;               // the set from its effective height on
  std::string reason;                    // 1..1000 bytes, stored on the ledger
  std::uint64_t valid_until_height = 0;  // the co-signatures count in blocks up to this height

  friend bool operator==(const ValidatorChange&, const ValidatorChange&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(sequence, validators, Bounded(reason, kReasonBytesMax), valid_until_height);
    ar.Require(sequence >= 1, ErrorCode::kInvalidArgument, "a validator change's sequence starts at 1");
    ar.Require(!reason.empty(), ErrorCode::kInvalidArgument, "a validator change needs a reason");
  }
};

struct ClerkSignature {
  SchnorrPublicKey clerk;
  SchnorrSignature signature;

  friend bool operator==(const ClerkSignature&, const ClerkSignature&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(clerk, signature);
  }
};

// kChangeValidators (a clerk): a change and the clerks' co-signatures, strictly ascending
// by clerk key (so no clerk counts twice).
struct ChangeValidators {
  static constexpr std::uint32_t kEncodedBytesMax = kTxPayloadBytesMax;
  ValidatorChange change;
  std::vector<ClerkSignature> cosignatures;

  friend bool operator==(const ChangeValidators&, const ChangeValidators&) = default;
  static bool IsCanonical(const std::vector<ClerkSignature>& cosignatures);
  template <class Archive>
  void serialize(Archive& ar) {
    ar(change, List(cosignatures, kCosignaturesMax));
    ar.Require(IsCanonical(cosignatures), ErrorCode::kNonCanonical,
               "co-signatures must be in strictly ascending clerk key order");
  }
};

// TaggedHash(chain, kValidatorChange, Encode(change)): what each co-signing clerk signs.
[[nodiscard]] Result<Hash32> ValidatorChangeDigest(const ChainId& chain_id, const ValidatorChange& change);
[[nodiscard]] Result<ClerkSignature> CosignValidatorChange(const ChainId& chain_id, const ValidatorChange& change,
                                                           const SchnorrKeyPair& clerk, const Secret32& aux_rand);
[[nodiscard]] bool VerifyCosignature(const Hash32& digest, const ClerkSignature& cosignature);

}  // namespace civic::proto
