// datapath/broker/shard_control.h — a shard's handling of control requests.
#pragma once

#include "datapath/broker/shard_protocol.h"
#include "datapath/broker/shard_query.h"
#include "datapath/transport/endpoint.h"

namespace sluice::broker {

// Answers or applies `q` and sets q.done. Shard thread, between iterations.
void handle_query(shard_query& q, shard_protocol& proto, transport::endpoint& ep) noexcept;

}  // namespace sluice::broker
