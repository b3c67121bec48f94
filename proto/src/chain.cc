#include "civic/proto/chain.h"

namespace civic::proto {

bool ChainId::IsWellFormed(std::string_view text) {
  if (text.empty() || text.size() > kChainIdBytesMax) return false;
  const auto is_alnum = [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); };
  if (!is_alnum(text.front())) return false;
  for (char c : text) {
    if (!is_alnum(c) && c != '-' && c != '.') return false;
  }
  return true;
}

Result<ChainId> ChainId::Parse(std::string_view text) {
  if (!IsWellFormed(text)) {
    return Fail(ErrorCode::kInvalidArgument, "chain id \"" + std::string(text.substr(0, kChainIdBytesMax)) +
                                                 "\" is not 1-48 characters of a-z, 0-9, '-' and '.' starting "
                                                 "with a letter or digit");
  }
  ChainId id;
  id.value_ = std::string(text);
  return id;
}

}  // namespace civic::proto
