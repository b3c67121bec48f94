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

}  // namespace
}  // namespace civic::wallet
