// libFuzzer target for what a connected peer sends: one frame's plaintext, decoded by
// DecodeWire (node/wire.h).
//
// For any input: DecodeWire never crashes; on success EncodeWire gives back exactly the input
// and decoding that again gives the same message. Decoded messages then go through what the
// node does next with them before anything else (hashes, signature and certificate checks,
// decoding each gossiped transaction), which must not crash either.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <variant>
#include <vector>

#include "civic/node/wire.h"
#include "civic/proto/assert.h"
#include "civic/proto/codec.h"

namespace {

namespace proto = civic::proto;
namespace node = civic::node;

proto::ChainId FuzzChain() { return proto::ChainId::Parse("fuzz").value(); }

void Use(const node::WireMessage& message) {
  if (const auto* proposal = std::get_if<node::ProposalMessage>(&message)) {
    (void)proto::BlockHash(proposal->block.header);
    (void)civic::consensus::VerifyProposal(FuzzChain(), proposal->proposal);
  } else if (const auto* vote = std::get_if<node::VoteMessage>(&message)) {
    (void)proto::VerifyVote(FuzzChain(), vote->vote);
  } else if (const auto* txs = std::get_if<node::TxsMessage>(&message)) {
    for (const node::TxBytes& tx : txs->txs) (void)proto::Decode<proto::Tx>(tx.bytes);
  } else if (const auto* polka = std::get_if<node::PolkaMessage>(&message)) {
    for (const proto::Vote& prevote : polka->votes) (void)proto::VerifyVote(FuzzChain(), prevote);
  } else if (const auto* block = std::get_if<node::BlockMessage>(&message)) {
    (void)proto::BlockHash(block->block.header);
    proto::ValidatorSet set;
    set.validators.push_back({proto::Ed25519PublicKey{}, 1});
    (void)proto::VerifyCommitCertificate(FuzzChain(), set, block->certificate);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const proto::ByteView input(data, size);
  proto::Result<node::WireMessage> decoded = node::DecodeWire(input);
  if (!decoded) {
    CIVIC_ASSERT(!decoded.error().message.empty());
    return 0;
  }
  proto::Result<proto::Bytes> encoded = node::EncodeWire(*decoded);
  CIVIC_ASSERT(encoded.has_value());
  CIVIC_ASSERT(encoded->size() == size);
  CIVIC_ASSERT(std::equal(encoded->begin(), encoded->end(), input.begin()));
  proto::Result<node::WireMessage> again = node::DecodeWire(*encoded);
  CIVIC_ASSERT(again.has_value());
  CIVIC_ASSERT(*again == *decoded);
  Use(*decoded);
  return 0;
}
