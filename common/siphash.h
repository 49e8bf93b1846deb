// common/siphash.h — SipHash-2-4, a keyed 64-bit PRF.
//
// Used where an attacker must not forge or predict a value: the handshake's
// stateless cookie, and hash tables keyed by outside input. Pure function,
// any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace sluice {

struct siphash_key {
  std::uint64_t k0 = 0;
  std::uint64_t k1 = 0;
};

std::uint64_t siphash24(const siphash_key& key, std::span<const std::byte> data) noexcept;

// A key from getrandom(2); aborts if the kernel cannot supply entropy.
siphash_key random_siphash_key() noexcept;

}  // namespace sluice
