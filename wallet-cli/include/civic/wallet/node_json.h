// Reading a node's JSON answers (node/API.md) from the wallet.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "civic/wallet/node_client.h"

namespace civic::wallet {

// GET `target`, parsed as JSON; on failure (the node unreachable, or an answer that is not
// JSON) `error` says why. `status` gets the HTTP status.
std::optional<nlohmann::json> GetJson(const NodeClient& node, const std::string& target, std::string& error,
                                      unsigned* status = nullptr);

}  // namespace civic::wallet
