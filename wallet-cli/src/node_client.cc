#include "civic/wallet/node_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <exception>
#include <utility>

namespace civic::wallet {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

}  // namespace

proto::Result<NodeClient> NodeClient::Parse(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  const auto bad = [&] {
    return proto::Fail(proto::ErrorCode::kInvalidArgument,
                       "node address \"" + std::string(url) + "\" is not http://HOST:PORT (e.g. http://127.0.0.1:8700)");
  };
  if (url.substr(0, kScheme.size()) != kScheme) return bad();
  std::string_view rest = url.substr(kScheme.size());
  if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  const std::size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 >= rest.size()) return bad();
  std::string host(rest.substr(0, colon));
  const std::string port(rest.substr(colon + 1));
  if (port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5) return bad();
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  return NodeClient(std::string(url), std::move(host), port);
}

proto::Result<NodeReply> NodeClient::Get(std::string_view target, std::size_t reply_bytes_max) const {
  return Request("GET", target, {}, reply_bytes_max);
}

proto::Result<NodeReply> NodeClient::Post(std::string_view target, std::string_view json_body) const {
  return Request("POST", target, json_body, kNodeReplyBytesMax);
}

proto::Result<NodeReply> NodeClient::Request(std::string_view method, std::string_view target, std::string_view body,
                                             std::size_t reply_bytes_max) const {
  try {
    asio::io_context context;
    asio::ip::tcp::resolver resolver(context);
    beast::tcp_stream stream(context);
    stream.expires_after(std::chrono::milliseconds(kNodeTimeoutMs));
    stream.connect(resolver.resolve(host_, port_));
    http::request<http::string_body> request{http::string_to_verb(std::string(method)), std::string(target), 11};
    request.set(http::field::host, host_);
    request.set(http::field::user_agent, "civic-wallet");
    if (method == "POST") {
      request.set(http::field::content_type, "application/json");
      request.body() = std::string(body);
      request.prepare_payload();
    }
    http::write(stream, request);
    beast::flat_buffer buffer;
    http::response_parser<http::string_body> parser;
    parser.body_limit(reply_bytes_max);
    http::read(stream, buffer, parser);
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    return NodeReply{parser.get().result_int(), parser.get().body()};
  } catch (const std::exception& error) {
    return proto::Fail(proto::ErrorCode::kIo, "cannot talk to the node at " + url_ + ": " + error.what() +
                                                  " (is civicd running there?)");
  }
}

}  // namespace civic::wallet
