// A small HTTP/1.1 server on Boost.Beast, kept behind this header so that Beast and Asio
// compile in one file only (src/http_server.cc).
//
// It knows nothing of the ledger: it parses requests within limits, calls a handler, and
// writes its response. Everything a client can get wrong at the HTTP level (a header or
// body over the limit, a malformed request line, too many connections, a client that stops
// sending) ends in a 4xx/5xx JSON error or a closed connection, never in a crash or a stall
// of the other clients.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "civic/proto/result.h"

namespace civic::node {

struct HttpRequest {
  std::string method;  // "GET", "POST", ...
  std::string target;  // "/v1/tx/abcd?x=1", as sent
  std::string content_type;
  std::string body;
  std::string remote;  // "127.0.0.1:51234"
};

struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, e.g. Retry-After
};

// {"error": {"code": code, "message": message}} with `status`.
HttpResponse JsonError(unsigned status, std::string_view code, std::string_view message);

struct HttpLimits {
  std::uint32_t body_bytes_max = 1024 * 1024;
  std::uint32_t header_bytes_max = 8 * 1024;
  std::uint32_t connections_max = 512;
  std::uint64_t idle_timeout_ms = 30000;  // a connection silent (or a request unfinished) this long is closed
  std::uint32_t threads = 2;
};

struct HttpServerStats {
  std::atomic<std::uint64_t> connections_accepted{0};
  std::atomic<std::uint64_t> connections_refused{0};  // over connections_max, with nobody to evict
  std::atomic<std::uint64_t> connections_evicted{0};  // closed at the limit to make room: the longest waiting
  std::atomic<std::uint64_t> connections_open{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> requests_rejected{0};  // answered 4xx/5xx by the server itself (limits, parse errors)
  std::atomic<std::uint64_t> idle_timeouts{0};
};

// Called on one of the server's threads, possibly on several at once.
using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  // Binds and listens (error if the address is bad or taken), then serves on `limits.threads`
  // threads until Stop() or destruction.
  [[nodiscard]] static proto::Result<std::unique_ptr<HttpServer>> Start(const std::string& address, std::uint16_t port,
                                                                         const HttpLimits& limits, HttpHandler handler);
  virtual ~HttpServer() = default;
  virtual std::uint16_t port() const = 0;  // the bound port (useful when asked for port 0)
  // Stops accepting, closes connections, joins the threads. Idempotent.
  virtual void Stop() = 0;
  virtual const HttpServerStats& stats() const = 0;
};

}  // namespace civic::node
