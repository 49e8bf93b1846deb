// storage/errc.h — error values of the storage module.
//
// One enum for decode faults, I/O failures and journal states, so a record
// that fails anywhere between the disk and the broker carries one code.
// to_string() names each for logs and the sluicectl tool. Any thread.
#pragma once

#include <cstdint>

namespace sluice::storage {

enum class errc : std::uint8_t {
  // ---- record decode (recovery, tools, fuzzer) ----
  truncated = 1,     // the buffer ends inside the record (torn write or short read)
  bad_crc,           // CRC32C does not match the bytes
  bad_length,        // length field below the header size, above the maximum, or body size wrong
  unknown_kind,      // kind byte is not a record_kind
  bad_version,       // format version not understood
  bad_field,         // reserved field non-zero, app index or count out of range
  epoch_out_of_order,  // epoch below the previous one; raised other than by an epoch record
  seq_out_of_order,  // sequence is not previous + 1
  bad_segment,       // segment header missing, corrupt or naming another segment
  // ---- recovery ----
  corrupt_middle,    // a bad record with valid, later-committed records after it
  inconsistent,      // records contradict the state (confirm of an unknown message, ...)
  // ---- I/O ----
  io_error,          // the kernel failed a read, write, sync, create or delete
  no_space,          // ENOSPC
  not_found,         // no such segment
  busy,              // too many operations in flight (ring or op table full)
  // ---- journal ----
  backpressure,      // every batch buffer is full or in flight: retry after poll()
  record_too_large,  // the record cannot fit one batch
  journal_failed,    // an earlier write failed: the journal accepts nothing until restart
  unknown_queue,
  unknown_message,
  duplicate,         // queue or message already exists
  index_full,        // live-message or queue limit of the config reached
  not_started,
};

const char* to_string(errc e) noexcept;

}  // namespace sluice::storage
