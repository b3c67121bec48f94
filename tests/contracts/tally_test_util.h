// Helpers shared by the tally, Pabulib and wallet tests: the real Pabulib instances under
// ../shared/data/pabulib, and exact sums of the tally's fraction strings.
#pragma once

#include <string>
#include <vector>

#include <boost/multiprecision/cpp_int.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "civic/contracts/pabulib.h"
#include "civic/contracts/tally.h"
#include "test_util.h"

namespace civic::contracts::testing {

using Fraction = boost::multiprecision::cpp_rational;

// "42703/21", "1200", "0" -> the exact value (header-only Boost: the tests need no GMP).
inline Fraction ParseFraction(const std::string& text) {
  const std::size_t slash = text.find('/');
  if (slash == std::string::npos) return Fraction(boost::multiprecision::cpp_int(text));
  return Fraction(boost::multiprecision::cpp_int(text.substr(0, slash)),
                  boost::multiprecision::cpp_int(text.substr(slash + 1)));
}

// The exact value of a fraction string is in lowest terms if printing it again gives the same text.
inline bool InLowestTerms(const std::string& text) { return ParseFraction(text).str() == text; }

inline Fraction SumOf(const std::vector<std::string>& fractions) {
  Fraction total = 0;
  for (const std::string& f : fractions) total += ParseFraction(f);
  return total;
}

inline const nlohmann::json& Expected() {
  static const nlohmann::json expected = nlohmann::json::parse(proto::testing::ReadShared("data/pabulib/expected.json"));
  return expected;
}

inline std::vector<std::string> ExpectedFileNames() {
  std::vector<std::string> names;
  for (const auto& [name, unused] : Expected().items()) names.push_back(name);
  return names;
}

struct LoadedInstance {
  PabulibInstance instance;
  PabulibTally tally;
};

inline LoadedInstance LoadPabulib(const std::string& file_name) {
  proto::Result<PabulibInstance> instance = ParsePabulib(proto::testing::ReadShared("data/pabulib/" + file_name));
  EXPECT_TRUE(instance.has_value()) << file_name << ": " << instance.error().message;
  if (!instance) return {};
  proto::Result<PabulibTally> tally = ToTallyInput(*instance);
  EXPECT_TRUE(tally.has_value()) << file_name << ": " << tally.error().message;
  if (!tally) return {};
  return {std::move(*instance), std::move(*tally)};
}

// Funded project ids as expected.json lists a set: in id order, i.e. by tally index.
inline std::vector<std::string> FundedIds(const PabulibTally& tally, const TallyResult& result) {
  std::vector<std::uint32_t> sorted = result.funded_in_order;
  std::sort(sorted.begin(), sorted.end());
  std::vector<std::string> ids;
  for (std::uint32_t index : sorted) ids.push_back(tally.project_ids[index]);
  return ids;
}

inline std::vector<std::string> SelectionOrder(const PabulibTally& tally, const TallyResult& result) {
  std::vector<std::string> ids;
  for (std::uint32_t index : result.funded_in_order) ids.push_back(tally.project_ids[index]);
  return ids;
}

// gtest parameter names allow letters, digits and '_' only.
inline std::string TestName(const std::string& file_name) {
  std::string out;
  for (char c : file_name.substr(0, file_name.rfind(".pb"))) {
    out += std::isalnum(static_cast<unsigned char>(c)) != 0 ? c : '_';
  }
  return out;
}

}  // namespace civic::contracts::testing
