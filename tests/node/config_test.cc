// civicd's configuration file: what a valid one reads as, where relative paths point, and that
// every kind of bad file is refused with the offending key (and its line) named.
#include "civic/node/config.h"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace civic::node {
namespace {

namespace fs = std::filesystem;

const fs::path kBase = "/srv/civic";

constexpr const char* kFullConfig = R"(# a node of the Assen network
[node]
data_dir = "data"
genesis = "/etc/civic/genesis.json"
validator_key = "keys/../keys/validator.key"
disk_free_min_mb = 1024

[http]
listen = "0.0.0.0:8701"
threads = 4
body_bytes_max = 2097152
header_bytes_max = 16384
connections_max = 1000
idle_timeout_ms = 60000

[mempool]
txs_max = 5000
bytes_max = 1073741824

[log]
level = "debug"
)";

constexpr const char* kMinimalConfig = R"(
[node]
data_dir = "data"
genesis = "genesis.json"
)";

Config MustParse(const std::string& text, const fs::path& base_dir = kBase) {
  proto::Result<Config> config = ParseConfig(text, base_dir);
  EXPECT_TRUE(config.has_value()) << config.error().message;
  return config.value_or(Config{});
}

// A folder of its own under the system's temporary folder, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    const std::string test = ::testing::UnitTest::GetInstance()->current_test_info()->name();
    path_ = fs::temp_directory_path() / ("civic-config-test-" + std::to_string(::getpid()) + "-" + test);
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ignored;
    fs::remove_all(path_, ignored);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  fs::path Write(const std::string& name, const std::string& text) const {
    const fs::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

TEST(Config, ParsesEveryKeyOfAFullFile) {
  const Config config = MustParse(kFullConfig);
  EXPECT_EQ(config.data_dir, fs::path("/srv/civic/data"));
  EXPECT_EQ(config.genesis, fs::path("/etc/civic/genesis.json"));
  ASSERT_TRUE(config.validator_key.has_value());
  EXPECT_EQ(*config.validator_key, fs::path("/srv/civic/keys/validator.key"));  // lexically normal
  EXPECT_EQ(config.disk_free_min_mb, 1024u);
  EXPECT_EQ(config.http.listen_address, "0.0.0.0");
  EXPECT_EQ(config.http.listen_port, 8701);
  EXPECT_EQ(config.http.threads, 4u);
  EXPECT_EQ(config.http.body_bytes_max, 2097152u);
  EXPECT_EQ(config.http.header_bytes_max, 16384u);
  EXPECT_EQ(config.http.connections_max, 1000u);
  EXPECT_EQ(config.http.idle_timeout_ms, 60000u);
  EXPECT_EQ(config.mempool.txs_max, 5000u);
  EXPECT_EQ(config.mempool.bytes_max, 1073741824u);
  EXPECT_EQ(config.log_level, "debug");
}

TEST(Config, MinimalFileTakesTheDefaults) {
  const Config config = MustParse(kMinimalConfig);
  EXPECT_EQ(config.data_dir, fs::path("/srv/civic/data"));
  EXPECT_EQ(config.genesis, fs::path("/srv/civic/genesis.json"));
  EXPECT_FALSE(config.validator_key.has_value());
  EXPECT_EQ(config.disk_free_min_mb, 256u);
  const HttpConfig http;
  EXPECT_EQ(config.http.listen_address, http.listen_address);
  EXPECT_EQ(config.http.listen_port, http.listen_port);
  EXPECT_EQ(config.http.threads, http.threads);
  EXPECT_EQ(config.http.body_bytes_max, http.body_bytes_max);
  EXPECT_EQ(config.http.header_bytes_max, http.header_bytes_max);
  EXPECT_EQ(config.http.connections_max, http.connections_max);
  EXPECT_EQ(config.http.idle_timeout_ms, http.idle_timeout_ms);
  EXPECT_EQ(config.mempool.txs_max, MempoolConfig{}.txs_max);
  EXPECT_EQ(config.mempool.bytes_max, MempoolConfig{}.bytes_max);
  EXPECT_EQ(config.log_level, "info");
}

TEST(Config, RelativePathsAreResolvedAgainstTheBaseFolder) {
  const Config config = MustParse(R"(
[node]
data_dir = "../ledger/./db/"
genesis = "net/genesis.json"
validator_key = "/keys//v.key"
)");
  EXPECT_EQ(config.data_dir, fs::path("/srv/ledger/db/"));
  EXPECT_EQ(config.genesis, fs::path("/srv/civic/net/genesis.json"));
  EXPECT_EQ(config.validator_key, fs::path("/keys/v.key"));
}

TEST(Config, ARelativeBaseFolderIsTakenFromTheCurrentDirectory) {
  const Config config = MustParse(kMinimalConfig, "conf");
  EXPECT_TRUE(config.data_dir.is_absolute());
  EXPECT_EQ(config.data_dir, (fs::current_path() / "conf" / "data").lexically_normal());
}

TEST(Config, ListenTakesIpv4AndBracketedIpv6Literals) {
  const auto listen = [](const std::string& value) {
    return MustParse(std::string(kMinimalConfig) + "[http]\nlisten = \"" + value + "\"\n").http;
  };
  EXPECT_EQ(listen("[::1]:0").listen_address, "::1");
  EXPECT_EQ(listen("[::1]:0").listen_port, 0);
  EXPECT_EQ(listen("[2001:db8::7]:65535").listen_address, "2001:db8::7");
  EXPECT_EQ(listen("[2001:db8::7]:65535").listen_port, 65535);
  EXPECT_EQ(listen("10.1.2.3:80").listen_address, "10.1.2.3");
  EXPECT_EQ(listen("10.1.2.3:80").listen_port, 80);
}

struct BadConfig {
  const char* what;
  std::string text;
  const char* names;  // must appear in the error message
};

TEST(Config, RefusesBadFilesNamingTheKey) {
  const std::string node = kMinimalConfig;  // lines 1-4
  const std::vector<BadConfig> cases = {
      {"malformed TOML", node + "[http\nthreads = 2\n", "not valid TOML: line 5"},
      {"duplicate key", node + "data_dir = \"again\"\n", "line 5"},
      {"unknown key", node + "\n[http]\nthreads = 2\nthread = 3\n", "http.thread (line 8): unknown key"},
      {"unknown node key", node + "datadir = \"x\"\n", "node.datadir (line 5): unknown key"},
      {"disk floor too big", node + "disk_free_min_mb = 1048577\n", "node.disk_free_min_mb (line 5)"},
      {"disk floor negative", node + "disk_free_min_mb = -1\n", "node.disk_free_min_mb (line 5)"},
      {"unknown section", node + "[metrics]\nport = 9100\n", "metrics (line 5): unknown section"},
      {"top-level key", "verbose = true\n" + node, "verbose (line 1): unknown section"},
      {"section as a value", "log = \"debug\"\n" + node, "log (line 1): must be a section [log]"},
      {"missing data_dir", "[node]\ngenesis = \"g.json\"\n", "node.data_dir: missing"},
      {"missing genesis", "[node]\ndata_dir = \"d\"\n", "node.genesis: missing"},
      {"missing node section", "[log]\nlevel = \"info\"\n", "node.data_dir: missing"},
      {"empty path", "[node]\ndata_dir = \"\"\ngenesis = \"g\"\n", "node.data_dir (line 2): must be a path"},
      {"path as a number", "[node]\ndata_dir = 5\ngenesis = \"g\"\n", "node.data_dir (line 2): must be a string"},
      {"threads as a string", node + "[http]\nthreads = \"4\"\n", "http.threads (line 6): must be an integer"},
      {"threads as a float", node + "[http]\nthreads = 4.0\n", "http.threads (line 6): must be an integer"},
      {"threads zero", node + "[http]\nthreads = 0\n", "http.threads (line 6): must be an integer between 1 and 64"},
      {"threads negative", node + "[http]\nthreads = -2\n", "http.threads (line 6)"},
      {"too many threads", node + "[http]\nthreads = 65\n", "http.threads"},
      {"body limit too small", node + "[http]\nbody_bytes_max = 1023\n", "http.body_bytes_max"},
      {"header limit too big", node + "[http]\nheader_bytes_max = 65537\n", "http.header_bytes_max"},
      {"no connections", node + "[http]\nconnections_max = 0\n", "http.connections_max"},
      {"idle timeout too short", node + "[http]\nidle_timeout_ms = 99\n", "http.idle_timeout_ms"},
      {"host name", node + "[http]\nlisten = \"localhost:8700\"\n",
       "http.listen (line 6): must be ADDRESS:PORT"},
      {"no port", node + "[http]\nlisten = \"127.0.0.1\"\n", "http.listen (line 6)"},
      {"port out of range", node + "[http]\nlisten = \"127.0.0.1:65536\"\n",
       "http.listen (line 6): the port must be a number from 0 to 65535, got 65536"},
      {"port with leading zero", node + "[http]\nlisten = \"127.0.0.1:08700\"\n", "http.listen"},
      {"signed port", node + "[http]\nlisten = \"127.0.0.1:+80\"\n", "http.listen"},
      {"IPv6 without brackets", node + "[http]\nlisten = \"::1:8700\"\n", "http.listen (line 6)"},
      {"IPv6 without port", node + "[http]\nlisten = \"[::1]\"\n", "http.listen"},
      {"bad IPv4", node + "[http]\nlisten = \"256.0.0.1:80\"\n", "http.listen"},
      {"listen as a number", node + "[http]\nlisten = 8700\n", "http.listen (line 6): must be a string"},
      {"mempool too small", node + "[mempool]\nbytes_max = 65535\n", "mempool.bytes_max (line 6)"},
      {"mempool too big", node + "[mempool]\nbytes_max = 17179869185\n", "mempool.bytes_max"},
      {"mempool txs zero", node + "[mempool]\ntxs_max = 0\n", "mempool.txs_max"},
      {"unknown mempool key", node + "[mempool]\nsize = 5\n", "mempool.size (line 6): unknown key"},
      {"unknown log level", node + "[log]\nlevel = \"verbose\"\n", "log.level (line 6): must be one of"},
      {"log level as a number", node + "[log]\nlevel = 3\n", "log.level (line 6): must be a string"},
      {"text too large", std::string(kConfigBytesMax + 1, '#'), "config: the text is"},
  };
  for (const BadConfig& bad : cases) {
    SCOPED_TRACE(bad.what);
    proto::Result<Config> config = ParseConfig(bad.text, kBase);
    ASSERT_FALSE(config.has_value());
    EXPECT_NE(config.error().message.find(bad.names), std::string::npos) << config.error().message;
  }
}

TEST(Config, LoadsAFileTakingPathsFromItsFolder) {
  const TempDir dir;
  const fs::path file = dir.Write("civicd.toml", kFullConfig);
  proto::Result<Config> config = LoadConfigFile(file);
  ASSERT_TRUE(config.has_value()) << config.error().message;
  EXPECT_EQ(config->data_dir, dir.path() / "data");
  EXPECT_EQ(config->genesis, fs::path("/etc/civic/genesis.json"));
  EXPECT_EQ(config->validator_key, dir.path() / "keys" / "validator.key");
}

TEST(Config, FileErrorsNameThePath) {
  const TempDir dir;
  const fs::path missing = dir.path() / "missing.toml";
  proto::Result<Config> result = LoadConfigFile(missing);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, proto::ErrorCode::kIo);
  EXPECT_NE(result.error().message.find(missing.string() + ": does not exist"), std::string::npos)
      << result.error().message;

  const fs::path big = dir.Write("big.toml", std::string(kConfigBytesMax + 1, '#'));
  result = LoadConfigFile(big);
  ASSERT_FALSE(result.has_value());
  EXPECT_EQ(result.error().code, proto::ErrorCode::kTooLarge);
  EXPECT_NE(result.error().message.find(big.string()), std::string::npos) << result.error().message;

  const fs::path bad = dir.Write("bad.toml", std::string(kMinimalConfig) + "[http]\nlisten = \"127.0.0.1:99999\"\n");
  result = LoadConfigFile(bad);
  ASSERT_FALSE(result.has_value());
  EXPECT_NE(result.error().message.find(bad.string() + ": http.listen (line 6)"), std::string::npos)
      << result.error().message;
}

}  // namespace
}  // namespace civic::node
