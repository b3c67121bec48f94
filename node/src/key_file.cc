#include "civic/node/key_file.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <nlohmann/json.hpp>

#include "civic/node/read_file.h"

namespace civic::node {
namespace {

using proto::ErrorCode;
using proto::Fail;

constexpr std::size_t kKeyFileBytesMax = 4096;

tl::unexpected<proto::Error> Damaged(const std::filesystem::path& path, const std::string& why) {
  return Fail(ErrorCode::kMalformed, "the validator key file " + path.string() + " is damaged: " + why);
}

proto::Result<void> SyncPath(const std::filesystem::path& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0) return Fail(ErrorCode::kIo, "cannot open " + path.string() + ": " + std::strerror(errno));
  const int synced = ::fsync(fd);
  const int saved = errno;
  ::close(fd);
  if (synced != 0) return Fail(ErrorCode::kIo, "cannot sync " + path.string() + ": " + std::strerror(saved));
  return {};
}

}  // namespace

proto::Result<proto::Ed25519KeyPair> LoadValidatorKey(const std::filesystem::path& path) {
  struct stat info {};
  if (::stat(path.c_str(), &info) != 0) {
    return Fail(ErrorCode::kIo, "cannot read the validator key file " + path.string() + ": " + std::strerror(errno) +
                                    " (make one with: civicd keygen --out " + path.string() + ")");
  }
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return Fail(ErrorCode::kInvalidArgument, "the validator key file " + path.string() +
                                                 " is readable by other users; run: chmod 600 " + path.string());
  }
  proto::Result<std::string> text = ReadFileBounded(path, kKeyFileBytesMax, "validator key file");
  if (!text) return tl::unexpected(text.error());
  const nlohmann::json parsed = nlohmann::json::parse(*text, nullptr, /*allow_exceptions=*/false);
  sodium_memzero(text->data(), text->size());
  if (parsed.is_discarded() || !parsed.is_object()) return Damaged(path, "not a JSON object");
  for (const auto& [key, value] : parsed.items()) {
    if (key != "type" && key != "public_key" && key != "seed") return Damaged(path, "unknown field \"" + key + "\"");
    if (!value.is_string()) return Damaged(path, "\"" + key + "\" is not a string");
  }
  if (!parsed.contains("type") || parsed["type"] != "ed25519") return Damaged(path, "\"type\" must be \"ed25519\"");
  if (!parsed.contains("seed") || !parsed.contains("public_key")) return Damaged(path, "needs \"seed\" and \"public_key\"");
  proto::Result<proto::Bytes> seed_bytes = proto::FromHex(parsed["seed"].get<std::string>());
  if (!seed_bytes || seed_bytes->size() != 32) return Damaged(path, "\"seed\" is not 64 hex digits");
  proto::Secret32 seed{};
  std::copy(seed_bytes->begin(), seed_bytes->end(), seed.begin());
  sodium_memzero(seed_bytes->data(), seed_bytes->size());
  proto::Ed25519KeyPair key = proto::Ed25519KeyPair::FromSeed(seed);
  sodium_memzero(seed.data(), seed.size());
  proto::Result<proto::Ed25519PublicKey> public_key =
      proto::FixedFromHex<proto::Ed25519PublicKey>(parsed["public_key"].get<std::string>());
  if (!public_key || *public_key != key.public_key()) return Damaged(path, "\"public_key\" does not belong to \"seed\"");
  return key;
}

proto::Result<proto::Ed25519PublicKey> WriteValidatorKey(const std::filesystem::path& path, const proto::Secret32& seed) {
  const proto::Ed25519KeyPair key = proto::Ed25519KeyPair::FromSeed(seed);
  std::string text = nlohmann::json{{"type", "ed25519"},
                                    {"public_key", proto::ToHex(key.public_key())},
                                    {"seed", proto::ToHex(proto::ByteView(seed.data(), seed.size()))}}
                         .dump(2) +
                     "\n";
  // Written whole under a name of its own, synced, then linked into place: link() refuses an
  // existing target, so a key that appeared meanwhile is never replaced.
  const std::filesystem::path temporary = path.string() + ".tmp-" + std::to_string(::getpid());
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Fail(ErrorCode::kIo, "cannot create " + temporary.string() + ": " + std::strerror(errno));
  const ssize_t written = ::write(fd, text.data(), text.size());
  const bool ok = written == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  const int write_errno = errno;
  ::close(fd);
  sodium_memzero(text.data(), text.size());
  if (!ok) {
    ::unlink(temporary.c_str());
    return Fail(ErrorCode::kIo, "cannot write " + temporary.string() + ": " + std::strerror(write_errno));
  }
  if (::link(temporary.c_str(), path.c_str()) != 0) {
    const int link_errno = errno;
    ::unlink(temporary.c_str());
    if (link_errno == EEXIST) {
      return Fail(ErrorCode::kInvalidArgument, path.string() + " exists already; refusing to overwrite a key");
    }
    return Fail(ErrorCode::kIo, "cannot create " + path.string() + ": " + std::strerror(link_errno));
  }
  ::unlink(temporary.c_str());
  // The new name is durable only once the folder is synced (cometbft issue 6031).
  const std::filesystem::path folder = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  if (proto::Result<void> synced = SyncPath(folder, O_RDONLY | O_DIRECTORY); !synced) return tl::unexpected(synced.error());
  return key.public_key();
}

}  // namespace civic::node
