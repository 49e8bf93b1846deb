// storage/segment.h — segment files: header block and file names.
//
// A journal is a directory of segment files, each preallocated to the
// configured size and zero-filled before use:
//
//   block 0            block 1 ...                                     end
//   ┌────────────────┬──────────────────┬──────────────────┬─────────┬──────┐
//   │ segment_header │ commit (records, │ commit ...       │ zeros   │      │
//   │ + zeros        │ zero padding to  │                  │ (never  │      │
//   │                │ a block boundary)│                  │ written)│      │
//   └────────────────┴──────────────────┴──────────────────┴─────────┴──────┘
//
// The header is written with the segment's first commit. Every commit starts
// on a block boundary, so a torn commit never damages an earlier one. Names
// are the id in 16 hex digits plus ".sjl", so a directory listing sorts in
// journal order. Pure functions: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

#include "common/result.h"
#include "storage/errc.h"
#include "storage/record.h"
#include "storage/types.h"

namespace sluice::storage {

inline constexpr std::uint64_t k_segment_magic = 0x314A45434955'4C53ULL;  // "SLUICEJ1"
inline constexpr std::uint32_t k_segment_version = 1;

struct segment_header {
  std::uint64_t magic;
  std::uint32_t version;
  std::uint32_t block_sz;
  std::uint64_t segment;    // must match the file name
  std::uint64_t base_seq;   // seq of the segment's first record
  std::uint64_t epoch;      // epoch in force before the first record
  std::uint64_t segment_sz; // preallocated file size
  std::uint32_t reserved0;
  std::uint32_t crc;        // CRC32C of the bytes before it
};
static_assert(sizeof(segment_header) == 56);
static_assert(offsetof(segment_header, segment) == 16);
static_assert(offsetof(segment_header, base_seq) == 24);
static_assert(offsetof(segment_header, epoch) == 32);
static_assert(offsetof(segment_header, segment_sz) == 40);
static_assert(offsetof(segment_header, crc) == 52);

// Where the first commit of a segment starts.
inline constexpr std::uint64_t k_segment_data_off = k_block_sz;

struct segment_info {
  segment_id segment;
  seq_no base_seq;
  epoch_no epoch;
  std::uint64_t segment_sz = 0;
};

// Writes the header block (k_block_sz bytes, zero after the header) into out.
void encode_segment_header(mut_bytes out, const segment_info& s) noexcept;

// Validates block 0 of segment `expect`. Errors: truncated (no room for it),
// bad_segment (magic, version, block size, CRC or id wrong). A block of zeros
// (a segment created but never written) is reported as not_found.
result<segment_info, errc> decode_segment_header(bytes block0, segment_id expect) noexcept;

// "0000000000000007.sjl". Returns the characters written (20) into buf.
std::size_t segment_file_name(segment_id s, char (&buf)[24]) noexcept;
// The id in a segment file name, or nullopt for any other name.
std::optional<segment_id> parse_segment_file_name(std::string_view name) noexcept;

}  // namespace sluice::storage
