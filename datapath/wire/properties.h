// datapath/wire/properties.h — typed message properties (PUT and PUSH).
//
//   block = properties_fixed{cnt} | entry * cnt
//   entry = property_entry_fixed{key_sz, type, value_sz} | key | value
//
// Bounded: at most k_properties_cnt_max entries, k_properties_sz_max bytes,
// keys 1..k_property_key_sz_max bytes and unique. validate_properties() is
// the gate; a reader over a validated block cannot fail. The writer builds a
// block in a caller buffer. No allocation; any thread.
#pragma once

#include <cstdint>
#include <string_view>

#include "datapath/wire/codec.h"

namespace sluice::wire {

struct property {
  std::string_view key;
  property_type type;
  bytes value;  // little-endian for the integer types, 0/1 for boolean

  bool as_bool() const noexcept { return value.size() == 1 && value[0] != std::byte{0}; }
  std::int64_t as_int() const noexcept;  // int32 or int64
  std::string_view as_string() const noexcept { return wire::as_string(value); }
};

// An empty block (no properties) is valid.
wstatus validate_properties(bytes block) noexcept;

class property_reader {
 public:
  // Precondition: validate_properties(block).ok().
  explicit property_reader(bytes block) noexcept;
  bool done() const noexcept { return _left == 0; }
  property next() noexcept;

 private:
  bytes _rest;
  std::uint16_t _left = 0;
};

class property_writer {
 public:
  explicit property_writer(mut_bytes out) noexcept : _out(out) {}
  wstatus add_bool(std::string_view key, bool v) noexcept;
  wstatus add_int32(std::string_view key, std::int32_t v) noexcept;
  wstatus add_int64(std::string_view key, std::int64_t v) noexcept;
  wstatus add_string(std::string_view key, std::string_view v) noexcept;
  wstatus add_binary(std::string_view key, bytes v) noexcept;
  // The finished block (empty when nothing was added).
  bytes finish() noexcept;

 private:
  wstatus add(std::string_view key, property_type t, bytes value) noexcept;
  mut_bytes _out;
  std::size_t _sz = 0;
  std::uint16_t _cnt = 0;
};

}  // namespace sluice::wire
