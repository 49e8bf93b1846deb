// datapath/transport/chunk_pool.h — fixed pool of equal-size byte chunks.
//
// The session layer keeps every unacknowledged frame it sent and every
// out-of-order frame it received in a chunk. All chunks are allocated at
// construction; take() and give() never allocate, so memory is bounded by the
// config (chunk_cnt × chunk_sz) however many sessions exist. An empty pool is
// back-pressure, not an error. Owned by one thread (the endpoint's).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "common/assert.h"

namespace sluice::transport {

class chunk_pool {
 public:
  static constexpr std::uint32_t k_none = UINT32_MAX;

  chunk_pool(std::size_t chunk_sz, std::uint32_t chunk_cnt)
      : _chunk_sz(chunk_sz), _storage(std::make_unique<std::byte[]>(chunk_sz * chunk_cnt)) {
    _free.reserve(chunk_cnt);
    for (std::uint32_t i = chunk_cnt; i > 0; --i) _free.push_back(i - 1);
  }

  // A chunk index, or k_none when the pool is empty.
  std::uint32_t take() noexcept {
    if (_free.empty()) return k_none;
    const std::uint32_t idx = _free.back();
    _free.pop_back();
    return idx;
  }
  void give(std::uint32_t idx) noexcept {
    SLUICE_DCHECK(idx != k_none, "giving back no chunk");
    _free.push_back(idx);  // capacity reserved: never reallocates
  }
  std::span<std::byte> at(std::uint32_t idx) noexcept {
    return {_storage.get() + std::size_t{idx} * _chunk_sz, _chunk_sz};
  }
  std::size_t chunk_sz() const noexcept { return _chunk_sz; }
  std::size_t free_cnt() const noexcept { return _free.size(); }

 private:
  std::size_t _chunk_sz;
  std::unique_ptr<std::byte[]> _storage;
  std::vector<std::uint32_t> _free;
};

}  // namespace sluice::transport
