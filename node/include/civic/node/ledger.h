// The ledger on disk: one RocksDB database with a column family per kind of record.
//
//   meta     "genesis" -> genesis hash (a data directory serves one genesis only)
//            "tip"     -> Tip: last committed height, its block hash and time, and the state
//                         commitment (app_hash.h) after it
//   blocks   height(u64be) -> encoded proto::Block
//   certs    height(u64be) -> encoded proto::CommitCertificate for that block
//   txids    height(u64be) -> the block's transaction ids, 32 bytes each, in block order
//   txindex  tx id(32)     -> height(u64be) || index(u32be)
//   state    contract key  -> contract value (contracts/state.h documents the keys)
//   safety   "last-signed" -> the consensus safety record (consensus/safety.h)
//            "proposal"    -> the last block this validator proposed (encoded proto::Block), so
//                             that after a restart it proposes the very block it signed
//                             before, not a new one its safety record would refuse to sign
//            "proposal-signed" -> the signed proposal message for it
//
// Invariants:
//   - A block, its certificate, its index entries, every state change it caused and the new
//     tip go in one WriteBatch written with sync=true (WriteOptions::sync: fsync of the WAL
//     before Write returns). A block is acknowledged (status "committed") only after that.
//     So after any crash the database holds every block up to the tip and the state after
//     exactly the tip: recovery is opening the database, with no repair step.
//   - The safety record is written with sync=true too, before any signature it allows leaves
//     the process. RocksDB renames no files of ours into place, so there is no directory to
//     fsync (cometbft issue 6031 was a renamed file whose directory was never synced).
//   - state and tip.commitment agree: the commitment is updated from the same changes that
//     are written (CommitBlock), and a full recomputation (RecomputeCommitment) must match.
//
// Thread rules: reads may run on any thread at any time; CommitBlock and WriteSafety are
// called from one thread (the node's core thread).
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <vector>

#include "civic/consensus/safety.h"
#include "civic/contracts/kv.h"
#include "civic/node/app_hash.h"
#include "civic/node/genesis.h"
#include "civic/proto/block.h"
#include "civic/proto/result.h"
#include "civic/proto/vote.h"

namespace civic::node {

struct TxLocation {
  std::uint64_t height = 0;
  std::uint32_t index = 0;
};

struct Tip {
  std::uint64_t height = 0;          // 0: nothing but the genesis state
  proto::Hash32 block_hash;          // zero at height 0
  std::uint64_t time_unix_ms = 0;    // the genesis time at height 0
};

// What CommitBlock writes. `state_changes` are the block's writes over the state at the tip
// (a WriteBuffer's pending_writes()).
struct BlockWrite {
  const proto::Block* block = nullptr;
  proto::Hash32 block_hash;
  const proto::CommitCertificate* certificate = nullptr;
  const std::vector<proto::Hash32>* tx_ids = nullptr;
  const contracts::WriteBuffer::Pending* state_changes = nullptr;
};

enum class OpenMode : std::uint8_t { kReadWrite, kReadOnly };

class Ledger {
 public:
  // Opens (creating if needed) the database in `dir`. A new database gets the genesis state
  // (contracts InitGenesis) at height 0 in one synced batch. An existing one must have been
  // made for the same genesis (else an error naming both hashes). kReadOnly never writes and
  // fails on a directory with no ledger.
  [[nodiscard]] static proto::Result<std::unique_ptr<Ledger>> Open(const std::filesystem::path& dir,
                                                                   const Genesis& genesis, OpenMode mode);
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  Tip tip() const;
  const StateCommitment& commitment() const;  // after the tip; core thread only
  proto::Hash32 app_hash() const;             // commitment().Digest(), cached; any thread

  [[nodiscard]] proto::Result<std::optional<proto::Block>> BlockAt(std::uint64_t height) const;
  [[nodiscard]] proto::Result<std::optional<proto::CommitCertificate>> CertificateAt(std::uint64_t height) const;
  [[nodiscard]] proto::Result<std::vector<proto::Hash32>> TxIdsAt(std::uint64_t height) const;
  [[nodiscard]] proto::Result<std::optional<TxLocation>> FindTx(const proto::Hash32& id) const;

  // The committed state at the tip, read straight from the database (no snapshot: only the
  // core thread, which is the only writer, should use it). Put and Delete on it abort.
  contracts::KvView& state() const;
  // A consistent view of the state as of now; later commits do not show through. Read-only:
  // Put and Delete on it abort (write through a WriteBuffer over it).
  std::unique_ptr<contracts::KvView> StateSnapshot() const;

  // Writes the block (see the invariants above). REQUIRES: block height is tip + 1 and its
  // previous hash is the tip's. Updates tip() and commitment() only once the write succeeded.
  [[nodiscard]] proto::Result<void> CommitBlock(const BlockWrite& write);

  // Every write from now on first checks that the disk holding the ledger has at least
  // `bytes` free, and fails (kIo, naming node.disk_free_min_mb) without writing if not: the
  // RocksDB of Debian 12 aborts the process on a write that runs out of space, so the node
  // stops before that. 0: no check.
  void SetFreeSpaceFloor(std::uint64_t bytes);
  // That check, on its own (at start).
  [[nodiscard]] proto::Result<void> CheckFreeSpace() const;

  // Reads every table file of the ledger and checks every block's checksum (RocksDB checks a
  // block whenever it reads one, so damage is never served; this finds it before a read
  // does). Returns how many files it checked; stops early once `stop` is true. Any thread.
  [[nodiscard]] proto::Result<std::size_t> VerifyFiles(const std::atomic<bool>& stop) const;

  // The consensus safety record, synced.
  consensus::SafetyStorage& safety_storage();
  // The last block proposed here. Written without a sync of its own: the safety record's
  // synced write that follows (before the proposal's signature leaves) makes it durable,
  // since RocksDB's log is written in order.
  [[nodiscard]] proto::Result<void> WriteOwnProposal(const proto::Block& block);
  [[nodiscard]] proto::Result<std::optional<proto::Block>> OwnProposal() const;
  // The signed proposal message for that block (an encoded consensus::Proposal), kept the
  // same way: after a restart the engine hears it again, as peers would have.
  [[nodiscard]] proto::Result<void> WriteOwnSignedProposal(const proto::Bytes& encoded);
  [[nodiscard]] proto::Result<std::optional<proto::Bytes>> OwnSignedProposal() const;

  // Hashes every state entry from scratch (slow: for tests and the replay check).
  [[nodiscard]] proto::Result<StateCommitment> RecomputeCommitment() const;

  const Genesis& genesis() const;

 private:
  struct Impl;
  explicit Ledger(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace civic::node
