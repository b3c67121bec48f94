// The HTTP + JSON API, version 1 (documented in node/API.md). It turns an HttpRequest into an
// HttpResponse; it holds no Beast or Asio.
//
// Every error is {"error": {"code": "...", "message": "..."}} with a 4xx or 5xx status; a
// request that is refused changes nothing.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "civic/node/executor.h"
#include "civic/node/genesis.h"
#include "civic/node/http_server.h"
#include "civic/node/ledger.h"
#include "civic/node/mempool.h"
#include "civic/node/once_cache.h"
#include "civic/node/p2p.h"
#include "civic/node/tally_page.h"
#include "civic/node/tx_tracker.h"

namespace civic::node {

// Transactions per batch submission.
inline constexpr std::size_t kBatchTxsMax = 1000;

struct ApiContext {
  ApiContext() = default;
  // Moves every field (http_stats is atomic, so it is spelled out): a field added here must
  // be added there too (api.cc), or it arrives empty.
  ApiContext(ApiContext&& other) noexcept;
  const Genesis* genesis = nullptr;
  Ledger* ledger = nullptr;
  Mempool* mempool = nullptr;
  const contracts::BudgetContracts* contracts = nullptr;
  TxTracker* tracker = nullptr;
  std::atomic<const HttpServerStats*> http_stats{nullptr};  // set once the server runs
  bool validator = false;
  std::string node_key_hex;           // the validator's key, empty for an observer
  bool forwards_txs = false;          // an observer with peers: takes transactions and gossips them
  // Each admitted transaction as received: wakes the core thread (new work for a block) and
  // gossips them to peers.
  std::function<void(std::vector<proto::Bytes>)> on_admitted;
  // The connected peers, for /v1/status (empty without a peer network).
  std::function<std::vector<PeerInfo>()> peers;
  std::function<std::uint64_t()> consensus_round;  // the engine's round at its height
  // A validator: whether its key validates the next block or the one after (a key the clerks
  // have not added yet, or have removed, follows the chain without signing).
  std::function<bool()> in_validator_set;
  // A validator: why it signs nothing for now (its safety record is older than what its key
  // signed; consensus/safety.h, "Restored records"), empty while it signs.
  std::function<std::string()> signing_suspended;
};

// Serves node/API.md under /v1, /metrics, and the public tally page (tally_page.h) at / and
// /rounds/{id}.
class Api {
 public:
  explicit Api(ApiContext context);
  ~Api();
  HttpResponse Handle(const HttpRequest& request);
  ApiContext& context() { return context_; }

 private:
  ApiContext context_;
  std::unique_ptr<TallyPage> page_;  // with a ledger, genesis and contracts
  // A closed round's export never changes: built once per (round, unit, is Pabulib).
  OnceCache<std::tuple<std::uint64_t, std::uint64_t, bool>, HttpResponse> exports_{64};
};

}  // namespace civic::node
