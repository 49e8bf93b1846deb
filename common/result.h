// common/result.h — error values for the data path.
//
// result<T, E> holds either a T or an error E (a module's `enum class errc`).
// Hot-path functions return it instead of throwing; callers branch on ok().
// Deliberately tiny: C++20 has no std::expected.
#pragma once

#include <type_traits>
#include <utility>

#include "common/assert.h"

namespace sluice {

template <class E>
struct unexpected {
  E error;
};
template <class E>
unexpected(E) -> unexpected<E>;

template <class T, class E>
class [[nodiscard]] result {
  static_assert(std::is_trivially_copyable_v<E>, "error codes are plain enums");

 public:
  result(T value) noexcept(std::is_nothrow_move_constructible_v<T>)  // NOLINT: implicit by design
      : _ok(true), _value(std::move(value)) {}
  result(unexpected<E> e) noexcept : _ok(false), _error(e.error) {}  // NOLINT
  result(const result&) = default;
  result& operator=(const result&) = default;
  ~result() = default;

  bool ok() const noexcept { return _ok; }
  explicit operator bool() const noexcept { return _ok; }

  T& value() & noexcept {
    SLUICE_ASSERT(_ok, "value() on an error result");
    return _value;
  }
  const T& value() const& noexcept {
    SLUICE_ASSERT(_ok, "value() on an error result");
    return _value;
  }
  T* operator->() noexcept { return &value(); }
  const T* operator->() const noexcept { return &value(); }
  T& operator*() noexcept { return value(); }
  const T& operator*() const noexcept { return value(); }

  E error() const noexcept {
    SLUICE_ASSERT(!_ok, "error() on an ok result");
    return _error;
  }

 private:
  bool _ok;
  T _value{};
  E _error{};
};

// result<void, E>: success carries nothing.
template <class E>
class [[nodiscard]] status {
 public:
  status() noexcept = default;
  status(unexpected<E> e) noexcept : _ok(false), _error(e.error) {}  // NOLINT
  bool ok() const noexcept { return _ok; }
  explicit operator bool() const noexcept { return _ok; }
  E error() const noexcept {
    SLUICE_ASSERT(!_ok, "error() on an ok status");
    return _error;
  }

 private:
  bool _ok = true;
  E _error{};
};

}  // namespace sluice
