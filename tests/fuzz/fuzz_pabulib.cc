// libFuzzer target for the Pabulib reader: any text either parses into a consistent
// instance or gets an error naming a line; a parsed instance becomes a tally input that the
// greedy rules and plain MES accept. (MES with add1 completion is left out here: its work
// grows with the budget, which a fuzzer would make huge; tally tests cover it.)
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "civic/contracts/pabulib.h"
#include "civic/contracts/tally.h"
#include "civic/proto/assert.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace contracts = civic::contracts;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  civic::proto::Result<contracts::PabulibInstance> instance = contracts::ParsePabulib(text);
  if (!instance) {
    CIVIC_ASSERT(!instance.error().message.empty());
    return 0;
  }
  civic::proto::Result<contracts::PabulibTally> tally = contracts::ToTallyInput(*instance);
  if (!tally) return 0;
  for (contracts::OutcomeRule rule :
       {contracts::OutcomeRule::kGreedy, contracts::OutcomeRule::kGreedyPoints, contracts::OutcomeRule::kMesCost}) {
    civic::proto::Result<contracts::TallyResult> result = contracts::Tally(tally->input, rule);
    if (result) CIVIC_ASSERT(result->spent <= tally->input.budget);
  }
  return 0;
}
