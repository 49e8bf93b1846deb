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

#if defined(__x86_64__)
[[gnu::target("sse4.2")]] std::uint32_t hw_impl(std::uint32_t crc, const std::byte* p,
                                                std::size_t n) noexcept {
  std::uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);  // unaligned input is fine: memcpy compiles to one load
    c = _mm_crc32_u64(c, w);
  }
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
