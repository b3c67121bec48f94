// What nodes say to each other over an authenticated, encrypted peer connection (p2p.h).
//
// One frame carries one message: a kind byte, then the message's canonical encoding
// (proto/codec.h), so every message has a bound, one encoding, and a decoder that never reads
// past the frame. A frame that does not decode is a peer that misbehaves: p2p.h drops it.
//
//   Status         my ledger's tip (sent on connect and after every commit)
//   Proposal       a signed consensus proposal with the block it proposes
//   Vote           a signed prevote or precommit
//   Txs            transactions admitted to my mempool, as their submitters signed them
//   BlockRequest   please send the committed block at this height
//   Block          a committed block with its commit certificate (block sync)
//   Polka          the 2f+1 prevotes behind the value a validator may propose again
//                  (consensus::Engine::ValidPolka), sent with its own messages
#pragma once

#include <cstdint>
#include <variant>
#include <vector>

#include "civic/consensus/messages.h"
#include "civic/proto/block.h"
#include "civic/proto/bytes.h"
#include "civic/proto/fields.h"
#include "civic/proto/result.h"
#include "civic/proto/tx.h"
#include "civic/proto/vote.h"

namespace civic::node {

enum class WireKind : std::uint8_t {
  kStatus = 1,
  kProposal = 2,
  kVote = 3,
  kTxs = 4,
  kBlockRequest = 5,
  kBlock = 6,
  kPolka = 7,
};

struct StatusMessage {
  static constexpr std::uint32_t kEncodedBytesMax = 48;
  std::uint64_t height = 0;  // of the tip; 0 before the first block
  proto::Hash32 block_hash;  // zero before the first block

  friend bool operator==(const StatusMessage&, const StatusMessage&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(height, block_hash);
  }
};

struct ProposalMessage {
  static constexpr std::uint32_t kEncodedBytesMax = consensus::Proposal::kEncodedBytesMax + proto::kBlockEncodedBytesMax;
  consensus::Proposal proposal;
  proto::Block block;

  friend bool operator==(const ProposalMessage&, const ProposalMessage&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(proposal, block);
  }
};

struct VoteMessage {
  static constexpr std::uint32_t kEncodedBytesMax = proto::Vote::kEncodedBytesMax;
  proto::Vote vote;

  friend bool operator==(const VoteMessage&, const VoteMessage&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(vote);
  }
};

// One transaction as its signer encoded it (the receiver decodes and checks it like a
// submission to its API).
struct TxBytes {
  proto::Bytes bytes;

  friend bool operator==(const TxBytes&, const TxBytes&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(proto::Bounded(bytes, proto::kTxEncodedBytesMax));
  }
};

// Senders keep a batch under kTxsMessageBytesTarget; the bound is what a receiver accepts.
inline constexpr std::uint32_t kTxsPerMessageMax = 4096;
inline constexpr std::uint32_t kTxsMessageBytesTarget = 1024 * 1024;

struct TxsMessage {
  static constexpr std::uint32_t kEncodedBytesMax = 4 + kTxsMessageBytesTarget + proto::kTxEncodedBytesMax +
                                                    4 * kTxsPerMessageMax;
  std::vector<TxBytes> txs;

  friend bool operator==(const TxsMessage&, const TxsMessage&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(proto::List(txs, kTxsPerMessageMax));
  }
};

struct BlockRequestMessage {
  static constexpr std::uint32_t kEncodedBytesMax = 8;
  std::uint64_t height = 0;

  friend bool operator==(const BlockRequestMessage&, const BlockRequestMessage&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(height);
    ar.Require(height >= 1, proto::ErrorCode::kInvalidArgument, "a block request names a height of at least 1");
  }
};

struct BlockMessage {
  static constexpr std::uint32_t kEncodedBytesMax = proto::kBlockEncodedBytesMax + proto::CommitCertificate::kEncodedBytesMax;
  proto::Block block;
  proto::CommitCertificate certificate;

  friend bool operator==(const BlockMessage&, const BlockMessage&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(block, certificate);
  }
};

// Prevotes of one height, round and block that together carry more than 2/3 of the power:
// at most one a validator. The receiving engine checks that (CertificateEvent).
struct PolkaMessage {
  static constexpr std::uint32_t kEncodedBytesMax = 4 + proto::kValidatorsMax * proto::Vote::kEncodedBytesMax;
  std::vector<proto::Vote> votes;
  friend bool operator==(const PolkaMessage&, const PolkaMessage&) = default;
  template <class Archive>
  void serialize(Archive& ar) {
    ar(proto::List(votes, proto::kValidatorsMax));
  }
};

using WireMessage =
    std::variant<StatusMessage, ProposalMessage, VoteMessage, TxsMessage, BlockRequestMessage, BlockMessage, PolkaMessage>;

// The largest frame any message can need (a Proposal or Block message of the largest block).
inline constexpr std::uint32_t kWireMessageBytesMax = 1 + ProposalMessage::kEncodedBytesMax;

WireKind KindOf(const WireMessage& message);
std::string_view WireKindName(WireKind kind);

// The kind byte and the message's encoding.
[[nodiscard]] proto::Result<proto::Bytes> EncodeWire(const WireMessage& message);
// Rejects an unknown kind and anything the message's own decoder rejects.
[[nodiscard]] proto::Result<WireMessage> DecodeWire(proto::ByteView frame);

}  // namespace civic::node
