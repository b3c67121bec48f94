// libFuzzer target for the wallet's keystore reader (wallet-cli/src/keystore.cc): a damaged or
// forged file is refused with its own message, never a crash. The input is written to a file
// (the reader takes a path) and read without the passphrase, which checks the whole file but
// runs no Argon2id (a forged file may ask for a gigabyte of it; Unlock bounds that and the
// keystore tests cover it).
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>
#include <system_error>

#include "civic/proto/assert.h"
#include "civic/wallet/keystore.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const std::filesystem::path path =
      std::filesystem::temp_directory_path() / ("civic-fuzz-keystore-" + std::to_string(::getpid()) + ".json");
  static const struct RemoveAtExit {
    ~RemoveAtExit() {
      std::error_code ignored;
      std::filesystem::remove(path, ignored);
    }
  } remove_at_exit;
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  civic::wallet::KeystoreResult<civic::proto::SchnorrPublicKey> key = civic::wallet::ReadPublicKey(path);
  if (!key) CIVIC_ASSERT(!key.error().message.empty());
  return 0;
}
