#include "common/siphash.h"

#include <sys/random.h>

#include <bit>
#include <cstring>

#include "common/assert.h"

namespace sluice {
namespace {

struct sip_state {
  std::uint64_t v0, v1, v2, v3;
  void round() noexcept {
    v0 += v1;
    v1 = std::rotl(v1, 13);
    v1 ^= v0;
    v0 = std::rotl(v0, 32);
    v2 += v3;
    v3 = std::rotl(v3, 16);
    v3 ^= v2;
    v0 += v3;
    v3 = std::rotl(v3, 21);
    v3 ^= v0;
    v2 += v1;
    v1 = std::rotl(v1, 17);
    v1 ^= v2;
    v2 = std::rotl(v2, 32);
  }
  void absorb(std::uint64_t m) noexcept {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  }
};

}  // namespace

std::uint64_t siphash24(const siphash_key& key, std::span<const std::byte> data) noexcept {
  sip_state s{key.k0 ^ 0x736f6d6570736575ULL, key.k1 ^ 0x646f72616e646f6dULL,
              key.k0 ^ 0x6c7967656e657261ULL, key.k1 ^ 0x7465646279746573ULL};
  const std::size_t full = data.size() & ~std::size_t{7};
  for (std::size_t i = 0; i < full; i += 8) {
    std::uint64_t m = 0;
    std::memcpy(&m, data.data() + i, 8);  // little-endian host (static_assert in wire.h)
    s.absorb(m);
  }
  std::uint64_t last = static_cast<std::uint64_t>(data.size() & 0xff) << 56;
  for (std::size_t i = full; i < data.size(); ++i) {
    last |= static_cast<std::uint64_t>(data[i]) << (8 * (i - full));
  }
  s.absorb(last);
  s.v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) s.round();
  return s.v0 ^ s.v1 ^ s.v2 ^ s.v3;
}

siphash_key random_siphash_key() noexcept {
  siphash_key key;
  const ssize_t n = ::getrandom(&key, sizeof key, 0);
  SLUICE_ASSERT(n == static_cast<ssize_t>(sizeof key), "getrandom failed");
  return key;
}

}  // namespace sluice
