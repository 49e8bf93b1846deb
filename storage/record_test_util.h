// storage/record_test_util.h — builders of records for the storage tests.
#pragma once

#include <cstring>
#include <string_view>

#include "storage/record.h"

namespace sluice::storage::test {

inline bytes as_bytes(std::string_view s) noexcept {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

template <class Int>
message_id make_id(Int v) noexcept {
  const auto n = static_cast<std::uint64_t>(v);
  message_id id;
  std::memcpy(id.bytes.data(), &n, sizeof n);
  id.bytes[15] = 0xA5;
  return id;
}

inline record message_rec(std::uint64_t seq, std::uint32_t queue, std::uint64_t id_n, std::string_view props,
                          std::string_view payload, std::uint16_t app_cnt = 1, std::uint64_t epoch = 1) {
  record r;
  r.kind = record_kind::message;
  r.epoch = epoch_no{epoch};
  r.seq = seq_no{seq};
  r.body.message = message_body{};
  r.body.message.queue = queue;
  r.body.message.app_cnt = app_cnt;
  r.body.message.origin_seq = seq;
  set_id(r.body.message.id, make_id(id_n));
  r.part1 = as_bytes(props);
  r.part2 = as_bytes(payload);
  return r;
}

inline record confirm_rec(std::uint64_t seq, std::uint32_t queue, std::uint64_t id_n, std::uint16_t app_idx,
                          std::uint64_t mask, std::uint64_t epoch = 1) {
  record r;
  r.kind = record_kind::confirm;
  r.epoch = epoch_no{epoch};
  r.seq = seq_no{seq};
  r.body.confirm = confirm_body{};
  r.body.confirm.queue = queue;
  r.body.confirm.app_idx = app_idx;
  r.body.confirm.confirmed_mask = mask;
  set_id(r.body.confirm.id, make_id(id_n));
  return r;
}

inline record epoch_rec(std::uint64_t seq, std::uint64_t prev, std::uint64_t next) {
  record r;
  r.kind = record_kind::epoch;
  r.epoch = epoch_no{next};
  r.seq = seq_no{seq};
  r.body.epoch = epoch_body{prev};
  return r;
}

}  // namespace sluice::storage::test
