// Human-readable names for logs, errors and tools.
#include "datapath/wire/constants.h"

namespace sluice::wire {

const char* frame_type_name(frame_type t) noexcept {
  switch (t) {
    case frame_type::sack: return "SACK";
    case frame_type::nak: return "NAK";
    case frame_type::window: return "WINDOW";
    case frame_type::ping: return "PING";
    case frame_type::close: return "CLOSE";
    case frame_type::fragment: return "FRAGMENT";
    case frame_type::open_queue: return "OPEN_QUEUE";
    case frame_type::queue_opened: return "QUEUE_OPENED";
    case frame_type::redirect: return "REDIRECT";
    case frame_type::configure_queue: return "CONFIGURE_QUEUE";
    case frame_type::close_queue: return "CLOSE_QUEUE";
    case frame_type::queue_result: return "QUEUE_RESULT";
    case frame_type::put: return "PUT";
    case frame_type::ack: return "ACK";
    case frame_type::push: return "PUSH";
    case frame_type::confirm: return "CONFIRM";
    case frame_type::error: return "ERROR";
  }
  return "UNKNOWN";
}

const char* status_name(status s) noexcept {
  switch (s) {
    case status::ok: return "ok";
    case status::unknown: return "unknown";
    case status::malformed: return "malformed";
    case status::unsupported_version: return "unsupported_version";
    case status::unknown_frame: return "unknown_frame";
    case status::too_large: return "too_large";
    case status::unknown_domain: return "unknown_domain";
    case status::unknown_queue: return "unknown_queue";
    case status::queue_full: return "queue_full";
    case status::not_authorised: return "not_authorised";
    case status::not_primary: return "not_primary";
    case status::queue_not_open: return "queue_not_open";
    case status::invalid_argument: return "invalid_argument";
    case status::timeout: return "timeout";
    case status::shutting_down: return "shutting_down";
    case status::limit_reached: return "limit_reached";
    case status::expired: return "expired";
    case status::idle_timeout: return "idle_timeout";
    case status::retransmit_limit: return "retransmit_limit";
    case status::reset: return "reset";
    case status::internal: return "internal";
    case status::unreachable: return "unreachable";
  }
  return "invalid_status";
}

const char* errc_name(errc e) noexcept {
  switch (e) {
    case errc::truncated: return "truncated";
    case errc::bad_magic: return "bad_magic";
    case errc::bad_version: return "bad_version";
    case errc::bad_kind: return "bad_kind";
    case errc::bad_flags: return "bad_flags";
    case errc::bad_length: return "bad_length";
    case errc::unknown_frame: return "unknown_frame";
    case errc::too_large: return "too_large";
    case errc::bad_field: return "bad_field";
    case errc::no_space: return "no_space";
  }
  return "invalid_errc";
}

}  // namespace sluice::wire
