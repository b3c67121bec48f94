// A budget round as JSON, the answer of GET /v1/rounds/{id} (node/API.md): its constitution,
// proposals with their reviews, and once closed its stored tally. One function, so that the
// API and the audit (civic-wallet audit, which rebuilds the round from its own re-derived
// state and compares it with what a node serves) cannot drift apart.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "civic/contracts/kv.h"
#include "civic/contracts/pabulib.h"
#include "civic/contracts/records.h"
#include "civic/contracts/state.h"
#include "civic/node/ledger.h"
#include "civic/proto/result.h"

namespace civic::node {

// The phase the next block after `tip` would see, at the local clock (as admission checks
// it), or "closed".
std::string RoundPhase(const contracts::RoundRecord& round, const Tip& tip);

// nullopt if there is no such round; an error if a record does not decode.
[[nodiscard]] proto::Result<std::optional<nlohmann::json>> RoundJson(const contracts::BudgetContracts& contracts,
                                                                     const contracts::KvView& state, std::uint64_t round_id,
                                                                     const Tip& tip);

// A Pabulib instance as JSON: {"meta": {...}, "projects": [{project_id, cost, name, votes,
// selected}], "votes": [{voter_id, vote: [project ids], points?}]}. The JSON download of a
// round (GET /v1/rounds/{id}/export.json, civic-wallet export --format json).
nlohmann::json PabulibToJson(const contracts::PabulibInstance& instance);

}  // namespace civic::node
