// civicd's running node: the ledger, the mempool, the consensus engine of this validator
// (none for an observer), the HTTP API and the peer network, wired together.
//
// Threads: one core thread owns the consensus engine, its timers, block building, block
// sync and commits; the HTTP threads decode and verify transactions, admit them to the
// mempool and answer reads from the ledger; the network thread (p2p.h) reads and writes
// peers; one worker thread admits transactions gossiped by peers and serves block requests.
// Nothing the core thread does waits for a client or a peer.
//
// With peers: proposals travel with their blocks, votes and transactions are gossiped to
// every peer (validators are all connected to each other; what an observer forwards is
// passed on), every commit is announced with a Status message, and a node whose peers report
// a higher tip fetches the blocks it misses with their commit certificates, checks each
// certificate against the validator set, executes the block, and commits it (block sync).
// A node that has lost messages sends its own proposal and votes of the height again when a
// round of its times out and when a peer connects.
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
  // Opens the ledger, starts the core thread, the HTTP server and (when the config has a
  // [p2p] section) the peer network. `validator_key` absent: an observer (serves the API,
  // never signs). `node_key`: the key this node proves to its peers (p2p.h), needed with
  // a [p2p] section; a validator usually uses its validator key.
  [[nodiscard]] static proto::Result<std::unique_ptr<Node>> Start(const Config& config, const Genesis& genesis,
                                                                   std::optional<proto::Ed25519KeyPair> validator_key,
                                                                   std::optional<proto::Ed25519KeyPair> node_key);
  virtual ~Node() = default;

  virtual std::uint16_t http_port() const = 0;
  virtual std::uint16_t p2p_port() const = 0;  // 0 without a p2p listener
  // Stops the HTTP server and the core thread, then closes the ledger. Idempotent.
  virtual void Stop() = 0;
  // Blocks until Stop() or a halt; returns the halt's error, if any.
  [[nodiscard]] virtual proto::Result<void> Wait() = 0;
};

}  // namespace civic::node
