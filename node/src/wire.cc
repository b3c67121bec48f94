#include "civic/node/wire.h"

#include <string>

#include "civic/proto/codec_impl.h"

namespace civic::node {
namespace {

template <class T>
proto::Result<WireMessage> DecodeAs(proto::ByteView payload) {
  proto::Result<T> decoded = proto::Decode<T>(payload);
  if (!decoded) return tl::unexpected(decoded.error());
  return WireMessage{std::move(*decoded)};
}

}  // namespace

WireKind KindOf(const WireMessage& message) {
  return static_cast<WireKind>(message.index() + 1);
}

std::string_view WireKindName(WireKind kind) {
  switch (kind) {
    case WireKind::kStatus: return "status";
    case WireKind::kProposal: return "proposal";
    case WireKind::kVote: return "vote";
    case WireKind::kTxs: return "txs";
    case WireKind::kBlockRequest: return "block-request";
    case WireKind::kBlock: return "block";
    case WireKind::kPolka: return "polka";
  }
  return "unknown";
}

proto::Result<proto::Bytes> EncodeWire(const WireMessage& message) {
  proto::Result<proto::Bytes> payload =
      std::visit([](const auto& m) { return proto::Encode(m); }, message);
  if (!payload) return payload;
  proto::Bytes frame;
  frame.reserve(payload->size() + 1);
  frame.push_back(static_cast<std::uint8_t>(KindOf(message)));
  frame.insert(frame.end(), payload->begin(), payload->end());
  return frame;
}

proto::Result<WireMessage> DecodeWire(proto::ByteView frame) {
  if (frame.empty()) return proto::Fail(proto::ErrorCode::kMalformed, "an empty peer message");
  const proto::ByteView payload = frame.subspan(1);
  switch (static_cast<WireKind>(frame[0])) {
    case WireKind::kStatus: return DecodeAs<StatusMessage>(payload);
    case WireKind::kProposal: return DecodeAs<ProposalMessage>(payload);
    case WireKind::kVote: return DecodeAs<VoteMessage>(payload);
    case WireKind::kTxs: return DecodeAs<TxsMessage>(payload);
    case WireKind::kBlockRequest: return DecodeAs<BlockRequestMessage>(payload);
    case WireKind::kBlock: return DecodeAs<BlockMessage>(payload);
    case WireKind::kPolka: return DecodeAs<PolkaMessage>(payload);
  }
  return proto::Fail(proto::ErrorCode::kUnknownKind,
                     "peer message kind " + std::to_string(frame[0]) + " is not one this build speaks");
}

}  // namespace civic::node

CIVIC_CODEC_INSTANTIATE(civic::node::StatusMessage)
CIVIC_CODEC_INSTANTIATE(civic::node::ProposalMessage)
CIVIC_CODEC_INSTANTIATE(civic::node::VoteMessage)
CIVIC_CODEC_INSTANTIATE(civic::node::TxsMessage)
CIVIC_CODEC_INSTANTIATE(civic::node::BlockRequestMessage)
CIVIC_CODEC_INSTANTIATE(civic::node::BlockMessage)
CIVIC_CODEC_INSTANTIATE(civic::node::PolkaMessage)
