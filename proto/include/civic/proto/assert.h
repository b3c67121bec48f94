// CIVIC_ASSERT states an invariant of our own code. It ignores NDEBUG, prints the expression,
// file and line, and aborts. Never use it on input: input gets a Result (result.h).
#pragma once

namespace civic::proto::detail {
[[noreturn]] void AssertFail(const char* expression, const char* file, int line);
}  // namespace civic::proto::detail

#define CIVIC_ASSERT(condition)                                              \
  do {                                                                       \
    if (!(condition)) ::civic::proto::detail::AssertFail(#condition, __FILE__, __LINE__); \
  } while (false)
