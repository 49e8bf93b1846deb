// storage/record.h — encode and validate journal records.
//
// `record` is the decoded form of one record: header fields, the fixed body of
// its kind (a union: read the member named by `kind`) and up to two variable
// parts that point into the buffer it was decoded from. encode_record() and
// decode_record() are exact inverses: whatever decode accepts re-encodes to
// the same bytes (the fuzzer checks it). Neither allocates. Layouts are in
// record_layout.h; the file format is in docs/storage.md.
//
// decode_record() checks one record in isolation. record_order checks what a
// single record cannot: sequence numbers rise by one and epochs never fall.
// Pure functions and plain values: any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "common/result.h"
#include "storage/errc.h"
#include "storage/record_layout.h"
#include "storage/types.h"

namespace sluice::storage {

using bytes = std::span<const std::byte>;
using mut_bytes = std::span<std::byte>;

struct record {
  record_kind kind{};
  epoch_no epoch;
  seq_no seq;
  std::uint32_t batch_block = 0;
  union body_u {
    queue_created_body queue_created;
    queue_deleted_body queue_deleted;
    message_body message;
    confirm_body confirm;
    delete_body del;
    purge_body purge;
    epoch_body epoch;
    delivered_body delivered;
    std::uint8_t raw[sizeof(message_body)];
  } body{};
  // queue_created: name, config. message: properties, payload. Others: empty.
  bytes part1;
  bytes part2;
};

// Unpadded length of r encoded (the header's length field).
std::size_t record_length(const record& r) noexcept;
// Bytes a record of `length` occupies in a batch.
constexpr std::size_t padded_sz(std::size_t length) noexcept { return align_up(length, k_record_align); }

// Encodes r at the start of `out`, zero padding included, and returns the
// padded size. Size fields of the body (name_sz, payload_sz, ...) are taken
// from part1/part2. Errors: record_too_large (out too small or above
// k_record_sz_max), bad_field (parts given to a kind that has none, a
// reserved field set, app count or index out of range).
result<std::size_t, errc> encode_record(mut_bytes out, const record& r) noexcept;

// Decodes and validates the record at the start of `in` (which may extend
// past it). The parts of the result point into `in`. Errors: truncated,
// bad_length, bad_crc, bad_version, unknown_kind, bad_field.
result<record, errc> decode_record(bytes in) noexcept;

// True when the first 8 bytes (crc, length) are zero: padding at the end of
// a batch, or never-written space. A valid record always has length >= 32.
bool is_zero_header(bytes in) noexcept;

// Checks a stream of records for order. Start it from the segment header
// (the epoch in force and the seq before the segment's first record).
class record_order {
 public:
  record_order() noexcept = default;
  record_order(epoch_no epoch, seq_no last_seq) noexcept : _epoch(epoch), _last_seq(last_seq) {}

  // Errors: seq_out_of_order, epoch_out_of_order. Accepts r (advances) only when ok.
  status<errc> check(const record& r) noexcept;

  epoch_no epoch() const noexcept { return _epoch; }
  seq_no last_seq() const noexcept { return _last_seq; }

 private:
  epoch_no _epoch{0};
  seq_no _last_seq{0};
};

// Copies a message id in and out of a body's byte array.
message_id id_of(const std::uint8_t (&raw)[16]) noexcept;
void set_id(std::uint8_t (&raw)[16], const message_id& id) noexcept;

const char* to_string(record_kind k) noexcept;

}  // namespace sluice::storage
