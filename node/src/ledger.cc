#include "civic/node/ledger.h"

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/sst_file_reader.h>
#include <rocksdb/utilities/options_util.h>
#include <rocksdb/write_batch.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <atomic>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

#include "civic/contracts/state.h"
#include "civic/proto/assert.h"
#include "civic/proto/codec.h"

namespace civic::node {
namespace {

using proto::Bytes;
using proto::ByteView;
using proto::ErrorCode;
using proto::Fail;

constexpr std::string_view kMetaGenesis = "genesis";
constexpr std::string_view kMetaTip = "tip";
constexpr std::string_view kSafetyKey = "last-signed";
constexpr std::string_view kOwnProposalKey = "proposal";
constexpr std::string_view kOwnSignedProposalKey = "proposal-signed";

// Column family order: index i of Impl::families.
enum Family : std::size_t { kMeta, kBlocks, kCerts, kTxIds, kTxIndex, kState, kSafety, kFamilies };
constexpr std::array<const char*, kFamilies> kFamilyNames = {"meta",    "blocks", "certs", "txids",
                                                             "txindex", "state",  "safety"};

rocksdb::Slice AsSlice(ByteView bytes) { return {reinterpret_cast<const char*>(bytes.data()), bytes.size()}; }
rocksdb::Slice AsSlice(std::string_view text) { return {text.data(), text.size()}; }
ByteView AsBytes(const rocksdb::Slice& slice) {
  return {reinterpret_cast<const std::uint8_t*>(slice.data()), slice.size()};
}
Bytes ToBytes(const std::string& text) { return Bytes(text.begin(), text.end()); }

std::array<std::uint8_t, 8> HeightKey(std::uint64_t height) {
  std::array<std::uint8_t, 8> key{};
  for (std::size_t i = 0; i < 8; ++i) key[i] = static_cast<std::uint8_t>(height >> (56 - 8 * i));
  return key;
}
std::uint64_t ReadU64(ByteView bytes) {
  CIVIC_ASSERT(bytes.size() >= 8);
  std::uint64_t value = 0;
  for (std::size_t i = 0; i < 8; ++i) value = (value << 8) | bytes[i];
  return value;
}
void AppendU64(Bytes& out, std::uint64_t value) {
  const auto key = HeightKey(value);
  out.insert(out.end(), key.begin(), key.end());
}

// What to do about a damaged ledger, for every error that finds one.
constexpr std::string_view kDamagedAdvice =
    ". The ledger's files are damaged: civicd serves nothing from them. Restore the data folder from a copy, or "
    "move it away and start with an empty one to sync the chain from peers (a validator then signs only once it has "
    "caught up; node/P2P.md)";

// What to do about a disk without room: the floor's message and RocksDB's own lack of space.
constexpr std::string_view kFreeSpaceAdvice =
    "Nothing committed is lost; free space (or move the data folder to a larger disk), then start civicd again";

// What to do when the drive answers a write with EIO.
constexpr std::string_view kDriveAdvice =
    ". The drive holding the data folder failed: nothing reported committed is lost, as each block is one synced "
    "write. Check the drive (the kernel log, its SMART status); once it works, or with the data folder copied to "
    "another, start civicd again";

// ... and a read: what was written may be unreadable now.
constexpr std::string_view kDriveReadAdvice =
    ". The drive holding the data folder failed a read: what it holds may no longer be readable. Check the drive "
    "(the kernel log, its SMART status). If the ledger cannot be read back whole, restore the data folder from a copy, "
    "or start with an empty one on a working drive to sync the chain from peers (a validator then signs only once it "
    "has caught up; node/P2P.md)";

// Whether RocksDB's error is the drive's EIO (not a lock held, a permission, or a limit on open
// files, which are IOErrors too).
bool IsDriveError(const rocksdb::Status& status) {
  return status.IsIOError() && status.ToString().find("Input/output error") != std::string::npos;
}

tl::unexpected<proto::Error> IoError(const std::string& what, const rocksdb::Status& status) {
  std::string advice;
  if (status.IsCorruption()) {
    advice = kDamagedAdvice;
  } else if (status.IsNoSpace()) {
    advice = ". The disk is full. " + std::string(kFreeSpaceAdvice);
  } else if (IsDriveError(status)) {
    advice = what.starts_with("writing") ? kDriveAdvice : kDriveReadAdvice;
  }
  return Fail(ErrorCode::kIo, what + ": " + status.ToString() + advice);
}

// tip record: height(8) || block hash(32) || time(8) || state commitment(2048)
constexpr std::size_t kTipBytes = 8 + 32 + 8 + StateCommitment::kBytes;

Bytes EncodeTip(const Tip& tip, const StateCommitment& commitment) {
  Bytes out;
  out.reserve(kTipBytes);
  AppendU64(out, tip.height);
  out.insert(out.end(), tip.block_hash.bytes.begin(), tip.block_hash.bytes.end());
  AppendU64(out, tip.time_unix_ms);
  const Bytes lanes = commitment.Serialize();
  out.insert(out.end(), lanes.begin(), lanes.end());
  return out;
}

// A read of the contract state failed (the drive, most likely). "Absent" would be a lie, and
// a view has no other answer: stop the process at once, from whichever thread read (civicd,
// or the wallet's audit), saying why. Stopping here writes nothing: each block was one synced
// write, as the crash tests show for a kill -9.
[[noreturn]] void StopOnStateReadError(const rocksdb::Status& status) {
  spdlog::critical("stopped at once: {}", proto::ToString(IoError("reading the contract state", status).value()));
  spdlog::default_logger()->flush();
  std::_Exit(1);
}

// Reads the state column family, at a snapshot or at the latest write.
class RocksStateView final : public contracts::KvView {
 public:
  RocksStateView(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family, const rocksdb::Snapshot* snapshot)
      : db_(db), family_(family), snapshot_(snapshot) {}
  ~RocksStateView() override {
    if (snapshot_ != nullptr) db_->ReleaseSnapshot(snapshot_);
  }
  RocksStateView(const RocksStateView&) = delete;
  RocksStateView& operator=(const RocksStateView&) = delete;

  std::optional<Bytes> Get(ByteView key) const override {
    std::string value;
    const rocksdb::Status status = db_->Get(Options(), family_, AsSlice(key), &value);
    if (status.IsNotFound()) return std::nullopt;
    if (!status.ok()) StopOnStateReadError(status);
    return ToBytes(value);
  }
  void Put(ByteView, ByteView) override { CIVIC_ASSERT(false && "the committed state is written by CommitBlock only"); }
  void Delete(ByteView) override { CIVIC_ASSERT(false && "the committed state is written by CommitBlock only"); }
  // (A WriteBuffer over this view buffers every write, so these are never reached.)
  void Scan(ByteView prefix, const std::function<bool(ByteView key, ByteView value)>& visit) const override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(Options(), family_));
    for (it->Seek(AsSlice(prefix)); it->Valid(); it->Next()) {
      const ByteView key = AsBytes(it->key());
      if (key.size() < prefix.size() || !std::equal(prefix.begin(), prefix.end(), key.begin())) break;
      if (!visit(key, AsBytes(it->value()))) return;
    }
    if (!it->status().ok()) StopOnStateReadError(it->status());
  }

 private:
  rocksdb::ReadOptions Options() const {
    rocksdb::ReadOptions options;
    options.snapshot = snapshot_;
    return options;
  }
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* family_;
  const rocksdb::Snapshot* snapshot_;  // nullptr: the latest state
};

// RocksDB's own messages, warnings and errors only, in the node's log rather than in a LOG
// file beside the data: on a full disk the RocksDB of Debian 12 aborts the process on the
// second write to a log file that failed once (an assertion), and that file would be the
// first to fail.
class RocksLogToSpdlog final : public rocksdb::Logger {
 public:
  RocksLogToSpdlog() : rocksdb::Logger(rocksdb::InfoLogLevel::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override { Logv(rocksdb::InfoLogLevel::INFO_LEVEL, format, ap); }
  void Logv(const rocksdb::InfoLogLevel level, const char* format, va_list ap) override {
    if (level < GetInfoLogLevel()) return;
    std::array<char, 1024> text{};
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    (void)std::vsnprintf(text.data(), text.size(), format, ap);  // RocksDB's own printf formats
#pragma GCC diagnostic pop
    try {
      spdlog::log(level >= rocksdb::InfoLogLevel::ERROR_LEVEL ? spdlog::level::err : spdlog::level::warn,
                  "rocksdb: {}", text.data());
    } catch (...) {  // nothing may propagate into RocksDB
    }
  }
};

// The free space below which the ledger writes nothing (Ledger::SetFreeSpaceFloor).
class SpaceFloor {
 public:
  explicit SpaceFloor(std::filesystem::path dir) : dir_(std::move(dir)) {}
  void Set(std::uint64_t bytes) { bytes_.store(bytes); }
  // Fails if the disk holding the ledger has less free than the floor. A disk whose free
  // space cannot be read is not refused here: the write itself will say what is wrong.
  proto::Result<void> Check() const {
    const std::uint64_t floor = bytes_.load();
    if (floor == 0) return {};
    std::error_code error;
    const std::filesystem::space_info space = std::filesystem::space(dir_, error);
    if (error || space.available >= floor) return {};
    constexpr std::uint64_t kMiB = 1024 * 1024;
    return Fail(ErrorCode::kIo, "the disk holding " + dir_.string() + " has " +
                                    std::to_string(space.available / kMiB) + " MiB free, below node.disk_free_min_mb = " +
                                    std::to_string(floor / kMiB) + ". " + std::string(kFreeSpaceAdvice));
  }

 private:
  std::filesystem::path dir_;
  std::atomic<std::uint64_t> bytes_{0};
};

class RocksSafetyStorage final : public consensus::SafetyStorage {
 public:
  RocksSafetyStorage(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family, bool read_only, const SpaceFloor& floor)
      : db_(db), family_(family), read_only_(read_only), floor_(floor) {}
  proto::Result<void> Write(const Bytes& record) override {
    if (read_only_) return Fail(ErrorCode::kIo, "the ledger is open read-only: refusing to record a signature");
    if (proto::Result<void> room = floor_.Check(); !room) return room;
    rocksdb::WriteOptions options;
    options.sync = true;  // durable before the signature it allows is released
    const rocksdb::Status status = db_->Put(options, family_, AsSlice(kSafetyKey), AsSlice(record));
    if (!status.ok()) return IoError("writing the consensus safety record", status);
    return {};
  }
  proto::Result<std::optional<Bytes>> Read() override {
    std::string value;
    const rocksdb::Status status = db_->Get(rocksdb::ReadOptions(), family_, AsSlice(kSafetyKey), &value);
    if (status.IsNotFound()) return std::optional<Bytes>();
    if (!status.ok()) return IoError("reading the consensus safety record", status);
    return std::optional<Bytes>(ToBytes(value));
  }

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* family_;
  bool read_only_;
  const SpaceFloor& floor_;
};

}  // namespace

struct Ledger::Impl {
  Genesis genesis;
  std::unique_ptr<rocksdb::DB> db;
  std::vector<rocksdb::ColumnFamilyHandle*> families;
  bool read_only = false;
  mutable std::mutex tip_mutex;  // guards tip and app_hash for readers on other threads
  Tip tip;
  proto::Hash32 app_hash;
  StateCommitment commitment;
  std::unique_ptr<RocksStateView> latest;
  std::unique_ptr<RocksSafetyStorage> safety;

  SpaceFloor floor;

  Impl(Genesis g, const std::filesystem::path& dir) : genesis(std::move(g)), commitment(genesis.chain_id), floor(dir) {}
  ~Impl() {
    latest.reset();
    safety.reset();
    if (db) {
      for (rocksdb::ColumnFamilyHandle* family : families) {
        if (family != nullptr) (void)db->DestroyColumnFamilyHandle(family);
      }
      (void)db->Close();
    }
  }

  rocksdb::ColumnFamilyHandle* cf(Family family) const { return families[family]; }

  proto::Result<std::optional<std::string>> Read(Family family, ByteView key) const {
    std::string value;
    const rocksdb::Status status = db->Get(rocksdb::ReadOptions(), cf(family), AsSlice(key), &value);
    if (status.IsNotFound()) return std::optional<std::string>();
    if (!status.ok()) return IoError(std::string("reading ") + kFamilyNames[family], status);
    return std::optional<std::string>(std::move(value));
  }
};

Ledger::Ledger(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Ledger::~Ledger() = default;

proto::Result<std::unique_ptr<Ledger>> Ledger::Open(const std::filesystem::path& dir, const Genesis& genesis,
                                                    OpenMode mode) {
  auto impl = std::make_unique<Impl>(genesis, dir);
  impl->read_only = mode == OpenMode::kReadOnly;

  rocksdb::DBOptions options;
  options.create_if_missing = !impl->read_only;
  options.create_missing_column_families = !impl->read_only;
  // Ledger writes are small and synced; a modest WAL and background work suit a 2-core node.
  options.max_background_jobs = 2;
  options.paranoid_checks = true;
  options.info_log = std::make_shared<RocksLogToSpdlog>();
  // Every write is synced before it is acknowledged, so the log may end in a record cut short
  // by a crash (never acknowledged: dropped), but damage before its last 32 KiB block is
  // refused. (The default, point-in-time recovery, would open the ledger without the blocks
  // after the damage, and without the safety record written there.) Damage within the last
  // block can look like a write cut short and drop what follows it: RocksDB cannot tell.
  options.wal_recovery_mode = rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (const char* name : kFamilyNames) {
    rocksdb::ColumnFamilyOptions family_options;
    family_options.OptimizeForPointLookup(64);
    descriptors.emplace_back(name, family_options);
  }
  descriptors.emplace_back(rocksdb::kDefaultColumnFamilyName, rocksdb::ColumnFamilyOptions());

  if (impl->read_only && !std::filesystem::exists(dir / "CURRENT")) {
    return Fail(ErrorCode::kIo, "no ledger in " + dir.string() + ": start civicd on it first, or check the path");
  }
  rocksdb::DB* raw = nullptr;
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  const rocksdb::Status status =
      impl->read_only ? rocksdb::DB::OpenForReadOnly(options, dir.string(), descriptors, &handles, &raw)
                      : rocksdb::DB::Open(options, dir.string(), descriptors, &handles, &raw);
  if (!status.ok()) {
    // (For the drive's EIO, IoError's advice says what to do.)
    return IoError("opening the ledger in " + dir.string() +
                       (status.IsIOError() && !IsDriveError(status) ? " (is another civicd running on it, or the disk full?)"
                                                                   : ""),
                   status);
  }
  impl->db.reset(raw);
  impl->families = std::move(handles);
  impl->latest = std::make_unique<RocksStateView>(impl->db.get(), impl->cf(kState), nullptr);
  impl->safety = std::make_unique<RocksSafetyStorage>(impl->db.get(), impl->cf(kSafety), impl->read_only, impl->floor);

  const proto::Hash32 genesis_hash = GenesisHash(genesis);
  proto::Result<std::optional<std::string>> stored_genesis =
      impl->Read(kMeta, proto::AsBytes(std::string_view(kMetaGenesis)));
  if (!stored_genesis) return tl::unexpected(stored_genesis.error());

  if (!stored_genesis->has_value()) {
    if (impl->read_only) return Fail(ErrorCode::kIo, "the ledger in " + dir.string() + " was never initialised");
    // A new ledger: the genesis state at height 0, in one synced batch.
    contracts::MemoryKv empty;
    contracts::WriteBuffer state(empty);
    const contracts::BudgetContracts contracts(genesis.chain_id);
    if (contracts::Result<void> init = contracts.InitGenesis(state, genesis.contracts); !init) {
      return Fail(ErrorCode::kInvalidArgument, "genesis contract state: " + init.error().message);
    }
    rocksdb::WriteBatch batch;
    for (const auto& [key, value] : state.pending_writes()) {
      if (!value) continue;
      impl->commitment.Add(key, *value);
      (void)batch.Put(impl->cf(kState), AsSlice(key), AsSlice(ByteView(*value)));
    }
    impl->tip = Tip{0, proto::Hash32{}, genesis.genesis_time_unix_ms};
    (void)batch.Put(impl->cf(kMeta), AsSlice(kMetaGenesis), AsSlice(genesis_hash.view()));
    (void)batch.Put(impl->cf(kMeta), AsSlice(kMetaTip), AsSlice(ByteView(EncodeTip(impl->tip, impl->commitment))));
    rocksdb::WriteOptions write_options;
    write_options.sync = true;
    if (rocksdb::Status written = impl->db->Write(write_options, &batch); !written.ok()) {
      return IoError("writing the genesis state", written);
    }
  } else {
    const std::string& stored = **stored_genesis;
    if (stored.size() != proto::Hash32::kSize ||
        !std::equal(stored.begin(), stored.end(), genesis_hash.bytes.begin(),
                    [](char a, std::uint8_t b) { return static_cast<std::uint8_t>(a) == b; })) {
      return Fail(ErrorCode::kInvalidArgument,
                  "the ledger in " + dir.string() + " belongs to another genesis (its genesis hash is " +
                      proto::ToHex(AsBytes(rocksdb::Slice(stored))) + ", this genesis file's is " +
                      proto::ToHex(genesis_hash) + "): use the genesis file it was made with, or a new data_dir");
    }
    proto::Result<std::optional<std::string>> tip = impl->Read(kMeta, proto::AsBytes(std::string_view(kMetaTip)));
    if (!tip) return tl::unexpected(tip.error());
    if (!tip->has_value() || (*tip)->size() != kTipBytes) {
      return Fail(ErrorCode::kMalformed, "the ledger in " + dir.string() + " has no readable tip record: it is damaged");
    }
    const ByteView bytes = proto::AsBytes(std::string_view(**tip));
    impl->tip.height = ReadU64(bytes.subspan(0, 8));
    std::copy_n(bytes.begin() + 8, 32, impl->tip.block_hash.bytes.begin());
    impl->tip.time_unix_ms = ReadU64(bytes.subspan(40, 8));
    proto::Result<StateCommitment> commitment = StateCommitment::Restore(genesis.chain_id, bytes.subspan(48));
    if (!commitment) return tl::unexpected(commitment.error());
    impl->commitment = *commitment;
  }
  impl->app_hash = impl->commitment.Digest();
  return std::unique_ptr<Ledger>(new Ledger(std::move(impl)));
}

Tip Ledger::tip() const {
  std::lock_guard lock(impl_->tip_mutex);
  return impl_->tip;
}

const StateCommitment& Ledger::commitment() const { return impl_->commitment; }

proto::Hash32 Ledger::app_hash() const {
  std::lock_guard lock(impl_->tip_mutex);
  return impl_->app_hash;
}

const Genesis& Ledger::genesis() const { return impl_->genesis; }

proto::Result<std::optional<proto::Block>> Ledger::BlockAt(std::uint64_t height) const {
  proto::Result<std::optional<std::string>> value = impl_->Read(kBlocks, HeightKey(height));
  if (!value) return tl::unexpected(value.error());
  if (!value->has_value()) return std::optional<proto::Block>();
  proto::Result<proto::Block> block = proto::Decode<proto::Block>(proto::AsBytes(std::string_view(**value)));
  if (!block) return Fail(ErrorCode::kIo, "block " + std::to_string(height) + " in the ledger does not decode: " +
                                              proto::ToString(block.error()));
  return std::optional<proto::Block>(std::move(*block));
}

proto::Result<std::optional<proto::CommitCertificate>> Ledger::CertificateAt(std::uint64_t height) const {
  proto::Result<std::optional<std::string>> value = impl_->Read(kCerts, HeightKey(height));
  if (!value) return tl::unexpected(value.error());
  if (!value->has_value()) return std::optional<proto::CommitCertificate>();
  proto::Result<proto::CommitCertificate> certificate =
      proto::Decode<proto::CommitCertificate>(proto::AsBytes(std::string_view(**value)));
  if (!certificate) {
    return Fail(ErrorCode::kIo, "the certificate of block " + std::to_string(height) +
                                    " in the ledger does not decode: " + proto::ToString(certificate.error()));
  }
  return std::optional<proto::CommitCertificate>(std::move(*certificate));
}

proto::Result<std::vector<proto::Hash32>> Ledger::TxIdsAt(std::uint64_t height) const {
  proto::Result<std::optional<std::string>> value = impl_->Read(kTxIds, HeightKey(height));
  if (!value) return tl::unexpected(value.error());
  std::vector<proto::Hash32> ids;
  if (!value->has_value()) return ids;
  const std::string& bytes = **value;
  if (bytes.size() % proto::Hash32::kSize != 0) {
    return Fail(ErrorCode::kIo, "the transaction ids of block " + std::to_string(height) + " are damaged");
  }
  ids.resize(bytes.size() / proto::Hash32::kSize);
  for (std::size_t i = 0; i < ids.size(); ++i) {
    std::copy_n(reinterpret_cast<const std::uint8_t*>(bytes.data()) + i * proto::Hash32::kSize, proto::Hash32::kSize,
                ids[i].bytes.begin());
  }
  return ids;
}

proto::Result<std::optional<TxLocation>> Ledger::FindTx(const proto::Hash32& id) const {
  proto::Result<std::optional<std::string>> value = impl_->Read(kTxIndex, id.view());
  if (!value) return tl::unexpected(value.error());
  if (!value->has_value()) return std::optional<TxLocation>();
  if ((*value)->size() != 12) return Fail(ErrorCode::kIo, "the index entry of transaction " + proto::ToHex(id) + " is damaged");
  const ByteView bytes = proto::AsBytes(std::string_view(**value));
  TxLocation location;
  location.height = ReadU64(bytes.subspan(0, 8));
  location.index = static_cast<std::uint32_t>(bytes[8]) << 24 | static_cast<std::uint32_t>(bytes[9]) << 16 |
                   static_cast<std::uint32_t>(bytes[10]) << 8 | bytes[11];
  return std::optional<TxLocation>(location);
}

contracts::KvView& Ledger::state() const { return *impl_->latest; }

std::unique_ptr<contracts::KvView> Ledger::StateSnapshot() const {
  return std::make_unique<RocksStateView>(impl_->db.get(), impl_->cf(kState), impl_->db->GetSnapshot());
}

consensus::SafetyStorage& Ledger::safety_storage() { return *impl_->safety; }

proto::Result<std::size_t> Ledger::VerifyFiles(const std::atomic<bool>& stop) const {
  std::vector<rocksdb::LiveFileMetaData> files;
  impl_->db->GetLiveFilesMetaData(&files);
  std::size_t checked = 0;
  for (const rocksdb::LiveFileMetaData& file : files) {
    if (stop.load()) break;
    const std::filesystem::path path = std::filesystem::path(file.directory) / file.relative_filename;
    rocksdb::SstFileReader reader{rocksdb::Options()};
    rocksdb::Status status = reader.Open(path.string());
    if (status.ok()) status = reader.VerifyChecksum();
    if (!status.ok()) {
      std::error_code gone;
      if (!std::filesystem::exists(path, gone)) continue;  // compacted away meanwhile
      return IoError("checking the ledger file " + path.string(), status);
    }
    ++checked;
  }
  return checked;
}

void Ledger::SetFreeSpaceFloor(std::uint64_t bytes) { impl_->floor.Set(bytes); }

proto::Result<void> Ledger::CheckFreeSpace() const { return impl_->floor.Check(); }

proto::Result<void> Ledger::WriteOwnProposal(const proto::Block& block) {
  if (impl_->read_only) return Fail(ErrorCode::kIo, "the ledger is open read-only");
  if (proto::Result<void> room = impl_->floor.Check(); !room) return room;
  proto::Result<Bytes> bytes = proto::Encode(block);
  if (!bytes) return tl::unexpected(bytes.error());
  const rocksdb::Status status =
      impl_->db->Put(rocksdb::WriteOptions(), impl_->cf(kSafety), AsSlice(kOwnProposalKey), AsSlice(ByteView(*bytes)));
  if (!status.ok()) return IoError("writing this validator's proposal", status);
  return {};
}

proto::Result<void> Ledger::WriteOwnSignedProposal(const Bytes& encoded) {
  if (impl_->read_only) return Fail(ErrorCode::kIo, "the ledger is open read-only");
  if (proto::Result<void> room = impl_->floor.Check(); !room) return room;
  const rocksdb::Status status = impl_->db->Put(rocksdb::WriteOptions(), impl_->cf(kSafety),
                                                AsSlice(kOwnSignedProposalKey), AsSlice(ByteView(encoded)));
  if (!status.ok()) return IoError("writing this validator's signed proposal", status);
  return {};
}

proto::Result<std::optional<Bytes>> Ledger::OwnSignedProposal() const {
  proto::Result<std::optional<std::string>> value = impl_->Read(kSafety, proto::AsBytes(kOwnSignedProposalKey));
  if (!value) return tl::unexpected(value.error());
  if (!value->has_value()) return std::optional<Bytes>();
  return std::optional<Bytes>(ToBytes(**value));
}

proto::Result<std::optional<proto::Block>> Ledger::OwnProposal() const {
  proto::Result<std::optional<std::string>> value = impl_->Read(kSafety, proto::AsBytes(kOwnProposalKey));
  if (!value) return tl::unexpected(value.error());
  if (!value->has_value()) return std::optional<proto::Block>();
  proto::Result<proto::Block> block = proto::Decode<proto::Block>(proto::AsBytes(std::string_view(**value)));
  if (!block) return Fail(ErrorCode::kIo, "this validator's stored proposal does not decode: " + proto::ToString(block.error()));
  return std::optional<proto::Block>(std::move(*block));
}

proto::Result<void> Ledger::CommitBlock(const BlockWrite& write) {
  CIVIC_ASSERT(write.block != nullptr && write.certificate != nullptr && write.tx_ids != nullptr &&
               write.state_changes != nullptr);
  if (impl_->read_only) return Fail(ErrorCode::kIo, "the ledger is open read-only");
  const proto::Block& block = *write.block;
  CIVIC_ASSERT(block.header.height == impl_->tip.height + 1);
  CIVIC_ASSERT(block.header.previous_block_hash == impl_->tip.block_hash);
  CIVIC_ASSERT(write.tx_ids->size() == block.txs.size());
  CIVIC_ASSERT(write.certificate->block_hash == write.block_hash);
  if (proto::Result<void> room = impl_->floor.Check(); !room) {
    return room;
  }

  proto::Result<Bytes> block_bytes = proto::Encode(block);
  if (!block_bytes) return tl::unexpected(block_bytes.error());
  proto::Result<Bytes> certificate_bytes = proto::Encode(*write.certificate);
  if (!certificate_bytes) return tl::unexpected(certificate_bytes.error());

  StateCommitment commitment = impl_->commitment;
  rocksdb::WriteBatch batch;
  const auto height_key = HeightKey(block.header.height);
  (void)batch.Put(impl_->cf(kBlocks), AsSlice(height_key), AsSlice(ByteView(*block_bytes)));
  (void)batch.Put(impl_->cf(kCerts), AsSlice(height_key), AsSlice(ByteView(*certificate_bytes)));
  Bytes ids;
  ids.reserve(write.tx_ids->size() * proto::Hash32::kSize);
  for (std::size_t i = 0; i < write.tx_ids->size(); ++i) {
    const proto::Hash32& id = (*write.tx_ids)[i];
    ids.insert(ids.end(), id.bytes.begin(), id.bytes.end());
    Bytes location;
    AppendU64(location, block.header.height);
    for (int shift = 24; shift >= 0; shift -= 8) location.push_back(static_cast<std::uint8_t>(i >> shift));
    (void)batch.Put(impl_->cf(kTxIndex), AsSlice(id.view()), AsSlice(ByteView(location)));
  }
  (void)batch.Put(impl_->cf(kTxIds), AsSlice(height_key), AsSlice(ByteView(ids)));

  UpdateCommitment(commitment, *impl_->latest, *write.state_changes);
  for (const auto& [key, value] : *write.state_changes) {
    if (value) {
      (void)batch.Put(impl_->cf(kState), AsSlice(key), AsSlice(ByteView(*value)));
    } else {
      (void)batch.Delete(impl_->cf(kState), AsSlice(key));
    }
  }
  const Tip tip{block.header.height, write.block_hash, block.header.time_unix_ms};
  (void)batch.Put(impl_->cf(kMeta), AsSlice(kMetaTip), AsSlice(ByteView(EncodeTip(tip, commitment))));

  rocksdb::WriteOptions options;
  options.sync = true;
  if (rocksdb::Status status = impl_->db->Write(options, &batch); !status.ok()) {
    return IoError("writing block " + std::to_string(tip.height), status);
  }
  const proto::Hash32 app_hash = commitment.Digest();
  impl_->commitment = std::move(commitment);
  std::lock_guard lock(impl_->tip_mutex);
  impl_->tip = tip;
  impl_->app_hash = app_hash;
  return {};
}

proto::Result<StateCommitment> Ledger::RecomputeCommitment() const {
  StateCommitment commitment(impl_->genesis.chain_id);
  std::unique_ptr<const contracts::KvView> snapshot = StateSnapshot();
  snapshot->Scan({}, [&](ByteView key, ByteView value) {
    commitment.Add(key, value);
    return true;
  });
  return commitment;
}

}  // namespace civic::node
