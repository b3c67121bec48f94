// civic-wallet keygen and whoami as a resident runs them: a real process, a real keystore
// file, the passphrase from an environment variable as a script would give it.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "civic/proto/codec.h"
#include "civic/proto/payloads.h"
#include "civic/wallet/keystore.h"

extern char** environ;

namespace civic::wallet {
namespace {

struct WalletRun {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

WalletRun Wallet(const std::vector<std::string>& args, const std::filesystem::path& scratch) {
  const std::filesystem::path log = scratch / "out.log";
  std::vector<std::string> strings = {CIVIC_WALLET_BINARY};
  strings.insert(strings.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : strings) argv.push_back(arg.data());
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  pid_t pid = -1;
  WalletRun run;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) == 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  posix_spawn_file_actions_destroy(&actions);
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  run.output = text.str();
  return run;
}

class WalletCli : public ::testing::Test {
 protected:
  WalletCli() {
    dir_ = std::filesystem::temp_directory_path() /
           ("civic-wallet-cli-" + std::to_string(::getpid()) + "-" + std::to_string(std::random_device()()));
    std::filesystem::create_directories(dir_);
    ::setenv("CIVIC_TEST_PASSPHRASE", "correct horse battery staple", 1);
  }
  ~WalletCli() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }
  std::filesystem::path dir_;
};

TEST_F(WalletCli, KeygenMakesAnEncryptedKeystoreAndWhoamiReadsItsKeyWithoutThePassphrase) {
  const std::string key = (dir_ / "ana.key").string();
  const WalletRun made = Wallet({"keygen", "--key", key, "--passphrase-env", "CIVIC_TEST_PASSPHRASE", "--json"}, dir_);
  ASSERT_EQ(made.exit_code, 0) << made.output;
  struct stat info {};
  ASSERT_EQ(::stat(key.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  const std::string public_key = proto::ToHex(ReadPublicKey(key).value());
  EXPECT_NE(made.output.find(public_key), std::string::npos) << made.output;

  const WalletRun who = Wallet({"whoami", "--key", key}, dir_);
  EXPECT_EQ(who.exit_code, 0) << who.output;
  EXPECT_NE(who.output.find(public_key), std::string::npos) << who.output;
  // The passphrase opens it; the secret is nowhere in the file.
  EXPECT_TRUE(Unlock(key, "correct horse battery staple").has_value());
  EXPECT_FALSE(Unlock(key, "wrong horse battery staple").has_value());

  const WalletRun again = Wallet({"keygen", "--key", key, "--passphrase-env", "CIVIC_TEST_PASSPHRASE"}, dir_);
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_NE(again.output.find("exist"), std::string::npos) << again.output;
  EXPECT_EQ(proto::ToHex(ReadPublicKey(key).value()), public_key) << "the first keystore is untouched";
}

TEST_F(WalletCli, ErrorsSayWhatIsWrong) {
  const WalletRun missing = Wallet({"whoami", "--key", (dir_ / "nope.key").string()}, dir_);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.output.find("nope.key"), std::string::npos) << missing.output;
  ::setenv("CIVIC_TEST_SHORT", "short", 1);
  const WalletRun weak = Wallet({"keygen", "--key", (dir_ / "b.key").string(), "--passphrase-env", "CIVIC_TEST_SHORT"}, dir_);
  EXPECT_EQ(weak.exit_code, 1);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "b.key"));
  const WalletRun usage = Wallet({"keygen"}, dir_);
  EXPECT_EQ(usage.exit_code, 2) << usage.output;
  const WalletRun help = Wallet({"--help"}, dir_);
  EXPECT_EQ(help.exit_code, 0);
  for (const char* command : {"keygen", "whoami", "verify-receipt", "tally"}) {
    EXPECT_NE(help.output.find(command), std::string::npos) << command;
  }
}

// Before a clerk co-signs a validator change file: a file whose change was altered after
// someone signed it, or that is not a change file, is refused; without a node to compare
// the change with, nothing is signed; each time the file is left as it was.
TEST_F(WalletCli, AValidatorChangeFileIsCheckedBeforeAClerkSignsIt) {
  const auto secret = [](std::uint8_t fill) {
    proto::Secret32 out;
    out.fill(fill);
    return out;
  };
  const std::string passphrase = "correct horse battery staple";
  ASSERT_TRUE(Create((dir_ / "clerk1.key").string(), secret(0xC1), passphrase, kKdfMinimum).has_value());
  ASSERT_TRUE(Create((dir_ / "clerk2.key").string(), secret(0xC2), passphrase, kKdfMinimum).has_value());
  const proto::ChainId chain = proto::ChainId::Parse("harbour-2027").value();
  proto::ValidatorChange change;
  change.sequence = 1;
  proto::Ed25519PublicKey a, b;
  a.bytes.fill(0x11);
  b.bytes.fill(0x22);
  change.validators.validators = {{a, 10}, {b, 10}};
  change.reason = "office 2 joins";
  change.valid_until_height = 500;
  const proto::SchnorrKeyPair clerk1 = proto::SchnorrKeyPair::FromSecret(secret(0xC1)).value();
  const proto::ClerkSignature first = proto::CosignValidatorChange(chain, change, clerk1, secret(7)).value();
  const nlohmann::json file = {{"format", "civic-ledger validator change v1"},
                               {"chain_id", chain.str()},
                               {"change", proto::ToHex(proto::Encode(change).value())},
                               {"based_on", {{{"ed25519", proto::ToHex(a)}, {"power", 10}}}},
                               {"cosignatures", {{{"clerk", proto::ToHex(first.clerk)},
                                                  {"signature", proto::ToHex(first.signature)}}}}};
  const std::filesystem::path path = dir_ / "change.json";
  std::ofstream(path) << file.dump(2);
  const std::vector<std::string> as_clerk2 = {"--key", (dir_ / "clerk2.key").string(), "--passphrase-env",
                                              "CIVIC_TEST_PASSPHRASE", "--yes", "--node", "http://127.0.0.1:1"};
  const auto cosign = [&](const std::filesystem::path& target) {
    std::vector<std::string> args = {"validators", "cosign", target.string()};
    args.insert(args.end(), as_clerk2.begin(), as_clerk2.end());
    return Wallet(args, dir_);
  };
  // A good file, but no node to compare it with: nothing is signed without that.
  const std::string good_text = file.dump(2);
  const WalletRun offline = cosign(path);
  EXPECT_EQ(offline.exit_code, 1) << offline.output;
  std::ifstream reread(path);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(reread), {}), good_text);
  // (Network.ClerksAddAndRemoveAValidatorWhileBallotsFlow co-signs against a live node.)

  // The power of the added validator raised after clerk 1 signed: her signature no longer holds.
  proto::ValidatorChange altered = change;
  altered.validators.validators[1].power = 1000;
  nlohmann::json tampered = file;
  tampered["change"] = proto::ToHex(proto::Encode(altered).value());
  const std::filesystem::path tampered_path = dir_ / "tampered.json";
  const std::string tampered_text = tampered.dump(2);
  std::ofstream(tampered_path) << tampered_text;
  const WalletRun refused = cosign(tampered_path);
  EXPECT_EQ(refused.exit_code, 3) << refused.output;
  EXPECT_NE(refused.output.find("does not verify for this change"), std::string::npos) << refused.output;
  std::ifstream unchanged(tampered_path);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(unchanged), {}), tampered_text);

  std::ofstream(dir_ / "junk.json") << "{\"format\": \"something else\"}";
  const WalletRun junk = cosign(dir_ / "junk.json");
  EXPECT_EQ(junk.exit_code, 1) << junk.output;
  EXPECT_NE(junk.output.find("not a validator change file"), std::string::npos) << junk.output;
}

}  // namespace
}  // namespace civic::wallet
