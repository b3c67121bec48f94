// Why the contracts refused a transaction. Each rejection has its own code, with a stable
// name for APIs and logs, and a message that says what was wrong and what to do.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <tl/expected.hpp>

namespace civic::contracts {

enum class TxError : std::uint8_t {
  kMalformedPayload = 1,     // the payload does not decode as the kind says
  kWrongChain,               // signed for another chain
  kTxExpired,                // valid_until_height is below this block's height
  kTxWindowTooLong,          // valid_until_height is too far ahead (the replay set must stay bounded)
  kReplayed,                 // this signer already used this nonce
  kNotClerk,                 // the kind needs a clerk's signature
  kNotRegistered,            // the signer (or the named resident) is not on the roll
  kRegistrationRevoked,
  kRegistrationExpired,
  kAlreadyRegistered,
  kUnknownDistrict,          // not a district of this network (genesis)
  kUnknownRound,
  kRoundFrozen,              // the constitution can no longer change: voting has started
  kWrongPhase,               // not allowed in the round's current phase
  kUnknownProposal,
  kAlreadyReviewed,
  kProposalNotFeasible,      // a ballot names a proposal that is not on the ballot
  kProposalOutsideDistrict,  // a ballot or proposal names a district the resident is not in
  kBallotTooFewChoices,
  kBallotTooManyChoices,
  kBallotBadPoints,          // approval and knapsack ballots give exactly one point per choice
  kBallotTooManyPoints,      // cumulative: over the total or over the per-project cap
  kBallotOverBudget,         // knapsack: the chosen projects cost more than the budget
  kRoundClosed,
  kUnsupportedKind,          // a kind this build does not handle
  kCorruptState,             // a stored record does not decode: the node must stop
  kTallyFailed,              // the round is beyond what the tally can count or store
  kProposalOverBudget,       // a proposal (or its adjusted cost) costs more than the round's budget
  kTooManyProposals,         // the round holds kProposalsPerRoundMax proposals already
  kStaleBallot,              // a ballot signed before the one that counts (a lower nonce)
  kSelfCastBallotCounts,     // an assisted ballot cannot replace one the resident cast herself
  kValidatorChangeOutOfOrder,  // not the next change in sequence, or a second change in one block
  kValidatorChangeExpired,     // the clerks' signatures were valid until an earlier height
  kBadClerkSignature,          // a co-signature is not a clerk's, or does not verify
  kTooFewClerkSignatures,      // fewer distinct clerks signed than the genesis threshold
  kEvidenceAlreadyRecorded,    // a block's evidence of an equivocation the ledger holds already
};

std::string_view TxErrorName(TxError code);  // "not_clerk", "wrong_phase", ...

struct Rejection {
  TxError code;
  std::string message;
};

template <class T>
using Result = tl::expected<T, Rejection>;

inline tl::unexpected<Rejection> Reject(TxError code, std::string message) {
  return tl::unexpected<Rejection>(Rejection{code, std::move(message)});
}

}  // namespace civic::contracts
