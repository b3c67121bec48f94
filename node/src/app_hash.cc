#include "civic/node/app_hash.h"

#include <sodium.h>

#include <string>

#include "civic/proto/assert.h"

namespace civic::node {

static_assert(StateCommitment::kBytes == 2048);

StateCommitment::StateCommitment(const proto::ChainId& chain_id)
    : chain_id_(chain_id), entry_hasher_(chain_id, proto::Domain::kStateEntry) {}

void StateCommitment::Add(proto::ByteView key, proto::ByteView value) { Mix(key, value, Sign::kAdd); }

void StateCommitment::Remove(proto::ByteView key, proto::ByteView value) { Mix(key, value, Sign::kSubtract); }

void StateCommitment::Mix(proto::ByteView key, proto::ByteView value, Sign sign) {
  proto::Bytes entry;
  entry.reserve(4 + key.size() + value.size());
  const auto key_bytes = static_cast<std::uint32_t>(key.size());
  CIVIC_ASSERT(key_bytes == key.size());
  for (int shift = 24; shift >= 0; shift -= 8) entry.push_back(static_cast<std::uint8_t>(key_bytes >> shift));
  entry.insert(entry.end(), key.begin(), key.end());
  entry.insert(entry.end(), value.begin(), value.end());
  const proto::Hash32 seed = entry_hasher_.Hash(entry);

  std::array<unsigned char, kBytes> stream{};
  std::array<unsigned char, crypto_stream_chacha20_ietf_NONCEBYTES> nonce{};
  static_assert(proto::Hash32::kSize == crypto_stream_chacha20_ietf_KEYBYTES);
  CIVIC_ASSERT(crypto_stream_chacha20_ietf(stream.data(), stream.size(), nonce.data(), seed.bytes.data()) == 0);

  for (std::size_t lane = 0; lane < kLanes; ++lane) {
    const auto term = static_cast<std::uint16_t>(stream[2 * lane] | (stream[2 * lane + 1] << 8));
    // Unsigned arithmetic wraps mod 2^16, which is the group the lanes live in.
    lanes_[lane] = sign == Sign::kAdd ? static_cast<std::uint16_t>(lanes_[lane] + term)
                                      : static_cast<std::uint16_t>(lanes_[lane] - term);
  }
}

proto::Bytes StateCommitment::Serialize() const {
  proto::Bytes bytes(kBytes);
  for (std::size_t lane = 0; lane < kLanes; ++lane) {
    bytes[2 * lane] = static_cast<std::uint8_t>(lanes_[lane] & 0xff);
    bytes[2 * lane + 1] = static_cast<std::uint8_t>(lanes_[lane] >> 8);
  }
  return bytes;
}

proto::Result<StateCommitment> StateCommitment::Restore(const proto::ChainId& chain_id, proto::ByteView bytes) {
  if (bytes.size() != kBytes) {
    return proto::Fail(proto::ErrorCode::kMalformed, "a state commitment is " + std::to_string(kBytes) +
                                                         " bytes, this record has " + std::to_string(bytes.size()));
  }
  StateCommitment commitment(chain_id);
  for (std::size_t lane = 0; lane < kLanes; ++lane) {
    commitment.lanes_[lane] = static_cast<std::uint16_t>(bytes[2 * lane] | (bytes[2 * lane + 1] << 8));
  }
  return commitment;
}

proto::Hash32 StateCommitment::Digest() const {
  return proto::TaggedHash(chain_id_, proto::Domain::kAppHash, Serialize());
}

void UpdateCommitment(StateCommitment& commitment, const contracts::KvView& before,
                      const contracts::WriteBuffer::Pending& changes) {
  for (const auto& [key, value] : changes) {
    if (const std::optional<proto::Bytes> old = before.Get(key)) commitment.Remove(key, *old);
    if (value) commitment.Add(key, *value);
  }
}

}  // namespace civic::node
