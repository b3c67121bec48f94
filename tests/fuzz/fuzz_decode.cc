// libFuzzer target for one decoder, chosen at compile time by CIVIC_FUZZ_TYPE.
//
// For any input: Decode never crashes, and on success Encode gives back exactly the input
// (one encoding per value) and decoding that again gives the same value. Decoded values
// are also run through what a node does next with them (hashes, signature checks), which
// must not crash either.
#include <cstddef>
#include <cstdint>
#include <algorithm>
#include <vector>

#include "civic/consensus/messages.h"
#include "civic/consensus/safety.h"
#include "civic/proto/assert.h"
#include "civic/proto/block.h"
#include "civic/proto/codec.h"
#include "civic/proto/payloads.h"
#include "civic/proto/tx.h"
#include "civic/proto/vote.h"

namespace {

using civic::proto::Bytes;
using civic::proto::ByteView;
using civic::proto::Result;
using Type = CIVIC_FUZZ_TYPE;

namespace proto = civic::proto;

proto::ChainId FuzzChain() { return proto::ChainId::Parse("fuzz").value(); }

template <class T>
[[maybe_unused]] void UseDecoded(const T&) {}  // payloads: nothing further to do with them alone
[[maybe_unused]] void UseDecoded(const proto::Tx& tx) {
  (void)proto::VerifyTxSignature(tx);
  CIVIC_ASSERT(proto::TxId(tx).has_value());
}
[[maybe_unused]] void UseDecoded(const proto::TxBody& body) { CIVIC_ASSERT(proto::TxSigningDigest(body).has_value()); }
[[maybe_unused]] void UseDecoded(const proto::BlockHeader& header) { CIVIC_ASSERT(proto::BlockHash(header).has_value()); }
[[maybe_unused]] void UseDecoded(const proto::Block& block) {
  CIVIC_ASSERT(proto::BlockHash(block.header).has_value());
  std::vector<proto::Hash32> ids;
  for (const proto::Tx& tx : block.txs) ids.push_back(proto::TxId(tx).value());
  (void)proto::TxRoot(ids);
}
[[maybe_unused]] void UseDecoded(const proto::Vote& vote) { (void)proto::VerifyVote(FuzzChain(), vote); }
[[maybe_unused]] void UseDecoded(const proto::ValidatorSet& set) { CIVIC_ASSERT(proto::ValidatorSetHash(FuzzChain(), set).has_value()); }
[[maybe_unused]] void UseDecoded(const civic::consensus::Proposal& proposal) {
  (void)civic::consensus::VerifyProposal(FuzzChain(), proposal);
}
[[maybe_unused]] void UseDecoded(const proto::CommitCertificate& commit) {
  // Against a one-validator set, so that index, power and signature checks all run.
  proto::ValidatorSet set;
  set.validators.push_back({proto::Ed25519PublicKey{}, 1});
  (void)proto::VerifyCommitCertificate(FuzzChain(), set, commit);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const ByteView input(data, size);
  Result<Type> decoded = civic::proto::Decode<Type>(input);
  if (!decoded) {
    CIVIC_ASSERT(!decoded.error().message.empty());
    return 0;
  }
  Result<Bytes> encoded = civic::proto::Encode(*decoded);
  CIVIC_ASSERT(encoded.has_value());
  CIVIC_ASSERT(encoded->size() == size);
  CIVIC_ASSERT(std::equal(encoded->begin(), encoded->end(), input.begin()));
  Result<Type> again = civic::proto::Decode<Type>(*encoded);
  CIVIC_ASSERT(again.has_value());
  CIVIC_ASSERT(*again == *decoded);
  UseDecoded(*decoded);
  return 0;
}
