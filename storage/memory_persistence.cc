#include "storage/memory_persistence.h"

#include <algorithm>
#include <cstring>

namespace sluice::storage {

void memory_persistence::corrupt_at_rest(segment_id s, std::uint64_t off) noexcept {
  auto it = _segs.find(s.value());
  SLUICE_ASSERT(it != _segs.end() && off < it->second.durable.size(), "corrupt_at_rest outside a segment");
  it->second.durable[off] ^= std::byte{0x5A};
  it->second.written[off] = it->second.durable[off];
}

void memory_persistence::crash() noexcept {
  for (auto& [id, img] : _segs) img.written = img.durable;
  _done.clear();
  _lost = 0;
  _fail_write = _fail_create = 0;
  _tear_prefix = _corrupt_at = -1;
}

std::uint64_t memory_persistence::disk_bytes() const noexcept {
  std::uint64_t n = 0;
  for (const auto& [id, img] : _segs) n += img.durable.size();
  return n;
}

void memory_persistence::store(image& img, std::uint64_t off, bytes data, bool durable_too) noexcept {
  if (off >= img.written.size()) return;
  const std::size_t n = std::min<std::size_t>(data.size(), img.written.size() - off);
  std::memcpy(img.written.data() + off, data.data(), n);
  if (durable_too) std::memcpy(img.durable.data() + off, data.data(), n);
}

status<errc> memory_persistence::list_segments(std::vector<segment_id>& out) {
  out.clear();
  for (const auto& [id, img] : _segs) out.push_back(segment_id{id});
  return {};
}

result<std::uint64_t, errc> memory_persistence::open_segment(segment_id s) {
  auto it = _segs.find(s.value());
  if (it == _segs.end()) return unexpected{errc::not_found};
  return static_cast<std::uint64_t>(it->second.written.size());
}

status<errc> memory_persistence::read_blocking(segment_id s, std::uint64_t off, mut_bytes out) {
  assert_direct_io(off, out.data(), out.size());
  auto it = _segs.find(s.value());
  if (it == _segs.end()) return unexpected{errc::not_found};
  const auto& w = it->second.written;
  std::memset(out.data(), 0, out.size());
  if (off < w.size()) std::memcpy(out.data(), w.data() + off, std::min<std::size_t>(out.size(), w.size() - off));
  return {};
}

status<errc> memory_persistence::write_blocking(segment_id s, std::uint64_t off, bytes data) {
  assert_direct_io(off, data.data(), data.size());
  auto it = _segs.find(s.value());
  if (it == _segs.end()) return unexpected{errc::not_found};
  store(it->second, off, data, true);
  return {};
}

status<errc> memory_persistence::submit_create(segment_id s, std::uint64_t size, std::uint64_t token) {
  SLUICE_ASSERT(size % k_block_sz == 0 && size > 0, "segment size must be whole blocks");
  if (_segs.count(s.value()) != 0) return unexpected{errc::duplicate};
  if (_fail_create != 0) {
    _done.push_back({token, -_fail_create});
    _fail_create = 0;
    return {};
  }
  image img;
  img.written.assign(size, std::byte{0});
  img.durable = img.written;
  _segs.emplace(s.value(), std::move(img));
  _done.push_back({token, 0});
  return {};
}

status<errc> memory_persistence::submit_write(segment_id s, std::uint64_t off, bytes data, bool datasync,
                                              std::uint64_t token) {
  assert_direct_io(off, data.data(), data.size());
  auto it = _segs.find(s.value());
  if (it == _segs.end()) return unexpected{errc::not_found};
  ++_writes;
  if (_fail_write != 0) {
    _done.push_back({token, -_fail_write});
    _fail_write = 0;
    return {};
  }
  if (_tear_prefix >= 0) {
    store(it->second, off, data.first(std::min<std::size_t>(data.size(), static_cast<std::size_t>(_tear_prefix))),
          true);
    _tear_prefix = -1;
    ++_lost;
    return {};
  }
  std::vector<std::byte> flipped;
  if (_corrupt_at >= 0 && static_cast<std::size_t>(_corrupt_at) < data.size()) {
    flipped.assign(data.begin(), data.end());
    flipped[static_cast<std::size_t>(_corrupt_at)] ^= std::byte{0xA5};
    data = flipped;
    _corrupt_at = -1;
  }
  store(it->second, off, data, false);
  if (datasync) {
    it->second.durable = it->second.written;
    ++_datasyncs;
  }
  _done.push_back({token, static_cast<std::int32_t>(data.size())});
  return {};
}

status<errc> memory_persistence::submit_read(segment_id s, std::uint64_t off, mut_bytes out,
                                             std::uint64_t token) {
  const auto st = read_blocking(s, off, out);
  if (!st) return st;
  _done.push_back({token, static_cast<std::int32_t>(out.size())});
  return {};
}

status<errc> memory_persistence::submit_remove(segment_id s, std::uint64_t token) {
  if (_segs.erase(s.value()) == 0) return unexpected{errc::not_found};
  _done.push_back({token, 0});
  return {};
}

std::size_t memory_persistence::poll(std::span<io_completion> out) noexcept {
  std::size_t n = 0;
  while (n < out.size() && !_done.empty()) {
    out[n++] = _done.front();
    _done.pop_front();
  }
  return n;
}

}  // namespace sluice::storage
