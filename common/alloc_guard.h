// common/alloc_guard.h — catches heap allocation on the hot path.
//
// Linking common/alloc_guard.cc into a binary replaces the global operator
// new/delete. A thread that arms the guard (its shard loop) then reports
// every allocation it makes: counted in `count` mode, fatal in `abort` mode
// (with the size in the message). Code that may allocate legitimately
// outside the steady state (opening a queue, a session's first large
// message) wraps itself in an `allow` scope. Cost when off: one relaxed
// atomic load per allocation.
#pragma once

#include <cstdint>

namespace sluice::alloc_guard {

enum class mode : std::uint8_t { off, count, abort };

void set_mode(mode m) noexcept;             // process-wide; any thread
mode get_mode() noexcept;
void arm_this_thread(bool armed) noexcept;  // the calling thread only
bool linked() noexcept;                     // true when the replacement is in this binary
std::uint64_t violations() noexcept;        // allocations on armed threads so far

// Disarms the calling thread for its lifetime (nests).
class allow {
 public:
  allow() noexcept;
  ~allow();
  allow(const allow&) = delete;
  allow& operator=(const allow&) = delete;
};

}  // namespace sluice::alloc_guard
