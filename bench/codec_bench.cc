// bench/codec_bench.cc — CPU cost of the wire codec, one message kind at a time.
//
// Every input is built before the timed loop, so a figure is the codec alone:
// copying a fixed layout in or out plus validating every field. Encoders
// validate by decoding what they wrote (frames.cc, `checked`), so an encode
// costs about one decode more than the copy: that is intended, nothing
// invalid is ever sent.
//
// Items are messages, batch entries or frames (each benchmark says which);
// bytes are wire bytes written or read. Single-threaded. The figures belong
// to the machine they were measured on and are never asserted: see
// bench/README.md.
#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "datapath/wire/codec.h"
#include "datapath/wire/properties.h"

namespace sluice::wire {
namespace {

using buf = std::vector<std::byte>;

constexpr std::uint32_t k_queue_id = 7;
constexpr std::size_t k_batch_entry_cnt = 32;

buf filled(std::size_t n, std::uint8_t v) { return buf(n, std::byte{v}); }

// Items and bytes per iteration, reported as rates.
void set_processed(benchmark::State& state, std::size_t items_per_iter, std::size_t bytes_per_iter) {
  state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(items_per_iter));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(bytes_per_iter));
}

// The loop body of every benchmark: `in` is re-read from memory each time
// (DoNotOptimize on an lvalue tells the compiler it may have changed), the
// result is kept, and ClobberMemory makes an encoder's stores observable, so
// no part of the work can be hoisted out of the loop or dropped.
template <class In, class Fn>
void run(benchmark::State& state, In in, Fn fn) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(in);
    auto r = fn(in);
    benchmark::DoNotOptimize(r);
    benchmark::ClobberMemory();
  }
}

// A properties block as a producer would attach one: content type, retry
// count, trace id. 69 bytes.
wresult<bytes> make_props(mut_bytes storage) noexcept {
  property_writer w(storage);
  if (auto s = w.add_string("content-type", "application/json"); !s) return unexpected{s.error()};
  if (auto s = w.add_int32("retry", 3); !s) return unexpected{s.error()};
  if (auto s = w.add_int64("trace-id", 0x0123456789abcdefLL); !s) return unexpected{s.error()};
  return w.finish();
}

guid make_guid(std::uint64_t i) noexcept { return guid{1000 + i, 3, 1, 0}; }

// ---- packet header --------------------------------------------------------------

packet_header data_header(std::uint16_t payload_sz, std::uint16_t frame_cnt) noexcept {
  packet_header h{};
  h.kind = static_cast<std::uint8_t>(packet_kind::data);
  h.flags = k_pflag_ack_valid;
  h.session_id = 0x1122334455667788ULL;
  h.ack_seq = 123456;
  h.payload_sz = payload_sz;
  h.frame_cnt = frame_cnt;
  return h;
}

// Items: headers. Bytes: the 24 header bytes.
void bm_packet_header_encode(benchmark::State& state) {
  std::array<std::byte, k_packet_header_sz> out{};
  const packet_header h = data_header(1448, 16);
  run(state, h, [&out](const packet_header& v) {
    encode_packet_header(out, v);
    return out.data();
  });
  set_processed(state, 1, k_packet_header_sz);
}
BENCHMARK(bm_packet_header_encode);

// A full-size DATA datagram; only its header is read. Items: headers.
void bm_packet_header_decode(benchmark::State& state) {
  buf dgram = filled(k_datagram_sz_default, 0);
  encode_packet_header(dgram, data_header(static_cast<std::uint16_t>(k_datagram_sz_default - k_packet_header_sz), 16));
  if (!decode_packet_header(dgram)) state.SkipWithError("reference header does not decode");
  run(state, bytes{dgram}, [](bytes in) { return decode_packet_header(in); });
  set_processed(state, 1, k_packet_header_sz);
}
BENCHMARK(bm_packet_header_decode);

// ---- PUT ---------------------------------------------------------------------------
// Args: payload bytes, and whether the 3-property block is attached.

struct put_input {
  std::array<std::byte, 256> props_storage{};
  buf payload;
  put_view view{};
  bool ok = true;

  explicit put_input(const benchmark::State& state)
      : payload(filled(static_cast<std::size_t>(state.range(0)), 0xab)) {
    view.f = put_fixed{k_queue_id, 42, 0, 0, 0};
    view.payload = payload;
    if (state.range(1) != 0) {
      const auto p = make_props(props_storage);
      ok = p.ok();
      if (ok) view.properties = *p;
    }
  }
  std::size_t body_sz() const noexcept { return sizeof(put_fixed) + view.properties.size() + view.payload.size(); }
};

// Items: PUT bodies. Bytes: body bytes written.
void bm_put_encode(benchmark::State& state) {
  const put_input in(state);
  buf out = filled(2048, 0);
  if (!in.ok || !encode_put(out, in.view)) state.SkipWithError("reference PUT does not encode");
  run(state, mut_bytes{out}, [&in](mut_bytes o) { return encode_put(o, in.view); });
  set_processed(state, 1, in.body_sz());
}
BENCHMARK(bm_put_encode)->ArgNames({"payload_sz", "props"})->ArgsProduct({{64, 1024}, {0, 1}});

// Items: PUT bodies. Bytes: body bytes read (properties validated, payload
// not touched: a broker stores it without looking).
void bm_put_decode(benchmark::State& state) {
  const put_input in(state);
  buf body = filled(2048, 0);
  const auto n = encode_put(body, in.view);
  if (!in.ok || !n) {
    state.SkipWithError("reference PUT does not encode");
  } else {
    body.resize(*n);
  }
  run(state, bytes{body}, [](bytes b) { return decode_put(b); });
  set_processed(state, 1, body.size());
}
BENCHMARK(bm_put_decode)->ArgNames({"payload_sz", "props"})->ArgsProduct({{64, 1024}, {0, 1}});

// ---- properties ----------------------------------------------------------------------
// The producer builds the block per message; the consumer reads it.

// Items: blocks of 3 properties.
void bm_properties_write(benchmark::State& state) {
  std::array<std::byte, 256> storage{};
  const auto ref = make_props(storage);
  const std::size_t block_sz = ref.ok() ? ref->size() : 0;
  if (!ref) state.SkipWithError("reference properties do not encode");
  run(state, mut_bytes{storage}, [](mut_bytes s) { return make_props(s); });
  set_processed(state, 1, block_sz);
}
BENCHMARK(bm_properties_write);

// Validate, then read every property. Items: blocks of 3 properties.
void bm_properties_read(benchmark::State& state) {
  std::array<std::byte, 256> storage{};
  const auto block = make_props(storage);
  if (!block || !validate_properties(*block)) state.SkipWithError("reference properties do not validate");
  const bytes in = block.ok() ? *block : bytes{};
  run(state, in, [](bytes b) {
    std::int64_t sum = 0;
    if (!validate_properties(b)) return sum;
    property_reader r(b);
    while (!r.done()) {
      const property p = r.next();
      sum += static_cast<std::int64_t>(p.key.size() + p.value.size());
    }
    return sum;
  });
  set_processed(state, 1, in.size());
}
BENCHMARK(bm_properties_read);

// ---- ACK batch -------------------------------------------------------------------------

std::array<ack_entry, k_batch_entry_cnt> make_acks() noexcept {
  std::array<ack_entry, k_batch_entry_cnt> e{};
  for (std::size_t i = 0; i < e.size(); ++i) {
    e[i] = ack_entry{k_queue_id, static_cast<std::uint32_t>(i), 0, 0, 0, make_guid(i)};
  }
  return e;
}

// Items: ACK entries (32 per frame). Bytes: body bytes written.
void bm_ack_encode(benchmark::State& state) {
  const auto entries = make_acks();
  buf out = filled(2048, 0);
  const auto n = encode_ack(out, entries);
  if (!n) state.SkipWithError("reference ACK does not encode");
  run(state, mut_bytes{out}, [&entries](mut_bytes o) { return encode_ack(o, entries); });
  set_processed(state, entries.size(), n.ok() ? *n : 0);
}
BENCHMARK(bm_ack_encode);

// Items: ACK entries. Bytes: body bytes read.
void bm_ack_decode(benchmark::State& state) {
  const auto entries = make_acks();
  buf body = filled(2048, 0);
  const auto n = encode_ack(body, entries);
  if (!n) {
    state.SkipWithError("reference ACK does not encode");
  } else {
    body.resize(*n);
  }
  run(state, bytes{body}, [](bytes b) { return decode_ack(b); });
  set_processed(state, entries.size(), body.size());
}
BENCHMARK(bm_ack_decode);

// ---- PUSH --------------------------------------------------------------------------------

push_view make_push(bytes payload) noexcept {
  push_view v{};
  v.f = push_fixed{k_queue_id, 1, 0, make_guid(5), 0, 0};
  v.payload = payload;
  return v;
}

constexpr std::size_t k_push_payload_sz = 64;

// Items: PUSH bodies (64-byte payload, no properties). Bytes: body bytes written.
void bm_push_encode(benchmark::State& state) {
  const buf payload = filled(k_push_payload_sz, 0xcd);
  const push_view v = make_push(payload);
  buf out = filled(2048, 0);
  const auto n = encode_push(out, v);
  if (!n) state.SkipWithError("reference PUSH does not encode");
  run(state, mut_bytes{out}, [&v](mut_bytes o) { return encode_push(o, v); });
  set_processed(state, 1, n.ok() ? *n : 0);
}
BENCHMARK(bm_push_encode);

// Items: PUSH bodies. Bytes: body bytes read.
void bm_push_decode(benchmark::State& state) {
  const buf payload = filled(k_push_payload_sz, 0xcd);
  buf body = filled(2048, 0);
  const auto n = encode_push(body, make_push(payload));
  if (!n) {
    state.SkipWithError("reference PUSH does not encode");
  } else {
    body.resize(*n);
  }
  run(state, bytes{body}, [](bytes b) { return decode_push(b); });
  set_processed(state, 1, body.size());
}
BENCHMARK(bm_push_decode);

// ---- CONFIRM batch ------------------------------------------------------------------------

std::array<confirm_entry, k_batch_entry_cnt> make_confirms() noexcept {
  std::array<confirm_entry, k_batch_entry_cnt> e{};
  for (std::size_t i = 0; i < e.size(); ++i) e[i] = confirm_entry{k_queue_id, 0, make_guid(i)};
  return e;
}

// Items: CONFIRM entries (32 per frame). Bytes: body bytes written.
void bm_confirm_encode(benchmark::State& state) {
  const auto entries = make_confirms();
  buf out = filled(2048, 0);
  const auto n = encode_confirm(out, entries);
  if (!n) state.SkipWithError("reference CONFIRM does not encode");
  run(state, mut_bytes{out}, [&entries](mut_bytes o) { return encode_confirm(o, entries); });
  set_processed(state, entries.size(), n.ok() ? *n : 0);
}
BENCHMARK(bm_confirm_encode);

// Items: CONFIRM entries. Bytes: body bytes read.
void bm_confirm_decode(benchmark::State& state) {
  const auto entries = make_confirms();
  buf body = filled(2048, 0);
  const auto n = encode_confirm(body, entries);
  if (!n) {
    state.SkipWithError("reference CONFIRM does not encode");
  } else {
    body.resize(*n);
  }
  run(state, bytes{body}, [](bytes b) { return decode_confirm(b); });
  set_processed(state, entries.size(), body.size());
}
BENCHMARK(bm_confirm_decode);

// ---- a whole DATA datagram -------------------------------------------------------------------
// What the receive path does per datagram before the session sees a frame:
// header, then every frame header and PUT body. Arg: PUT payload bytes; the
// datagram (at most 1472 bytes) holds as many such PUTs as fit.

struct walked {
  std::size_t frames = 0;
  std::size_t payload_sz = 0;
  bool ok = false;
};

walked walk_data(bytes dgram) noexcept {
  walked w;
  const auto h = decode_packet_header(dgram);
  if (!h) return w;
  frame_reader r(dgram.subspan(k_packet_header_sz), h->frame_cnt);
  while (!r.done()) {
    const auto f = r.next();
    if (!f || f->type() != frame_type::put) return w;
    const auto p = decode_put(f->body);
    if (!p) return w;
    ++w.frames;
    w.payload_sz += p->payload.size();
  }
  w.ok = !r.trailing_garbage();
  return w;
}

// A DATA datagram packed with PUT frames of `payload_sz` bytes each.
buf make_data_datagram(std::size_t payload_sz) {
  buf dgram = filled(k_datagram_sz_default, 0);
  const buf payload = filled(payload_sz, 0xef);
  buf body = filled(sizeof(put_fixed) + payload_sz, 0);
  std::size_t at = k_packet_header_sz;
  std::uint16_t frame_cnt = 0;
  for (std::uint32_t seq = 1000;; ++seq) {
    put_view v{};
    v.f = put_fixed{k_queue_id, seq, 0, 0, 0};
    v.payload = payload;
    const auto body_sz = encode_put(body, v);
    if (!body_sz) return {};
    const auto n = encode_frame(mut_bytes{dgram}.subspan(at), frame_type::put, 0, seq,
                                bytes{body}.first(*body_sz));
    if (!n) break;  // no_space: the datagram is full
    at += *n;
    ++frame_cnt;
  }
  encode_packet_header(dgram, data_header(static_cast<std::uint16_t>(at - k_packet_header_sz), frame_cnt));
  dgram.resize(at);
  return dgram;
}

// Items: PUT frames. Bytes: datagram bytes.
void bm_data_datagram_walk(benchmark::State& state) {
  const buf dgram = make_data_datagram(static_cast<std::size_t>(state.range(0)));
  const walked ref = walk_data(dgram);
  if (!ref.ok || ref.frames == 0) state.SkipWithError("reference datagram does not walk");
  run(state, bytes{dgram}, [](bytes in) { return walk_data(in); });
  set_processed(state, ref.frames, dgram.size());
  state.counters["frames_per_dgram"] = static_cast<double>(ref.frames);
}
BENCHMARK(bm_data_datagram_walk)->ArgName("payload_sz")->Arg(16)->Arg(64)->Arg(256);

}  // namespace
}  // namespace sluice::wire

BENCHMARK_MAIN();
