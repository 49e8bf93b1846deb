// Tests for message properties: validate_properties, property_reader, property_writer.
#include "datapath/wire/properties.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <string>

#include "datapath/wire/wire_test_util.h"

namespace sluice::wire {
namespace {
using namespace test;

constexpr std::uint8_t k_bool = static_cast<std::uint8_t>(property_type::boolean);
constexpr std::uint8_t k_int32 = static_cast<std::uint8_t>(property_type::int32);
constexpr std::uint8_t k_int64 = static_cast<std::uint8_t>(property_type::int64);
constexpr std::uint8_t k_string = static_cast<std::uint8_t>(property_type::string);

// Builds a block byte by byte, with whatever sizes and counts the test asks for.
class raw_block {
 public:
  raw_block& entry(std::string_view key, std::uint8_t type, std::size_t value_sz, std::uint8_t fill = 1) {
    append(_entries, bytes_of(property_entry_fixed{static_cast<std::uint8_t>(key.size()), type,
                                                  static_cast<std::uint16_t>(value_sz)}));
    append(_entries, as_bytes(key));
    append(_entries, filled(value_sz, fill));
    ++_cnt;
    return *this;
  }
  // The block; `cnt` and `reserved0` override the header fields.
  buf build(int cnt = -1, std::uint16_t reserved0 = 0) const {
    const auto n = static_cast<std::uint16_t>(cnt < 0 ? _cnt : cnt);
    return body_of(properties_fixed{n, reserved0}, _entries);
  }

 private:
  buf _entries;
  int _cnt = 0;
};

errc validate_err(const buf& block) { return err_of(validate_properties(block)); }

std::string key_of(std::size_t i) { return "k" + std::to_string(i); }

// ---- validate_properties: failure cases -----------------------------------------

TEST(validate_properties, rejects_truncated_header_and_entries) {
  const buf block = raw_block{}.entry("key", k_int32, 4).entry("s", k_string, 5).build();
  ASSERT_EQ(validate_err(block), errc{});
  for (std::size_t n = 1; n < sizeof(properties_fixed); ++n) {
    EXPECT_EQ(err_of(validate_properties(bytes{block}.first(n))), errc::truncated) << n;
  }
  // Each shorter block declares two entries: a cut inside an entry header is
  // truncated, a cut inside a key or value runs past the end (bad_length).
  const std::size_t second = sizeof(properties_fixed) + sizeof(property_entry_fixed) + 3 + 4;
  for (std::size_t n = sizeof(properties_fixed); n < block.size(); ++n) {
    const bool in_header = (n >= sizeof(properties_fixed) && n < sizeof(properties_fixed) + 4) ||
                           (n >= second && n < second + 4);
    const errc want = in_header ? errc::truncated : errc::bad_length;
    EXPECT_EQ(err_of(validate_properties(bytes{block}.first(n))), want) << n;
  }
  EXPECT_EQ(validate_err(raw_block{}.entry("a", k_bool, 1).build(2)), errc::truncated);  // cnt says 2
}

TEST(validate_properties, rejects_trailing_bytes) {
  buf block = raw_block{}.entry("a", k_bool, 1).build();
  block.push_back(std::byte{0});
  EXPECT_EQ(validate_err(block), errc::bad_length);
}

TEST(validate_properties, rejects_bad_header) {
  EXPECT_EQ(validate_err(raw_block{}.build()), errc::bad_field);  // cnt 0 in a non-empty block
  EXPECT_EQ(validate_err(raw_block{}.entry("a", k_bool, 1).build(-1, 1)), errc::bad_field);  // reserved0
}

TEST(validate_properties, rejects_bad_keys) {
  EXPECT_EQ(validate_err(raw_block{}.entry("", k_bool, 1).build()), errc::bad_field);
  const std::string k64(k_property_key_sz_max, 'k'), k65(k_property_key_sz_max + 1, 'k');
  EXPECT_EQ(validate_err(raw_block{}.entry(k64, k_bool, 1).build()), errc{});
  EXPECT_EQ(validate_err(raw_block{}.entry(k65, k_bool, 1).build()), errc::too_large);
}

TEST(validate_properties, rejects_duplicate_keys) {
  EXPECT_EQ(validate_err(raw_block{}.entry("dup", k_bool, 1).entry("dup", k_int32, 4).build()),
            errc::bad_field);
  EXPECT_EQ(validate_err(raw_block{}.entry("a", k_bool, 1).entry("b", k_bool, 1).entry("a", k_bool, 1).build()),
            errc::bad_field);
  EXPECT_EQ(validate_err(raw_block{}.entry("a", k_bool, 1).entry("ab", k_bool, 1).build()), errc{});
}

TEST(validate_properties, rejects_unknown_types_wrong_value_sizes_and_non_boolean_bytes) {
  for (std::uint8_t t : {std::uint8_t{0}, std::uint8_t{6}, std::uint8_t{0xFF}}) {
    EXPECT_EQ(validate_err(raw_block{}.entry("t", t, 1).build()), errc::bad_field) << int{t};
  }
  for (std::size_t sz : {std::size_t{0}, std::size_t{2}, std::size_t{8}}) {
    EXPECT_EQ(validate_err(raw_block{}.entry("b", k_bool, sz).build()), errc::bad_field) << sz;
  }
  for (std::size_t sz : {std::size_t{0}, std::size_t{2}, std::size_t{8}}) {
    EXPECT_EQ(validate_err(raw_block{}.entry("i", k_int32, sz).build()), errc::bad_field) << sz;
  }
  for (std::size_t sz : {std::size_t{0}, std::size_t{4}, std::size_t{16}}) {
    EXPECT_EQ(validate_err(raw_block{}.entry("l", k_int64, sz).build()), errc::bad_field) << sz;
  }
  for (std::uint8_t v : {std::uint8_t{2}, std::uint8_t{0x80}, std::uint8_t{0xFF}}) {
    EXPECT_EQ(validate_err(raw_block{}.entry("b", k_bool, 1, v).build()), errc::bad_field) << int{v};
  }
  EXPECT_EQ(validate_err(raw_block{}.entry("b", k_bool, 1, 0).build()), errc{});
  EXPECT_EQ(validate_err(raw_block{}.entry("s", k_string, 0).build()), errc{});  // empty string is fine
}

TEST(validate_properties, rejects_too_many_and_too_large) {
  raw_block at_limit;
  for (std::size_t i = 0; i < k_properties_cnt_max; ++i) at_limit.entry(key_of(i), k_bool, 1);
  EXPECT_EQ(validate_err(at_limit.build()), errc{});
  raw_block over = at_limit;
  over.entry("one-more", k_bool, 1);
  EXPECT_EQ(validate_err(over.build()), errc::too_large);

  constexpr std::size_t head_sz = sizeof(properties_fixed) + sizeof(property_entry_fixed) + 1;  // key "s"
  const std::size_t value_sz = k_properties_sz_max - head_sz;
  EXPECT_EQ(validate_err(raw_block{}.entry("s", k_string, value_sz).build()), errc{});  // exactly 4096
  EXPECT_EQ(validate_err(raw_block{}.entry("s", k_string, value_sz + 1).build()), errc::too_large);
}

TEST(validate_properties, accepts_an_empty_block) {
  EXPECT_EQ(validate_err({}), errc{});
  property_reader r(bytes{});
  EXPECT_TRUE(r.done());
}

// ---- property_writer: failure cases ---------------------------------------------------

TEST(property_writer, refuses_bad_keys_and_duplicates_leaving_the_block_unchanged) {
  buf out(1024);
  property_writer w(out);
  ASSERT_TRUE(w.add_int32("dup", 1).ok());
  const buf before(w.finish().begin(), w.finish().end());
  EXPECT_EQ(err_of(w.add_int32("dup", 2)), errc::bad_field);
  EXPECT_EQ(err_of(w.add_bool("dup", true)), errc::bad_field);
  EXPECT_EQ(err_of(w.add_string("", "v")), errc::bad_field);
  EXPECT_EQ(err_of(w.add_string(std::string(k_property_key_sz_max + 1, 'k'), "v")), errc::too_large);
  EXPECT_TRUE(equal_bytes(w.finish(), before));
  EXPECT_EQ(err_of(w.add_string(std::string(k_property_key_sz_max, 'k'), "v")), errc{});
}

TEST(property_writer, refuses_more_than_the_count_and_size_limits) {
  buf out(8192);
  property_writer w(out);
  for (std::size_t i = 0; i < k_properties_cnt_max; ++i) ASSERT_TRUE(w.add_bool(key_of(i), true).ok()) << i;
  EXPECT_EQ(err_of(w.add_bool("one-more", true)), errc::too_large);
  EXPECT_EQ(validate_err(buf(w.finish().begin(), w.finish().end())), errc{});

  property_writer big(out);
  const std::size_t fits = k_properties_sz_max - sizeof(properties_fixed) - sizeof(property_entry_fixed) - 1;
  EXPECT_EQ(err_of(big.add_string("s", std::string(fits + 1, 'x'))), errc::too_large);
  EXPECT_EQ(err_of(big.add_binary("s", filled(fits + 1, 0))), errc::too_large);
  ASSERT_EQ(err_of(big.add_string("s", std::string(fits, 'x'))), errc{});
  EXPECT_EQ(big.finish().size(), k_properties_sz_max);
  EXPECT_EQ(err_of(big.add_bool("b", false)), errc::too_large);
}

TEST(property_writer, refuses_a_too_small_buffer) {
  // header 4 + entry 4 + key 1 + value 4 = 13 bytes.
  for (std::size_t n = 0; n < 13; ++n) {
    buf out(n);
    property_writer w(out);
    EXPECT_EQ(err_of(w.add_int32("i", 7)), errc::no_space) << n;
    EXPECT_TRUE(w.finish().empty());
  }
  buf out(13);
  property_writer w(out);
  EXPECT_EQ(err_of(w.add_int32("i", 7)), errc{});
  EXPECT_EQ(err_of(w.add_bool("b", true)), errc::no_space);
  EXPECT_EQ(w.finish().size(), 13u);
}

// ---- round trip -------------------------------------------------------------------------

TEST(property_writer, round_trips_all_five_types_through_the_reader) {
  const buf bin{std::byte{0}, std::byte{1}, std::byte{0xFF}};
  buf out(512);
  property_writer w(out);
  ASSERT_TRUE(w.add_bool("yes", true).ok());
  ASSERT_TRUE(w.add_bool("no", false).ok());
  ASSERT_TRUE(w.add_int32("i32", std::numeric_limits<std::int32_t>::min()).ok());
  ASSERT_TRUE(w.add_int64("i64", std::numeric_limits<std::int64_t>::max()).ok());
  ASSERT_TRUE(w.add_string("str", "héllo").ok());
  ASSERT_TRUE(w.add_binary("bin", bin).ok());
  const bytes block = w.finish();
  ASSERT_EQ(err_of(validate_properties(block)), errc{});

  property_reader r(block);
  const auto next = [&r] {
    EXPECT_FALSE(r.done());
    return r.done() ? property{} : r.next();
  };
  property p = next();
  EXPECT_EQ(p.key, "yes");
  EXPECT_EQ(p.type, property_type::boolean);
  EXPECT_TRUE(p.as_bool());
  p = next();
  EXPECT_EQ(p.key, "no");
  EXPECT_FALSE(p.as_bool());
  EXPECT_EQ(p.value.size(), 1u);
  p = next();
  EXPECT_EQ(p.type, property_type::int32);
  EXPECT_EQ(p.as_int(), std::numeric_limits<std::int32_t>::min());  // sign-extended
  p = next();
  EXPECT_EQ(p.type, property_type::int64);
  EXPECT_EQ(p.as_int(), std::numeric_limits<std::int64_t>::max());
  p = next();
  EXPECT_EQ(p.type, property_type::string);
  EXPECT_EQ(p.as_string(), "héllo");
  p = next();
  EXPECT_EQ(p.key, "bin");
  EXPECT_EQ(p.type, property_type::binary);
  EXPECT_TRUE(equal_bytes(p.value, bin));
  EXPECT_TRUE(r.done());
}

TEST(property, accessors_on_the_wrong_type_are_harmless) {
  buf out(128);
  property_writer w(out);
  ASSERT_TRUE(w.add_string("s", "12").ok());
  ASSERT_TRUE(w.add_int32("i", 5).ok());
  property_reader r(w.finish());
  const property s = r.next();
  EXPECT_EQ(s.as_int(), 0);      // a string is not parsed
  EXPECT_FALSE(s.as_bool());     // two bytes are not a boolean
  const property i = r.next();
  EXPECT_EQ(i.as_int(), 5);
  EXPECT_FALSE(i.as_bool());
  EXPECT_EQ(i.as_string().size(), 4u);  // the raw little-endian bytes
  EXPECT_TRUE(r.done());
}

TEST(property_writer, empty_writer_gives_an_empty_valid_block) {
  buf out(16);
  property_writer w(out);
  EXPECT_TRUE(w.finish().empty());
  EXPECT_EQ(validate_err({}), errc{});
}

}  // namespace
}  // namespace sluice::wire
