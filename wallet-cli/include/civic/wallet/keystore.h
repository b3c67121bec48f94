// The resident's keystore: one BIP-340 secret key in a file, encrypted under a passphrase.
//
// File format (JSON, at most kKeystoreBytesMax bytes, mode 0600):
//   {"version": 1, "kind": "civic-wallet-key",
//    "public_key": "<64 hex>",                        // x-only, so `whoami` needs no passphrase
//    "kdf": {"alg": "argon2id13", "opslimit": N, "memlimit": N, "salt": "<32 hex>"},
//    "cipher": {"alg": "xchacha20poly1305-ietf", "nonce": "<48 hex>", "ciphertext": "<96 hex>"}}
// The key is Argon2id(passphrase, salt, opslimit, memlimit); the AEAD's additional data binds
// version, kind, both algorithms, opslimit, memlimit, salt and public_key, so a file whose
// public key or KDF parameters were swapped does not decrypt.
//
// Guarantees:
//  - Reading is strict: an unknown or missing field, a wrong type, a wrong hex length, KDF
//    parameters above kKdfOpslimitMax / kKdfMemlimitBytesMax (a crafted file cannot make us
//    allocate 100 GB) all give kDamaged with a message naming the field.
//  - A missing file (kMissing), a file we cannot read (kUnreadable), a damaged file (kDamaged)
//    and a wrong passphrase (kWrongPassphrase) are told apart. A ciphertext, salt or public
//    key altered into another well-formed value cannot be told from a wrong passphrase: both
//    are an authentication failure, and the message says so.
//  - No write ever replaces a good keystore with a partial one: Create links a synced file
//    into place and refuses an existing one; ChangePassphrase renames a synced, re-read and
//    decrypted file over the old one. Both sync the folder afterwards.
//  - Secrets (the key, the derived key, passphrases read here) are wiped after use.
//  - A group- or world-readable keystore is still opened: it is encrypted, and refusing it
//    would lock a resident out after restoring a backup. A passphrase FILE is refused if
//    group or others have any permission on it (kInsecurePermissions), as civicd refuses
//    such a validator key file: it holds the passphrase in the clear.
//
// Thread rules: all functions may run concurrently on different files. Two processes changing
// one keystore at once are not coordinated (the loser's change is lost, never half-written).
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <tl/expected.hpp>

#include "civic/proto/bytes.h"
#include "civic/proto/schnorr.h"

namespace civic::wallet {

enum class KeystoreError : std::uint8_t {
  kMissing,              // the keystore file does not exist
  kUnreadable,           // it exists but cannot be read (permissions, a folder, a device)
  kDamaged,              // not a keystore this build understands; the message names the field
  kWrongPassphrase,      // authentication failed: wrong passphrase, or the file was altered
  kExists,               // Create: a file is already there, and was left alone
  kIo,                   // the environment failed: writing, syncing, renaming, out of memory
  kWeakPassphrase,       // a new passphrase shorter than kPassphraseCharsMin
  kNoPassphrase,         // the passphrase source gave none: unset variable, missing or empty
                         // file, no terminal, the prompt cancelled or its two entries differ
  kInsecurePermissions,  // a passphrase file that group or others may access
  kInvalidSecret,        // Create: the secret is zero or not below the curve order
};

// A stable lower-case name, for logs and JSON ("missing", "wrong_passphrase", ...).
std::string_view KeystoreErrorName(KeystoreError code);

struct KeystoreFailure {
  KeystoreError code;
  std::string message;  // names the file and what was wrong; where it helps, what to do
};

template <class T>
using KeystoreResult = tl::expected<T, KeystoreFailure>;

inline constexpr std::size_t kKeystoreBytesMax = 64 * 1024;
inline constexpr std::size_t kPassphraseCharsMin = 8;     // for new passphrases; UTF-8 characters
inline constexpr std::size_t kPassphraseBytesMax = 1024;  // for passphrases read from a source

// Argon2id cost. Create writes them into the file; Unlock uses what the file says, within bounds.
struct KdfLimits {
  std::uint64_t opslimit;
  std::size_t memlimit_bytes;
};
// libsodium's presets (keystore.cc checks them against crypto_pwhash_*).
inline constexpr KdfLimits kKdfModerate{3, std::size_t{256} << 20};  // the default: about a second
inline constexpr KdfLimits kKdfInteractive{2, std::size_t{64} << 20};
inline constexpr KdfLimits kKdfMinimum{1, 8192};  // tests only: no protection
inline constexpr std::uint64_t kKdfOpslimitMax = 20;
inline constexpr std::size_t kKdfMemlimitBytesMax = std::size_t{1} << 30;

// Writes a new keystore at `path` holding `secret`, encrypted under `passphrase`.
// REQUIRES: limits within [kKdfMinimum, (kKdfOpslimitMax, kKdfMemlimitBytesMax)].
// Fails with kExists (file untouched) if `path` exists, kWeakPassphrase, kInvalidSecret, kIo.
// Returns the public key.
[[nodiscard]] KeystoreResult<proto::SchnorrPublicKey> Create(const std::filesystem::path& path,
                                                             const proto::Secret32& secret, std::string_view passphrase,
                                                             const KdfLimits& limits = kKdfModerate);

// The public key, without the passphrase. The whole file is checked as Unlock checks it, except
// that nothing is decrypted: the key is only as trustworthy as the file.
[[nodiscard]] KeystoreResult<proto::SchnorrPublicKey> ReadPublicKey(const std::filesystem::path& path);

// The key pair, decrypted. Costs one Argon2id run at the file's limits.
[[nodiscard]] KeystoreResult<proto::SchnorrKeyPair> Unlock(const std::filesystem::path& path,
                                                           std::string_view passphrase);

// Re-encrypts the keystore under `new_passphrase` (fresh salt and nonce, `limits`). The new
// file is written beside the old one, synced, read back and decrypted, and only then renamed
// over it; on any failure the old file is left byte for byte as it was.
[[nodiscard]] KeystoreResult<void> ChangePassphrase(const std::filesystem::path& path, std::string_view old_passphrase,
                                                    std::string_view new_passphrase,
                                                    const KdfLimits& limits = kKdfModerate);

// A passphrase in memory that is wiped when destroyed. Movable, not copyable.
class Passphrase {
 public:
  explicit Passphrase(std::string_view text);
  Passphrase(Passphrase&& other) noexcept;
  Passphrase& operator=(Passphrase&& other) noexcept;
  Passphrase(const Passphrase&) = delete;
  Passphrase& operator=(const Passphrase&) = delete;
  ~Passphrase();

  std::string_view view() const { return std::string_view(bytes_.data(), bytes_.size()); }

 private:
  void Wipe();
  std::vector<char> bytes_;  // never grows, so no copy is left behind in freed memory
};

// Where a passphrase comes from. Scripts use a file or a variable; people use the prompt.
struct PassphraseFromFile {
  std::filesystem::path path;  // the first line, without "\n" or "\r\n"; the rest is ignored
};
struct PassphraseFromEnv {
  std::string variable;  // the variable's name, e.g. "CIVIC_WALLET_PASSPHRASE"
};
struct PassphraseFromPrompt {
  std::string prompt;  // e.g. "Passphrase for /home/ana/.civic/key.json: "
};
using PassphraseSource = std::variant<PassphraseFromFile, PassphraseFromEnv, PassphraseFromPrompt>;

enum class PassphrasePurpose : std::uint8_t {
  kUnlock,  // an existing keystore's passphrase
  kNew,     // a new one: at least kPassphraseCharsMin characters; the prompt asks twice
};

// Reads a passphrase. The prompt talks to /dev/tty (not stdin/stdout, which scripts may
// redirect) with echo off; Ctrl-C or Ctrl-D on an empty line cancels (kNoPassphrase), and the
// terminal is restored on every path. An empty passphrase is kNoPassphrase from any source.
[[nodiscard]] KeystoreResult<Passphrase> ReadPassphrase(const PassphraseSource& source, PassphrasePurpose purpose);

}  // namespace civic::wallet
