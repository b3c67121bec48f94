// The budgeting contracts: a pure, deterministic state machine over a KvView.
//
//   BudgetContracts contracts(chain_id);
//   contracts.InitGenesis(kv, genesis);                 // once, at height 0
//   for each block: contracts.BeginBlock(kv, block);     // prunes expired replay entries
//                   for each tx: contracts.Apply(kv, block, verified_tx);
//
// Apply either returns the events of a transaction that took effect, or a Rejection, and
// then the state is exactly as before (all writes go through a WriteBuffer). No clock:
// time is the block's. No randomness, floating point, threads, I/O, or unordered iteration.
//
// Keys (all integers big-endian, so that scans run in numeric order):
//   genesis                                   GenesisState
//   res/<resident id:32>                      ResidentRecord
//   rnd/<round:8>                             RoundRecord
//   prp/<round:8><proposal:4>                 ProposalRecord
//   pbl/<round:8><proposal:4>                 ProposalLine: review, cost, district, for ballot checks
//   bal/<round:8><resident:32>                BallotRecord, the ballot that counts
//   bah/<round:8><resident:32><sequence:4>    BallotRecord, a replaced ballot and what replaced it
//   tal/<round:8>                             TallyRecord
//   tvs/<round:8><resident:32>                VoterSpending
//   rpl/<valid_until:8><signer:32><nonce:8>   (empty): a transaction that took effect, kept
//                                             until its valid_until_height has passed
//   vch/<sequence:4>                          ValidatorChangeRecord
//   evd/<validator:32><height:8><round:4><type:1>  EquivocationRecord
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "civic/contracts/errors.h"
#include "civic/contracts/kv.h"
#include "civic/contracts/records.h"
#include "civic/proto/chain.h"
#include "civic/proto/tx.h"

namespace civic::contracts {

// How far ahead a transaction may set valid_until_height: bounds the replay set a node keeps.
inline constexpr std::uint64_t kTxValidityWindowMax = 1'000'000;

struct BlockContext {
  std::uint64_t height = 0;
  std::uint64_t time_unix_ms = 0;
};

struct Event {
  std::string type;                                         // "ballot-cast", ...
  std::vector<std::pair<std::string, std::string>> attributes;  // in a fixed order

  friend bool operator==(const Event&, const Event&) = default;
};

struct Applied {
  std::vector<Event> events;
  // A kChangeValidators transaction that took effect: the set that validates from the
  // height after next (kValidatorChangeDelay).
  std::optional<proto::ValidatorSet> next_validators;
};

// A validator change decided in the block at height H takes effect at H + 2. It is the
// consensus layer's kValidatorSetDelay (consensus/validator_schedule.h says why); the node
// checks that the two agree.
inline constexpr std::uint64_t kValidatorChangeDelay = 2;

// The distinct clerks who signed a validator change: `submitter` (whose transaction
// signature covers the change) and every co-signer, ascending. kBadClerkSignature if a
// co-signer is no clerk of `genesis` or a signature does not verify; kTooFewClerkSignatures
// below the genesis's clerk_threshold. The contracts and offline receipt checks share it.
[[nodiscard]] Result<std::vector<proto::SchnorrPublicKey>> CheckValidatorChangeSignatures(
    const proto::ChainId& chain_id, const GenesisState& genesis, const proto::SchnorrPublicKey& submitter,
    const proto::ChangeValidators& payload);

// A state key in words, for reports that name what differs ("the stored tally of round 3",
// "the counted ballot of resident ab12... in round 1"); the raw hex for keys of no known shape.
std::string DescribeStateKey(ByteView key);

// Why a stored ballot does not count, as closing a round decides it from the voter's
// registration then, or nullopt if it counts. Once a round is closed, the ballots that
// counted are exactly those with a spending record (Spending()), whatever happens to the
// registrations later.
std::optional<std::string> BallotVoidReason(const ResidentRecord& voter, const BallotRecord& ballot);

enum class Phase : std::uint8_t { kNotStarted, kProposals, kReview, kVoting, kVotingEnded };
std::string_view PhaseName(Phase phase);  // "not-started", "proposals", "review", "voting", "voting-ended"
Phase PhaseAt(const proto::Constitution& constitution, const BlockContext& block);

class BudgetContracts {
 public:
  explicit BudgetContracts(proto::ChainId chain_id) : chain_id_(std::move(chain_id)) {}

  [[nodiscard]] Result<void> InitGenesis(KvView& kv, const GenesisState& genesis) const;
  // Drops replay keys of transactions that can no longer be valid at block.height.
  void BeginBlock(KvView& kv, const BlockContext& block) const;
  [[nodiscard]] Result<Applied> Apply(KvView& kv, const BlockContext& block, const proto::VerifiedTx& tx) const;
  // Records evidence that a block carries, once per vote slot: kEvidenceAlreadyRecorded (and
  // nothing written) if the ledger holds that slot's equivocation already. The node checks
  // the signatures and that the signer validated at that height before (node/executor.h).
  [[nodiscard]] Result<void> RecordEquivocation(KvView& kv, const BlockContext& block,
                                                const proto::VoteEquivocation& evidence) const;

  // Reads, for the node's API, the wallet and the audit. kCorruptState if a record does not
  // decode; nullopt if there is none.
  [[nodiscard]] Result<GenesisState> Genesis(const KvView& kv) const;
  [[nodiscard]] Result<std::optional<ResidentRecord>> Resident(const KvView& kv, const proto::ResidentId& id) const;
  // Every resident ever registered (revoked ones too), ascending by id.
  [[nodiscard]] Result<std::vector<std::pair<proto::ResidentId, ResidentRecord>>> Roll(const KvView& kv) const;
  [[nodiscard]] Result<std::optional<RoundRecord>> Round(const KvView& kv, std::uint64_t round_id) const;
  // Every round, ascending by id.
  [[nodiscard]] Result<std::vector<std::pair<std::uint64_t, RoundRecord>>> Rounds(const KvView& kv) const;
  [[nodiscard]] Result<std::vector<std::pair<std::uint32_t, ProposalRecord>>> Proposals(const KvView& kv,
                                                                                       std::uint64_t round_id) const;
  [[nodiscard]] Result<std::optional<BallotRecord>> CountedBallot(const KvView& kv, std::uint64_t round_id,
                                                                  const proto::ResidentId& resident) const;
  // Every stored ballot of a round, ascending by resident id; whether each counts is
  // BallotVoidReason's question (and, once the round is closed, Spending()'s).
  [[nodiscard]] Result<std::vector<std::pair<proto::ResidentId, BallotRecord>>> Ballots(const KvView& kv,
                                                                                        std::uint64_t round_id) const;
  [[nodiscard]] Result<std::vector<BallotRecord>> ReplacedBallots(const KvView& kv, std::uint64_t round_id,
                                                                  const proto::ResidentId& resident) const;
  [[nodiscard]] Result<std::optional<TallyRecord>> Tally(const KvView& kv, std::uint64_t round_id) const;
  [[nodiscard]] Result<std::optional<VoterSpending>> Spending(const KvView& kv, std::uint64_t round_id,
                                                              const proto::ResidentId& resident) const;
  // Whether the ledger holds an equivocation for the slot (validator, height, round, type) of `vote`.
  [[nodiscard]] Result<bool> EquivocationRecorded(const KvView& kv, const proto::VoteBody& vote) const;
  // Every equivocation recorded, ascending by validator, height, round and vote type.
  [[nodiscard]] Result<std::vector<EquivocationRecord>> Equivocations(const KvView& kv) const;
  // Every validator change since genesis, ascending by sequence.
  [[nodiscard]] Result<std::vector<ValidatorChangeRecord>> ValidatorChanges(const KvView& kv) const;

  const proto::ChainId& chain_id() const { return chain_id_; }

 private:
  proto::ChainId chain_id_;
};

}  // namespace civic::contracts
