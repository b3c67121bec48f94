// A closed round as a Pabulib instance (pabulib.org/format), built from a chain the audit
// re-derived, so that anyone can recompute the outcome with independent tools.
//
// One instance per unit of the round's tally: a round without district budgets is one unit;
// with them, each district with a budget is its own unit and `district` 0 the city-wide
// pool. PROJECTS are the unit's feasible proposals (id, cost the tally used, title as name,
// approvals as votes, selected 1 if funded); VOTES every ballot the close counted with at
// least one choice in the unit (voter_id: the resident id; cumulative ballots with points), ascending by
// resident id. META names the round, the chain, the rule and the block the tally is anchored
// to.
#pragma once

#include <cstdint>
#include <optional>

#include "civic/contracts/pabulib.h"
#include "civic/node/chain_verifier.h"
#include "civic/proto/result.h"

namespace civic::wallet {

// Fails if there is no such round, it is not closed, or it has no such unit (the message
// lists the units there are).
[[nodiscard]] proto::Result<contracts::PabulibInstance> RoundAsPabulib(const node::ChainVerifier& chain,
                                                                        std::uint64_t round_id,
                                                                        std::optional<std::uint32_t> district);

}  // namespace civic::wallet
