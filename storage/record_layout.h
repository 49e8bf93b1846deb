// storage/record_layout.h — the fixed byte layouts of journal records, v1.
//
// A record is a 32-byte header, a fixed body for its kind, then the kind's
// variable parts; the next record starts at the next multiple of 8. All
// integers little-endian, no implicit padding; static_asserts pin every offset
// to docs/storage.md. Codecs memcpy layouts in and out, never cast pointers
// into buffers.
//
//   0      4        8    9    10      12            16        24        32
//   ┌──────┬────────┬────┬────┬───────┬─────────────┬─────────┬─────────┬──────────┐
//   │ crc  │ length │kind│ver │ rsvd0 │ batch_block │ epoch   │ seq     │ body ... │
//   └──────┴────────┴────┴────┴───────┴─────────────┴─────────┴─────────┴──────────┘
//   crc = CRC32C of bytes [4, length); length = header + body, unpadded.
#pragma once

#include <cstddef>
#include <cstdint>

namespace sluice::storage {

inline constexpr std::uint8_t k_record_version = 1;
// Format limit; a journal's batch size usually limits records further.
inline constexpr std::uint32_t k_record_sz_max = 16u << 20;

enum class record_kind : std::uint8_t {
  queue_created = 1,
  queue_deleted = 2,
  message = 3,
  confirm = 4,
  del = 5,  // "delete": a message removed without a confirm (expiry, reject)
  purge = 6,
  epoch = 7,
  delivered = 8,  // a message was pushed again (its delivery count), for redelivery limits across restarts
};
inline constexpr std::size_t k_record_kind_cnt = 9;  // index by the kind's value; 0 unused

struct record_header {
  std::uint32_t crc;
  std::uint32_t length;
  std::uint8_t kind;
  std::uint8_t version;
  std::uint16_t reserved0;
  std::uint32_t batch_block;  // offset of this record's commit in the segment / k_block_sz
  std::uint64_t epoch;
  std::uint64_t seq;
};
static_assert(sizeof(record_header) == 32);
static_assert(offsetof(record_header, length) == 4);
static_assert(offsetof(record_header, kind) == 8);
static_assert(offsetof(record_header, version) == 9);
static_assert(offsetof(record_header, batch_block) == 12);
static_assert(offsetof(record_header, epoch) == 16);
static_assert(offsetof(record_header, seq) == 24);

// + name_sz bytes of queue name, then config_sz bytes of broker-defined config.
struct queue_created_body {
  std::uint32_t queue;
  std::uint16_t app_cnt;  // fan-out apps, 1..64
  std::uint16_t name_sz;
  std::uint32_t config_sz;
  std::uint32_t reserved0;
};
static_assert(sizeof(queue_created_body) == 16);
static_assert(offsetof(queue_created_body, name_sz) == 6);
static_assert(offsetof(queue_created_body, config_sz) == 8);

struct queue_deleted_body {
  std::uint32_t queue;
  std::uint32_t reserved0;
};
static_assert(sizeof(queue_deleted_body) == 8);

// + properties_sz bytes of properties, then payload_sz bytes of payload.
struct message_body {
  std::uint32_t queue;
  std::uint16_t app_cnt;          // apps that must confirm, 1..64
  std::uint16_t delivery_cnt;     // pushes so far, as journaled (non-zero only when compacted)
  std::uint64_t confirmed_mask;   // apps already confirmed (non-zero only when compacted)
  std::uint64_t origin_seq;       // seq of the first append; kept when compaction copies it
  std::uint8_t id[16];
  std::uint32_t properties_sz;
  std::uint32_t payload_sz;
};
static_assert(sizeof(message_body) == 48);
static_assert(offsetof(message_body, confirmed_mask) == 8);
static_assert(offsetof(message_body, origin_seq) == 16);
static_assert(offsetof(message_body, id) == 24);
static_assert(offsetof(message_body, properties_sz) == 40);
static_assert(offsetof(message_body, payload_sz) == 44);

// Cumulative: confirmed_mask is every app confirmed so far, so only the latest
// confirm of a message matters (retention relies on it).
struct confirm_body {
  std::uint32_t queue;
  std::uint16_t app_idx;
  std::uint16_t reserved0;
  std::uint64_t confirmed_mask;
  std::uint8_t id[16];
};
static_assert(sizeof(confirm_body) == 32);
static_assert(offsetof(confirm_body, app_idx) == 4);
static_assert(offsetof(confirm_body, confirmed_mask) == 8);
static_assert(offsetof(confirm_body, id) == 16);

struct delete_body {
  std::uint32_t queue;
  std::uint32_t reason;  // broker-defined (expired, rejected, ...)
  std::uint8_t id[16];
};
static_assert(sizeof(delete_body) == 24);
static_assert(offsetof(delete_body, id) == 8);

struct purge_body {
  std::uint32_t queue;
  std::uint16_t app_idx;  // k_all_apps: every app
  std::uint16_t reserved0;
};
static_assert(sizeof(purge_body) == 8);

// Journaled when a message is pushed for the second time or later (the first
// push is implied by recovery's "may have been seen"). The largest count of a
// live message wins; compaction carries it in message_body::delivery_cnt.
struct delivered_body {
  std::uint32_t queue;
  std::uint16_t app_idx;
  std::uint16_t delivery_cnt;  // >= 1
  std::uint8_t id[16];
};
static_assert(sizeof(delivered_body) == 24);
static_assert(offsetof(delivered_body, delivery_cnt) == 6);
static_assert(offsetof(delivered_body, id) == 8);

// The header's epoch is the new epoch; it must exceed previous_epoch.
struct epoch_body {
  std::uint64_t previous_epoch;
};
static_assert(sizeof(epoch_body) == 8);

// Fixed body size of a kind; 0 for an unknown kind.
constexpr std::size_t fixed_body_sz(record_kind k) noexcept {
  switch (k) {
    case record_kind::queue_created: return sizeof(queue_created_body);
    case record_kind::queue_deleted: return sizeof(queue_deleted_body);
    case record_kind::message: return sizeof(message_body);
    case record_kind::confirm: return sizeof(confirm_body);
    case record_kind::del: return sizeof(delete_body);
    case record_kind::purge: return sizeof(purge_body);
    case record_kind::epoch: return sizeof(epoch_body);
    case record_kind::delivered: return sizeof(delivered_body);
  }
  return 0;
}

}  // namespace sluice::storage
