// common/assert.h — programmer-error checks.
//
// SLUICE_ASSERT is always on and cheap: a broken invariant crashes with the
// file, line and reason rather than corrupting queues. SLUICE_DCHECK is for
// expensive checks and compiles away unless SLUICE_DEBUG_CHECKS is set (the
// debug and asan presets set it). Any thread may use both.
#pragma once

#include <cstdio>
#include <cstdlib>

namespace sluice::detail {
[[noreturn, gnu::cold]] inline void assert_fail(const char* cond, const char* why,
                                                const char* file, int line) noexcept {
  std::fprintf(stderr, "sluice: assertion failed at %s:%d: %s (%s)\n", file, line, why, cond);
  std::fflush(stderr);
  std::abort();
}
}  // namespace sluice::detail

#define SLUICE_ASSERT(cond, why)                                                  \
  do {                                                                            \
    if (__builtin_expect(!(cond), 0)) {                                           \
      ::sluice::detail::assert_fail(#cond, why, __FILE__, __LINE__);              \
    }                                                                             \
  } while (0)

#if defined(SLUICE_DEBUG_CHECKS) && SLUICE_DEBUG_CHECKS
#define SLUICE_DCHECK(cond, why) SLUICE_ASSERT(cond, why)
#else
#define SLUICE_DCHECK(cond, why) \
  do {                           \
    (void)sizeof(cond);          \
  } while (0)
#endif
