#include "storage/crc32c.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace sluice::storage {
namespace {

constexpr std::uint32_t k_poly_reflected = 0x82F63B78u;

constexpr std::array<std::uint32_t, 256> make_table() noexcept {
  std::array<std::uint32_t, 256> t{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1u) ? (c >> 1) ^ k_poly_reflected : c >> 1;
    t[i] = c;
  }
  return t;
}
constexpr std::array<std::uint32_t, 256> k_table = make_table();

// A raw CRC register (no inversion) is linear in its start value:
// reg(r, B) = shift_|B|(r) ^ reg(0, B), where shift_n(r) is what r becomes
// after n zero bytes (a multiplication by x^(8n) mod P). That lets three
// lanes of n bytes each run at once, each from its own start, and be joined
// with two shifts. A shift by a fixed n is four table look-ups, one per byte
// of r: tables built once, from the byte-wise table, at start-up.
struct shift_tables {
  std::array<std::array<std::uint32_t, 256>, 4> t{};
  explicit shift_tables(std::size_t n) noexcept {
    for (std::size_t j = 0; j < 4; ++j) {
      for (std::uint32_t b = 0; b < 256; ++b) {
        std::uint32_t r = b << (8 * j);
        for (std::size_t i = 0; i < n; ++i) r = k_table[r & 0xFFu] ^ (r >> 8);  // one zero byte
        t[j][b] = r;
      }
    }
  }
  std::uint32_t operator()(std::uint32_t r) const noexcept {
    return t[0][r & 0xFFu] ^ t[1][(r >> 8) & 0xFFu] ^ t[2][(r >> 16) & 0xFFu] ^ t[3][r >> 24];
  }
};

#if defined(__x86_64__)
// The crc32 instruction takes 3 cycles and can start one per cycle: one
// lane runs at a third of what the unit can do. Lanes of 256 bytes (a
// 768-byte step) for long inputs, then of 64 for what is left (a 1 KiB
// message record: one of each), then one lane.
constexpr std::size_t k_lane_long = 256;
constexpr std::size_t k_lane_short = 64;
// Built on first use (a static of another file may checksum at start-up).
const shift_tables& shift_long() noexcept {
  static const shift_tables t(k_lane_long);
  return t;
}
const shift_tables& shift_short() noexcept {
  static const shift_tables t(k_lane_short);
  return t;
}

inline std::uint64_t load64(const std::byte* p) noexcept {
  std::uint64_t w;
  std::memcpy(&w, p, 8);  // unaligned input is fine: memcpy compiles to one load
  return w;
}

template <std::size_t Lane>
[[gnu::target("sse4.2")]] std::uint32_t three_lanes(std::uint32_t crc, const std::byte*& p, std::size_t& n,
                                                    const shift_tables& shift) noexcept {
  while (n >= 3 * Lane) {
    std::uint64_t a = crc;
    std::uint64_t b = 0;
    std::uint64_t c = 0;
    for (std::size_t i = 0; i < Lane; i += 8) {
      a = _mm_crc32_u64(a, load64(p + i));
      b = _mm_crc32_u64(b, load64(p + Lane + i));
      c = _mm_crc32_u64(c, load64(p + 2 * Lane + i));
    }
    crc = shift(shift(static_cast<std::uint32_t>(a)) ^ static_cast<std::uint32_t>(b)) ^ static_cast<std::uint32_t>(c);
    p += 3 * Lane;
    n -= 3 * Lane;
  }
  return crc;
}

[[gnu::target("sse4.2")]] std::uint32_t hw_impl(std::uint32_t crc, const std::byte* p,
                                                std::size_t n) noexcept {
  if (n >= 3 * k_lane_long) crc = three_lanes<k_lane_long>(crc, p, n, shift_long());
  if (n >= 3 * k_lane_short) crc = three_lanes<k_lane_short>(crc, p, n, shift_short());
  std::uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) c = _mm_crc32_u64(c, load64(p));
  auto c32 = static_cast<std::uint32_t>(c);
  for (; n > 0; --n, ++p) c32 = _mm_crc32_u8(c32, static_cast<std::uint8_t>(*p));
  return c32;
}
#endif

bool detect_hw() noexcept {
#if defined(__x86_64__)
  return __builtin_cpu_supports("sse4.2");
#else
  return false;
#endif
}

const bool g_hw = detect_hw();

}  // namespace

bool crc32c_hw_available() noexcept { return g_hw; }

std::uint32_t crc32c_extend_table(std::uint32_t crc, std::span<const std::byte> data) noexcept {
  std::uint32_t c = ~crc;
  for (std::byte b : data) c = k_table[(c ^ static_cast<std::uint8_t>(b)) & 0xFFu] ^ (c >> 8);
  return ~c;
}

std::uint32_t crc32c_extend_hw(std::uint32_t crc, std::span<const std::byte> data) noexcept {
#if defined(__x86_64__)
  if (g_hw) return ~hw_impl(~crc, data.data(), data.size());
#endif
  return crc32c_extend_table(crc, data);
}

std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::byte> data) noexcept {
  return g_hw ? crc32c_extend_hw(crc, data) : crc32c_extend_table(crc, data);
}

}  // namespace sluice::storage
