#include "storage/errc.h"

namespace sluice::storage {

const char* to_string(errc e) noexcept {
  switch (e) {
    case errc::truncated: return "truncated";
    case errc::bad_crc: return "bad_crc";
    case errc::bad_length: return "bad_length";
    case errc::unknown_kind: return "unknown_kind";
    case errc::bad_version: return "bad_version";
    case errc::bad_field: return "bad_field";
    case errc::epoch_out_of_order: return "epoch_out_of_order";
    case errc::seq_out_of_order: return "seq_out_of_order";
    case errc::bad_segment: return "bad_segment";
    case errc::corrupt_middle: return "corrupt_middle";
    case errc::inconsistent: return "inconsistent";
    case errc::io_error: return "io_error";
    case errc::no_space: return "no_space";
    case errc::not_found: return "not_found";
    case errc::busy: return "busy";
    case errc::backpressure: return "backpressure";
    case errc::record_too_large: return "record_too_large";
    case errc::journal_failed: return "journal_failed";
    case errc::unknown_queue: return "unknown_queue";
    case errc::unknown_message: return "unknown_message";
    case errc::duplicate: return "duplicate";
    case errc::index_full: return "index_full";
    case errc::not_started: return "not_started";
  }
  return "unknown_errc";
}

}  // namespace sluice::storage
