// Frame header walking and every frame body. Rules: docs/protocol.md §5–6.
#include "datapath/wire/codec.h"
#include "datapath/wire/codec_util.h"
#include "datapath/wire/properties.h"

namespace sluice::wire {
using namespace detail;

namespace {

std::uint8_t allowed_flags(frame_type t) noexcept {
  return t == frame_type::ping ? k_ping_flag_reply : 0;
}

bool status_ok(std::uint16_t s) noexcept { return s <= k_status_max; }

// Checks the fixed part is present and returns it; `extra` = bytes after it.
template <class T>
wresult<T> fixed_part(bytes body, std::size_t& extra) noexcept {
  if (body.size() < sizeof(T)) return fail(errc::truncated);
  extra = body.size() - sizeof(T);
  return load<T>(body);
}

template <class T>
wresult<T> exact(bytes body) noexcept {
  if (body.size() < sizeof(T)) return fail(errc::truncated);
  if (body.size() != sizeof(T)) return fail(errc::bad_length);
  return load<T>(body);
}

wstatus check_guid(const guid& g) noexcept {
  if (g.reserved0 != 0) return fail(errc::bad_field);
  return {};
}

// Writes fixed part `f` followed by up to three variable parts.
template <class T>
wresult<std::size_t> write_body(mut_bytes out, const T& f, bytes a = {}, bytes b = {}) noexcept {
  const std::size_t total = sizeof(T) + a.size() + b.size();
  if (out.size() < total) return fail(errc::no_space);
  store(out, f);
  put_bytes(out, sizeof(T), a);
  put_bytes(out, sizeof(T) + a.size(), b);
  return total;
}

// Validates by decoding what would be written: one set of rules, not two.
template <class Decoded>
wresult<std::size_t> checked(wresult<std::size_t> written, mut_bytes out,
                             wresult<Decoded> (*decode)(bytes) noexcept) noexcept {
  if (!written) return written;
  const auto d = decode(bytes{out.data(), *written});
  if (!d) return fail(d.error());
  return written;
}

}  // namespace

// ---- frame header --------------------------------------------------------------

wresult<frame_view> frame_reader::next() noexcept {
  SLUICE_ASSERT(_left > 0, "frame_reader::next past the last frame");
  if (_rest.size() < k_frame_header_sz) return fail(errc::truncated);
  const auto h = load<frame_header>(_rest);
  if (!is_known_frame_type(h.type)) return fail(errc::unknown_frame);
  const auto t = static_cast<frame_type>(h.type);
  if ((h.flags & ~allowed_flags(t)) != 0) return fail(errc::bad_flags);
  if (!is_sequenced(t) && h.seq != 0) return fail(errc::bad_field);
  if (h.body_sz > _rest.size() - k_frame_header_sz) return fail(errc::bad_length);
  frame_view v{h, _rest.subspan(k_frame_header_sz, h.body_sz)};
  _rest = _rest.subspan(k_frame_header_sz + h.body_sz);
  --_left;
  return v;
}

wresult<std::size_t> encode_frame(mut_bytes out, frame_type t, std::uint8_t flags,
                                  std::uint32_t seq, bytes body) noexcept {
  if (!is_known_frame_type(static_cast<std::uint8_t>(t))) return fail(errc::unknown_frame);
  if ((flags & ~allowed_flags(t)) != 0) return fail(errc::bad_flags);
  if (!is_sequenced(t) && seq != 0) return fail(errc::bad_field);
  if (body.size() > UINT16_MAX) return fail(errc::too_large);
  const std::size_t total = k_frame_header_sz + body.size();
  if (out.size() < total) return fail(errc::no_space);
  const frame_header h{static_cast<std::uint8_t>(t), flags,
                       static_cast<std::uint16_t>(body.size()), seq};
  store(out, h);
  put_bytes(out, k_frame_header_sz, body);
  return total;
}

// ---- transport frames -------------------------------------------------------------

wresult<ranges_view> decode_ranges(bytes body) noexcept {
  std::size_t extra = 0;
  const auto f = fixed_part<ranges_fixed>(body, extra);
  if (!f) return fail(f.error());
  if (f->reserved0 != 0 || f->range_cnt == 0) return fail(errc::bad_field);
  if (f->range_cnt > k_ranges_max) return fail(errc::too_large);
  if (extra != f->range_cnt * sizeof(seq_range)) return fail(errc::bad_length);
  ranges_view v{entry_list<seq_range>(body.subspan(sizeof(ranges_fixed)))};
  for (std::size_t i = 0; i < v.ranges.size(); ++i) {
    const auto r = v.ranges[i];
    const std::uint32_t len = r.end - r.start;  // serial arithmetic
    if (len == 0 || len > k_window_max) return fail(errc::bad_field);
  }
  return v;
}

wresult<std::size_t> encode_ranges(mut_bytes out, std::span<const seq_range> ranges) noexcept {
  if (ranges.size() > k_ranges_max) return fail(errc::too_large);
  const ranges_fixed f{static_cast<std::uint16_t>(ranges.size()), 0};
  return checked(write_body(out, f, std::as_bytes(ranges)), out, decode_ranges);
}

wresult<ping_view> decode_ping(std::uint8_t flags, bytes body) noexcept {
  const auto f = exact<ping_fixed>(body);
  if (!f) return fail(f.error());
  return ping_view{f->nonce, (flags & k_ping_flag_reply) != 0};
}

wresult<std::size_t> encode_ping(mut_bytes out, std::uint64_t nonce) noexcept {
  return write_body(out, ping_fixed{nonce});
}

wresult<std::uint32_t> decode_window(bytes body) noexcept {
  const auto f = exact<window_fixed>(body);
  if (!f) return fail(f.error());
  return f->bytes;
}

wresult<std::size_t> encode_window(mut_bytes out, std::uint32_t window_bytes) noexcept {
  return write_body(out, window_fixed{window_bytes});
}

wresult<close_view> decode_close(bytes body) noexcept {
  std::size_t extra = 0;
  const auto f = fixed_part<close_fixed>(body, extra);
  if (!f) return fail(f.error());
  if (f->reserved0 != 0 || !status_ok(f->reason)) return fail(errc::bad_field);
  if (f->text_sz > k_error_text_sz_max) return fail(errc::too_large);
  if (extra != f->text_sz) return fail(errc::bad_length);
  return close_view{static_cast<status>(f->reason), as_string(body.subspan(sizeof(close_fixed)))};
}

wresult<std::size_t> encode_close(mut_bytes out, status reason, std::string_view text) noexcept {
  if (text.size() > k_error_text_sz_max) return fail(errc::too_large);
  const close_fixed f{static_cast<std::uint16_t>(reason), static_cast<std::uint16_t>(text.size()), 0};
  return checked(write_body(out, f, as_bytes(text)), out, decode_close);
}

wresult<fragment_view> decode_fragment(bytes body) noexcept {
  std::size_t extra = 0;
  const auto f = fixed_part<fragment_fixed>(body, extra);
  if (!f) return fail(f.error());
  if (f->reserved0 != 0 || f->reserved1 != 0 || f->reserved2 != 0) return fail(errc::bad_field);
  if (!is_known_frame_type(f->inner_type) || !is_application(static_cast<frame_type>(f->inner_type))) {
    return fail(errc::bad_field);
  }
  if (f->total_sz == 0) return fail(errc::bad_field);
  if (f->total_sz > k_message_sz_max) return fail(errc::too_large);
  if (extra == 0 || f->offset >= f->total_sz || extra > f->total_sz - f->offset) {
    return fail(errc::bad_length);
  }
  return fragment_view{*f, body.subspan(sizeof(fragment_fixed))};
}

wresult<std::size_t> encode_fragment(mut_bytes out, frame_type inner, std::uint32_t total_sz,
                                     std::uint32_t offset, bytes chunk) noexcept {
  const fragment_fixed f{static_cast<std::uint8_t>(inner), 0, 0, total_sz, offset, 0};
  return checked(write_body(out, f, chunk), out, decode_fragment);
}

// ---- queue management ------------------------------------------------------------

wresult<open_queue_view> decode_open_queue(bytes body) noexcept {
  std::size_t extra = 0;
  const auto f = fixed_part<open_queue_fixed>(body, extra);
  if (!f) return fail(f.error());
  if (f->reserved0 != 0 || f->reserved1 != 0) return fail(errc::bad_field);
  constexpr std::uint16_t known = k_open_flag_read | k_open_flag_write;
  if (f->flags == 0 || (f->flags & ~known) != 0) return fail(errc::bad_field);
  if (f->uri_sz == 0) return fail(errc::bad_field);
  if (f->uri_sz > k_uri_sz_max || f->app_id_sz > k_app_id_sz_max) return fail(errc::too_large);
  if (extra != std::size_t{f->uri_sz} + f->app_id_sz) return fail(errc::bad_length);
  const bytes rest = body.subspan(sizeof(open_queue_fixed));
  return open_queue_view{*f, as_string(rest.first(f->uri_sz)), as_string(rest.subspan(f->uri_sz))};
}

wresult<std::size_t> encode_open_queue(mut_bytes out, const open_queue_view& v) noexcept {
  if (v.uri.size() > k_uri_sz_max || v.app_id.size() > k_app_id_sz_max) return fail(errc::too_large);
  open_queue_fixed f = v.f;
  f.uri_sz = static_cast<std::uint16_t>(v.uri.size());
  f.app_id_sz = static_cast<std::uint16_t>(v.app_id.size());
  f.reserved0 = 0;
  f.reserved1 = 0;
  return checked(write_body(out, f, as_bytes(v.uri), as_bytes(v.app_id)), out, decode_open_queue);
}

wresult<queue_opened_fixed> decode_queue_opened(bytes body) noexcept {
  const auto f = exact<queue_opened_fixed>(body);
  if (!f) return f;
  if (f->reserved0 != 0 || !status_ok(f->status)) return fail(errc::bad_field);
  if (f->max_message_sz > k_message_sz_max) return fail(errc::too_large);
  return f;
}

wresult<std::size_t> encode_queue_opened(mut_bytes out, const queue_opened_fixed& v) noexcept {
  queue_opened_fixed f = v;
  f.reserved0 = 0;
  return checked(write_body(out, f), out, decode_queue_opened);
}

wresult<redirect_fixed> decode_redirect(bytes body) noexcept {
  const auto f = exact<redirect_fixed>(body);
  if (!f) return f;
  if (f->port == 0 || (f->family != 4 && f->family != 6)) return fail(errc::bad_field);
  if (f->family == 4) {
    for (std::size_t i = 4; i < sizeof f->addr; ++i) {
      if (f->addr[i] != 0) return fail(errc::bad_field);
    }
  }
  return f;
}

wresult<std::size_t> encode_redirect(mut_bytes out, const redirect_fixed& v) noexcept {
  return checked(write_body(out, v), out, decode_redirect);
}

wresult<configure_queue_fixed> decode_configure_queue(bytes body) noexcept {
  return exact<configure_queue_fixed>(body);
}

wresult<std::size_t> encode_configure_queue(mut_bytes out, const configure_queue_fixed& v) noexcept {
  return write_body(out, v);
}

wresult<close_queue_fixed> decode_close_queue(bytes body) noexcept {
  return exact<close_queue_fixed>(body);
}

wresult<std::size_t> encode_close_queue(mut_bytes out, const close_queue_fixed& v) noexcept {
  return write_body(out, v);
}

wresult<queue_result_fixed> decode_queue_result(bytes body) noexcept {
  const auto f = exact<queue_result_fixed>(body);
  if (!f) return f;
  if (f->reserved0 != 0 || f->reserved1 != 0 || !status_ok(f->status)) return fail(errc::bad_field);
  return f;
}

wresult<std::size_t> encode_queue_result(mut_bytes out, const queue_result_fixed& v) noexcept {
  queue_result_fixed f = v;
  f.reserved0 = 0;
  f.reserved1 = 0;
  return checked(write_body(out, f), out, decode_queue_result);
}

// ---- messages ----------------------------------------------------------------------

wresult<put_view> decode_put(bytes body) noexcept {
  std::size_t extra = 0;
  const auto f = fixed_part<put_fixed>(body, extra);
  if (!f) return fail(f.error());
  if (f->flags != 0) return fail(errc::bad_field);
  if (f->props_sz > k_properties_sz_max || f->payload_sz > k_message_sz_max) return fail(errc::too_large);
  if (extra != std::size_t{f->props_sz} + f->payload_sz) return fail(errc::bad_length);
  const bytes rest = body.subspan(sizeof(put_fixed));
  put_view v{*f, rest.first(f->props_sz), rest.subspan(f->props_sz)};
  if (auto s = validate_properties(v.properties); !s) return fail(s.error());
  return v;
}

wresult<std::size_t> encode_put(mut_bytes out, const put_view& v) noexcept {
  if (v.properties.size() > k_properties_sz_max || v.payload.size() > k_message_sz_max) {
    return fail(errc::too_large);
  }
  put_fixed f = v.f;
  f.props_sz = static_cast<std::uint16_t>(v.properties.size());
  f.payload_sz = static_cast<std::uint32_t>(v.payload.size());
  return checked(write_body(out, f, v.properties, v.payload), out, decode_put);
}

wresult<push_view> decode_push(bytes body) noexcept {
  std::size_t extra = 0;
  const auto f = fixed_part<push_fixed>(body, extra);
  if (!f) return fail(f.error());
  if (f->flags != 0 || f->delivery_cnt == 0) return fail(errc::bad_field);
  if (auto s = check_guid(f->id); !s) return fail(s.error());
  if (f->props_sz > k_properties_sz_max || f->payload_sz > k_message_sz_max) return fail(errc::too_large);
  if (extra != std::size_t{f->props_sz} + f->payload_sz) return fail(errc::bad_length);
  const bytes rest = body.subspan(sizeof(push_fixed));
  push_view v{*f, rest.first(f->props_sz), rest.subspan(f->props_sz)};
  if (auto s = validate_properties(v.properties); !s) return fail(s.error());
  return v;
}

wresult<std::size_t> encode_push(mut_bytes out, const push_view& v) noexcept {
  if (v.properties.size() > k_properties_sz_max || v.payload.size() > k_message_sz_max) {
    return fail(errc::too_large);
  }
  push_fixed f = v.f;
  f.props_sz = static_cast<std::uint16_t>(v.properties.size());
  f.payload_sz = static_cast<std::uint32_t>(v.payload.size());
  return checked(write_body(out, f, v.properties, v.payload), out, decode_push);
}

namespace {
template <class Entry>
wresult<entry_list<Entry>> decode_batch(bytes body) noexcept {
  std::size_t extra = 0;
  const auto f = fixed_part<batch_fixed>(body, extra);
  if (!f) return fail(f.error());
  if (f->reserved0 != 0 || f->reserved1 != 0 || f->entry_cnt == 0) return fail(errc::bad_field);
  if (extra != std::size_t{f->entry_cnt} * sizeof(Entry)) return fail(errc::bad_length);
  return entry_list<Entry>(body.subspan(sizeof(batch_fixed)));
}

template <class Entry>
wresult<std::size_t> encode_batch(mut_bytes out, std::span<const Entry> entries) noexcept {
  if (entries.empty()) return fail(errc::bad_field);
  if (entries.size() > UINT16_MAX) return fail(errc::too_large);
  const batch_fixed f{static_cast<std::uint16_t>(entries.size()), 0, 0};
  return write_body(out, f, std::as_bytes(entries));
}
}  // namespace

wresult<entry_list<ack_entry>> decode_ack(bytes body) noexcept {
  auto list = decode_batch<ack_entry>(body);
  if (!list) return list;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto e = (*list)[i];
    if (e.reserved0 != 0 || e.reserved1 != 0 || !status_ok(e.status)) return fail(errc::bad_field);
    if (auto s = check_guid(e.id); !s) return fail(s.error());
  }
  return list;
}

wresult<std::size_t> encode_ack(mut_bytes out, std::span<const ack_entry> entries) noexcept {
  return checked(encode_batch(out, entries), out, decode_ack);
}

wresult<entry_list<confirm_entry>> decode_confirm(bytes body) noexcept {
  auto list = decode_batch<confirm_entry>(body);
  if (!list) return list;
  for (std::size_t i = 0; i < list->size(); ++i) {
    const auto e = (*list)[i];
    if (e.reserved0 != 0) return fail(errc::bad_field);
    if (auto s = check_guid(e.id); !s) return fail(s.error());
  }
  return list;
}

wresult<std::size_t> encode_confirm(mut_bytes out, std::span<const confirm_entry> entries) noexcept {
  return checked(encode_batch(out, entries), out, decode_confirm);
}

wresult<error_view> decode_error(bytes body) noexcept {
  std::size_t extra = 0;
  const auto f = fixed_part<error_fixed>(body, extra);
  if (!f) return fail(f.error());
  if (f->reserved0 != 0 || f->reserved1 != 0 || !status_ok(f->code) || f->ref_type > k_error_ref_max) {
    return fail(errc::bad_field);
  }
  if (f->text_sz > k_error_text_sz_max) return fail(errc::too_large);
  if (extra != f->text_sz) return fail(errc::bad_length);
  return error_view{*f, as_string(body.subspan(sizeof(error_fixed)))};
}

wresult<std::size_t> encode_error(mut_bytes out, const error_view& v) noexcept {
  if (v.text.size() > k_error_text_sz_max) return fail(errc::too_large);
  error_fixed f = v.f;
  f.text_sz = static_cast<std::uint16_t>(v.text.size());
  f.reserved0 = 0;
  f.reserved1 = 0;
  return checked(write_body(out, f, as_bytes(v.text)), out, decode_error);
}

}  // namespace sluice::wire
