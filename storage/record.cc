#include "storage/record.h"

#include <bit>
#include <cstring>

#include "storage/crc32c.h"

namespace sluice::storage {
namespace {

static_assert(std::endian::native == std::endian::little,
              "journal layouts are little-endian and copied with memcpy");

bool known_kind(std::uint8_t k) noexcept { return k >= 1 && k < k_record_kind_cnt; }

// Variable-part sizes the fixed body declares.
void declared_parts(const record& r, std::size_t& p1, std::size_t& p2) noexcept {
  p1 = p2 = 0;
  if (r.kind == record_kind::queue_created) {
    p1 = r.body.queue_created.name_sz;
    p2 = r.body.queue_created.config_sz;
  } else if (r.kind == record_kind::message) {
    p1 = r.body.message.properties_sz;
    p2 = r.body.message.payload_sz;
  }
}

// Field rules shared by encode and decode, on a body whose size fields are set.
bool fields_valid(const record& r) noexcept {
  const auto& b = r.body;
  switch (r.kind) {
    case record_kind::queue_created:
      return b.queue_created.reserved0 == 0 && b.queue_created.app_cnt >= 1 &&
             b.queue_created.app_cnt <= k_app_cnt_max;
    case record_kind::queue_deleted: return b.queue_deleted.reserved0 == 0;
    case record_kind::message:
      return b.message.app_cnt >= 1 && b.message.app_cnt <= k_app_cnt_max &&
             (b.message.confirmed_mask & ~full_mask(b.message.app_cnt)) == 0 &&
             b.message.confirmed_mask != full_mask(b.message.app_cnt);
    case record_kind::confirm:
      return b.confirm.reserved0 == 0 && b.confirm.app_idx < k_app_cnt_max &&
             (b.confirm.confirmed_mask >> b.confirm.app_idx & 1u) != 0;
    case record_kind::del: return true;
    case record_kind::purge:
      return b.purge.reserved0 == 0 && (b.purge.app_idx < k_app_cnt_max || b.purge.app_idx == k_all_apps);
    case record_kind::epoch: return b.epoch.previous_epoch < r.epoch.value();
    case record_kind::delivered: return b.delivered.app_idx < k_app_cnt_max && b.delivered.delivery_cnt >= 1;
  }
  return false;
}

}  // namespace

std::size_t record_length(const record& r) noexcept {
  return sizeof(record_header) + fixed_body_sz(r.kind) + r.part1.size() + r.part2.size();
}

result<std::size_t, errc> encode_record(mut_bytes out, const record& r) noexcept {
  if (!known_kind(static_cast<std::uint8_t>(r.kind))) return unexpected{errc::unknown_kind};
  record w = r;
  if (w.kind == record_kind::queue_created) {
    if (w.part1.size() > UINT16_MAX || w.part2.size() > UINT32_MAX) return unexpected{errc::bad_field};
    w.body.queue_created.name_sz = static_cast<std::uint16_t>(w.part1.size());
    w.body.queue_created.config_sz = static_cast<std::uint32_t>(w.part2.size());
  } else if (w.kind == record_kind::message) {
    if (w.part1.size() > UINT32_MAX || w.part2.size() > UINT32_MAX) return unexpected{errc::bad_field};
    w.body.message.properties_sz = static_cast<std::uint32_t>(w.part1.size());
    w.body.message.payload_sz = static_cast<std::uint32_t>(w.part2.size());
  } else if (!w.part1.empty() || !w.part2.empty()) {
    return unexpected{errc::bad_field};
  }
  if (!fields_valid(w)) return unexpected{errc::bad_field};
  const std::size_t length = record_length(w);
  const std::size_t total = padded_sz(length);
  if (length > k_record_sz_max || total > out.size()) return unexpected{errc::record_too_large};

  record_header h{};
  h.length = static_cast<std::uint32_t>(length);
  h.kind = static_cast<std::uint8_t>(w.kind);
  h.version = k_record_version;
  h.batch_block = w.batch_block;
  h.epoch = w.epoch.value();
  h.seq = w.seq.value();
  std::byte* p = out.data();
  std::memcpy(p, &h, sizeof h);
  const std::size_t fixed = fixed_body_sz(w.kind);
  std::memcpy(p + sizeof h, w.body.raw, fixed);
  std::size_t at = sizeof h + fixed;
  if (!w.part1.empty()) std::memcpy(p + at, w.part1.data(), w.part1.size());
  at += w.part1.size();
  if (!w.part2.empty()) std::memcpy(p + at, w.part2.data(), w.part2.size());
  at += w.part2.size();
  std::memset(p + at, 0, total - at);
  h.crc = crc32c(bytes{p + 4, length - 4});
  std::memcpy(p, &h.crc, sizeof h.crc);
  return total;
}

result<record, errc> decode_record(bytes in) noexcept {
  if (in.size() < sizeof(record_header)) return unexpected{errc::truncated};
  record_header h;
  std::memcpy(&h, in.data(), sizeof h);
  if (h.length < sizeof(record_header) || h.length > k_record_sz_max) return unexpected{errc::bad_length};
  if (h.length > in.size()) return unexpected{errc::truncated};
  if (crc32c(in.subspan(4, h.length - 4)) != h.crc) return unexpected{errc::bad_crc};
  if (h.version != k_record_version) return unexpected{errc::bad_version};
  if (!known_kind(h.kind)) return unexpected{errc::unknown_kind};
  if (h.reserved0 != 0) return unexpected{errc::bad_field};

  record r;
  r.kind = static_cast<record_kind>(h.kind);
  r.epoch = epoch_no{h.epoch};
  r.seq = seq_no{h.seq};
  r.batch_block = h.batch_block;
  const std::size_t fixed = fixed_body_sz(r.kind);
  if (h.length < sizeof h + fixed) return unexpected{errc::bad_length};
  std::memcpy(r.body.raw, in.data() + sizeof h, fixed);
  std::size_t p1 = 0;
  std::size_t p2 = 0;
  declared_parts(r, p1, p2);
  if (h.length != sizeof h + fixed + p1 + p2) return unexpected{errc::bad_length};
  r.part1 = in.subspan(sizeof h + fixed, p1);
  r.part2 = in.subspan(sizeof h + fixed + p1, p2);
  if (!fields_valid(r)) return unexpected{errc::bad_field};
  return r;
}

bool is_zero_header(bytes in) noexcept {
  std::uint64_t w = 0;
  if (in.size() < sizeof w) return false;
  std::memcpy(&w, in.data(), sizeof w);
  return w == 0;
}

status<errc> record_order::check(const record& r) noexcept {
  if (r.seq != _last_seq.next()) return unexpected{errc::seq_out_of_order};
  if (r.epoch < _epoch) return unexpected{errc::epoch_out_of_order};
  if (r.kind == record_kind::epoch) {
    if (r.epoch == _epoch || r.body.epoch.previous_epoch != _epoch.value())
      return unexpected{errc::epoch_out_of_order};
  } else if (r.epoch != _epoch) {
    return unexpected{errc::epoch_out_of_order};
  }
  _epoch = r.epoch;
  _last_seq = r.seq;
  return {};
}

message_id id_of(const std::uint8_t (&raw)[16]) noexcept {
  message_id id;
  std::memcpy(id.bytes.data(), raw, 16);
  return id;
}

void set_id(std::uint8_t (&raw)[16], const message_id& id) noexcept { std::memcpy(raw, id.bytes.data(), 16); }

const char* to_string(record_kind k) noexcept {
  switch (k) {
    case record_kind::queue_created: return "queue_created";
    case record_kind::queue_deleted: return "queue_deleted";
    case record_kind::message: return "message";
    case record_kind::confirm: return "confirm";
    case record_kind::del: return "delete";
    case record_kind::purge: return "purge";
    case record_kind::epoch: return "epoch";
    case record_kind::delivered: return "delivered";
  }
  return "unknown";
}

}  // namespace sluice::storage
