// datapath/wire/wire_test_util.h — helpers shared by the wire codec tests.
//
// Test-only (included by *_test.cc, never by the codec). Buffers are
// std::vector<std::byte>; each helper checks one property the same way for
// every frame type, so the per-type tests stay short.
#pragma once

#include <gtest/gtest.h>

#include <cstring>
#include <ostream>
#include <string_view>
#include <vector>

#include "datapath/wire/codec.h"

namespace sluice::wire {

// GoogleTest prints errc by name in failure messages (found by ADL).
inline void PrintTo(errc e, std::ostream* os) { *os << errc_name(e); }

namespace test {

using buf = std::vector<std::byte>;

// The error of a failed result or status; errc{} (no such code) on success,
// so EXPECT_EQ(err_of(r), errc::x) reads well and prints "invalid_errc".
template <class R>
errc err_of(const R& r) {
  return r.ok() ? errc{} : r.error();
}

template <class T>
buf bytes_of(const T& v) {
  buf b(sizeof(T));
  std::memcpy(b.data(), &v, sizeof(T));
  return b;
}

inline void append(buf& b, bytes more) { b.insert(b.end(), more.begin(), more.end()); }

// A fixed part followed by up to two variable parts, exactly as given.
template <class T>
buf body_of(const T& fixed, bytes a = {}, bytes b = {}) {
  buf out = bytes_of(fixed);
  append(out, a);
  append(out, b);
  return out;
}

inline buf filled(std::size_t n, std::uint8_t v) { return buf(n, std::byte{v}); }

// Runs `encode(mut_bytes)` into a roomy buffer; the result trimmed to size.
template <class Encode>
buf encoded(Encode encode) {
  buf out(1u << 17);
  const auto n = encode(mut_bytes{out});
  EXPECT_TRUE(n.ok()) << "encode failed: " << errc_name(err_of(n));
  out.resize(n.ok() ? n.value() : 0);
  return out;
}

// Every output buffer shorter than `need` gives no_space; exactly `need` works.
template <class Encode>
void expect_no_space_below(std::size_t need, Encode encode) {
  buf out(need);
  for (std::size_t n = 0; n < need; ++n) {
    EXPECT_EQ(err_of(encode(mut_bytes{out.data(), n})), errc::no_space) << "out size " << n;
  }
  const auto r = encode(mut_bytes{out.data(), need});
  ASSERT_TRUE(r.ok()) << errc_name(err_of(r));
  EXPECT_EQ(r.value(), need);
}

// For a valid `body` whose lengths are all declared in its fixed part: every
// prefix shorter than the fixed part is truncated, every longer prefix and
// the body plus one byte disagree with the declared lengths.
template <class Decode>
void expect_length_checked(const buf& body, std::size_t fixed_sz, Decode decode) {
  ASSERT_TRUE(decode(bytes{body}).ok()) << "the reference body must decode";
  for (std::size_t n = 0; n < body.size(); ++n) {
    const errc want = n < fixed_sz ? errc::truncated : errc::bad_length;
    EXPECT_EQ(err_of(decode(bytes{body.data(), n})), want) << "body size " << n;
  }
  buf longer = body;
  longer.push_back(std::byte{0});
  EXPECT_EQ(err_of(decode(bytes{longer})), errc::bad_length) << "one extra byte";
}

template <class T>
bool same_bytes(const T& a, const T& b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

}  // namespace test
}  // namespace sluice::wire
