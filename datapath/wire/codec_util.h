// datapath/wire/codec_util.h — private helpers of the codec (.cc files only).
#pragma once

#include <cstring>

#include "datapath/wire/codec.h"

namespace sluice::wire::detail {

template <class T>
inline T load(bytes b) noexcept {  // precondition: b.size() >= sizeof(T)
  T v;
  std::memcpy(&v, b.data(), sizeof(T));
  return v;
}

template <class T>
inline void store(mut_bytes out, const T& v) noexcept {  // precondition: fits
  std::memcpy(out.data(), &v, sizeof(T));
}

inline void put_bytes(mut_bytes out, std::size_t at, bytes src) noexcept {
  if (!src.empty()) std::memcpy(out.data() + at, src.data(), src.size());
}

inline unexpected<errc> fail(errc e) noexcept { return unexpected{e}; }

}  // namespace sluice::wire::detail
