#include "datapath/transport/sim_link.h"

#include <algorithm>
#include <cstdint>

namespace sluice::transport {

std::unique_ptr<sim_port> sim_network::make_port(std::uint16_t port) {
  net_addr a = *net_addr::from_ip_port("127.0.0.1", port);
  _inboxes.emplace_back(a, std::make_unique<inbox>());
  return std::make_unique<sim_port>(*this, a, *_inboxes.back().second);
}

sim_network::inbox* sim_network::find_inbox(const net_addr& a) noexcept {
  for (auto& [addr, box] : _inboxes) {
    if (addr == a) return box.get();
  }
  return nullptr;
}

time_ns sim_network::next_delivery_ns() const noexcept {
  time_ns next = -1;
  for (const auto& [addr, box] : _inboxes) {
    if (!box->empty() && (next < 0 || box->top().at < next)) next = box->top().at;
  }
  return next;
}

sim_network::receiver_limit* sim_network::find_limit(const net_addr& a) noexcept {
  for (auto& l : _limits) {
    if (l.at == a) return &l;
  }
  return nullptr;
}

std::uint64_t sim_network::buffer_of(const net_addr& a) const noexcept {
  const receiver_limit* l = const_cast<sim_network*>(this)->find_limit(a);
  return l != nullptr ? l->buffer : 0;
}

void sim_network::set_receiver(const net_addr& at, std::uint64_t per_second, std::size_t buffer_bytes) noexcept {
  receiver_limit* l = find_limit(at);
  if (l == nullptr) l = &_limits.emplace_back(receiver_limit{.at = at});
  l->per_second = per_second;
  l->buffer = buffer_bytes;
  l->credit = 0.0;
  l->credit_ns = _clock.now_ns();
}

std::size_t sim_network::receive_allowance(const net_addr& a) noexcept {
  receiver_limit* l = find_limit(a);
  if (l == nullptr || l->buffer == 0) return SIZE_MAX;
  const time_ns now = _clock.now_ns();
  // At most a burst's worth of credit (64 datagrams): a receiver does not save up.
  l->credit = std::min(l->credit + static_cast<double>(l->per_second) * static_cast<double>(now - l->credit_ns) / 1e9,
                       64.0);
  l->credit_ns = now;
  return static_cast<std::size_t>(l->credit);
}

void sim_network::received(const net_addr& a, std::span<const rx_datagram> got) noexcept {
  receiver_limit* l = find_limit(a);
  if (l == nullptr) return;
  for (const auto& d : got) l->queued -= std::min(l->queued, d.data.size());
  if (l->buffer != 0) l->credit -= static_cast<double>(got.size());
}

void sim_network::transmit(const net_addr& from, const tx_datagram& d) {
  ++_ctr.sent;
  inbox* box = find_inbox(d.peer);
  if (box == nullptr || _rng.chance(_cfg.loss) || (_loss_to_p > 0 && d.peer == _loss_to && _rng.chance(_loss_to_p))) {
    ++_ctr.dropped;
    return;
  }
  receiver_limit* limit = find_limit(d.peer);
  if (limit != nullptr && limit->buffer != 0 && limit->queued + d.data.size() > limit->buffer) {
    ++_ctr.dropped;
    ++_ctr.overrun;
    return;
  }
  const int copies = _rng.chance(_cfg.dup) ? 2 : 1;
  if (copies == 2) ++_ctr.duplicated;
  for (int c = 0; c < copies; ++c) {
    time_ns at = _clock.now_ns() + _cfg.delay_ns;
    if (_cfg.jitter_ns > 0) at += static_cast<time_ns>(_rng.below(static_cast<std::uint64_t>(_cfg.jitter_ns)));
    if (_rng.chance(_cfg.reorder)) {
      ++_ctr.reordered;
      at += static_cast<time_ns>(_rng.below(static_cast<std::uint64_t>(4 * _cfg.delay_ns + 1)));
    }
    box->push(in_flight{at, _order++, from, std::vector<std::byte>(d.data.begin(), d.data.end())});
    if (limit != nullptr) limit->queued += d.data.size();
  }
}

std::size_t sim_port::receive(std::span<rx_datagram> out) noexcept {
  _held.clear();
  const time_ns now = _net._clock.now_ns();
  const std::size_t allowed = std::min(out.size(), _net.receive_allowance(_addr));
  std::size_t n = 0;
  while (n < allowed && !_in.empty() && _in.top().at <= now) {
    // priority_queue::top is const: copy out, then pop.
    auto& top = const_cast<sim_network::in_flight&>(_in.top());
    _held.push_back(std::move(top.data));
    out[n].peer = top.from;
    _in.pop();
    ++n;
  }
  for (std::size_t i = 0; i < n; ++i) out[i].data = _held[i];
  _net._ctr.delivered += n;
  _net.received(_addr, out.first(n));
  return n;
}

std::size_t sim_port::send(std::span<const tx_datagram> in) noexcept {
  for (const auto& d : in) _net.transmit(_addr, d);
  return in.size();
}

}  // namespace sluice::transport
