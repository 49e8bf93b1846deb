// storage/record_test.cc — CRC32C vectors, record codec, order checks, segment header.
#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "common/rng.h"
#include "storage/crc32c.h"
#include "storage/record.h"
#include "storage/record_test_util.h"
#include "storage/segment.h"

namespace sluice::storage {
namespace {

using test::as_bytes;

std::vector<std::byte> encode(const record& r) {
  std::vector<std::byte> out(padded_sz(record_length(r)) + 64);
  const auto n = encode_record(out, r);
  EXPECT_TRUE(n.ok());
  out.resize(n.ok() ? *n : 0);
  return out;
}

// Rewrites the CRC after a test changed header or body bytes on purpose.
void reseal(std::vector<std::byte>& buf) {
  std::uint32_t len;
  std::memcpy(&len, buf.data() + 4, 4);
  const std::uint32_t c = crc32c(bytes{buf.data() + 4, len - 4});
  std::memcpy(buf.data(), &c, 4);
}

// ---- failure cases first ------------------------------------------------------------------

TEST(record, truncated_header_and_body) {
  const auto buf = encode(test::message_rec(1, 7, 1, "p", "payload"));
  for (std::size_t n : {0ul, 8ul, 31ul}) {
    const auto d = decode_record(bytes{buf.data(), n});
    ASSERT_FALSE(d.ok());
    EXPECT_EQ(d.error(), errc::truncated) << n;
  }
  const auto d = decode_record(bytes{buf.data(), record_length(test::message_rec(1, 7, 1, "p", "payload")) - 1});
  ASSERT_FALSE(d.ok());
  EXPECT_EQ(d.error(), errc::truncated);
}

TEST(record, flipped_bit_anywhere_is_bad_crc_or_rejected) {
  const auto good = encode(test::message_rec(5, 7, 1, "props", "hello world"));
  const std::size_t len = record_length(test::message_rec(5, 7, 1, "props", "hello world"));
  for (std::size_t i = 0; i < len; ++i) {
    auto buf = good;
    buf[i] ^= std::byte{0x10};
    const auto d = decode_record(buf);
    ASSERT_FALSE(d.ok()) << "byte " << i;
    if (i >= 8) {
      EXPECT_EQ(d.error(), errc::bad_crc) << "byte " << i;
    }
  }
}

TEST(record, bad_length_unknown_kind_version_reserved) {
  auto buf = encode(test::confirm_rec(3, 1, 9, 0, 1));
  {
    auto b = buf;
    const std::uint32_t len = 16;
    std::memcpy(b.data() + 4, &len, 4);
    EXPECT_EQ(decode_record(b).error(), errc::bad_length);
  }
  {
    auto b = buf;
    const std::uint32_t len = k_record_sz_max + 1;
    std::memcpy(b.data() + 4, &len, 4);
    EXPECT_EQ(decode_record(b).error(), errc::bad_length);
  }
  {
    auto b = buf;
    b[8] = std::byte{99};
    reseal(b);
    EXPECT_EQ(decode_record(b).error(), errc::unknown_kind);
  }
  {
    auto b = buf;
    b[9] = std::byte{2};
    reseal(b);
    EXPECT_EQ(decode_record(b).error(), errc::bad_version);
  }
  {
    auto b = buf;
    b[10] = std::byte{1};
    reseal(b);
    EXPECT_EQ(decode_record(b).error(), errc::bad_field);
  }
  {  // a confirm whose mask lacks its own app
    auto b = buf;
    b[32 + 8] = std::byte{0};
    reseal(b);
    EXPECT_EQ(decode_record(b).error(), errc::bad_field);
  }
  {  // message body sizes that disagree with the length
    auto m = encode(test::message_rec(1, 7, 1, "p", "payload"));
    const std::uint32_t psz = 3;
    std::memcpy(m.data() + 32 + offsetof(message_body, payload_sz), &psz, 4);
    reseal(m);
    EXPECT_EQ(decode_record(m).error(), errc::bad_length);
  }
}

TEST(record, encoder_refuses_invalid_fields_and_small_buffers) {
  auto r = test::message_rec(1, 1, 1, "", "x");
  r.body.message.app_cnt = 0;
  std::array<std::byte, 256> out{};
  EXPECT_EQ(encode_record(out, r).error(), errc::bad_field);
  r.body.message.app_cnt = 65;
  EXPECT_EQ(encode_record(out, r).error(), errc::bad_field);
  r.body.message.app_cnt = 2;
  r.body.message.confirmed_mask = 3;  // fully confirmed: nothing to store
  EXPECT_EQ(encode_record(out, r).error(), errc::bad_field);
  auto c = test::confirm_rec(1, 1, 1, 0, 1);
  c.part1 = as_bytes("x");
  EXPECT_EQ(encode_record(out, c).error(), errc::bad_field);
  EXPECT_EQ(encode_record(std::span{out}.first(40), test::message_rec(1, 1, 1, "", "x")).error(),
            errc::record_too_large);
}

TEST(record, order_wrong_epoch_and_seq_gap) {
  record_order o(epoch_no{2}, seq_no{10});
  EXPECT_EQ(o.check(test::confirm_rec(12, 1, 1, 0, 1, 2)).error(), errc::seq_out_of_order);
  EXPECT_EQ(o.check(test::confirm_rec(11, 1, 1, 0, 1, 1)).error(), errc::epoch_out_of_order);
  EXPECT_EQ(o.check(test::confirm_rec(11, 1, 1, 0, 1, 3)).error(), errc::epoch_out_of_order);
  EXPECT_EQ(o.check(test::epoch_rec(11, 1, 3)).error(), errc::epoch_out_of_order);  // wrong previous
  ASSERT_TRUE(o.check(test::epoch_rec(11, 2, 3)).ok());
  ASSERT_TRUE(o.check(test::confirm_rec(12, 1, 1, 0, 1, 3)).ok());
  EXPECT_EQ(o.epoch(), epoch_no{3});
  EXPECT_EQ(o.last_seq(), seq_no{12});
  EXPECT_EQ(o.check(test::epoch_rec(13, 3, 3)).error(), errc::epoch_out_of_order);  // no raise
}

// ---- round trips ---------------------------------------------------------------------------

TEST(record, round_trip_every_kind) {
  std::vector<record> rs;
  record qc;
  qc.kind = record_kind::queue_created;
  qc.epoch = epoch_no{1};
  qc.seq = seq_no{1};
  qc.body.queue_created = queue_created_body{4, 3, 0, 0, 0};
  qc.part1 = as_bytes("domain/queue");
  qc.part2 = as_bytes("{cfg}");
  rs.push_back(qc);
  record qd = qc;
  qd.kind = record_kind::queue_deleted;
  qd.body.queue_deleted = queue_deleted_body{4, 0};
  qd.part1 = qd.part2 = {};
  rs.push_back(qd);
  rs.push_back(test::message_rec(2, 4, 77, "props", "payload bytes", 3));
  rs.push_back(test::message_rec(3, 4, 78, "", ""));
  rs.push_back(test::confirm_rec(4, 4, 77, 2, 0b100));
  record del = qd;
  del.kind = record_kind::del;
  del.body.del = delete_body{4, 9, {}};
  set_id(del.body.del.id, test::make_id(78));
  rs.push_back(del);
  record pg = qd;
  pg.kind = record_kind::purge;
  pg.body.purge = purge_body{4, k_all_apps, 0};
  rs.push_back(pg);
  rs.push_back(test::epoch_rec(9, 1, 2));
  record dv = qd;
  dv.kind = record_kind::delivered;
  dv.body.delivered = delivered_body{4, 2, 7, {}};
  set_id(dv.body.delivered.id, test::make_id(77));
  rs.push_back(dv);
  record compacted = test::message_rec(11, 4, 79, "", "x", 3);
  compacted.body.message.delivery_cnt = 5;  // a compacted copy carries the count
  rs.push_back(compacted);
  ASSERT_EQ(rs.size(), k_record_kind_cnt + 1) << "every kind, a second plain message and a compacted one";

  for (const record& r : rs) {
    const auto buf = encode(r);
    EXPECT_EQ(buf.size() % k_record_align, 0u);
    const auto d = decode_record(buf);
    ASSERT_TRUE(d.ok()) << to_string(r.kind) << ": " << to_string(d.error());
    EXPECT_EQ(d->kind, r.kind);
    EXPECT_EQ(d->seq, r.seq);
    EXPECT_EQ(d->epoch, r.epoch);
    if (r.part1.empty() && r.part2.empty()) {  // else the encoder filled in the size fields
      EXPECT_EQ(std::memcmp(d->body.raw, r.body.raw, fixed_body_sz(r.kind)), 0) << to_string(r.kind);
    }
    EXPECT_TRUE(std::equal(d->part1.begin(), d->part1.end(), r.part1.begin(), r.part1.end()));
    EXPECT_TRUE(std::equal(d->part2.begin(), d->part2.end(), r.part2.begin(), r.part2.end()));
    EXPECT_EQ(encode(d.value()), buf);  // decode ∘ encode is the identity
  }
}

TEST(record, zero_header_is_padding) {
  std::array<std::byte, 32> z{};
  EXPECT_TRUE(is_zero_header(z));
  EXPECT_EQ(decode_record(z).error(), errc::bad_length);
}

// ---- CRC32C ---------------------------------------------------------------------------------

TEST(crc32c, known_vectors) {
  EXPECT_EQ(crc32c(as_bytes("123456789")), 0xE3069283u);
  EXPECT_EQ(crc32c_extend_table(0, as_bytes("123456789")), 0xE3069283u);
  std::array<std::byte, 32> zeros{};
  EXPECT_EQ(crc32c(zeros), 0x8A9136AAu);  // RFC 3720 B.4
  std::array<std::byte, 32> ones;
  ones.fill(std::byte{0xFF});
  EXPECT_EQ(crc32c(ones), 0x62A8AB43u);
  EXPECT_EQ(crc32c(bytes{}), 0u);
}

TEST(crc32c, hardware_matches_table_and_extends) {
  const std::uint64_t seed = 0x5EED'0001;
  std::printf("seed %llu, hw %d\n", static_cast<unsigned long long>(seed), crc32c_hw_available());
  splitmix64 rng(seed);
  std::vector<std::byte> buf(4099);
  for (auto& b : buf) b = static_cast<std::byte>(rng.next());
  for (std::size_t off = 0; off < 9; ++off) {
    // Around the three-lane steps (3 × 64, 3 × 256) and their sums.
    for (std::size_t n : {0ul, 1ul, 7ul, 8ul, 9ul, 63ul, 191ul, 192ul, 193ul, 767ul, 768ul, 769ul, 960ul, 1024ul,
                          1031ul, 4000ul}) {
      const bytes s{buf.data() + off, n};
      EXPECT_EQ(crc32c_extend_hw(0, s), crc32c_extend_table(0, s));
    }
  }
  const bytes all{buf};
  EXPECT_EQ(crc32c_extend(crc32c(all.first(1000)), all.subspan(1000)), crc32c(all));
}

// ---- segment header ------------------------------------------------------------------------

TEST(segment, header_round_trip_and_rejects) {
  std::vector<std::byte> block(k_block_sz);
  const segment_info s{segment_id{7}, seq_no{1000}, epoch_no{3}, 1u << 20};
  encode_segment_header(block, s);
  const auto d = decode_segment_header(block, segment_id{7});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->base_seq, seq_no{1000});
  EXPECT_EQ(d->epoch, epoch_no{3});
  EXPECT_EQ(decode_segment_header(block, segment_id{8}).error(), errc::bad_segment);
  block[30] ^= std::byte{1};
  EXPECT_EQ(decode_segment_header(block, segment_id{7}).error(), errc::bad_segment);
  std::vector<std::byte> zeros(k_block_sz);
  EXPECT_EQ(decode_segment_header(zeros, segment_id{7}).error(), errc::not_found);
}

TEST(segment, file_names_sort_and_parse) {
  char buf[24];
  segment_file_name(segment_id{0x1f}, buf);
  EXPECT_STREQ(buf, "000000000000001f.sjl");
  EXPECT_EQ(parse_segment_file_name(buf), segment_id{0x1f});
  EXPECT_FALSE(parse_segment_file_name("000000000000001F.sjl"));
  EXPECT_FALSE(parse_segment_file_name("000000000000001f.tmp"));
  EXPECT_FALSE(parse_segment_file_name("x"));
}

}  // namespace
}  // namespace sluice::storage
