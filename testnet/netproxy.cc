// civic-netproxy LISTEN_PORT TARGET_PORT: one link of a local network (testnet/net), from
// 127.0.0.1:LISTEN_PORT to 127.0.0.1:TARGET_PORT. SIGUSR1 cuts the link (every connection
// through it is closed, and every new one), SIGUSR2 heals it, SIGINT or SIGTERM ends it.
#include <signal.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <string_view>

#include "link_proxy.h"

namespace {

bool ParsePort(std::string_view text, std::uint16_t& port) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), port);
  return error == std::errc() && end == text.data() + text.size() && port != 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::uint16_t listen_port = 0;
  std::uint16_t target_port = 0;
  if (argc != 3 || !ParsePort(argv[1], listen_port) || !ParsePort(argv[2], target_port)) {
    std::fprintf(stderr, "usage: civic-netproxy LISTEN_PORT TARGET_PORT (both on 127.0.0.1, 1-65535)\n");
    return 2;
  }
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGUSR1, SIGUSR2, SIGINT, SIGTERM}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before the proxy's threads start

  civic::testnet::LinkProxy proxy(target_port, listen_port);
  if (!proxy.ok()) {
    std::fprintf(stderr, "civic-netproxy: cannot listen on 127.0.0.1:%u: %s\n", listen_port, std::strerror(errno));
    return 1;
  }
  for (;;) {
    int received = 0;
    sigwait(&signals, &received);
    if (received == SIGUSR1) {
      proxy.Cut();
    } else if (received == SIGUSR2) {
      proxy.Heal();
    } else {
      return 0;
    }
  }
}
