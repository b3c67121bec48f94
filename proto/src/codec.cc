#include "civic/proto/codec.h"

#include <exception>
#include <new>
#include <string>

#include "civic/proto/codec_impl.h"
#include "civic/proto/block.h"
#include "civic/proto/tx.h"
#include "civic/proto/vote.h"

namespace civic::proto {
namespace detail {

void ThrowCodecFailure(ErrorCode code, std::string message) { throw CodecFailure{Error{code, std::move(message)}}; }

void Encoder::PutLength(std::size_t length, std::uint32_t max, const char* what) {
  if (length > max) {
    ThrowCodecFailure(ErrorCode::kTooLarge, std::string(what) + " of " + std::to_string(length) +
                                                " is above its bound of " + std::to_string(max));
  }
  PutLittleEndian(static_cast<std::uint32_t>(length));
}

ByteView Decoder::Take(std::size_t n) {
  // Compare sizes, never pointers: forming a pointer past the end is already undefined.
  if (n > remaining()) {
    ThrowCodecFailure(ErrorCode::kMalformed, "message is truncated: " + std::to_string(n) + " bytes needed at byte " +
                                                 std::to_string(offset_) + ", only " + std::to_string(remaining()) +
                                                 " remain");
  }
  ByteView out = input_.subspan(offset_, n);
  offset_ += n;
  return out;
}

std::uint32_t Decoder::GetLength(std::uint32_t max, const char* what) {
  const std::size_t at = offset_;
  const std::uint32_t length = GetLittleEndian<std::uint32_t>();
  if (length > max) {
    ThrowCodecFailure(ErrorCode::kTooLarge, std::string(what) + " length " + std::to_string(length) +
                                                " at byte " + std::to_string(at) + " is above its bound of " +
                                                std::to_string(max));
  }
  if (length > remaining()) {
    ThrowCodecFailure(ErrorCode::kMalformed, std::string(what) + " length " + std::to_string(length) +
                                                 " at byte " + std::to_string(at) + " runs past the end of input (" +
                                                 std::to_string(remaining()) + " bytes remain)");
  }
  return length;
}

bool IsValidUtf8(std::string_view text) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(text[k]); };
    const std::uint8_t lead = byte(i);
    if (lead < 0x80) {
      ++i;
      continue;
    }
    std::size_t extra = 0;
    std::uint32_t code_point = 0;
    std::uint32_t min_code_point = 0;
    if ((lead & 0xE0) == 0xC0) {
      extra = 1, code_point = lead & 0x1Fu, min_code_point = 0x80;
    } else if ((lead & 0xF0) == 0xE0) {
      extra = 2, code_point = lead & 0x0Fu, min_code_point = 0x800;
    } else if ((lead & 0xF8) == 0xF0) {
      extra = 3, code_point = lead & 0x07u, min_code_point = 0x10000;
    } else {
      return false;  // a continuation byte where a character should start, or 0xF8..0xFF
    }
    if (extra > n - i - 1) return false;
    for (std::size_t k = 1; k <= extra; ++k) {
      if ((byte(i + k) & 0xC0) != 0x80) return false;
      code_point = (code_point << 6) | (byte(i + k) & 0x3Fu);
    }
    if (code_point < min_code_point) return false;                   // overlong form
    if (code_point > 0x10FFFF) return false;                         // beyond Unicode
    if (code_point >= 0xD800 && code_point <= 0xDFFF) return false;  // UTF-16 surrogate
    i += extra + 1;
  }
  return true;
}

}  // namespace detail

// The message types. Adding a type here is all it takes to give it an encoding.
CIVIC_CODEC_INSTANTIATE(TxBody)
CIVIC_CODEC_INSTANTIATE(Tx)
CIVIC_CODEC_INSTANTIATE(Ballot)
CIVIC_CODEC_INSTANTIATE(BlockHeader)
CIVIC_CODEC_INSTANTIATE(Block)
CIVIC_CODEC_INSTANTIATE(VoteBody)
CIVIC_CODEC_INSTANTIATE(Vote)
CIVIC_CODEC_INSTANTIATE(ValidatorSet)
CIVIC_CODEC_INSTANTIATE(CommitCertificate)
CIVIC_CODEC_INSTANTIATE(VoteEquivocation)

}  // namespace civic::proto
