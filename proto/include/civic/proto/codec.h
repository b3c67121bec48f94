// The canonical binary encoding. Encode and Decode are defined in src/codec.cc for each
// message type listed there (explicit instantiation); any other T fails to link.
//
// Guarantees, for every listed T:
//   - Decode(Encode(v)) == v, and Encode(Decode(b)) == b for every b that Decode accepts:
//     each value has exactly one encoding.
//   - Decode never throws, never reads past `bytes`, and never allocates more than `bytes`
//     could hold. It rejects input above T::kEncodedBytesMax, truncated input, trailing
//     bytes, a length above its field's bound or above what remains, a bool other than 0 or
//     1, an unknown enum value, an unknown version, and whatever T's own Require checks say.
//   - Encode fails (never aborts) on a value that Decode would reject.
#pragma once

#include "civic/proto/bytes.h"
#include "civic/proto/result.h"

namespace civic::proto {

template <class T>
[[nodiscard]] Result<Bytes> Encode(const T& value);

template <class T>
[[nodiscard]] Result<T> Decode(ByteView bytes);

}  // namespace civic::proto
