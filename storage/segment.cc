#include "storage/segment.h"

#include <cstdio>
#include <cstring>

#include "storage/crc32c.h"

namespace sluice::storage {

void encode_segment_header(mut_bytes out, const segment_info& s) noexcept {
  SLUICE_ASSERT(out.size() >= k_block_sz, "segment header needs a whole block");
  segment_header h{};
  h.magic = k_segment_magic;
  h.version = k_segment_version;
  h.block_sz = static_cast<std::uint32_t>(k_block_sz);
  h.segment = s.segment.value();
  h.base_seq = s.base_seq.value();
  h.epoch = s.epoch.value();
  h.segment_sz = s.segment_sz;
  h.crc = crc32c(bytes{reinterpret_cast<const std::byte*>(&h), offsetof(segment_header, crc)});
  std::memset(out.data(), 0, k_block_sz);
  std::memcpy(out.data(), &h, sizeof h);
}

result<segment_info, errc> decode_segment_header(bytes block0, segment_id expect) noexcept {
  if (block0.size() < sizeof(segment_header)) return unexpected{errc::truncated};
  segment_header h;
  std::memcpy(&h, block0.data(), sizeof h);
  if (h.magic == 0 && h.crc == 0 && h.segment == 0) return unexpected{errc::not_found};
  if (h.magic != k_segment_magic || h.version != k_segment_version || h.block_sz != k_block_sz ||
      h.reserved0 != 0 || h.segment != expect.value() ||
      h.crc != crc32c(block0.first(offsetof(segment_header, crc))))
    return unexpected{errc::bad_segment};
  if (h.base_seq == 0) return unexpected{errc::bad_segment};  // seq 0 means "none yet"
  return segment_info{segment_id{h.segment}, seq_no{h.base_seq}, epoch_no{h.epoch}, h.segment_sz};
}

std::size_t segment_file_name(segment_id s, char (&buf)[24]) noexcept {
  const int n = std::snprintf(buf, sizeof buf, "%016llx.sjl", static_cast<unsigned long long>(s.value()));
  SLUICE_ASSERT(n == 20, "segment file names are 20 characters");
  return static_cast<std::size_t>(n);
}

std::optional<segment_id> parse_segment_file_name(std::string_view name) noexcept {
  if (name.size() != 20 || name.substr(16) != ".sjl") return std::nullopt;
  std::uint64_t v = 0;
  for (char c : name.substr(0, 16)) {
    std::uint64_t d;
    if (c >= '0' && c <= '9') d = static_cast<std::uint64_t>(c - '0');
    else if (c >= 'a' && c <= 'f') d = static_cast<std::uint64_t>(c - 'a' + 10);
    else return std::nullopt;
    v = v << 4 | d;
  }
  return segment_id{v};
}

}  // namespace sluice::storage
