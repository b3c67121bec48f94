// What the contracts store, one record type per kind of key (state.h lists the keys).
// Records use the canonical encoding (proto/codec.h), so every node stores the same bytes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "civic/proto/bytes.h"
#include "civic/proto/fields.h"
#include "civic/proto/payloads.h"

namespace civic::contracts {

inline constexpr std::uint32_t kClerksMax = 64;
inline constexpr std::uint32_t kDistrictsMax = 64;
inline constexpr std::uint32_t kDistrictNameBytesMax = 100;

struct District {
  std::uint32_t id = 0;  // >= 1
  std::string name;      // e.g. "Grabówka"

  friend bool operator==(const District&, const District&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(id, proto::Bounded(name, kDistrictNameBytesMax));
  }
};

// From the genesis file: who the clerks are, the districts, and how many clerks must sign
// a validator change. Stored once at height 0.
struct GenesisState {
  static constexpr std::uint32_t kEncodedBytesMax = 16 * 1024;
  std::vector<proto::SchnorrPublicKey> clerks;  // strictly ascending, 1..64
  std::vector<District> districts;              // strictly ascending ids, 1..64
  std::uint32_t clerk_threshold = 1;            // 1..clerks.size()

  friend bool operator==(const GenesisState&, const GenesisState&) = default;
  [[nodiscard]] proto::Result<void> Check() const;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(proto::List(clerks, kClerksMax), proto::List(districts, kDistrictsMax), clerk_threshold);
    ar.Require(Check());
  }
};

// A validator change that took effect (vch/<sequence:4>): the change as the clerks signed
// it, who signed it, and from which height the new set validates.
struct ValidatorChangeRecord {
  static constexpr std::uint32_t kEncodedBytesMax = proto::ValidatorChange::kEncodedBytesMax + 64 + 4 + kClerksMax * 32;
  proto::ValidatorChange change;
  proto::Hash32 tx_id;                             // the kChangeValidators transaction
  std::uint64_t decided_at_height = 0;             // the block that carried it
  std::uint64_t effective_from_height = 0;         // decided_at_height + kValidatorChangeDelay
  std::vector<proto::SchnorrPublicKey> signed_by;  // the distinct clerks who signed, ascending

  friend bool operator==(const ValidatorChangeRecord&, const ValidatorChangeRecord&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(change, tx_id, decided_at_height, effective_from_height, proto::List(signed_by, kClerksMax));
  }
};

// A validator's equivocation that a block carried (evd/<validator:32><height:8><round:4><type:1>):
// one record per vote slot, however many conflicting pairs exist for it.
struct EquivocationRecord {
  static constexpr std::uint32_t kEncodedBytesMax = proto::VoteEquivocation::kEncodedBytesMax + 16;
  proto::VoteEquivocation evidence;
  std::uint64_t recorded_at_height = 0;  // the block that carried it

  friend bool operator==(const EquivocationRecord&, const EquivocationRecord&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(evidence, recorded_at_height);
  }
};

enum class ResidentKind : std::uint8_t { kKey = 1, kPaper = 2 };
bool IsKnownValue(ResidentKind kind);

struct ResidentRecord {
  static constexpr std::uint32_t kEncodedBytesMax = 2048;
  ResidentKind kind = ResidentKind::kKey;
  std::vector<std::uint32_t> districts;
  std::uint64_t expires_at_height = 0;  // 0: never
  std::uint64_t registered_at_height = 0;
  proto::SchnorrPublicKey registered_by;  // the clerk
  bool revoked = false;
  std::string revoke_reason;
  std::uint64_t revoked_at_height = 0;

  friend bool operator==(const ResidentRecord&, const ResidentRecord&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(kind, proto::List(districts, proto::kDistrictsPerResidentMax), expires_at_height, registered_at_height,
       registered_by, revoked, proto::Bounded(revoke_reason, proto::kReasonBytesMax), revoked_at_height);
  }
};

struct RoundRecord {
  static constexpr std::uint32_t kEncodedBytesMax = 4096;
  proto::Constitution constitution;
  std::uint64_t opened_at_height = 0;
  std::uint32_t proposal_count = 0;  // proposal ids are 1..proposal_count
  bool closed = false;
  std::uint64_t closed_at_height = 0;

  friend bool operator==(const RoundRecord&, const RoundRecord&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(constitution, opened_at_height, proposal_count, closed, closed_at_height);
  }
};

enum class ReviewState : std::uint8_t { kPending = 1, kFeasible = 2, kInfeasible = 3 };
bool IsKnownValue(ReviewState state);

struct ProposalRecord {
  static constexpr std::uint32_t kEncodedBytesMax = 4096;
  proto::SubmitProposal proposal;
  proto::ResidentId proposer;
  std::uint64_t submitted_at_height = 0;
  ReviewState review = ReviewState::kPending;
  std::string review_reason;
  std::uint64_t cost = 0;  // the cost the tally uses: the adjusted cost if the review set one
  proto::SchnorrPublicKey reviewed_by;

  friend bool operator==(const ProposalRecord&, const ProposalRecord&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(proposal, proposer, submitted_at_height, review, proto::Bounded(review_reason, proto::kReasonBytesMax), cost,
       reviewed_by);
  }
};

// What a ballot check needs of a proposal, kept beside the full record so that checking a
// ballot's choices decodes a few bytes each, not titles and reasons.
struct ProposalLine {
  static constexpr std::uint32_t kEncodedBytesMax = 16;
  ReviewState review = ReviewState::kPending;
  std::uint64_t cost = 0;
  std::uint32_t district = 0;

  friend bool operator==(const ProposalLine&, const ProposalLine&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(review, cost, district);
  }
};

// The ballot that counts for one resident in one round. A replaced ballot keeps its record
// under the history key, with replaced_by set to the id of the transaction that replaced it.
struct BallotRecord {
  static constexpr std::uint32_t kEncodedBytesMax = proto::kTxPayloadBytesMax;
  std::vector<proto::BallotChoice> choices;
  proto::Hash32 tx_id;
  std::uint64_t cast_at_height = 0;
  proto::SchnorrPublicKey cast_by;     // the resident, or the clerk for an assisted ballot
  std::uint64_t nonce = 0;             // of the transaction: a later ballot by cast_by needs a higher one
  std::string paper_ballot_reference;  // empty unless assisted
  std::uint32_t sequence = 0;          // 0 for the first ballot, then 1, 2, ...
  proto::Hash32 replaced_by;           // all zero while it counts

  friend bool operator==(const BallotRecord&, const BallotRecord&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(proto::List(choices, proto::kBallotChoicesMax), tx_id, cast_at_height, cast_by, nonce,
       proto::Bounded(paper_ballot_reference, proto::kReferenceBytesMax), sequence, replaced_by);
  }
};

// One tallied unit: a district with its own budget, or the city-wide pool (district 0).
struct ProjectSupport {
  std::uint32_t proposal_id = 0;
  std::uint64_t approvals = 0;
  std::uint64_t points = 0;

  friend bool operator==(const ProjectSupport&, const ProjectSupport&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(proposal_id, approvals, points);
  }
};

inline constexpr std::uint32_t kProposalsPerRoundMax = 4096;
inline constexpr std::uint32_t kFractionBytesMax = 4096;

struct UnitResult {
  std::uint32_t district = 0;  // 0: the city-wide pool (or the whole round without district budgets)
  std::uint64_t budget = 0;
  std::uint64_t voters = 0;    // ballots with at least one choice in this unit
  std::vector<std::uint32_t> funded_in_order;  // proposal ids
  std::uint64_t spent = 0;
  std::vector<ProjectSupport> support;  // every feasible proposal of the unit, ascending id
  std::uint64_t add1_steps = 0;
  std::uint8_t add1_stop = 0;    // contracts::Add1Stop: why add1 stopped (0 without add1)
  std::string per_voter_budget;  // MES rules: exact fraction

  friend bool operator==(const UnitResult&, const UnitResult&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(district, budget, voters, proto::List(funded_in_order, kProposalsPerRoundMax), spent,
       proto::List(support, kProposalsPerRoundMax), add1_steps, add1_stop,
       proto::Bounded(per_voter_budget, kFractionBytesMax));
  }
};

// Turnout and funding per district, beside each district's share of the roll.
struct DistrictSummary {
  std::uint32_t district = 0;
  std::uint64_t registered = 0;  // residents on the roll at closing (not revoked; expired ones too)
  std::uint64_t ballots = 0;     // of those, residents whose ballot counted
  std::uint64_t funded = 0;      // cost of the funded proposals located in the district

  friend bool operator==(const DistrictSummary&, const DistrictSummary&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(district, registered, ballots, funded);
  }
};

struct TallyRecord {
  static constexpr std::uint32_t kEncodedBytesMax = 4 * 1024 * 1024;
  std::uint8_t outcome_rule = 0;
  std::uint64_t ballots = 0;
  std::vector<UnitResult> units;  // ascending district (0 first)
  std::vector<DistrictSummary> districts;
  std::uint64_t closed_at_height = 0;

  friend bool operator==(const TallyRecord&, const TallyRecord&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(outcome_rule, ballots, proto::List(units, kDistrictsMax + 1), proto::List(districts, kDistrictsMax),
       closed_at_height);
  }
};

// What the rule spent on one voter's behalf, per unit, as exact fractions.
struct VoterSpending {
  static constexpr std::uint32_t kEncodedBytesMax = 64 * 1024;
  struct Entry {
    std::uint32_t district = 0;
    std::string spent;  // "0", "1200", "42703/21"

    friend bool operator==(const Entry&, const Entry&) = default;
    template <class Archive>
    void serialize(Archive& ar) {
      ar(district, proto::Bounded(spent, kFractionBytesMax));
    }
  };
  std::vector<Entry> entries;

  friend bool operator==(const VoterSpending&, const VoterSpending&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(proto::List(entries, kDistrictsMax + 1));
  }
};

}  // namespace civic::contracts
