// HttpServer on Boost.Beast. Beast and Asio are included here and nowhere else in civic_node's
// headers.
//
// Shape: one io_context run by `limits.threads` threads. The acceptor lives on one strand and
// each connection (a Session) on its own, so a session's state is only ever touched by one
// thread at a time and needs no lock. The handler runs on the session's strand.
//
// Invariants:
//  - stats.connections_open counts the admitted Sessions alive. Admission is decided on the
//    acceptor's strand only, so the check-then-increment cannot race. At connections_max, a
//    newcomer takes the place of the connection that has been waiting longest for (the rest
//    of) a request: silent and trickling connections cannot lock others out, while one whose
//    request is being handled or answered is not chosen. The evicted session counts as open
//    until its strand has closed it (`evicting`), and evictions in flight are bounded by
//    connections_max, so connections_open never exceeds twice connections_max. With nobody to
//    evict (every connection busy), the newcomer gets a 503.
//  - every socket operation of a session runs under a deadline (tcp_stream::expires_after), so
//    no client holds a session longer than idle_timeout per request, plus the linger.
//  - once Stop() has set `stopping` under the registry lock, no session registers any more, so
//    closing every registered session leaves the io_context without work and run() returns.
//
// Counters: connections_accepted and connections_refused are disjoint (a refused connection gets
// the 503 and is not "accepted"); requests counts requests read in full and handed to the
// handler; requests_rejected counts the error responses the server writes itself (400, 413, 431,
// and 500 for a handler that threw or returned a response that cannot be written).
#include "civic/node/http_server.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <map>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "civic/proto/assert.h"

namespace civic::node {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using std::chrono::milliseconds;
using proto::ErrorCode;

constexpr std::uint32_t kThreadsMax = 64;
constexpr std::uint64_t kIdleTimeoutMsMax = 24ULL * 60 * 60 * 1000;
// After a final response we stop sending and read (and drop) what the client still sends, for at
// most this long: closing with unread input makes the kernel send a reset, which can destroy the
// response before the client has read it (the "lingering close" of RFC 9112, section 9.6).
constexpr milliseconds kLingerMax{1000};
// accept() fails with EMFILE while the process is out of descriptors; retrying at once would spin.
constexpr milliseconds kAcceptRetryDelay{50};

std::string FormatEndpoint(const tcp::endpoint& endpoint) {
  const std::string host = endpoint.address().to_string();
  return (endpoint.address().is_v6() ? "[" + host + "]" : host) + ":" + std::to_string(endpoint.port());
}

// A header the handler returns is copied onto the wire as is: a CR or LF in it would let text
// from a request split the response.
bool Writable(std::string_view text) { return text.find_first_of(std::string_view("\r\n\0", 3)) == text.npos; }

class Session;

// What the acceptor and the sessions share. HttpServerImpl owns it and joins its threads, which
// destroy the last sessions, before it goes.
struct Shared {
  Shared(const HttpLimits& limits_in, HttpHandler handler_in) : limits(limits_in), handler(std::move(handler_in)) {}

  const HttpLimits limits;
  const HttpHandler handler;
  HttpServerStats stats;
  std::atomic<std::uint32_t> refusing{0};  // refused connections still writing their 503
  std::atomic<std::uint32_t> evicting{0};  // evicted sessions not yet closed and destroyed
  std::mutex mutex;                        // guards the two below
  bool stopping = false;
  std::map<std::uint64_t, std::weak_ptr<Session>> sessions;
};

milliseconds IdleTimeout(const HttpLimits& limits) { return milliseconds(static_cast<std::int64_t>(limits.idle_timeout_ms)); }

enum class Admission : std::uint8_t { kServe, kRefuse };
enum class Then : std::uint8_t { kReadNext, kClose };  // after writing a response
enum class Body : std::uint8_t { kSend, kOmit };       // kOmit: the answer to a HEAD

// The wire form of `out`, or nullopt if it cannot be written (a status outside 200..599, a CR or
// LF in a header): that is a bug in the handler, answered with a 500 rather than an abort.
std::optional<http::response<http::string_body>> Build(HttpResponse out, unsigned version, Then then, Body body) {
  if (out.status < 200 || out.status > 599 || !Writable(out.content_type)) return std::nullopt;
  try {
    http::response<http::string_body> response;
    response.version(version);
    response.result(out.status);
    for (const auto& [name, value] : out.headers) {
      if (name.empty() || !Writable(name) || !Writable(value)) return std::nullopt;
      // Framing is ours: Connection is decided by keep_alive() below, the length by the body.
      if (beast::iequals(name, "connection") || beast::iequals(name, "content-length") ||
          beast::iequals(name, "transfer-encoding")) {
        continue;
      }
      response.insert(name, value);
    }
    response.set(http::field::content_type, out.content_type);
    response.set(http::field::cache_control, "no-store");
    response.set("X-Content-Type-Options", "nosniff");  // a browser takes every answer as the type it says
    response.content_length(out.body.size());  // for a HEAD too: the length a GET would get
    response.keep_alive(then == Then::kReadNext);
    if (body == Body::kSend) response.body() = std::move(out.body);
    return response;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool AsksToClose(const HttpResponse& out) {
  return std::any_of(out.headers.begin(), out.headers.end(), [](const auto& header) {
    return beast::iequals(header.first, "connection") && beast::iequals(header.second, "close");
  });
}

// One connection. Every member function runs on the session's strand, except Start and Close.
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(Shared& shared, tcp::socket socket, Admission admission, std::uint64_t id)
      : shared_(shared), stream_(std::move(socket)), admission_(admission), id_(id) {
    if (admission_ == Admission::kServe) {
      ++shared_.stats.connections_open;
      ++shared_.stats.connections_accepted;
    } else {
      ++shared_.refusing;
      ++shared_.stats.connections_refused;
    }
    beast::error_code ec;
    const tcp::endpoint remote = stream_.socket().remote_endpoint(ec);
    if (!ec) remote_ = FormatEndpoint(remote);
    // Responses are written whole; Nagle would hold back a pipelined second one for an ACK.
    stream_.socket().set_option(tcp::no_delay(true), ec);
  }

  ~Session() {
    {
      std::lock_guard lock(shared_.mutex);
      shared_.sessions.erase(id_);
    }
    if (evicted_.load()) --shared_.evicting;
    if (admission_ == Admission::kServe) {
      --shared_.stats.connections_open;
    } else {
      --shared_.refusing;
    }
  }

  std::uint64_t id() const { return id_; }

  // When this session began waiting for its current request (steady clock, ns), or 0 if it is
  // not waiting for one (being handled or answered, refused, or already evicted). Any thread.
  std::int64_t waiting_since() const { return evicted_.load() ? 0 : waiting_since_.load(); }

  // Makes room for a newcomer. Any thread; once. On the session's strand: if it is still
  // waiting for a request, it closes; a request already read is answered in full first, with
  // Connection: close, and one read but not yet handed to the handler is never handled (the
  // client sees the connection close, and knows nothing was done).
  void Evict() {
    if (evicted_.exchange(true)) return;
    ++shared_.evicting;
    ++shared_.stats.connections_evicted;
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (self->waiting_since_.load() != 0) self->stream_.close();
    });
  }

  void Start() {
    net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
      if (self->admission_ == Admission::kServe) return self->ReadRequest();
      HttpResponse busy = JsonError(503, "busy", "too many open connections; retry shortly");
      busy.headers.emplace_back("Retry-After", "1");
      self->Write(std::move(busy), /*version=*/11, Then::kClose, Body::kSend);
    });
  }

  // From Stop(), on any thread. Pending operations end with operation_aborted, later ones fail.
  void Close() {
    net::post(stream_.get_executor(), [self = shared_from_this()] { self->stream_.close(); });
  }

 private:
  void ReadRequest() {
    parser_.emplace();  // a fresh parser per request: its limits count from zero again
    parser_->header_limit(shared_.limits.header_bytes_max);
    parser_->body_limit(shared_.limits.body_bytes_max);
    // One deadline for the whole request, not per read: a client trickling one byte a second
    // (slowloris) is cut off as surely as a silent one.
    stream_.expires_after(IdleTimeout(shared_.limits));
    waiting_since_ = std::max<std::int64_t>(1, std::chrono::steady_clock::now().time_since_epoch().count());
    http::async_read(stream_, buffer_, *parser_, beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t /*bytes*/) {
    waiting_since_ = 0;
    if (evicted_.load()) return;  // its place went to a newcomer while this was read
    if (ec == beast::error::timeout) {  // tcp_stream has already closed the socket
      ++shared_.stats.idle_timeouts;
      return;
    }
    if (ec == http::error::header_limit) {
      return Reject(JsonError(431, "header_too_large",
                              "request line and headers exceed " + std::to_string(shared_.limits.header_bytes_max) +
                                  " bytes"));
    }
    if (ec == http::error::body_limit) {
      return Reject(JsonError(413, "body_too_large",
                              "request body exceeds " + std::to_string(shared_.limits.body_bytes_max) + " bytes"));
    }
    // The client went away, between requests or in the middle of one: nobody to answer.
    if (ec == http::error::end_of_stream || ec == http::error::partial_message) return;
    if (ec && ec.category() == http::make_error_code(http::error::bad_method).category()) {
      return Reject(JsonError(400, "malformed", "not a valid HTTP/1.1 request"));
    }
    if (ec) return;  // reset by the client, or closed by Stop()
    Answer(parser_->release());
  }

  void Answer(http::request<http::string_body> request) {
    ++shared_.stats.requests;
    const bool head = request.method() == http::verb::head;
    HttpRequest in;
    in.method = head ? "GET" : std::string(request.method_string());  // HEAD is a GET without the body
    in.target = std::string(request.target());
    in.content_type = std::string(request[http::field::content_type]);
    in.body = std::move(request.body());
    in.remote = remote_;
    HttpResponse out;
    try {
      out = shared_.handler(in);
    } catch (...) {
      // Its text may name files or internals; the client learns only that it failed.
      ++shared_.stats.requests_rejected;
      out = JsonError(500, "internal", "the server failed to handle this request");
    }
    const Then then = request.keep_alive() ? Then::kReadNext : Then::kClose;
    Write(std::move(out), request.version(), then, head ? Body::kOmit : Body::kSend);
  }

  // A request the server answers itself. The connection closes after: the rest of the request
  // is unread, so the stream is no longer at a message boundary.
  void Reject(HttpResponse out) {
    ++shared_.stats.requests_rejected;
    Write(std::move(out), /*version=*/11, Then::kClose, Body::kSend);
  }

  void Write(HttpResponse out, unsigned version, Then then, Body body) {
    if (AsksToClose(out) || evicted_.load()) then = Then::kClose;
    std::optional<http::response<http::string_body>> built = Build(std::move(out), version, then, body);
    if (!built) {
      ++shared_.stats.requests_rejected;
      built = Build(JsonError(500, "internal", "the server produced an invalid response"), version, then, body);
      CIVIC_ASSERT(built.has_value());
    }
    response_ = std::move(*built);
    stream_.expires_after(IdleTimeout(shared_.limits));  // a client that does not read is cut off too
    http::async_write(stream_, response_, beast::bind_front_handler(&Session::OnWrite, shared_from_this(), then));
  }

  void OnWrite(Then then, beast::error_code ec, std::size_t /*bytes*/) {
    if (ec) return;
    if (then == Then::kReadNext && !evicted_.load()) return ReadRequest();
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::min(IdleTimeout(shared_.limits), kLingerMax));
    Drain();
  }

  // Reads and drops input until the client closes, an error, or the linger deadline.
  void Drain() {
    stream_.async_read_some(net::buffer(drain_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
      if (!ec) self->Drain();
    });
  }

  Shared& shared_;
  beast::tcp_stream stream_;
  const Admission admission_;
  const std::uint64_t id_;
  std::atomic<std::int64_t> waiting_since_{0};  // see waiting_since()
  std::atomic<bool> evicted_{false};
  std::string remote_;
  beast::flat_buffer buffer_;  // may hold the start of a pipelined next request
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::string_body> response_;  // kept alive until its write completes
  std::array<char, 4096> drain_{};
};

class HttpServerImpl final : public HttpServer {
 public:
  HttpServerImpl(const HttpLimits& limits, HttpHandler handler)
      : shared_(limits, std::move(handler)),
        io_context_(static_cast<int>(limits.threads)),
        acceptor_(net::make_strand(io_context_)),
        accept_retry_timer_(acceptor_.get_executor()) {}

  ~HttpServerImpl() override { Stop(); }

  [[nodiscard]] proto::Result<void> Listen(const tcp::endpoint& endpoint) {
    beast::error_code ec;
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (!ec) port_ = acceptor_.local_endpoint(ec).port();
    if (ec) return proto::Fail(ErrorCode::kIo, "cannot listen on " + FormatEndpoint(endpoint) + ": " + ec.message());
    return {};
  }

  // REQUIRES: Listen() succeeded. May throw std::system_error if a thread cannot start.
  void Run() {
    Accept();
    for (std::uint32_t i = 0; i < shared_.limits.threads; ++i) threads_.emplace_back([this] { io_context_.run(); });
  }

  std::uint16_t port() const override { return port_; }
  const HttpServerStats& stats() const override { return shared_.stats; }

  // REQUIRES: not called from a handler (it would join its own thread).
  void Stop() override {
    std::lock_guard stop_lock(stop_mutex_);
    if (stopped_) return;
    stopped_ = true;
    for (const std::thread& thread : threads_) CIVIC_ASSERT(thread.get_id() != std::this_thread::get_id());
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ignored;
      acceptor_.close(ignored);
      accept_retry_timer_.cancel();
    });
    std::vector<std::shared_ptr<Session>> open;
    {
      std::lock_guard lock(shared_.mutex);
      shared_.stopping = true;
      for (const auto& [id, weak] : shared_.sessions) {
        if (std::shared_ptr<Session> session = weak.lock()) open.push_back(std::move(session));
      }
    }
    // Outside the lock: the last reference to a session may go here, and ~Session takes it.
    for (const std::shared_ptr<Session>& session : open) session->Close();
    open.clear();
    for (std::thread& thread : threads_) thread.join();
    threads_.clear();
  }

 private:
  void Accept() {
    acceptor_.async_accept(net::make_strand(io_context_), beast::bind_front_handler(&HttpServerImpl::OnAccept, this));
  }

  void OnAccept(beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_.is_open()) return;  // Stop()
    if (ec) {  // out of descriptors, or the connection died in the queue: try again shortly
      accept_retry_timer_.expires_after(kAcceptRetryDelay);
      accept_retry_timer_.async_wait([this](beast::error_code wait_ec) {
        if (!wait_ec && acceptor_.is_open()) Accept();
      });
      return;
    }
    Admit(std::move(socket));
    Accept();
  }

  // At the limit: evicts the session that has waited longest for a request, if there is one.
  bool MakeRoom() {
    if (shared_.evicting.load() >= shared_.limits.connections_max) return false;
    std::vector<std::shared_ptr<Session>> alive;
    {
      std::lock_guard lock(shared_.mutex);
      alive.reserve(shared_.sessions.size());
      for (const auto& [id, weak] : shared_.sessions) {
        if (std::shared_ptr<Session> session = weak.lock()) alive.push_back(std::move(session));
      }
    }
    // Outside the lock from here: the last reference to a session may go with `alive`, and
    // ~Session takes the lock.
    Session* oldest = nullptr;
    std::int64_t oldest_since = 0;
    for (const std::shared_ptr<Session>& session : alive) {
      const std::int64_t since = session->waiting_since();
      if (since != 0 && (oldest == nullptr || since < oldest_since)) {
        oldest = session.get();
        oldest_since = since;
      }
    }
    if (oldest == nullptr) return false;
    oldest->Evict();
    return true;
  }

  void Admit(tcp::socket socket) {
    Admission admission = Admission::kServe;
    if (shared_.stats.connections_open.load() - shared_.evicting.load() >= shared_.limits.connections_max && !MakeRoom()) {
      // The 503s in flight are bounded too; past that a connection is closed unanswered.
      if (shared_.refusing.load() >= shared_.limits.connections_max) {
        ++shared_.stats.connections_refused;
        return;
      }
      admission = Admission::kRefuse;
    }
    const auto session = std::make_shared<Session>(shared_, std::move(socket), admission, next_session_id_++);
    {
      std::lock_guard lock(shared_.mutex);
      if (shared_.stopping) return;  // Stop() has begun and would not see this one
      shared_.sessions.emplace(session->id(), session);
    }
    session->Start();
    CIVIC_ASSERT(shared_.stats.connections_open.load() <= 2ULL * shared_.limits.connections_max);
  }

  // Declared before io_context_: sessions that never ran are destroyed with it, and use shared_.
  Shared shared_;
  net::io_context io_context_;
  tcp::acceptor acceptor_;                 // on its own strand
  net::steady_timer accept_retry_timer_;  // on the acceptor's strand
  std::uint16_t port_ = 0;
  std::uint64_t next_session_id_ = 0;     // acceptor strand only
  std::vector<std::thread> threads_;
  std::mutex stop_mutex_;  // guards stopped_ and threads_ against two concurrent Stop() calls
  bool stopped_ = false;
};

}  // namespace

proto::Result<std::unique_ptr<HttpServer>> HttpServer::Start(const std::string& address, std::uint16_t port,
                                                             const HttpLimits& limits, HttpHandler handler) {
  if (!handler) return proto::Fail(ErrorCode::kInvalidArgument, "the HTTP server needs a handler");
  if (limits.threads == 0 || limits.threads > kThreadsMax) {
    return proto::Fail(ErrorCode::kInvalidArgument, "http threads is " + std::to_string(limits.threads) +
                                                        "; it must be 1.." + std::to_string(kThreadsMax));
  }
  if (limits.connections_max == 0) {
    return proto::Fail(ErrorCode::kInvalidArgument, "http connections_max must be at least 1");
  }
  if (limits.idle_timeout_ms == 0 || limits.idle_timeout_ms > kIdleTimeoutMsMax) {
    return proto::Fail(ErrorCode::kInvalidArgument, "http idle_timeout_ms is " + std::to_string(limits.idle_timeout_ms) +
                                                        "; it must be 1.." + std::to_string(kIdleTimeoutMsMax));
  }
  beast::error_code ec;
  const net::ip::address ip = net::ip::make_address(address, ec);
  if (ec) {
    return proto::Fail(ErrorCode::kInvalidArgument,
                       "listen address \"" + address + "\" is not an IPv4 or IPv6 literal (e.g. 127.0.0.1 or ::1)");
  }
  try {
    auto server = std::make_unique<HttpServerImpl>(limits, std::move(handler));
    if (proto::Result<void> listening = server->Listen(tcp::endpoint(ip, port)); !listening) {
      return tl::unexpected(listening.error());
    }
    server->Run();  // if it throws, ~HttpServerImpl stops the threads already started
    return std::unique_ptr<HttpServer>(std::move(server));
  } catch (const std::exception& e) {
    return proto::Fail(ErrorCode::kIo, std::string("cannot start the HTTP server: ") + e.what());
  }
}

}  // namespace civic::node
