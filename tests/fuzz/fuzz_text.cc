// libFuzzer target for the text decoders: hex (FromHex) and chain ids (ChainId::Parse).
// Whatever they accept must print back the same (hex modulo case).
#include <cctype>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "civic/proto/assert.h"
#include "civic/proto/bytes.h"
#include "civic/proto/chain.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  civic::proto::Result<civic::proto::Bytes> bytes = civic::proto::FromHex(text);
  if (bytes) {
    const std::string hex = civic::proto::ToHex(*bytes);
    CIVIC_ASSERT(hex.size() == size);
    for (std::size_t i = 0; i < size; ++i) {
      CIVIC_ASSERT(hex[i] == std::tolower(static_cast<unsigned char>(text[i])));
    }
  }
  civic::proto::Result<civic::proto::ChainId> chain = civic::proto::ChainId::Parse(text);
  if (chain) CIVIC_ASSERT(chain->str() == text);
  return 0;
}
