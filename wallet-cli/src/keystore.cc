// Invariants:
//  - A keystore path only ever names a complete, synced file: new content is written under a
//    temporary name beside it, synced, and then linked (Create) or renamed (ChangePassphrase)
//    into place. A crash leaves at worst a stray "<path>.tmp-*" file, never a torn keystore.
//  - Every buffer that held a secret, a derived key or a passphrase is wiped before it is freed.
//  - Parse() is the only reader of the file's fields, so ReadPublicKey and Unlock agree on what
//    a damaged file is.
#include "civic/wallet/keystore.h"

#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstdlib>
#include <exception>
#include <new>
#include <optional>
#include <set>
#include <system_error>
#include <utility>

#include <nlohmann/json.hpp>

#include "civic/proto/assert.h"

namespace civic::wallet {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

constexpr std::uint64_t kVersion = 1;
constexpr std::string_view kKind = "civic-wallet-key";
constexpr std::string_view kKdfAlg = "argon2id13";
constexpr std::string_view kCipherAlg = "xchacha20poly1305-ietf";
constexpr std::size_t kSaltBytes = crypto_pwhash_argon2id_SALTBYTES;
constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kKeyBytes = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr std::size_t kSecretBytes = 32;
constexpr std::size_t kCiphertextBytes = kSecretBytes + crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr int kJsonDepthMax = 3;  // the file nests two objects deep; anything deeper is not ours

static_assert(sizeof(proto::Secret32) == kSecretBytes);
static_assert(kSaltBytes == 16 && kNonceBytes == 24 && kKeyBytes == 32 && kCiphertextBytes == 48);
static_assert(kKdfModerate.opslimit == crypto_pwhash_argon2id_OPSLIMIT_MODERATE);
static_assert(kKdfModerate.memlimit_bytes == crypto_pwhash_argon2id_MEMLIMIT_MODERATE);
static_assert(kKdfInteractive.opslimit == crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
static_assert(kKdfInteractive.memlimit_bytes == crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);
static_assert(kKdfMinimum.opslimit == crypto_pwhash_argon2id_OPSLIMIT_MIN);
static_assert(kKdfMinimum.memlimit_bytes == crypto_pwhash_argon2id_MEMLIMIT_MIN);
static_assert(kKdfOpslimitMax >= kKdfModerate.opslimit && kKdfMemlimitBytesMax >= kKdfModerate.memlimit_bytes);

tl::unexpected<KeystoreFailure> Fail(KeystoreError code, std::string message) {
  return tl::unexpected<KeystoreFailure>(KeystoreFailure{code, std::move(message)});
}

tl::unexpected<KeystoreFailure> Damaged(const fs::path& path, const std::string& why) {
  return Fail(KeystoreError::kDamaged, "keystore " + path.string() + " is damaged: " + why);
}

std::string ErrnoText(int error_number) { return std::generic_category().message(error_number); }

// Fixed-size secret bytes, wiped when they go out of scope.
template <std::size_t N>
struct Wiped {
  std::array<std::uint8_t, N> bytes{};
  Wiped() = default;
  Wiped(const Wiped&) = delete;
  Wiped& operator=(const Wiped&) = delete;
  ~Wiped() { sodium_memzero(bytes.data(), bytes.size()); }
};

class FdCloser {
 public:
  explicit FdCloser(int fd) : fd_(fd) {}
  FdCloser(const FdCloser&) = delete;
  FdCloser& operator=(const FdCloser&) = delete;
  ~FdCloser() { ::close(fd_); }

 private:
  int fd_;
};

// Everything in a keystore file, each field checked for type and length.
struct Parsed {
  proto::SchnorrPublicKey public_key;
  KdfLimits limits{};
  std::array<std::uint8_t, kSaltBytes> salt{};
  std::array<std::uint8_t, kNonceBytes> nonce{};
  std::array<std::uint8_t, kCiphertextBytes> ciphertext{};
};

KeystoreResult<void> InitSodium() {
  // Idempotent and thread-safe; needed before randombytes and crypto_pwhash.
  if (sodium_init() < 0) return Fail(KeystoreError::kIo, "libsodium could not be initialised");
  return {};
}

bool LimitsInBounds(const KdfLimits& limits) {
  return limits.opslimit >= kKdfMinimum.opslimit && limits.opslimit <= kKdfOpslimitMax &&
         limits.memlimit_bytes >= kKdfMinimum.memlimit_bytes && limits.memlimit_bytes <= kKdfMemlimitBytesMax;
}

// UTF-8 characters, counted as the bytes that do not continue a character.
std::size_t CountChars(std::string_view text) {
  return static_cast<std::size_t>(
      std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

KeystoreResult<void> CheckNewPassphrase(std::string_view passphrase) {
  if (CountChars(passphrase) >= kPassphraseCharsMin) return {};
  return Fail(KeystoreError::kWeakPassphrase,
              "the new passphrase is too short: use at least " + std::to_string(kPassphraseCharsMin) + " characters");
}

// Reads at most bytes_max + 1 bytes of an open file, so a file that grows or never ends cannot
// keep us reading. Leaves `out` holding what was read.
bool ReadUpTo(int fd, std::size_t bytes_max, std::string& out, int& error_number) {
  out.assign(bytes_max + 1, '\0');
  std::size_t size = 0;
  while (size < out.size()) {
    const ssize_t got = ::read(fd, out.data() + size, out.size() - size);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) {
      error_number = errno;
      return false;
    }
    if (got == 0) break;
    size += static_cast<std::size_t>(got);
  }
  out.resize(size);
  return true;
}

// O_NONBLOCK: open() of a FIFO would otherwise wait for a writer; fstat then refuses it.
int OpenForReading(const fs::path& path) { return ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK); }

KeystoreResult<std::string> ReadKeystoreText(const fs::path& path) {
  const int fd = OpenForReading(path);
  if (fd < 0) {
    const int open_errno = errno;
    if (open_errno == ENOENT || open_errno == ENOTDIR) {
      return Fail(KeystoreError::kMissing, "no keystore at " + path.string() + ": the file does not exist");
    }
    return Fail(KeystoreError::kUnreadable, "cannot open keystore " + path.string() + ": " + ErrnoText(open_errno));
  }
  const FdCloser closer(fd);
  struct stat info {};
  if (::fstat(fd, &info) != 0) {
    return Fail(KeystoreError::kUnreadable, "cannot read keystore " + path.string() + ": " + ErrnoText(errno));
  }
  if (!S_ISREG(info.st_mode)) {
    return Fail(KeystoreError::kUnreadable, "keystore " + path.string() + " is not a regular file");
  }
  std::string text;
  int read_errno = 0;
  if (!ReadUpTo(fd, kKeystoreBytesMax, text, read_errno)) {
    return Fail(KeystoreError::kUnreadable, "cannot read keystore " + path.string() + ": " + ErrnoText(read_errno));
  }
  if (text.size() > kKeystoreBytesMax) {
    return Damaged(path, "larger than " + std::to_string(kKeystoreBytesMax) + " bytes, so not a civic-wallet keystore");
  }
  return text;
}

// A name from the file, safe to print: a crafted file must not send escape codes to a terminal.
std::string Printable(std::string_view text) {
  constexpr std::size_t kCharsMax = 64;
  std::string out;
  for (char c : text.substr(0, kCharsMax)) out.push_back(c >= 0x20 && c < 0x7f ? c : '?');
  if (text.size() > kCharsMax) out += "...";
  return out;
}

// Fails with the name of the first field of `object` that is unknown, then of the first missing.
std::optional<std::string> CheckFieldNames(const Json& object, const std::string& prefix,
                                           std::initializer_list<std::string_view> names) {
  for (const auto& [key, value] : object.items()) {
    if (std::find(names.begin(), names.end(), key) == names.end())
      return "unknown field \"" + prefix + Printable(key) + "\"";
  }
  for (std::string_view name : names) {
    if (!object.contains(std::string(name))) return "missing field \"" + prefix + std::string(name) + "\"";
  }
  return std::nullopt;
}

template <std::size_t N>
KeystoreResult<std::array<std::uint8_t, N>> HexField(const fs::path& path, const Json& object, const char* name,
                                                     const std::string& full_name) {
  const Json& value = object.at(name);
  if (!value.is_string()) return Damaged(path, "\"" + full_name + "\" is not a string");
  proto::Result<proto::Bytes> bytes = proto::FromHex(value.get<std::string>());
  if (!bytes) return Damaged(path, "\"" + full_name + "\" is not hex");
  if (bytes->size() != N) {
    return Damaged(path, "\"" + full_name + "\" must be " + std::to_string(2 * N) + " hex digits, has " +
                             std::to_string(2 * bytes->size()));
  }
  std::array<std::uint8_t, N> out{};
  std::copy(bytes->begin(), bytes->end(), out.begin());
  return out;
}

KeystoreResult<std::uint64_t> UnsignedField(const fs::path& path, const Json& object, const char* name,
                                            const std::string& full_name, std::uint64_t min, std::uint64_t max) {
  const Json& value = object.at(name);
  // nlohmann keeps "3" unsigned, "-3" signed, "3.0" and numbers beyond 2^64 floating.
  if (!value.is_number_unsigned()) return Damaged(path, "\"" + full_name + "\" is not a non-negative integer");
  const std::uint64_t number = value.get<std::uint64_t>();
  if (number < min || number > max) {
    return Damaged(path, "\"" + full_name + "\" is " + std::to_string(number) + ", outside the " + std::to_string(min) +
                             ".." + std::to_string(max) + " this civic-wallet accepts");
  }
  return number;
}

bool IsString(const Json& value, std::string_view expected) {
  return value.is_string() && value.get<std::string>() == expected;
}

KeystoreResult<Parsed> Parse(const fs::path& path, const std::string& text) {
  if (text.empty()) return Damaged(path, "the file is empty");
  // nlohmann keeps the last of two equal keys; a strict reader refuses the file instead.
  // keys_seen[d] holds the keys of the container most recently opened at depth d; nlohmann
  // reports a key at its container's depth + 1, and no end event for a dropped container.
  std::vector<std::set<std::string>> keys_seen;
  std::string duplicate;
  bool too_deep = false;
  const Json::parser_callback_t strict = [&](int depth, Json::parse_event_t event, Json& parsed) {
    const auto level = static_cast<std::size_t>(depth);
    switch (event) {
      case Json::parse_event_t::object_start:
      case Json::parse_event_t::array_start:
        if (depth >= kJsonDepthMax) {
          too_deep = true;
          return false;  // drops the value, so nothing deeper is ever built
        }
        keys_seen.resize(level + 1);
        keys_seen[level].clear();
        return true;
      case Json::parse_event_t::key:
        if (level >= 1 && level - 1 < keys_seen.size() &&
            !keys_seen[level - 1].insert(parsed.get<std::string>()).second && duplicate.empty()) {
          duplicate = parsed.get<std::string>();
        }
        return true;
      case Json::parse_event_t::object_end:
      case Json::parse_event_t::array_end:
      case Json::parse_event_t::value: return true;
    }
    return true;
  };
  const Json json = Json::parse(text, strict, /*allow_exceptions=*/false);
  if (json.is_discarded() && !too_deep) return Damaged(path, "not valid JSON (cut short, or not a keystore)");
  if (too_deep) return Damaged(path, "JSON nested deeper than a keystore is");
  if (!json.is_object()) return Damaged(path, "not a JSON object");
  if (!duplicate.empty()) return Damaged(path, "field \"" + Printable(duplicate) + "\" appears twice");

  if (auto bad = CheckFieldNames(json, "", {"version", "kind", "public_key", "kdf", "cipher"})) {
    return Damaged(path, *bad);
  }
  const Json& version = json.at("version");
  if (!version.is_number_unsigned()) return Damaged(path, "\"version\" is not a non-negative integer");
  if (version.get<std::uint64_t>() != kVersion) {
    return Damaged(path, "version " + std::to_string(version.get<std::uint64_t>()) +
                             " is not one this civic-wallet reads (it reads version 1; a newer civic-wallet may)");
  }
  if (!IsString(json.at("kind"), kKind)) return Damaged(path, "\"kind\" is not \"civic-wallet-key\"");

  Parsed out;
  auto public_key = HexField<proto::SchnorrPublicKey::kSize>(path, json, "public_key", "public_key");
  if (!public_key) return tl::unexpected(public_key.error());
  out.public_key.bytes = *public_key;
  if (!proto::IsValidSchnorrPublicKey(out.public_key)) {
    return Damaged(path, "\"public_key\" is not a valid BIP-340 public key");
  }

  const Json& kdf = json.at("kdf");
  if (!kdf.is_object()) return Damaged(path, "\"kdf\" is not an object");
  if (auto bad = CheckFieldNames(kdf, "kdf.", {"alg", "opslimit", "memlimit", "salt"})) return Damaged(path, *bad);
  if (!IsString(kdf.at("alg"), kKdfAlg)) return Damaged(path, "\"kdf.alg\" is not \"argon2id13\"");
  // Bounded before anything runs: Argon2id allocates memlimit bytes and runs opslimit passes.
  auto opslimit = UnsignedField(path, kdf, "opslimit", "kdf.opslimit", kKdfMinimum.opslimit, kKdfOpslimitMax);
  if (!opslimit) return tl::unexpected(opslimit.error());
  auto memlimit =
      UnsignedField(path, kdf, "memlimit", "kdf.memlimit", kKdfMinimum.memlimit_bytes, kKdfMemlimitBytesMax);
  if (!memlimit) return tl::unexpected(memlimit.error());
  out.limits = KdfLimits{*opslimit, static_cast<std::size_t>(*memlimit)};
  auto salt = HexField<kSaltBytes>(path, kdf, "salt", "kdf.salt");
  if (!salt) return tl::unexpected(salt.error());
  out.salt = *salt;

  const Json& cipher = json.at("cipher");
  if (!cipher.is_object()) return Damaged(path, "\"cipher\" is not an object");
  if (auto bad = CheckFieldNames(cipher, "cipher.", {"alg", "nonce", "ciphertext"})) return Damaged(path, *bad);
  if (!IsString(cipher.at("alg"), kCipherAlg)) return Damaged(path, "\"cipher.alg\" is not \"xchacha20poly1305-ietf\"");
  auto nonce = HexField<kNonceBytes>(path, cipher, "nonce", "cipher.nonce");
  if (!nonce) return tl::unexpected(nonce.error());
  out.nonce = *nonce;
  auto ciphertext = HexField<kCiphertextBytes>(path, cipher, "ciphertext", "cipher.ciphertext");
  if (!ciphertext) return tl::unexpected(ciphertext.error());
  out.ciphertext = *ciphertext;
  return out;
}

std::string Encode(const Parsed& parsed) {
  const nlohmann::ordered_json json = {
      {"version", kVersion},
      {"kind", std::string(kKind)},
      {"public_key", proto::ToHex(parsed.public_key)},
      {"kdf",
       {{"alg", std::string(kKdfAlg)},
        {"opslimit", parsed.limits.opslimit},
        {"memlimit", static_cast<std::uint64_t>(parsed.limits.memlimit_bytes)},
        {"salt", proto::ToHex(proto::ByteView(parsed.salt))}}},
      {"cipher",
       {{"alg", std::string(kCipherAlg)},
        {"nonce", proto::ToHex(proto::ByteView(parsed.nonce))},
        {"ciphertext", proto::ToHex(proto::ByteView(parsed.ciphertext))}}},
  };
  return json.dump(2) + "\n";
}

// Everything in the file but the nonce and ciphertext, one field a line. Every value is a
// number or hex, so no value can contain the separator.
std::string AdditionalData(const Parsed& parsed) {
  return std::string(kKind) + "\nversion=" + std::to_string(kVersion) +
         "\npublic_key=" + proto::ToHex(parsed.public_key) + "\nkdf=" + std::string(kKdfAlg) +
         "\nopslimit=" + std::to_string(parsed.limits.opslimit) +
         "\nmemlimit=" + std::to_string(parsed.limits.memlimit_bytes) +
         "\nsalt=" + proto::ToHex(proto::ByteView(parsed.salt)) + "\ncipher=" + std::string(kCipherAlg) + "\n";
}

KeystoreResult<void> DeriveKey(std::string_view passphrase, const Parsed& parsed, Wiped<kKeyBytes>& key) {
  CIVIC_ASSERT(LimitsInBounds(parsed.limits));
  // crypto_pwhash wants a non-null pointer even for no bytes.
  const char* passphrase_bytes = passphrase.empty() ? "" : passphrase.data();
  if (crypto_pwhash(key.bytes.data(), key.bytes.size(), passphrase_bytes, passphrase.size(), parsed.salt.data(),
                    parsed.limits.opslimit, parsed.limits.memlimit_bytes, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    // libsodium fails here only when it cannot allocate memlimit bytes.
    return Fail(KeystoreError::kIo, "not enough memory for the passphrase hash (it needs " +
                                        std::to_string(parsed.limits.memlimit_bytes >> 20) + " MiB)");
  }
  return {};
}

// Decrypts into `secret` and checks that it is the key the file names.
KeystoreResult<void> Decrypt(const fs::path& path, const Parsed& parsed, std::string_view passphrase,
                             Wiped<kSecretBytes>& secret) {
  Wiped<kKeyBytes> key;
  if (auto derived = DeriveKey(passphrase, parsed, key); !derived) return derived;
  const std::string additional = AdditionalData(parsed);
  unsigned long long secret_bytes = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(secret.bytes.data(), &secret_bytes, nullptr, parsed.ciphertext.data(),
                                                 parsed.ciphertext.size(),
                                                 reinterpret_cast<const unsigned char*>(additional.data()),
                                                 additional.size(), parsed.nonce.data(), key.bytes.data()) != 0) {
    return Fail(KeystoreError::kWrongPassphrase,
                "wrong passphrase for keystore " + path.string() +
                    " (or the file was altered: its public key, KDF parameters, salt, nonce or ciphertext)");
  }
  CIVIC_ASSERT(secret_bytes == secret.bytes.size());
  // Reached only by a file encrypted under the right passphrase with another key's public key
  // (not something Create writes).
  proto::Result<proto::SchnorrKeyPair> pair = proto::SchnorrKeyPair::FromSecret(secret.bytes);
  if (!pair) return Damaged(path, "the encrypted secret is not a valid key");
  if (pair->public_key() != parsed.public_key)
    return Damaged(path, "\"public_key\" does not belong to the encrypted key");
  return {};
}

// The text of a new keystore file holding `secret` (whose public key is `public_key`).
KeystoreResult<std::string> Seal(const proto::Secret32& secret, const proto::SchnorrPublicKey& public_key,
                                 std::string_view passphrase, const KdfLimits& limits) {
  Parsed parsed;
  parsed.public_key = public_key;
  parsed.limits = limits;
  randombytes_buf(parsed.salt.data(), parsed.salt.size());
  randombytes_buf(parsed.nonce.data(), parsed.nonce.size());
  Wiped<kKeyBytes> key;
  if (auto derived = DeriveKey(passphrase, parsed, key); !derived) return tl::unexpected(derived.error());
  const std::string additional = AdditionalData(parsed);
  unsigned long long ciphertext_bytes = 0;
  const int sealed = crypto_aead_xchacha20poly1305_ietf_encrypt(
      parsed.ciphertext.data(), &ciphertext_bytes, secret.data(), secret.size(),
      reinterpret_cast<const unsigned char*>(additional.data()), additional.size(), nullptr, parsed.nonce.data(),
      key.bytes.data());
  CIVIC_ASSERT(sealed == 0);
  CIVIC_ASSERT(ciphertext_bytes == parsed.ciphertext.size());
  return Encode(parsed);
}

fs::path FolderOf(const fs::path& path) { return path.has_parent_path() ? path.parent_path() : fs::path("."); }

// Beside the keystore (rename and link work within one file system), with a name no other
// writer picks: our pid and 32 random bits.
fs::path TemporaryPathFor(const fs::path& path) {
  std::array<std::uint8_t, 4> random{};
  randombytes_buf(random.data(), random.size());
  return fs::path(path.string() + ".tmp-" + std::to_string(::getpid()) + "-" + proto::ToHex(proto::ByteView(random)));
}

// Creates `temporary` (refusing an existing one) with mode 0600, writes `text` whole and syncs.
// On failure nothing is left behind.
KeystoreResult<void> WriteSyncedFile(const fs::path& temporary, std::string_view text) {
  const int fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Fail(KeystoreError::kIo, "cannot create " + temporary.string() + ": " + ErrnoText(errno));
  // The umask can only have cleared bits of 0600; fchmod makes the mode exactly 0600 regardless.
  bool ok = ::fchmod(fd, 0600) == 0;
  std::size_t written = 0;
  while (ok && written < text.size()) {
    const ssize_t put = ::write(fd, text.data() + written, text.size() - written);
    if (put < 0 && errno == EINTR) continue;
    if (put < 0) ok = false;
    if (put > 0) written += static_cast<std::size_t>(put);
  }
  ok = ok && ::fsync(fd) == 0;
  int error_number = errno;
  if (::close(fd) != 0 && ok) {
    ok = false;
    error_number = errno;
  }
  if (!ok) {
    ::unlink(temporary.c_str());
    return Fail(KeystoreError::kIo, "cannot write " + temporary.string() + ": " + ErrnoText(error_number));
  }
  return {};
}

// A new or renamed name is durable only once its folder is synced.
KeystoreResult<void> SyncFolder(const fs::path& path, const std::string& what_happened) {
  const fs::path folder = FolderOf(path);
  const int fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  const int open_errno = errno;
  const bool ok = fd >= 0 && ::fsync(fd) == 0;
  const int error_number = fd >= 0 ? errno : open_errno;
  if (fd >= 0) ::close(fd);
  if (ok) return {};
  return Fail(KeystoreError::kIo, what_happened + ", but the folder " + folder.string() +
                                      " could not be synced, so a crash may still lose it: " + ErrnoText(error_number));
}

// bad_alloc and the like become a KeystoreFailure here, at the library's edge.
template <class F>
auto Guarded(F&& body) -> decltype(body()) {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return Fail(KeystoreError::kIo, "out of memory");
  } catch (const std::exception& e) {
    return Fail(KeystoreError::kIo, std::string("unexpected failure: ") + e.what());
  }
}

// --- Passphrase sources -------------------------------------------------------------------

KeystoreResult<Passphrase> Finish(std::string_view text, PassphrasePurpose purpose, const std::string& from) {
  if (text.empty()) return Fail(KeystoreError::kNoPassphrase, "the passphrase from " + from + " is empty");
  if (text.size() > kPassphraseBytesMax) {
    return Fail(KeystoreError::kNoPassphrase,
                "the passphrase from " + from + " is longer than " + std::to_string(kPassphraseBytesMax) + " bytes");
  }
  if (purpose == PassphrasePurpose::kNew) {
    if (auto strong = CheckNewPassphrase(text); !strong) return tl::unexpected(strong.error());
  }
  return Passphrase(text);
}

KeystoreResult<Passphrase> FromFile(const PassphraseFromFile& source, PassphrasePurpose purpose) {
  const std::string name = "passphrase file " + source.path.string();
  const int fd = OpenForReading(source.path);
  if (fd < 0) {
    const int open_errno = errno;
    if (open_errno == ENOENT || open_errno == ENOTDIR) {
      return Fail(KeystoreError::kNoPassphrase, name + " does not exist");
    }
    return Fail(KeystoreError::kNoPassphrase, "cannot open " + name + ": " + ErrnoText(open_errno));
  }
  const FdCloser closer(fd);
  struct stat info {};
  if (::fstat(fd, &info) != 0)
    return Fail(KeystoreError::kNoPassphrase, "cannot read " + name + ": " + ErrnoText(errno));
  if (!S_ISREG(info.st_mode)) return Fail(KeystoreError::kNoPassphrase, name + " is not a regular file");
  if ((info.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
    return Fail(KeystoreError::kInsecurePermissions,
                name + " can be read or changed by other users; run: chmod 600 " + source.path.string());
  }
  // Room for the longest passphrase we take and its "\r\n".
  std::string text;
  int read_errno = 0;
  const bool read = ReadUpTo(fd, kPassphraseBytesMax + 1, text, read_errno);
  std::string_view line(text);
  if (const std::size_t newline = line.find('\n'); newline != std::string_view::npos) {
    line = line.substr(0, newline);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  }
  KeystoreResult<Passphrase> result =
      Fail(KeystoreError::kNoPassphrase, "cannot read " + name + ": " + ErrnoText(read_errno));
  if (read) result = Finish(line, purpose, name);
  sodium_memzero(text.data(), text.size());
  return result;
}

KeystoreResult<Passphrase> FromEnv(const PassphraseFromEnv& source, PassphrasePurpose purpose) {
  const std::string name = "environment variable " + source.variable;
  const char* value = std::getenv(source.variable.c_str());
  if (value == nullptr) return Fail(KeystoreError::kNoPassphrase, name + " is not set");
  return Finish(value, purpose, name);
}

// Restores the terminal's settings and closes it, on every path out of the prompt.
class Terminal {
 public:
  Terminal(int fd, const termios& saved) : fd_(fd), saved_(saved) {}
  Terminal(const Terminal&) = delete;
  Terminal& operator=(const Terminal&) = delete;
  ~Terminal() {
    ::tcsetattr(fd_, TCSAFLUSH, &saved_);
    ::close(fd_);
  }

 private:
  int fd_;
  termios saved_;
};

void WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    const ssize_t put = ::write(fd, text.data(), text.size());
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) return;  // the prompt is a courtesy; reading still works without it
    text.remove_prefix(static_cast<std::size_t>(put));
  }
}

// One line typed on the terminal without echo. We read byte by byte with the line discipline
// off (no ICANON, no ISIG), so Ctrl-C arrives as a byte and cancels here instead of killing the
// process with echo still off; backspace and Ctrl-U are handled below.
KeystoreResult<Passphrase> PromptOnce(const std::string& prompt, PassphrasePurpose purpose) {
  const std::string from = "the terminal";
  const int fd = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    return Fail(KeystoreError::kNoPassphrase, "no terminal to ask for the passphrase (" + ErrnoText(errno) +
                                                  "); give it in a file or an environment variable instead");
  }
  termios saved{};
  if (::tcgetattr(fd, &saved) != 0) {
    const int error_number = errno;
    ::close(fd);
    return Fail(KeystoreError::kNoPassphrase, "cannot set up the terminal: " + ErrnoText(error_number));
  }
  const Terminal terminal(fd, saved);
  termios quiet = saved;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO | ECHOE | ECHOK | ECHONL | ICANON | ISIG | IEXTEN);
  quiet.c_cc[VMIN] = 1;
  quiet.c_cc[VTIME] = 0;
  if (::tcsetattr(fd, TCSAFLUSH, &quiet) != 0) {
    return Fail(KeystoreError::kNoPassphrase, "cannot turn off echo on the terminal: " + ErrnoText(errno));
  }
  // Written after echo is off, so whoever sees the prompt may type.
  WriteAll(fd, prompt);

  Wiped<kPassphraseBytesMax> line;
  std::size_t size = 0;
  bool too_long = false;
  for (;;) {
    unsigned char byte = 0;
    const ssize_t got = ::read(fd, &byte, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0 || byte == 0x03 || (byte == 0x04 && size == 0)) {  // hang-up, Ctrl-C, Ctrl-D
      WriteAll(fd, "\n");
      return Fail(KeystoreError::kNoPassphrase, "the passphrase prompt was cancelled");
    }
    if (byte == '\n' || byte == '\r') break;
    if (byte == 0x7f || byte == 0x08) {  // backspace: drop one UTF-8 character
      while (size > 0 && (line.bytes[size - 1] & 0xC0) == 0x80) --size;
      if (size > 0) --size;
      continue;
    }
    if (byte == 0x15) {  // Ctrl-U: start over
      size = 0;
      continue;
    }
    if (byte < 0x20) continue;  // other control keys (Ctrl-Z, Tab, ...) are not part of it
    if (size == line.bytes.size()) {
      too_long = true;
      continue;
    }
    line.bytes[size++] = byte;
  }
  WriteAll(fd, "\n");
  if (too_long) {
    return Fail(KeystoreError::kNoPassphrase,
                "the passphrase typed is longer than " + std::to_string(kPassphraseBytesMax) + " bytes");
  }
  return Finish(std::string_view(reinterpret_cast<const char*>(line.bytes.data()), size), purpose, from);
}

KeystoreResult<Passphrase> FromPrompt(const PassphraseFromPrompt& source, PassphrasePurpose purpose) {
  KeystoreResult<Passphrase> first = PromptOnce(source.prompt, purpose);
  if (!first || purpose == PassphrasePurpose::kUnlock) return first;
  KeystoreResult<Passphrase> again = PromptOnce("Repeat the passphrase: ", PassphrasePurpose::kUnlock);
  if (!again) return again;
  const std::string_view a = first->view();
  const std::string_view b = again->view();
  if (a.size() != b.size() || sodium_memcmp(a.data(), b.data(), a.size()) != 0) {
    return Fail(KeystoreError::kNoPassphrase, "the two passphrases differ; nothing was changed");
  }
  return first;
}

}  // namespace

std::string_view KeystoreErrorName(KeystoreError code) {
  switch (code) {
    case KeystoreError::kMissing: return "missing";
    case KeystoreError::kUnreadable: return "unreadable";
    case KeystoreError::kDamaged: return "damaged";
    case KeystoreError::kWrongPassphrase: return "wrong_passphrase";
    case KeystoreError::kExists: return "exists";
    case KeystoreError::kIo: return "io";
    case KeystoreError::kWeakPassphrase: return "weak_passphrase";
    case KeystoreError::kNoPassphrase: return "no_passphrase";
    case KeystoreError::kInsecurePermissions: return "insecure_permissions";
    case KeystoreError::kInvalidSecret: return "invalid_secret";
  }
  return "unknown_error";
}

KeystoreResult<proto::SchnorrPublicKey> Create(const fs::path& path, const proto::Secret32& secret,
                                               std::string_view passphrase, const KdfLimits& limits) {
  CIVIC_ASSERT(LimitsInBounds(limits));
  return Guarded([&]() -> KeystoreResult<proto::SchnorrPublicKey> {
    if (auto ready = InitSodium(); !ready) return tl::unexpected(ready.error());
    if (auto strong = CheckNewPassphrase(passphrase); !strong) return tl::unexpected(strong.error());
    proto::Result<proto::SchnorrKeyPair> pair = proto::SchnorrKeyPair::FromSecret(secret);
    if (!pair) return Fail(KeystoreError::kInvalidSecret, "the secret key is zero or not below the curve order");
    const std::string exists = path.string() + " exists already; refusing to overwrite a keystore";
    // Before the slow hash, to fail fast; link() below is what actually guarantees it.
    struct stat info {};
    if (::lstat(path.c_str(), &info) == 0) return Fail(KeystoreError::kExists, exists);

    KeystoreResult<std::string> text = Seal(secret, pair->public_key(), passphrase, limits);
    if (!text) return tl::unexpected(text.error());
    const fs::path temporary = TemporaryPathFor(path);
    if (auto written = WriteSyncedFile(temporary, *text); !written) return tl::unexpected(written.error());
    // link() refuses an existing target, so a keystore that appeared meanwhile is never replaced.
    const int linked = ::link(temporary.c_str(), path.c_str());
    const int link_errno = errno;
    ::unlink(temporary.c_str());
    if (linked != 0 && link_errno == EEXIST) return Fail(KeystoreError::kExists, exists);
    if (linked != 0) return Fail(KeystoreError::kIo, "cannot create " + path.string() + ": " + ErrnoText(link_errno));
    if (auto synced = SyncFolder(path, "keystore " + path.string() + " was written"); !synced) {
      return tl::unexpected(synced.error());
    }
    return pair->public_key();
  });
}

KeystoreResult<proto::SchnorrPublicKey> ReadPublicKey(const fs::path& path) {
  return Guarded([&]() -> KeystoreResult<proto::SchnorrPublicKey> {
    KeystoreResult<std::string> text = ReadKeystoreText(path);
    if (!text) return tl::unexpected(text.error());
    KeystoreResult<Parsed> parsed = Parse(path, *text);
    if (!parsed) return tl::unexpected(parsed.error());
    return parsed->public_key;
  });
}

KeystoreResult<proto::SchnorrKeyPair> Unlock(const fs::path& path, std::string_view passphrase) {
  return Guarded([&]() -> KeystoreResult<proto::SchnorrKeyPair> {
    if (auto ready = InitSodium(); !ready) return tl::unexpected(ready.error());
    KeystoreResult<std::string> text = ReadKeystoreText(path);
    if (!text) return tl::unexpected(text.error());
    KeystoreResult<Parsed> parsed = Parse(path, *text);
    if (!parsed) return tl::unexpected(parsed.error());
    Wiped<kSecretBytes> secret;
    if (auto opened = Decrypt(path, *parsed, passphrase, secret); !opened) return tl::unexpected(opened.error());
    proto::Result<proto::SchnorrKeyPair> pair = proto::SchnorrKeyPair::FromSecret(secret.bytes);
    CIVIC_ASSERT(pair.has_value());  // Decrypt checked it
    return std::move(*pair);
  });
}

KeystoreResult<void> ChangePassphrase(const fs::path& path, std::string_view old_passphrase,
                                      std::string_view new_passphrase, const KdfLimits& limits) {
  CIVIC_ASSERT(LimitsInBounds(limits));
  return Guarded([&]() -> KeystoreResult<void> {
    if (auto ready = InitSodium(); !ready) return ready;
    if (auto strong = CheckNewPassphrase(new_passphrase); !strong) return strong;
    KeystoreResult<std::string> before = ReadKeystoreText(path);
    if (!before) return tl::unexpected(before.error());
    KeystoreResult<Parsed> parsed = Parse(path, *before);
    if (!parsed) return tl::unexpected(parsed.error());
    Wiped<kSecretBytes> secret;
    if (auto opened = Decrypt(path, *parsed, old_passphrase, secret); !opened) return opened;
    KeystoreResult<std::string> text = Seal(secret.bytes, parsed->public_key, new_passphrase, limits);
    if (!text) return tl::unexpected(text.error());

    const fs::path temporary = TemporaryPathFor(path);
    if (auto written = WriteSyncedFile(temporary, *text); !written) return written;
    const auto abandon = [&](const std::string& why) {
      ::unlink(temporary.c_str());
      return Fail(KeystoreError::kIo, why + "; keystore " + path.string() + " is unchanged");
    };
    // Read back what the disk holds, and decrypt it as Unlock will, before it replaces anything.
    KeystoreResult<std::string> reread = ReadKeystoreText(temporary);
    if (!reread || *reread != *text) return abandon("the re-encrypted keystore did not read back as written");
    KeystoreResult<Parsed> reparsed = Parse(temporary, *reread);
    if (!reparsed) return abandon(reparsed.error().message);
    Wiped<kSecretBytes> check;
    if (auto opened = Decrypt(temporary, *reparsed, new_passphrase, check); !opened) {
      return abandon(opened.error().message);
    }
    if (sodium_memcmp(check.bytes.data(), secret.bytes.data(), secret.bytes.size()) != 0) {
      return abandon("the re-encrypted keystore holds a different key");
    }
    // Someone else changed the keystore while we hashed: theirs wins, ours is dropped.
    KeystoreResult<std::string> now = ReadKeystoreText(path);
    if (!now || *now != *before) return abandon("the keystore changed while its passphrase was being changed");
    if (::rename(temporary.c_str(), path.c_str()) != 0) {
      return abandon("cannot replace " + path.string() + ": " + ErrnoText(errno));
    }
    return SyncFolder(path, "the passphrase of keystore " + path.string() + " was changed");
  });
}

Passphrase::Passphrase(std::string_view text) : bytes_(text.begin(), text.end()) {}

Passphrase::Passphrase(Passphrase&& other) noexcept : bytes_(std::move(other.bytes_)) {}

Passphrase& Passphrase::operator=(Passphrase&& other) noexcept {
  if (this != &other) {
    Wipe();
    bytes_ = std::move(other.bytes_);
  }
  return *this;
}

Passphrase::~Passphrase() { Wipe(); }

void Passphrase::Wipe() {
  if (!bytes_.empty()) sodium_memzero(bytes_.data(), bytes_.size());
}

KeystoreResult<Passphrase> ReadPassphrase(const PassphraseSource& source, PassphrasePurpose purpose) {
  return Guarded([&]() -> KeystoreResult<Passphrase> {
    if (const auto* file = std::get_if<PassphraseFromFile>(&source)) return FromFile(*file, purpose);
    if (const auto* env = std::get_if<PassphraseFromEnv>(&source)) return FromEnv(*env, purpose);
    return FromPrompt(std::get<PassphraseFromPrompt>(source), purpose);
  });
}

}  // namespace civic::wallet
