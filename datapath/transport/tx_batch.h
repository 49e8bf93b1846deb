// datapath/transport/tx_batch.h — a burst of outgoing datagrams.
//
// Sessions and the handshake write datagrams into preallocated buffers here;
// the batch hands them to the port in bursts (one sendmmsg for the kernel
// UDP port). Owned by the endpoint's thread; never allocates after
// construction.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <vector>

#include "datapath/transport/datagram_port.h"

namespace sluice::transport {

class tx_batch {
 public:
  tx_batch(datagram_port& port, std::size_t datagram_sz, std::size_t burst)
      : _port(port), _datagram_sz(datagram_sz), _buf(std::make_unique<std::byte[]>(datagram_sz * burst)),
        _out(burst) {}

  // Space for one datagram to `peer`; flushes first when the burst is full.
  std::span<std::byte> begin(const net_addr& peer) noexcept {
    if (_cnt == _out.size()) flush();
    _out[_cnt].peer = peer;
    return {_buf.get() + _cnt * _datagram_sz, _datagram_sz};
  }
  // Finishes the datagram begun last with `len` bytes.
  void commit(std::size_t len) noexcept {
    _out[_cnt].data = {_buf.get() + _cnt * _datagram_sz, len};
    ++_cnt;
  }
  // Hands everything queued to the port. Returns datagrams the port refused.
  std::size_t flush() noexcept {
    if (_cnt == 0) return 0;
    const std::size_t sent = _port.send({_out.data(), _cnt});
    const std::size_t dropped = _cnt - sent;
    _sent_total += sent;
    _dropped_total += dropped;
    _cnt = 0;
    return dropped;
  }
  std::size_t datagram_sz() const noexcept { return _datagram_sz; }
  std::uint64_t sent_total() const noexcept { return _sent_total; }
  std::uint64_t dropped_total() const noexcept { return _dropped_total; }

 private:
  datagram_port& _port;
  std::size_t _datagram_sz;
  std::unique_ptr<std::byte[]> _buf;
  std::vector<tx_datagram> _out;
  std::size_t _cnt = 0;
  std::uint64_t _sent_total = 0;
  std::uint64_t _dropped_total = 0;
};

}  // namespace sluice::transport
