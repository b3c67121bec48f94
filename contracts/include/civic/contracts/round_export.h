// A closed round as a Pabulib instance (pabulib.org/format), so that anyone can recompute
// the outcome with independent tools. Pure: reads the contract state, nothing else. The
// wallet's `export` builds it from a chain it re-derived; every node serves it too.
//
// One instance per unit of the round's tally: a round without district budgets is one unit;
// with them, each district with a budget is its own unit and `district` 0 the city-wide
// pool. PROJECTS are the unit's feasible proposals (id, cost the tally used, title as name,
// approvals as votes, selected 1 if funded); VOTES every ballot the close counted (those with
// a spending record) with at least one choice in the unit (voter_id: the resident id;
// cumulative ballots with points), ascending by resident id. META names the round, the
// chain, the rule and the block the tally is anchored to, then `extra_meta`.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "civic/contracts/kv.h"
#include "civic/contracts/pabulib.h"
#include "civic/contracts/state.h"
#include "civic/proto/result.h"

namespace civic::contracts {

// Fails (kInvalidArgument) if there is no such round, it is not closed, or it has no such
// unit (the message lists the units there are); kIo if a record does not decode.
[[nodiscard]] proto::Result<PabulibInstance> RoundAsPabulib(
    const BudgetContracts& contracts, const KvView& state, std::uint64_t round_id, std::optional<std::uint32_t> district,
    const std::vector<std::pair<std::string, std::string>>& extra_meta);

}  // namespace civic::contracts
