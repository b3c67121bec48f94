// The definitions of Encode and Decode, for the .cc files that give types an encoding:
//
//   #include "civic/proto/codec_impl.h"
//   CIVIC_CODEC_INSTANTIATE(MyRecord)   // at namespace scope, in namespace civic::proto
//
// Heavy (it brings in cereal): include it only from .cc files, never from a header that
// others include. Everyone else includes codec.h and links against the instantiations.
#pragma once

#include <exception>
#include <new>
#include <string>

#include "civic/proto/archive.h"
#include "civic/proto/codec.h"

namespace civic::proto {

template <class T>
Result<Bytes> Encode(const T& value) {
  Bytes out;
  out.reserve(128);
  try {
    detail::Encoder encoder(out);
    encoder(value);
  } catch (const detail::CodecFailure& failure) {
    return tl::unexpected(failure.error);
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kTooLarge, "out of memory while encoding");
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kMalformed, std::string("cannot encode: ") + e.what());
  }
  if (out.size() > T::kEncodedBytesMax) {
    return Fail(ErrorCode::kTooLarge, "encoded message of " + std::to_string(out.size()) +
                                          " bytes is above its bound of " + std::to_string(T::kEncodedBytesMax));
  }
  return out;
}

template <class T>
Result<T> Decode(ByteView bytes) {
  // Cap the whole message before looking inside it.
  if (bytes.size() > T::kEncodedBytesMax) {
    return Fail(ErrorCode::kTooLarge, "message of " + std::to_string(bytes.size()) +
                                          " bytes is above its bound of " + std::to_string(T::kEncodedBytesMax));
  }
  try {
    detail::Decoder decoder(bytes);
    T value{};
    decoder(value);
    if (decoder.remaining() != 0) {
      return Fail(ErrorCode::kMalformed, std::to_string(decoder.remaining()) + " trailing bytes after the message" +
                                             decoder.AtOffset());
    }
    return value;
  } catch (const detail::CodecFailure& failure) {
    return tl::unexpected(failure.error);
  } catch (const std::bad_alloc&) {
    return Fail(ErrorCode::kTooLarge, "out of memory while decoding");
  } catch (const std::exception& e) {
    return Fail(ErrorCode::kMalformed, std::string("cannot decode: ") + e.what());
  }
}

}  // namespace civic::proto

// Gives T an encoding: explicit instantiations of Encode<T> and Decode<T>. Use inside
// namespace civic::proto (the templates live there) or qualify T fully.
#define CIVIC_CODEC_INSTANTIATE(T)                                                  \
  template ::civic::proto::Result<::civic::proto::Bytes> civic::proto::Encode<T>(const T& value); \
  template ::civic::proto::Result<T> civic::proto::Decode<T>(::civic::proto::ByteView bytes);
