// storage/types.h — strong types shared by the journal, recovery and tools.
//
// Sequence numbers, epochs, segment ids and queue ids are all integers on
// disk; wrapping each in its own type keeps a sequence number from being
// passed where a segment id is expected. message_id is 16 opaque bytes the
// broker chooses (its GUID); the journal only compares and hashes them.
// Plain values: any thread.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <cstring>

namespace sluice::storage {

template <class Tag, class T>
struct strong {
  T v{};
  constexpr strong() noexcept = default;
  constexpr explicit strong(T value) noexcept : v(value) {}
  constexpr T value() const noexcept { return v; }
  constexpr auto operator<=>(const strong&) const noexcept = default;
  constexpr strong next() const noexcept { return strong{static_cast<T>(v + 1)}; }
};

using seq_no = strong<struct seq_tag, std::uint64_t>;          // per-journal, +1 per record
using epoch_no = strong<struct epoch_tag, std::uint64_t>;      // primary term
using segment_id = strong<struct segment_tag, std::uint64_t>;  // file name, +1 per segment
using queue_id = strong<struct queue_tag, std::uint32_t>;      // shard-local queue key

struct message_id {
  std::array<std::uint8_t, 16> bytes{};
  bool operator==(const message_id&) const noexcept = default;
};
static_assert(sizeof(message_id) == 16);

// Sizes on disk. Every write offset and length is a multiple of k_block_sz
// (O_DIRECT); records inside a batch start on k_record_align.
inline constexpr std::size_t k_block_sz = 4096;
inline constexpr std::size_t k_record_align = 8;
// Fan-out apps per queue: one bit each in a confirm mask.
inline constexpr std::uint16_t k_app_cnt_max = 64;
// purge of every app of a queue.
inline constexpr std::uint16_t k_all_apps = 0xFFFF;

constexpr std::uint64_t align_up(std::uint64_t v, std::uint64_t a) noexcept {
  return (v + a - 1) / a * a;
}
constexpr std::uint64_t align_down(std::uint64_t v, std::uint64_t a) noexcept { return v / a * a; }

// All apps of an app_cnt-wide queue, as a confirm mask.
constexpr std::uint64_t full_mask(std::uint16_t app_cnt) noexcept {
  return app_cnt >= 64 ? ~0ULL : (1ULL << app_cnt) - 1;
}

}  // namespace sluice::storage
