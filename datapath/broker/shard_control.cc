// Control requests on the shard thread (see shard_query.h): the answers to
// the service thread's questions, and the changes it asks for. Runs between
// loop iterations with the allocation guard lifted: this is the control
// path, not the steady state.
#include "datapath/broker/shard_control.h"

#include "common/alloc_guard.h"

namespace sluice::broker {

namespace {

void list_queues(shard_query& q, shard_protocol& proto) {
  auto& e = proto.engine();
  std::vector<shard_protocol::queue_census> census;
  proto.census(census);
  for (queue::idx i = 0; i < e.queue_slots(); ++i) {
    if (!e.live(i)) continue;
    const auto info = e.info(i);
    queue_row r;
    r.uri = std::string(info.uri);
    r.domain = std::string(info.domain);
    r.mode = info.mode;
    r.messages = info.messages;
    r.bytes = info.bytes;
    r.consumers = info.consumers;
    r.unconfirmed = info.unconfirmed;
    r.producers = i < census.size() ? census[i].producers : 0;
    r.ctr = *info.counters;
    q.queues.push_back(std::move(r));
  }
}

void list_sessions(shard_query& q, shard_protocol& proto, transport::endpoint& ep) {
  ep.for_each_session([&](transport::session& s) {
    if (s.state() != transport::session_state::open) return;
    session_row r;
    r.id = s.id();
    r.peer = s.peer();
    r.queues = proto.queues_open(s);
    r.in_flight = s.in_flight();
    r.srtt_ns = s.srtt_ns();
    r.ctr = s.counters();
    q.sessions.push_back(r);
  });
}

}  // namespace

void handle_query(shard_query& q, shard_protocol& proto, transport::endpoint& ep) noexcept {
  alloc_guard::allow allowed;
  try {
    auto& e = proto.engine();
    switch (q.kind) {
      case query_kind::list_queues: list_queues(q, proto); break;
      case query_kind::list_sessions: list_sessions(q, proto, ep); break;
      case query_kind::purge_queue:
        if (const auto i = e.find_queue(q.uri)) {
          q.found = true;
          q.count = e.purge(*i);
        }
        break;
      case query_kind::delete_queue:
        if (const auto i = e.find_queue(q.uri)) {
          q.found = true;
          std::vector<shard_protocol::queue_census> census;
          proto.census(census);
          const auto info = e.info(*i);
          const std::uint32_t producers = *i < census.size() ? census[*i].producers : 0;
          if (info.consumers != 0 || producers != 0) {
            q.error = "queue " + q.uri + " is open by " + std::to_string(info.consumers) + " consumer(s) and " +
                      std::to_string(producers) + " producer(s); close them first";
          } else {
            q.count = info.messages;
            e.remove_queue(*i);
          }
        }
        break;
      case query_kind::close_session:
        ep.for_each_session([&](transport::session& s) {
          if (s.id() == q.session_id && s.state() == transport::session_state::open) {
            q.found = true;
            s.close(wire::status::shutting_down);
          }
        });
        break;
      case query_kind::set_config: q.count = e.set_config(q.config); break;
      case query_kind::set_serving: proto.set_serving(q.flag); break;
      case query_kind::set_draining: ep.set_draining(q.flag); break;
    }
  } catch (const std::exception& ex) {
    q.error = std::string("shard failed to answer: ") + ex.what();
  }
  q.done.store(true, std::memory_order_release);
}

}  // namespace sluice::broker
