// The keystore against real files in a temporary folder, and the passphrase prompt against a
// real pseudo-terminal. Almost every test uses kKdfMinimum so that Argon2id stays fast.
#include "civic/wallet/keystore.h"

#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "civic/proto/bytes.h"
#include "civic/proto/schnorr.h"

namespace civic::wallet {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

constexpr std::string_view kPassphrase = "correct horse battery staple";

proto::Secret32 SecretFilledWith(std::uint8_t byte) {
  proto::Secret32 secret{};
  secret.fill(byte);
  return secret;
}

proto::SchnorrPublicKey PublicKeyOf(const proto::Secret32& secret) {
  proto::Result<proto::SchnorrKeyPair> pair = proto::SchnorrKeyPair::FromSecret(secret);
  EXPECT_TRUE(pair.has_value());
  return pair->public_key();
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void WriteText(const fs::path& path, const std::string& text) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  fs::permissions(path, fs::perms::owner_read | fs::perms::owner_write);
}

std::vector<std::string> FolderEntries(const fs::path& folder) {
  std::vector<std::string> names;
  for (const fs::directory_entry& entry : fs::directory_iterator(folder))
    names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

class KeystoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string name = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    folder_ = fs::temp_directory_path() / ("civic-keystore-test-" + std::to_string(::getpid()) + "-" + name);
    fs::remove_all(folder_);
    fs::create_directories(folder_);
    path_ = folder_ / "key.json";
  }
  void TearDown() override { fs::remove_all(folder_); }

  // A keystore at path_ holding SecretFilledWith(0x11) under kPassphrase.
  void CreateKeystore() {
    KeystoreResult<proto::SchnorrPublicKey> created = Create(path_, secret_, kPassphrase, kKdfMinimum);
    ASSERT_TRUE(created.has_value()) << created.error().message;
  }

  // Rewrites path_ after `edit` changed its JSON.
  void EditKeystore(const std::function<void(Json&)>& edit) {
    Json json = Json::parse(ReadText(path_));
    edit(json);
    WriteText(path_, json.dump(2));
  }

  // Unlock must fail with `code` and a message containing `words`; ReadPublicKey too, unless
  // the damage is one only decryption can see.
  void ExpectUnlockFails(KeystoreError code, const std::string& words) {
    KeystoreResult<proto::SchnorrKeyPair> unlocked = Unlock(path_, kPassphrase);
    ASSERT_FALSE(unlocked.has_value());
    EXPECT_EQ(KeystoreErrorName(unlocked.error().code), KeystoreErrorName(code)) << unlocked.error().message;
    EXPECT_NE(unlocked.error().message.find(words), std::string::npos) << unlocked.error().message;
    EXPECT_NE(unlocked.error().message.find(path_.string()), std::string::npos) << unlocked.error().message;
    if (code == KeystoreError::kWrongPassphrase) return;
    KeystoreResult<proto::SchnorrPublicKey> public_key = ReadPublicKey(path_);
    ASSERT_FALSE(public_key.has_value());
    EXPECT_EQ(public_key.error().code, code);
  }

  fs::path folder_;
  fs::path path_;
  const proto::Secret32 secret_ = SecretFilledWith(0x11);
};

TEST_F(KeystoreTest, CreateThenUnlockGivesTheSameKey) {
  KeystoreResult<proto::SchnorrPublicKey> created = Create(path_, secret_, kPassphrase, kKdfMinimum);
  ASSERT_TRUE(created.has_value()) << created.error().message;
  EXPECT_EQ(*created, PublicKeyOf(secret_));

  KeystoreResult<proto::SchnorrKeyPair> unlocked = Unlock(path_, kPassphrase);
  ASSERT_TRUE(unlocked.has_value()) << unlocked.error().message;
  EXPECT_EQ(unlocked->public_key(), PublicKeyOf(secret_));
  const proto::Secret32 aux{};
  const proto::SchnorrSignature signature = unlocked->Sign(proto::AsBytes("ballot"), aux);
  EXPECT_TRUE(proto::SchnorrVerify(PublicKeyOf(secret_), proto::AsBytes("ballot"), signature));

  KeystoreResult<proto::SchnorrPublicKey> public_key = ReadPublicKey(path_);
  ASSERT_TRUE(public_key.has_value()) << public_key.error().message;
  EXPECT_EQ(*public_key, PublicKeyOf(secret_));
}

TEST_F(KeystoreTest, FileHasTheDocumentedFieldsAndNoSecretInTheClear) {
  CreateKeystore();
  const std::string text = ReadText(path_);
  const Json json = Json::parse(text);
  EXPECT_EQ(json["version"], 1);
  EXPECT_EQ(json["kind"], "civic-wallet-key");
  EXPECT_EQ(json["public_key"], proto::ToHex(PublicKeyOf(secret_)));
  EXPECT_EQ(json["kdf"]["alg"], "argon2id13");
  EXPECT_EQ(json["kdf"]["opslimit"], kKdfMinimum.opslimit);
  EXPECT_EQ(json["kdf"]["memlimit"], kKdfMinimum.memlimit_bytes);
  EXPECT_EQ(json["cipher"]["alg"], "xchacha20poly1305-ietf");
  EXPECT_EQ(text.find(proto::ToHex(proto::ByteView(secret_))), std::string::npos);
}

TEST_F(KeystoreTest, FileModeIs0600EvenUnderAPermissiveUmask) {
  const mode_t previous = ::umask(0);
  KeystoreResult<proto::SchnorrPublicKey> created = Create(path_, secret_, kPassphrase, kKdfMinimum);
  ::umask(previous);
  ASSERT_TRUE(created.has_value()) << created.error().message;
  struct stat info {};
  ASSERT_EQ(::stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);
  EXPECT_EQ(FolderEntries(folder_), std::vector<std::string>{"key.json"});  // no temporary left behind
}

TEST_F(KeystoreTest, WrongPassphraseIsToldApart) {
  CreateKeystore();
  KeystoreResult<proto::SchnorrKeyPair> unlocked = Unlock(path_, "correct horse battery stapler");
  ASSERT_FALSE(unlocked.has_value());
  EXPECT_EQ(unlocked.error().code, KeystoreError::kWrongPassphrase);
  EXPECT_NE(unlocked.error().message.find("wrong passphrase"), std::string::npos) << unlocked.error().message;
  EXPECT_FALSE(Unlock(path_, "").has_value());
}

TEST_F(KeystoreTest, MissingFileIsToldApart) {
  ExpectUnlockFails(KeystoreError::kMissing, "does not exist");
  path_ = folder_ / "no-such-folder" / "key.json";
  ExpectUnlockFails(KeystoreError::kMissing, "does not exist");
}

TEST_F(KeystoreTest, AFolderIsUnreadable) {
  fs::create_directory(path_);
  ExpectUnlockFails(KeystoreError::kUnreadable, "not a regular file");
}

TEST_F(KeystoreTest, TruncatedFileIsDamaged) {
  CreateKeystore();
  const std::string text = ReadText(path_);
  WriteText(path_, text.substr(0, text.size() / 2));
  ExpectUnlockFails(KeystoreError::kDamaged, "not valid JSON");
}

TEST_F(KeystoreTest, EmptyFileIsDamaged) {
  WriteText(path_, "");
  ExpectUnlockFails(KeystoreError::kDamaged, "empty");
}

TEST_F(KeystoreTest, NonJsonIsDamaged) {
  WriteText(path_, "-----BEGIN PRIVATE KEY-----\n");
  ExpectUnlockFails(KeystoreError::kDamaged, "not valid JSON");
  WriteText(path_, "[1, 2, 3]");
  ExpectUnlockFails(KeystoreError::kDamaged, "not a JSON object");
}

TEST_F(KeystoreTest, OversizedFileIsDamaged) {
  WriteText(path_, std::string(kKeystoreBytesMax + 1, ' '));
  ExpectUnlockFails(KeystoreError::kDamaged, "larger than 65536 bytes");
}

TEST_F(KeystoreTest, DeeplyNestedJsonIsDamaged) {
  WriteText(path_, std::string(10'000, '[') + std::string(10'000, ']'));
  ExpectUnlockFails(KeystoreError::kDamaged, "nested deeper");
}

TEST_F(KeystoreTest, FlippedCiphertextByteReadsAsWrongPassphraseOrAltered) {
  CreateKeystore();
  EditKeystore([](Json& json) {
    std::string ciphertext = json["cipher"]["ciphertext"];
    ciphertext[10] = ciphertext[10] == '0' ? '1' : '0';
    json["cipher"]["ciphertext"] = ciphertext;
  });
  ExpectUnlockFails(KeystoreError::kWrongPassphrase, "altered");
  EXPECT_TRUE(ReadPublicKey(path_).has_value());  // only decryption can see this one
}

TEST_F(KeystoreTest, SwappedPublicKeyDoesNotDecrypt) {
  CreateKeystore();
  const proto::SchnorrPublicKey other = PublicKeyOf(SecretFilledWith(0x22));
  EditKeystore([&](Json& json) { json["public_key"] = proto::ToHex(other); });
  ExpectUnlockFails(KeystoreError::kWrongPassphrase, "altered");
}

TEST_F(KeystoreTest, PublicKeyOffTheCurveOrOfTheWrongLengthIsDamaged) {
  CreateKeystore();
  EditKeystore([](Json& json) { json["public_key"] = std::string(64, 'f'); });  // x above the field prime
  ExpectUnlockFails(KeystoreError::kDamaged, "\"public_key\" is not a valid BIP-340 public key");
  EditKeystore([](Json& json) { json["public_key"] = std::string(62, 'a'); });
  ExpectUnlockFails(KeystoreError::kDamaged, "\"public_key\" must be 64 hex digits, has 62");
  EditKeystore([](Json& json) { json["public_key"] = std::string(64, 'g'); });
  ExpectUnlockFails(KeystoreError::kDamaged, "\"public_key\" is not hex");
}

TEST_F(KeystoreTest, ChangedSaltDoesNotDecrypt) {
  CreateKeystore();
  EditKeystore([](Json& json) { json["kdf"]["salt"] = std::string(32, '0'); });
  ExpectUnlockFails(KeystoreError::kWrongPassphrase, "altered");
}

TEST_F(KeystoreTest, ChangedKdfParametersDoNotDecrypt) {
  CreateKeystore();
  EditKeystore([](Json& json) { json["kdf"]["memlimit"] = kKdfMinimum.memlimit_bytes + 1024; });
  ExpectUnlockFails(KeystoreError::kWrongPassphrase, "altered");
}

TEST_F(KeystoreTest, UnknownFieldIsDamagedAndNamed) {
  CreateKeystore();
  EditKeystore([](Json& json) { json["comment"] = "my key"; });
  ExpectUnlockFails(KeystoreError::kDamaged, "unknown field \"comment\"");
  EditKeystore([](Json& json) {
    json.erase("comment");
    json["kdf"]["parallelism"] = 4;
  });
  ExpectUnlockFails(KeystoreError::kDamaged, "unknown field \"kdf.parallelism\"");
}

TEST_F(KeystoreTest, MissingFieldIsDamagedAndNamed) {
  CreateKeystore();
  EditKeystore([](Json& json) { json["cipher"].erase("nonce"); });
  ExpectUnlockFails(KeystoreError::kDamaged, "missing field \"cipher.nonce\"");
}

TEST_F(KeystoreTest, WrongTypesAreDamagedAndNamed) {
  CreateKeystore();
  const std::string good = ReadText(path_);
  EditKeystore([](Json& json) { json["kdf"]["opslimit"] = "1"; });
  ExpectUnlockFails(KeystoreError::kDamaged, "\"kdf.opslimit\" is not a non-negative integer");
  WriteText(path_, good);
  EditKeystore([](Json& json) { json["kdf"]["opslimit"] = -1; });
  ExpectUnlockFails(KeystoreError::kDamaged, "\"kdf.opslimit\" is not a non-negative integer");
  WriteText(path_, good);
  EditKeystore([](Json& json) { json["kdf"]["memlimit"] = 8192.0; });
  ExpectUnlockFails(KeystoreError::kDamaged, "\"kdf.memlimit\" is not a non-negative integer");
  WriteText(path_, good);
  EditKeystore([](Json& json) { json["cipher"] = "xchacha20poly1305-ietf"; });
  ExpectUnlockFails(KeystoreError::kDamaged, "\"cipher\" is not an object");
  WriteText(path_, good);
  EditKeystore([](Json& json) { json["kdf"]["salt"] = 12; });
  ExpectUnlockFails(KeystoreError::kDamaged, "\"kdf.salt\" is not a string");
  WriteText(path_, good);
  EditKeystore([](Json& json) { json["kdf"]["alg"] = "scrypt"; });
  ExpectUnlockFails(KeystoreError::kDamaged, "\"kdf.alg\" is not \"argon2id13\"");
}

TEST_F(KeystoreTest, HugeKdfParametersAreRefusedBeforeHashing) {
  CreateKeystore();
  const std::string good = ReadText(path_);
  EditKeystore([](Json& json) { json["kdf"]["memlimit"] = std::uint64_t{100} << 30; });
  const auto start = std::chrono::steady_clock::now();
  ExpectUnlockFails(KeystoreError::kDamaged, "\"kdf.memlimit\" is 107374182400, outside the 8192..1073741824");
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  WriteText(path_, good);
  EditKeystore([](Json& json) { json["kdf"]["opslimit"] = 1'000'000; });
  ExpectUnlockFails(KeystoreError::kDamaged, "\"kdf.opslimit\" is 1000000, outside the 1..20");
  WriteText(path_, good);
  EditKeystore([](Json& json) { json["kdf"]["memlimit"] = 1024; });
  ExpectUnlockFails(KeystoreError::kDamaged, "\"kdf.memlimit\" is 1024, outside");
}

TEST_F(KeystoreTest, DuplicateFieldIsDamaged) {
  CreateKeystore();
  std::string text = ReadText(path_);
  text.insert(text.find('{') + 1, "\"version\": 1,");
  WriteText(path_, text);
  ExpectUnlockFails(KeystoreError::kDamaged, "field \"version\" appears twice");
}

TEST_F(KeystoreTest, OtherVersionIsDamagedAndSaysSo) {
  CreateKeystore();
  EditKeystore([](Json& json) { json["version"] = 2; });
  ExpectUnlockFails(KeystoreError::kDamaged, "version 2 is not one this civic-wallet reads");
}

TEST_F(KeystoreTest, CreateRefusesAnExistingFileAndLeavesItByteIdentical) {
  CreateKeystore();
  const std::string before = ReadText(path_);
  KeystoreResult<proto::SchnorrPublicKey> again =
      Create(path_, SecretFilledWith(0x22), "another good passphrase", kKdfMinimum);
  ASSERT_FALSE(again.has_value());
  EXPECT_EQ(again.error().code, KeystoreError::kExists);
  EXPECT_NE(again.error().message.find("exists already"), std::string::npos);
  EXPECT_EQ(ReadText(path_), before);
  EXPECT_EQ(FolderEntries(folder_), std::vector<std::string>{"key.json"});

  const fs::path notes = folder_ / "notes.txt";
  WriteText(notes, "not a keystore");
  EXPECT_EQ(Create(notes, secret_, kPassphrase, kKdfMinimum).error().code, KeystoreError::kExists);
  EXPECT_EQ(ReadText(notes), "not a keystore");
}

TEST_F(KeystoreTest, CreateRefusesAWeakPassphrase) {
  KeystoreResult<proto::SchnorrPublicKey> created = Create(path_, secret_, "hunter2", kKdfMinimum);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code, KeystoreError::kWeakPassphrase);
  EXPECT_NE(created.error().message.find("at least 8 characters"), std::string::npos);
  // Characters, not bytes: seven "é" are fourteen bytes and still too short.
  EXPECT_EQ(
      Create(path_, secret_, "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", kKdfMinimum).error().code,
      KeystoreError::kWeakPassphrase);
  EXPECT_FALSE(fs::exists(path_));
  EXPECT_TRUE(Create(path_, secret_, "\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9\xC3\xA9", kKdfMinimum)
                  .has_value());
}

TEST_F(KeystoreTest, CreateRefusesAnInvalidSecret) {
  KeystoreResult<proto::SchnorrPublicKey> created = Create(path_, proto::Secret32{}, kPassphrase, kKdfMinimum);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code, KeystoreError::kInvalidSecret);
  EXPECT_EQ(Create(path_, SecretFilledWith(0xff), kPassphrase, kKdfMinimum).error().code,  // above the order
            KeystoreError::kInvalidSecret);
  EXPECT_FALSE(fs::exists(path_));
}

TEST_F(KeystoreTest, CreateInAMissingFolderIsAnIoError) {
  KeystoreResult<proto::SchnorrPublicKey> created =
      Create(folder_ / "no-such-folder" / "key.json", secret_, kPassphrase, kKdfMinimum);
  ASSERT_FALSE(created.has_value());
  EXPECT_EQ(created.error().code, KeystoreError::kIo);
}

TEST_F(KeystoreTest, ChangePassphraseReencryptsAndTheOldOneStopsWorking) {
  CreateKeystore();
  const std::string before = ReadText(path_);
  KeystoreResult<void> changed = ChangePassphrase(path_, kPassphrase, "a brand new passphrase", kKdfMinimum);
  ASSERT_TRUE(changed.has_value()) << changed.error().message;

  EXPECT_EQ(Unlock(path_, kPassphrase).error().code, KeystoreError::kWrongPassphrase);
  KeystoreResult<proto::SchnorrKeyPair> unlocked = Unlock(path_, "a brand new passphrase");
  ASSERT_TRUE(unlocked.has_value()) << unlocked.error().message;
  EXPECT_EQ(unlocked->public_key(), PublicKeyOf(secret_));
  EXPECT_NE(Json::parse(ReadText(path_))["kdf"]["salt"], Json::parse(before)["kdf"]["salt"]);
  struct stat info {};
  ASSERT_EQ(::stat(path_.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 07777, 0600u);
  EXPECT_EQ(FolderEntries(folder_), std::vector<std::string>{"key.json"});
}

TEST_F(KeystoreTest, FailedChangePassphraseLeavesTheFileByteIdentical) {
  CreateKeystore();
  const std::string before = ReadText(path_);

  KeystoreResult<void> wrong_old = ChangePassphrase(path_, "not the passphrase", "a brand new passphrase", kKdfMinimum);
  ASSERT_FALSE(wrong_old.has_value());
  EXPECT_EQ(wrong_old.error().code, KeystoreError::kWrongPassphrase);

  KeystoreResult<void> weak_new = ChangePassphrase(path_, kPassphrase, "short", kKdfMinimum);
  ASSERT_FALSE(weak_new.has_value());
  EXPECT_EQ(weak_new.error().code, KeystoreError::kWeakPassphrase);

  EXPECT_EQ(ReadText(path_), before);
  EXPECT_EQ(FolderEntries(folder_), std::vector<std::string>{"key.json"});
  EXPECT_TRUE(Unlock(path_, kPassphrase).has_value());

  const fs::path missing = folder_ / "missing.json";
  EXPECT_EQ(ChangePassphrase(missing, kPassphrase, "a brand new passphrase", kKdfMinimum).error().code,
            KeystoreError::kMissing);
  EXPECT_FALSE(fs::exists(missing));
}

TEST_F(KeystoreTest, ChangePassphraseOfADamagedFileChangesNothing) {
  CreateKeystore();
  EditKeystore([](Json& json) { json["kdf"]["memlimit"] = std::uint64_t{1} << 40; });
  const std::string before = ReadText(path_);
  KeystoreResult<void> changed = ChangePassphrase(path_, kPassphrase, "a brand new passphrase", kKdfMinimum);
  ASSERT_FALSE(changed.has_value());
  EXPECT_EQ(changed.error().code, KeystoreError::kDamaged);
  EXPECT_EQ(ReadText(path_), before);
}

// The one test at a real cost (libsodium's INTERACTIVE: 64 MiB, 2 passes).
TEST_F(KeystoreTest, InteractiveLimitsRoundTripAndChangePassphraseCanRaiseTheCost) {
  KeystoreResult<proto::SchnorrPublicKey> created = Create(path_, secret_, kPassphrase, kKdfInteractive);
  ASSERT_TRUE(created.has_value()) << created.error().message;
  Json json = Json::parse(ReadText(path_));
  EXPECT_EQ(json["kdf"]["opslimit"], 2u);
  EXPECT_EQ(json["kdf"]["memlimit"], 67108864u);
  ASSERT_TRUE(Unlock(path_, kPassphrase).has_value());

  ASSERT_TRUE(ChangePassphrase(path_, kPassphrase, kPassphrase, kKdfMinimum).has_value());
  EXPECT_EQ(Json::parse(ReadText(path_))["kdf"]["memlimit"], kKdfMinimum.memlimit_bytes);
  ASSERT_TRUE(ChangePassphrase(path_, kPassphrase, kPassphrase, kKdfInteractive).has_value());
  EXPECT_EQ(Json::parse(ReadText(path_))["kdf"]["memlimit"], 67108864u);
  KeystoreResult<proto::SchnorrKeyPair> unlocked = Unlock(path_, kPassphrase);
  ASSERT_TRUE(unlocked.has_value());
  EXPECT_EQ(unlocked->public_key(), *created);
}

// --- Passphrase sources ------------------------------------------------------------------

class PassphraseSourceTest : public KeystoreTest {};

TEST_F(PassphraseSourceTest, FromAnEnvironmentVariable) {
  const std::string variable = "CIVIC_KEYSTORE_TEST_PASSPHRASE_" + std::to_string(::getpid());
  ASSERT_EQ(::setenv(variable.c_str(), "from the environment", 1), 0);
  KeystoreResult<Passphrase> read = ReadPassphrase(PassphraseFromEnv{variable}, PassphrasePurpose::kNew);
  ASSERT_TRUE(read.has_value()) << read.error().message;
  EXPECT_EQ(read->view(), "from the environment");

  ASSERT_EQ(::setenv(variable.c_str(), "short", 1), 0);
  EXPECT_TRUE(ReadPassphrase(PassphraseFromEnv{variable}, PassphrasePurpose::kUnlock).has_value());
  EXPECT_EQ(ReadPassphrase(PassphraseFromEnv{variable}, PassphrasePurpose::kNew).error().code,
            KeystoreError::kWeakPassphrase);

  ASSERT_EQ(::setenv(variable.c_str(), "", 1), 0);
  EXPECT_EQ(ReadPassphrase(PassphraseFromEnv{variable}, PassphrasePurpose::kUnlock).error().code,
            KeystoreError::kNoPassphrase);

  ASSERT_EQ(::unsetenv(variable.c_str()), 0);
  KeystoreResult<Passphrase> unset = ReadPassphrase(PassphraseFromEnv{variable}, PassphrasePurpose::kUnlock);
  ASSERT_FALSE(unset.has_value());
  EXPECT_EQ(unset.error().code, KeystoreError::kNoPassphrase);
  EXPECT_NE(unset.error().message.find(variable + " is not set"), std::string::npos) << unset.error().message;
}

TEST_F(PassphraseSourceTest, FromTheFirstLineOfAFile) {
  const fs::path file = folder_ / "passphrase";
  const auto read_file = [&](const std::string& text) {
    WriteText(file, text);
    KeystoreResult<Passphrase> read = ReadPassphrase(PassphraseFromFile{file}, PassphrasePurpose::kUnlock);
    return read ? std::string(read->view()) : "error: " + std::string(KeystoreErrorName(read.error().code));
  };
  EXPECT_EQ(read_file("pass phrase one\nsecond line\n"), "pass phrase one");
  EXPECT_EQ(read_file("pass phrase one\r\n"), "pass phrase one");
  EXPECT_EQ(read_file("no newline at the end"), "no newline at the end");
  EXPECT_EQ(read_file(" spaces kept \n"), " spaces kept ");
  EXPECT_EQ(read_file(""), "error: no_passphrase");
  EXPECT_EQ(read_file("\nsecond line"), "error: no_passphrase");
  EXPECT_EQ(read_file(std::string(kPassphraseBytesMax, 'x') + "\r\n"), std::string(kPassphraseBytesMax, 'x'));
  EXPECT_EQ(read_file(std::string(kPassphraseBytesMax + 1, 'x')), "error: no_passphrase");

  // The passphrase unlocks a keystore made with the same text.
  CreateKeystore();
  WriteText(file, std::string(kPassphrase) + "\n");
  KeystoreResult<Passphrase> read = ReadPassphrase(PassphraseFromFile{file}, PassphrasePurpose::kUnlock);
  ASSERT_TRUE(read.has_value());
  EXPECT_TRUE(Unlock(path_, read->view()).has_value());
}

TEST_F(PassphraseSourceTest, AFileOthersCanReadIsRefused) {
  const fs::path file = folder_ / "passphrase";
  WriteText(file, "a good passphrase\n");
  fs::permissions(file, fs::perms::group_read, fs::perm_options::add);
  KeystoreResult<Passphrase> read = ReadPassphrase(PassphraseFromFile{file}, PassphrasePurpose::kUnlock);
  ASSERT_FALSE(read.has_value());
  EXPECT_EQ(read.error().code, KeystoreError::kInsecurePermissions);
  EXPECT_NE(read.error().message.find("chmod 600 " + file.string()), std::string::npos) << read.error().message;
}

TEST_F(PassphraseSourceTest, AMissingFileOrAFolderGivesNoPassphrase) {
  KeystoreResult<Passphrase> missing =
      ReadPassphrase(PassphraseFromFile{folder_ / "no-such-file"}, PassphrasePurpose::kUnlock);
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, KeystoreError::kNoPassphrase);
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos);
  EXPECT_EQ(ReadPassphrase(PassphraseFromFile{folder_}, PassphrasePurpose::kUnlock).error().code,
            KeystoreError::kNoPassphrase);
}

TEST_F(PassphraseSourceTest, FromAFileANewPassphraseMustBeStrong) {
  const fs::path file = folder_ / "passphrase";
  WriteText(file, "hunter2\n");
  EXPECT_EQ(ReadPassphrase(PassphraseFromFile{file}, PassphrasePurpose::kNew).error().code,
            KeystoreError::kWeakPassphrase);
}

// What a child process did with the prompt on its own pseudo-terminal.
struct PromptRun {
  std::string screen;       // everything the terminal showed
  std::string result;       // the passphrase, or "error: <code name>"
  bool echo_after = false;  // whether the terminal echoed again once ReadPassphrase returned
};

// Runs ReadPassphrase(prompt) in a child whose controlling terminal is a fresh pty, and types
// typed[i] once the i-th prompt (each ends in "assphrase: ") is on the screen.
PromptRun RunPrompt(PassphrasePurpose purpose, const std::vector<std::string>& typed) {
  int result_pipe[2];
  if (::pipe(result_pipe) != 0) return {"", "pipe failed"};
  int master = -1;
  const pid_t child = ::forkpty(&master, nullptr, nullptr, nullptr);
  if (child < 0) return {"", "forkpty failed"};
  if (child == 0) {
    ::close(result_pipe[0]);
    KeystoreResult<Passphrase> read = ReadPassphrase(PassphraseFromPrompt{"Passphrase: "}, purpose);
    termios after{};
    const bool echo = ::tcgetattr(STDIN_FILENO, &after) == 0 && (after.c_lflag & ECHO) != 0;
    const std::string result =
        std::string(echo ? "1" : "0") +
        (read ? std::string(read->view()) : "error: " + std::string(KeystoreErrorName(read.error().code)));
    const ssize_t put = ::write(result_pipe[1], result.data(), result.size());
    ::_exit(put == static_cast<ssize_t>(result.size()) ? 0 : 1);
  }
  ::close(result_pipe[1]);
  PromptRun run;
  std::size_t prompts_answered = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    std::size_t prompts_shown = 0;
    for (std::size_t at = run.screen.find("assphrase: "); at != std::string::npos;
         at = run.screen.find("assphrase: ", at + 1)) {
      ++prompts_shown;
    }
    if (prompts_answered < typed.size() && prompts_shown > prompts_answered) {
      const std::string& keys = typed[prompts_answered++];
      if (::write(master, keys.data(), keys.size()) != static_cast<ssize_t>(keys.size())) break;
      continue;
    }
    pollfd ready{master, POLLIN, 0};
    if (::poll(&ready, 1, 100) <= 0) continue;
    char buffer[256];
    const ssize_t got = ::read(master, buffer, sizeof buffer);
    if (got <= 0) break;  // EIO once the child has exited and closed the terminal
    run.screen.append(buffer, static_cast<std::size_t>(got));
  }
  // The child has normally exited by now; one stuck at the prompt is killed, not waited for.
  int status = 0;
  for (int tries = 0; ::waitpid(child, &status, WNOHANG) == 0; ++tries) {
    if (tries == 50) {
      ::kill(child, SIGKILL);
      ::waitpid(child, &status, 0);
      break;
    }
    ::usleep(100'000);
  }
  ::close(master);
  char buffer[2048];
  const ssize_t got = ::read(result_pipe[0], buffer, sizeof buffer);
  ::close(result_pipe[0]);
  if (got <= 0) {
    run.result = "no result";
    return run;
  }
  run.echo_after = buffer[0] == '1';
  run.result = std::string(buffer + 1, static_cast<std::size_t>(got - 1));
  return run;
}

TEST(PassphrasePrompt, ReadsFromTheTerminalWithoutEcho) {
  const PromptRun run = RunPrompt(PassphrasePurpose::kUnlock, {"typed secretly\r"});
  EXPECT_EQ(run.result, "typed secretly");
  EXPECT_NE(run.screen.find("Passphrase: "), std::string::npos) << run.screen;
  EXPECT_EQ(run.screen.find("typed secretly"), std::string::npos) << run.screen;
  EXPECT_TRUE(run.echo_after);
}

TEST(PassphrasePrompt, BackspaceAndCtrlUEdit) {
  const PromptRun run = RunPrompt(PassphrasePurpose::kUnlock, {"wrong\x15right oneX\x7f\r"});
  EXPECT_EQ(run.result, "right one");
}

TEST(PassphrasePrompt, ANewPassphraseIsAskedTwice) {
  const PromptRun same = RunPrompt(PassphrasePurpose::kNew, {"a new passphrase\r", "a new passphrase\r"});
  EXPECT_EQ(same.result, "a new passphrase");
  EXPECT_NE(same.screen.find("Repeat the passphrase: "), std::string::npos) << same.screen;

  const PromptRun differ = RunPrompt(PassphrasePurpose::kNew, {"a new passphrase\r", "a new passphrasf\r"});
  EXPECT_EQ(differ.result, "error: no_passphrase");

  const PromptRun weak = RunPrompt(PassphrasePurpose::kNew, {"short\r"});
  EXPECT_EQ(weak.result, "error: weak_passphrase");
}

TEST(PassphrasePrompt, CtrlCCancelsAndRestoresTheTerminal) {
  const PromptRun run = RunPrompt(PassphrasePurpose::kUnlock, {"half typed\x03"});
  EXPECT_EQ(run.result, "error: no_passphrase");
  EXPECT_TRUE(run.echo_after);
}

TEST(PassphrasePrompt, WithoutATerminalSaysWhatToDoInstead) {
  int result_pipe[2];
  ASSERT_EQ(::pipe(result_pipe), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::setsid();  // a new session has no controlling terminal, so /dev/tty cannot open
    KeystoreResult<Passphrase> read = ReadPassphrase(PassphraseFromPrompt{"Passphrase: "}, PassphrasePurpose::kUnlock);
    const std::string result =
        read ? "ok" : std::string(KeystoreErrorName(read.error().code)) + ": " + read.error().message;
    const ssize_t put = ::write(result_pipe[1], result.data(), result.size());
    ::_exit(put > 0 ? 0 : 1);
  }
  ::close(result_pipe[1]);
  int status = 0;
  ::waitpid(child, &status, 0);
  char buffer[2048];
  const ssize_t got = ::read(result_pipe[0], buffer, sizeof buffer);
  ::close(result_pipe[0]);
  const std::string result = got > 0 ? std::string(buffer, static_cast<std::size_t>(got)) : "";
  EXPECT_EQ(result.rfind("no_passphrase: no terminal", 0), 0u) << result;
  EXPECT_NE(result.find("environment variable"), std::string::npos) << result;
}

}  // namespace
}  // namespace civic::wallet
