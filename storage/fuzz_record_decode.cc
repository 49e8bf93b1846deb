// storage/fuzz_record_decode.cc — libFuzzer target for the journal record decoder.
//
// Input: bytes as recovery would read them from a segment. Walks them as a
// batch (records back to back at 8-byte steps, stopping at the first zero
// header or error), like the recovery scanner. Properties: anything
// decode_record accepts re-encodes to the very same `length` bytes and
// decodes again to an equal record; its parts lie inside the input;
// record_order never accepts a seq that is not previous + 1. Also feeds the
// first block to the segment header decoder. No allocation: static buffers.
//
// Each input runs twice: as-is, then as one record whose length and CRC are
// made right (length = input size rounded down to 8), so that mutations
// reach the kind, field and size checks instead of dying on the CRC.
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "storage/crc32c.h"
#include "storage/record.h"
#include "storage/segment.h"

namespace sluice::storage {
namespace {

std::byte g_out[k_record_sz_max + 64];

void check(bool ok) {
  if (!ok) __builtin_trap();
}

bool inside(bytes part, bytes in) {
  return part.empty() || (part.data() >= in.data() && part.data() + part.size() <= in.data() + in.size());
}

void round_trip(const record& r, bytes in) {
  const std::size_t length = record_length(r);
  check(length <= in.size() && inside(r.part1, in) && inside(r.part2, in));
  const auto n = encode_record(mut_bytes{g_out}, r);
  check(n.ok() && n.value() == padded_sz(length));
  check(std::memcmp(g_out, in.data(), length) == 0);
  const auto again = decode_record(bytes{g_out, n.value()});
  check(again.ok());
  check(again->kind == r.kind && again->seq == r.seq && again->epoch == r.epoch &&
        again->batch_block == r.batch_block);
  check(std::memcmp(again->body.raw, r.body.raw, fixed_body_sz(r.kind)) == 0);
}

}  // namespace
}  // namespace sluice::storage

namespace sluice::storage {
namespace {

std::byte g_fixed[k_record_sz_max];

void walk(bytes in) {

  record_order order;
  bool first = true;
  std::size_t off = 0;
  while (off < in.size() && !is_zero_header(in.subspan(off))) {
    const auto r = decode_record(in.subspan(off));
    if (!r.ok()) break;
    round_trip(r.value(), in.subspan(off));
    if (first) order = record_order(r->epoch, seq_no{r->seq.value() - 1});
    const seq_no before = order.last_seq();
    if (order.check(r.value()).ok()) check(r->seq == before.next());
    first = false;
    off += padded_sz(record_length(r.value()));
  }
}

}  // namespace
}  // namespace sluice::storage

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace sluice::storage;
  const bytes in{reinterpret_cast<const std::byte*>(data), size};
  (void)decode_segment_header(in, segment_id{1});
  walk(in);
  const std::size_t n = size / k_record_align * k_record_align;
  if (n < sizeof(record_header) || n > sizeof g_fixed) return 0;
  std::memcpy(g_fixed, data, n);
  const auto len = static_cast<std::uint32_t>(n);
  std::memcpy(g_fixed + 4, &len, 4);
  const std::uint32_t crc = crc32c(bytes{g_fixed + 4, n - 4});
  std::memcpy(g_fixed, &crc, 4);
  walk(bytes{g_fixed, n});
  return 0;
}
