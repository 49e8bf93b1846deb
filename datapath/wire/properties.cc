#include "datapath/wire/properties.h"

#include "datapath/wire/codec_util.h"

namespace sluice::wire {
using namespace detail;

namespace {
bool value_size_ok(property_type t, std::size_t sz) noexcept {
  switch (t) {
    case property_type::boolean: return sz == 1;
    case property_type::int32: return sz == 4;
    case property_type::int64: return sz == 8;
    case property_type::string:
    case property_type::binary: return true;
  }
  return false;
}
bool type_known(std::uint8_t t) noexcept { return t >= 1 && t <= 5; }
}  // namespace

std::int64_t property::as_int() const noexcept {
  if (type == property_type::int32 && value.size() == 4) return load<std::int32_t>(value);
  if (type == property_type::int64 && value.size() == 8) return load<std::int64_t>(value);
  return 0;
}

wstatus validate_properties(bytes block) noexcept {
  if (block.empty()) return {};
  if (block.size() > k_properties_sz_max) return fail(errc::too_large);
  if (block.size() < sizeof(properties_fixed)) return fail(errc::truncated);
  const auto f = load<properties_fixed>(block);
  if (f.reserved0 != 0 || f.cnt == 0) return fail(errc::bad_field);
  if (f.cnt > k_properties_cnt_max) return fail(errc::too_large);
  bytes rest = block.subspan(sizeof(properties_fixed));
  std::string_view keys[k_properties_cnt_max];
  for (std::uint16_t i = 0; i < f.cnt; ++i) {
    if (rest.size() < sizeof(property_entry_fixed)) return fail(errc::truncated);
    const auto e = load<property_entry_fixed>(rest);
    if (e.key_sz == 0 || !type_known(e.type)) return fail(errc::bad_field);
    if (e.key_sz > k_property_key_sz_max) return fail(errc::too_large);
    if (!value_size_ok(static_cast<property_type>(e.type), e.value_sz)) return fail(errc::bad_field);
    const std::size_t need = sizeof(property_entry_fixed) + e.key_sz + e.value_sz;
    if (rest.size() < need) return fail(errc::bad_length);
    if (static_cast<property_type>(e.type) == property_type::boolean) {
      const auto v = rest[sizeof(property_entry_fixed) + e.key_sz];
      if (v != std::byte{0} && v != std::byte{1}) return fail(errc::bad_field);
    }
    keys[i] = as_string(rest.subspan(sizeof(property_entry_fixed), e.key_sz));
    for (std::uint16_t j = 0; j < i; ++j) {
      if (keys[j] == keys[i]) return fail(errc::bad_field);  // duplicate key
    }
    rest = rest.subspan(need);
  }
  if (!rest.empty()) return fail(errc::bad_length);
  return {};
}

property_reader::property_reader(bytes block) noexcept {
  if (block.empty()) return;
  _left = load<properties_fixed>(block).cnt;
  _rest = block.subspan(sizeof(properties_fixed));
}

property property_reader::next() noexcept {
  SLUICE_ASSERT(_left > 0, "property_reader::next past the end");
  const auto e = load<property_entry_fixed>(_rest);
  property p{as_string(_rest.subspan(sizeof(property_entry_fixed), e.key_sz)),
             static_cast<property_type>(e.type),
             _rest.subspan(sizeof(property_entry_fixed) + e.key_sz, e.value_sz)};
  _rest = _rest.subspan(sizeof(property_entry_fixed) + e.key_sz + e.value_sz);
  --_left;
  return p;
}

wstatus property_writer::add(std::string_view key, property_type t, bytes value) noexcept {
  if (key.empty()) return fail(errc::bad_field);
  if (key.size() > k_property_key_sz_max || _cnt >= k_properties_cnt_max) return fail(errc::too_large);
  const std::size_t head = _sz == 0 ? sizeof(properties_fixed) : 0;
  const std::size_t need = head + sizeof(property_entry_fixed) + key.size() + value.size();
  if (_sz + need > k_properties_sz_max) return fail(errc::too_large);
  if (_sz + need > _out.size()) return fail(errc::no_space);
  property_reader existing(bytes{_out.data(), _sz});
  while (!existing.done()) {
    if (existing.next().key == key) return fail(errc::bad_field);
  }
  _sz += head;
  const property_entry_fixed e{static_cast<std::uint8_t>(key.size()), static_cast<std::uint8_t>(t),
                               static_cast<std::uint16_t>(value.size())};
  store(_out.subspan(_sz), e);
  put_bytes(_out, _sz + sizeof e, as_bytes(key));
  put_bytes(_out, _sz + sizeof e + key.size(), value);
  _sz += sizeof e + key.size() + value.size();
  ++_cnt;
  store(_out, properties_fixed{_cnt, 0});
  return {};
}

wstatus property_writer::add_bool(std::string_view key, bool v) noexcept {
  const std::byte b{static_cast<unsigned char>(v ? 1 : 0)};
  return add(key, property_type::boolean, bytes{&b, 1});
}
wstatus property_writer::add_int32(std::string_view key, std::int32_t v) noexcept {
  return add(key, property_type::int32, std::as_bytes(std::span{&v, 1}));
}
wstatus property_writer::add_int64(std::string_view key, std::int64_t v) noexcept {
  return add(key, property_type::int64, std::as_bytes(std::span{&v, 1}));
}
wstatus property_writer::add_string(std::string_view key, std::string_view v) noexcept {
  if (v.size() > UINT16_MAX) return fail(errc::too_large);
  return add(key, property_type::string, as_bytes(v));
}
wstatus property_writer::add_binary(std::string_view key, bytes v) noexcept {
  if (v.size() > UINT16_MAX) return fail(errc::too_large);
  return add(key, property_type::binary, v);
}

bytes property_writer::finish() noexcept { return bytes{_out.data(), _sz}; }

}  // namespace sluice::wire
