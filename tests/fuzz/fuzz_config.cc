// libFuzzer target for civicd's config reader (node/src/config.cc, toml++ underneath): any
// text is either refused with a message that names what is wrong, or read into a config whose
// values are within the documented ranges (node/CONFIG.md) and whose paths are absolute.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "civic/node/config.h"
#include "civic/proto/assert.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace node = civic::node;
  if (size > 1024 * 1024) return 0;  // the file limit; a larger file is refused before parsing
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  civic::proto::Result<node::Config> config = node::ParseConfig(text, "/srv/civic");
  if (!config) {
    CIVIC_ASSERT(!config.error().message.empty());
    return 0;
  }
  CIVIC_ASSERT(config->data_dir.is_absolute() && config->genesis.is_absolute());
  CIVIC_ASSERT(!config->validator_key || config->validator_key->is_absolute());
  CIVIC_ASSERT(config->http.threads >= 1 && config->http.threads <= 64);
  return 0;
}
