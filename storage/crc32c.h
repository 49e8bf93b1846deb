// storage/crc32c.h — CRC32C (Castagnoli), the checksum of every record.
//
// Uses the SSE4.2 crc32 instruction when the CPU has it (checked once at
// start-up), three lanes at a time and joined (crc32c.cc), a byte-wise
// table otherwise; both give the same values
// (crc32c("123456789") == 0xE3069283, RFC 3720's polynomial 0x1EDC6F41,
// reflected). Pure functions: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace sluice::storage {

// CRC32C of `data`, continuing from `crc` (the value a previous call
// returned; 0 to start).
std::uint32_t crc32c_extend(std::uint32_t crc, std::span<const std::byte> data) noexcept;

inline std::uint32_t crc32c(std::span<const std::byte> data) noexcept { return crc32c_extend(0, data); }

// The two implementations, for tests and the benchmark; crc32c_extend picks one.
std::uint32_t crc32c_extend_table(std::uint32_t crc, std::span<const std::byte> data) noexcept;
std::uint32_t crc32c_extend_hw(std::uint32_t crc, std::span<const std::byte> data) noexcept;
bool crc32c_hw_available() noexcept;

}  // namespace sluice::storage
