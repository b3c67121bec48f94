// A TCP proxy for one network link, that a test or testnet/net can cut and heal: while cut,
// it closes every connection through it and every new one at once (a partition, as TCP
// sees one). Threads and blocking sockets on loopback; for tests and local networks only
// (tests/node/network_test.cc, and civic-netproxy, testnet/netproxy.cc).
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <list>
#include <mutex>
#include <thread>

namespace civic::testnet {

class LinkProxy {
 public:
  // Listens on 127.0.0.1:listen_port (0: any free port, see port()) and forwards to
  // 127.0.0.1:target_port. ok() says whether it could listen.
  explicit LinkProxy(std::uint16_t target_port, std::uint16_t listen_port = 0) : target_port_(target_port) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int one = 1;
    ::setsockopt(listener_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in address = Loopback(listen_port);
    if (::bind(listener_, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 || ::listen(listener_, 64) != 0) {
      return;
    }
    socklen_t size = sizeof address;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&address), &size);
    port_ = ntohs(address.sin_port);
    acceptor_ = std::thread([this] { AcceptLoop(); });
  }
  ~LinkProxy() {
    stop_ = true;
    if (acceptor_.joinable()) acceptor_.join();
    ::close(listener_);
    std::lock_guard lock(mutex_);
    for (std::thread& pump : pumps_) pump.join();
  }
  LinkProxy(const LinkProxy&) = delete;
  LinkProxy& operator=(const LinkProxy&) = delete;

  bool ok() const { return port_ != 0; }
  std::uint16_t port() const { return port_; }
  void Cut() { cut_ = true; }
  void Heal() { cut_ = false; }

 private:
  static sockaddr_in Loopback(std::uint16_t port) {
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    address.sin_port = htons(port);
    return address;
  }

  void AcceptLoop() {
    while (!stop_) {
      pollfd waiting{listener_, POLLIN, 0};
      if (::poll(&waiting, 1, 100) <= 0) continue;
      const int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      if (cut_) {
        ::close(client);
        continue;
      }
      const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      sockaddr_in target = Loopback(target_port_);
      if (::connect(server, reinterpret_cast<sockaddr*>(&target), sizeof target) != 0) {
        ::close(server);
        ::close(client);
        continue;
      }
      std::lock_guard lock(mutex_);
      pumps_.emplace_back([this, client, server] { Pump(client, server); });
    }
  }

  // Copies bytes both ways until either side closes, the link is cut, or the proxy stops.
  // Sends time out every 100 ms, so a cut or a stop is seen even when the far end (a paused
  // process) takes nothing.
  void Pump(int a, int b) {
    const timeval send_timeout{0, 100'000};
    for (int fd : {a, b}) ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
    char buffer[65536];
    while (!stop_ && !cut_) {
      pollfd fds[2] = {{a, POLLIN, 0}, {b, POLLIN, 0}};
      if (::poll(fds, 2, 50) <= 0) continue;
      bool closed = false;
      for (int i = 0; i < 2 && !closed; ++i) {
        if ((fds[i].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
        const ssize_t got = ::recv(fds[i].fd, buffer, sizeof buffer, 0);
        if (got <= 0) {
          closed = true;
          break;
        }
        const int to = i == 0 ? b : a;
        ssize_t sent = 0;
        while (sent < got) {
          const ssize_t n = ::send(to, buffer + sent, static_cast<std::size_t>(got - sent), MSG_NOSIGNAL);
          if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && !stop_ && !cut_) continue;
          if (n <= 0) {
            closed = true;
            break;
          }
          sent += n;
        }
      }
      if (closed) break;
    }
    ::shutdown(a, SHUT_RDWR);
    ::shutdown(b, SHUT_RDWR);
    ::close(a);
    ::close(b);
  }

  std::uint16_t target_port_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<bool> cut_{false};
  std::thread acceptor_;
  std::mutex mutex_;
  std::list<std::thread> pumps_;
};

}  // namespace civic::testnet
