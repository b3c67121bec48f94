// civicd's running node: the ledger, the mempool, the consensus engine of this validator
// (none for an observer) and the HTTP API, wired together.
//
// Threads: one core thread owns the consensus engine, its timers, block building and
// commits; the HTTP threads decode and verify transactions, admit them to the mempool and
// answer reads from the ledger. Nothing the core thread does waits for a client.
//
// Order of effects, for one block: the safety record is durable before any signature leaves
// the engine (PersistSigned before the Broadcast it covers); the block and all its effects
// are in one synced write before anything reports it committed; then the mempool is
// rechecked; then, after the commit wait, the next height starts.
//
// A failure the node cannot go on from (the disk refuses a write, a stored record is corrupt,
// the safety record cannot be written) halts it: Wait() returns the error, and civicd exits
// non-zero with it. Nothing is half-written: RocksDB batches are atomic.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>

#include "civic/node/config.h"
#include "civic/node/genesis.h"
#include "civic/proto/ed25519.h"
#include "civic/proto/result.h"

namespace civic::node {

class Node {
 public:
  // Opens the ledger, starts the core thread and the HTTP server. `validator_key` absent:
  // an observer (serves the API, never signs).
  [[nodiscard]] static proto::Result<std::unique_ptr<Node>> Start(const Config& config, const Genesis& genesis,
                                                                   std::optional<proto::Ed25519KeyPair> validator_key);
  virtual ~Node() = default;

  virtual std::uint16_t http_port() const = 0;
  // Stops the HTTP server and the core thread, then closes the ledger. Idempotent.
  virtual void Stop() = 0;
  // Blocks until Stop() or a halt; returns the halt's error, if any.
  [[nodiscard]] virtual proto::Result<void> Wait() = 0;
};

}  // namespace civic::node
