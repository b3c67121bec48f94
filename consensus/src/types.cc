#include "civic/consensus/types.h"

#include "civic/proto/assert.h"

namespace civic::consensus {

std::string_view StepName(Step step) {
  switch (step) {
    case Step::kNone: return "none";
    case Step::kUnstarted: return "unstarted";
    case Step::kPropose: return "propose";
    case Step::kPrevote: return "prevote";
    case Step::kPrecommit: return "precommit";
    case Step::kCommit: return "commit";
  }
  CIVIC_ASSERT(false && "unnamed Step");
}

std::string_view TimeoutKindName(TimeoutKind kind) {
  switch (kind) {
    case TimeoutKind::kPropose: return "propose";
    case TimeoutKind::kPrevote: return "prevote";
    case TimeoutKind::kPrecommit: return "precommit";
  }
  CIVIC_ASSERT(false && "unnamed TimeoutKind");
}

std::uint32_t WireRound(Round round) {
  CIVIC_ASSERT(round >= 0 && round <= kRoundMax);
  return static_cast<std::uint32_t>(round);
}

std::string ShortHex(const ValueId& value) { return proto::ToHex(proto::ByteView(value.bytes.data(), 8)); }

std::string ToString(const NilOrValue& value) { return value ? ShortHex(*value) : std::string("nil"); }

}  // namespace civic::consensus
