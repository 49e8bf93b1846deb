// storage/aligned_buffer.h — a zeroed, block-aligned byte buffer for O_DIRECT.
//
// Allocated once (at journal construction), never resized. Owned by whoever
// holds it; the kernel reads it while a write is in flight, so it must
// outlive the write's completion.
#pragma once

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <new>
#include <span>

#include "common/assert.h"
#include "storage/types.h"

namespace sluice::storage {

class aligned_buffer {
 public:
  aligned_buffer() noexcept = default;
  explicit aligned_buffer(std::size_t size) : _size(align_up(size, k_block_sz)) {
    SLUICE_ASSERT(size > 0, "aligned_buffer of zero bytes");
    _data = static_cast<std::byte*>(std::aligned_alloc(k_block_sz, _size));
    if (_data == nullptr) throw std::bad_alloc();
    std::memset(_data, 0, _size);
  }
  aligned_buffer(aligned_buffer&& o) noexcept : _data(o._data), _size(o._size) {
    o._data = nullptr;
    o._size = 0;
  }
  aligned_buffer& operator=(aligned_buffer&& o) noexcept {
    if (this != &o) {
      std::free(_data);
      _data = o._data;
      _size = o._size;
      o._data = nullptr;
      o._size = 0;
    }
    return *this;
  }
  aligned_buffer(const aligned_buffer&) = delete;
  aligned_buffer& operator=(const aligned_buffer&) = delete;
  ~aligned_buffer() { std::free(_data); }

  std::byte* data() noexcept { return _data; }
  const std::byte* data() const noexcept { return _data; }
  std::size_t size() const noexcept { return _size; }
  std::span<std::byte> span() noexcept { return {_data, _size}; }
  std::span<const std::byte> span() const noexcept { return {_data, _size}; }

 private:
  std::byte* _data = nullptr;
  std::size_t _size = 0;
};

}  // namespace sluice::storage
