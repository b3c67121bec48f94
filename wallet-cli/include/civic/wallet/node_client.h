// Talking to a civicd node's HTTP API (node/API.md) from the wallet: one request per
// connection, bounded in time and size. Beast stays inside src/node_client.cc.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "civic/proto/result.h"

namespace civic::wallet {

inline constexpr std::uint64_t kNodeTimeoutMs = 15'000;
inline constexpr std::size_t kNodeReplyBytesMax = 8 * 1024 * 1024;

struct NodeReply {
  unsigned status = 0;
  std::string body;
};

class NodeClient {
 public:
  // `url` is http://HOST:PORT (an IP literal or a name), e.g. http://127.0.0.1:8700.
  [[nodiscard]] static proto::Result<NodeClient> Parse(std::string_view url);

  // kIo if the node cannot be reached or answers nothing within the timeout, or with a body
  // larger than `reply_bytes_max`.
  [[nodiscard]] proto::Result<NodeReply> Get(std::string_view target, std::size_t reply_bytes_max = kNodeReplyBytesMax) const;
  [[nodiscard]] proto::Result<NodeReply> Post(std::string_view target, std::string_view json_body) const;

  const std::string& url() const { return url_; }

 private:
  NodeClient(std::string url, std::string host, std::string port) : url_(std::move(url)), host_(std::move(host)), port_(std::move(port)) {}
  [[nodiscard]] proto::Result<NodeReply> Request(std::string_view method, std::string_view target, std::string_view body,
                                                 std::size_t reply_bytes_max) const;
  std::string url_;
  std::string host_;
  std::string port_;
};


}  // namespace civic::wallet
