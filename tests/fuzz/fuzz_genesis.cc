// libFuzzer target for the genesis reader (node/src/genesis.cc), which every node and
// `civic-wallet audit` trust first: any text is either refused with a message, or read into a
// genesis that its own writer prints back to the same genesis, with the same genesis hash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "civic/node/genesis.h"
#include "civic/proto/assert.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace node = civic::node;
  if (size > node::kGenesisBytesMax) return 0;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  civic::proto::Result<node::Genesis> genesis = node::ParseGenesis(text);
  if (!genesis) {
    CIVIC_ASSERT(!genesis.error().message.empty());
    return 0;
  }
  CIVIC_ASSERT(civic::proto::ValidatorSet::IsCanonical(genesis->ValidatorSet().validators));
  const std::string written = node::GenesisToJson(*genesis);
  civic::proto::Result<node::Genesis> again = node::ParseGenesis(written);
  CIVIC_ASSERT(again.has_value() && *again == *genesis);
  CIVIC_ASSERT(node::GenesisHash(*again) == node::GenesisHash(*genesis));
  return 0;
}
