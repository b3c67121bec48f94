#include "civic/wallet/node_json.h"

namespace civic::wallet {

std::optional<nlohmann::json> GetJson(const NodeClient& node, const std::string& target, std::string& error,
                                      unsigned* status) {
  proto::Result<NodeReply> reply = node.Get(target);
  if (!reply) {
    error = reply.error().message;
    return std::nullopt;
  }
  if (status != nullptr) *status = reply->status;
  nlohmann::json body = nlohmann::json::parse(reply->body, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) {
    error = "the node answered " + target + " with something that is not JSON";
    return std::nullopt;
  }
  return body;
}

}  // namespace civic::wallet
