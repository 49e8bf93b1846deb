// datapath/wire/layouts.h — the fixed byte layouts of wire protocol v1.
//
// Each struct is exactly what travels on the wire (little-endian, naturally
// aligned, no padding); static_asserts pin every offset to docs/protocol.md.
// Variable-length parts (URIs, properties, payloads, entries) follow the
// fixed part. Decoders copy a layout out of the buffer with memcpy, never cast
// a pointer into it, so datagrams need no particular alignment.
#pragma once

#include <cstddef>
#include <cstdint>

#include "datapath/wire/constants.h"

namespace sluice::wire {

// ---- packet header (every datagram) -----------------------------------------
struct packet_header {
  std::uint32_t magic;
  std::uint8_t version;
  std::uint8_t kind;        // packet_kind
  std::uint16_t flags;      // k_pflag_*
  std::uint64_t session_id; // 0 in CONNECT and CHALLENGE
  std::uint32_t ack_seq;    // DATA: all sequenced frames below this were received
  std::uint16_t payload_sz; // bytes after this header
  std::uint16_t frame_cnt;  // DATA: frames in the payload; else 0
};
static_assert(sizeof(packet_header) == k_packet_header_sz);
static_assert(offsetof(packet_header, version) == 4);
static_assert(offsetof(packet_header, kind) == 5);
static_assert(offsetof(packet_header, flags) == 6);
static_assert(offsetof(packet_header, session_id) == 8);
static_assert(offsetof(packet_header, ack_seq) == 16);
static_assert(offsetof(packet_header, payload_sz) == 20);
static_assert(offsetof(packet_header, frame_cnt) == 22);

// ---- handshake bodies --------------------------------------------------------
struct connect_body {
  std::uint64_t client_nonce;    // initiator's random id for this attempt
  std::uint64_t cookie_mac;      // 0 on the first CONNECT, else echoed from CHALLENGE
  std::uint32_t cookie_ts;       // responder's coarse clock (s); 0 on the first CONNECT
  std::uint16_t max_datagram_sz; // largest datagram the initiator accepts
  std::uint16_t reserved0;
  std::uint32_t recv_window;     // sequenced frames the initiator buffers
  std::uint32_t max_message_sz;  // largest reassembled frame body it accepts
  std::uint8_t padding[16];      // zeros: CONNECT is never smaller than a reply
};
static_assert(sizeof(connect_body) == 48);
static_assert(offsetof(connect_body, cookie_mac) == 8);
static_assert(offsetof(connect_body, cookie_ts) == 16);
static_assert(offsetof(connect_body, max_datagram_sz) == 20);
static_assert(offsetof(connect_body, recv_window) == 24);
static_assert(offsetof(connect_body, max_message_sz) == 28);
static_assert(offsetof(connect_body, padding) == 32);

struct challenge_body {
  std::uint64_t client_nonce;
  std::uint64_t cookie_mac;
  std::uint32_t cookie_ts;
  std::uint32_t reserved0;
};
static_assert(sizeof(challenge_body) == 24);
static_assert(offsetof(challenge_body, cookie_mac) == 8);
static_assert(offsetof(challenge_body, cookie_ts) == 16);

struct accept_body {
  std::uint64_t client_nonce;
  std::uint16_t max_datagram_sz;
  std::uint16_t reserved0;
  std::uint32_t recv_window;
  std::uint32_t max_message_sz;
  std::uint32_t reserved1;
};
static_assert(sizeof(accept_body) == 24);
static_assert(offsetof(accept_body, max_datagram_sz) == 8);
static_assert(offsetof(accept_body, recv_window) == 12);
static_assert(offsetof(accept_body, max_message_sz) == 16);

struct reset_body {
  std::uint16_t reason;  // status
  std::uint16_t reserved0;
  std::uint32_t reserved1;
};
static_assert(sizeof(reset_body) == 8);

struct refuse_body {
  std::uint64_t client_nonce;  // copied from the CONNECT
  std::uint16_t reason;        // status: limit_reached, shutting_down, ...; never ok
  std::uint16_t reserved0;
  std::uint32_t reserved1;
};
static_assert(sizeof(refuse_body) == 16);
static_assert(offsetof(refuse_body, reason) == 8);

// ---- frame header (every frame inside a DATA packet) -------------------------
struct frame_header {
  std::uint8_t type;      // frame_type
  std::uint8_t flags;     // per type; unknown bits must be 0
  std::uint16_t body_sz;  // bytes after this header
  std::uint32_t seq;      // sequenced frames: sequence number; else 0
};
static_assert(sizeof(frame_header) == k_frame_header_sz);
static_assert(offsetof(frame_header, flags) == 1);
static_assert(offsetof(frame_header, body_sz) == 2);
static_assert(offsetof(frame_header, seq) == 4);

// ---- transport frames ----------------------------------------------------------
struct ranges_fixed {  // SACK and NAK
  std::uint16_t range_cnt;
  std::uint16_t reserved0;
};
static_assert(sizeof(ranges_fixed) == 4);
struct seq_range {  // [start, end) in sequence space
  std::uint32_t start;
  std::uint32_t end;
  bool operator==(const seq_range&) const = default;
};
static_assert(sizeof(seq_range) == 8);

struct ping_fixed {
  std::uint64_t nonce;
};
static_assert(sizeof(ping_fixed) == 8);
inline constexpr std::uint8_t k_ping_flag_reply = 1u << 0;

struct window_fixed {
  std::uint32_t bytes;  // frame bytes the receiver takes in flight beyond ack_seq
};
static_assert(sizeof(window_fixed) == 4);

struct close_fixed {
  std::uint16_t reason;  // status
  std::uint16_t text_sz;
  std::uint32_t reserved0;
};
static_assert(sizeof(close_fixed) == 8);

struct fragment_fixed {
  std::uint8_t inner_type;  // application frame_type being carried
  std::uint8_t reserved0;
  std::uint16_t reserved1;
  std::uint32_t total_sz;   // body size of the whole inner frame
  std::uint32_t offset;     // where this chunk starts in it
  std::uint32_t reserved2;
};
static_assert(sizeof(fragment_fixed) == 16);
static_assert(offsetof(fragment_fixed, total_sz) == 4);
static_assert(offsetof(fragment_fixed, offset) == 8);

// ---- application frames ----------------------------------------------------------
struct guid {
  std::uint64_t seq;        // per-partition sequence
  std::uint32_t partition;
  std::uint16_t node;
  std::uint16_t reserved0;
  bool operator==(const guid&) const = default;
};
static_assert(sizeof(guid) == 16);
static_assert(offsetof(guid, partition) == 8);
static_assert(offsetof(guid, node) == 12);

inline constexpr std::uint16_t k_open_flag_read = 1u << 0;
inline constexpr std::uint16_t k_open_flag_write = 1u << 1;

struct open_queue_fixed {
  std::uint32_t req_id;
  std::uint16_t flags;       // k_open_flag_*
  std::uint16_t uri_sz;      // 1..k_uri_sz_max
  std::uint16_t app_id_sz;   // 0..k_app_id_sz_max
  std::uint16_t reserved0;
  std::int32_t priority;     // consumer priority, higher first
  std::uint32_t max_unconfirmed_msgs;
  std::uint32_t reserved1;
  std::uint64_t max_unconfirmed_bytes;
};
static_assert(sizeof(open_queue_fixed) == 32);
static_assert(offsetof(open_queue_fixed, flags) == 4);
static_assert(offsetof(open_queue_fixed, uri_sz) == 6);
static_assert(offsetof(open_queue_fixed, app_id_sz) == 8);
static_assert(offsetof(open_queue_fixed, priority) == 12);
static_assert(offsetof(open_queue_fixed, max_unconfirmed_msgs) == 16);
static_assert(offsetof(open_queue_fixed, max_unconfirmed_bytes) == 24);

struct queue_opened_fixed {
  std::uint32_t req_id;
  std::uint32_t queue_id;  // session-scoped handle used by PUT/PUSH/CONFIRM
  std::uint16_t status;
  std::uint16_t reserved0;
  std::uint32_t max_message_sz;
};
static_assert(sizeof(queue_opened_fixed) == 16);
static_assert(offsetof(queue_opened_fixed, status) == 8);
static_assert(offsetof(queue_opened_fixed, max_message_sz) == 12);

struct redirect_fixed {
  std::uint32_t req_id;
  std::uint16_t port;
  std::uint16_t family;  // 4 or 6
  std::uint8_t addr[16]; // IPv4 in the first 4 bytes, rest zero
};
static_assert(sizeof(redirect_fixed) == 24);
static_assert(offsetof(redirect_fixed, port) == 4);
static_assert(offsetof(redirect_fixed, family) == 6);
static_assert(offsetof(redirect_fixed, addr) == 8);

struct configure_queue_fixed {
  std::uint32_t req_id;
  std::uint32_t queue_id;
  std::int32_t priority;
  std::uint32_t max_unconfirmed_msgs;  // 0 pauses delivery
  std::uint64_t max_unconfirmed_bytes;
};
static_assert(sizeof(configure_queue_fixed) == 24);
static_assert(offsetof(configure_queue_fixed, priority) == 8);
static_assert(offsetof(configure_queue_fixed, max_unconfirmed_bytes) == 16);

struct close_queue_fixed {
  std::uint32_t req_id;
  std::uint32_t queue_id;
};
static_assert(sizeof(close_queue_fixed) == 8);

struct queue_result_fixed {
  std::uint32_t req_id;
  std::uint32_t queue_id;
  std::uint16_t status;
  std::uint16_t reserved0;
  std::uint32_t reserved1;
};
static_assert(sizeof(queue_result_fixed) == 16);
static_assert(offsetof(queue_result_fixed, status) == 8);

struct put_fixed {
  std::uint32_t queue_id;
  std::uint32_t corr_id;    // producer's id, echoed in the ACK
  std::uint16_t flags;      // none defined in v1: 0
  std::uint16_t props_sz;   // bytes of the properties block (0 = none)
  std::uint32_t payload_sz;
};
static_assert(sizeof(put_fixed) == 16);
static_assert(offsetof(put_fixed, corr_id) == 4);
static_assert(offsetof(put_fixed, flags) == 8);
static_assert(offsetof(put_fixed, props_sz) == 10);
static_assert(offsetof(put_fixed, payload_sz) == 12);

struct batch_fixed {  // ACK and CONFIRM
  std::uint16_t entry_cnt;
  std::uint16_t reserved0;
  std::uint32_t reserved1;
};
static_assert(sizeof(batch_fixed) == 8);

struct ack_entry {
  std::uint32_t queue_id;
  std::uint32_t corr_id;
  std::uint16_t status;
  std::uint16_t reserved0;
  std::uint32_t reserved1;
  guid id;
  bool operator==(const ack_entry&) const = default;
};
static_assert(sizeof(ack_entry) == 32);
static_assert(offsetof(ack_entry, corr_id) == 4);
static_assert(offsetof(ack_entry, status) == 8);
static_assert(offsetof(ack_entry, id) == 16);

struct push_fixed {
  std::uint32_t queue_id;
  std::uint16_t delivery_cnt;  // 1 on first delivery
  std::uint16_t props_sz;
  guid id;
  std::uint32_t payload_sz;
  std::uint32_t flags;         // none defined in v1: 0
};
static_assert(sizeof(push_fixed) == 32);
static_assert(offsetof(push_fixed, delivery_cnt) == 4);
static_assert(offsetof(push_fixed, props_sz) == 6);
static_assert(offsetof(push_fixed, id) == 8);
static_assert(offsetof(push_fixed, payload_sz) == 24);
static_assert(offsetof(push_fixed, flags) == 28);

struct confirm_entry {
  std::uint32_t queue_id;
  std::uint32_t reserved0;
  guid id;
  bool operator==(const confirm_entry&) const = default;
};
static_assert(sizeof(confirm_entry) == 24);
static_assert(offsetof(confirm_entry, id) == 8);

enum class error_ref : std::uint16_t { none = 0, req_id = 1, corr_id = 2, queue_id = 3, seq = 4 };
inline constexpr std::uint16_t k_error_ref_max = 4;

struct error_fixed {
  std::uint16_t code;     // status
  std::uint16_t text_sz;  // 0..k_error_text_sz_max, UTF-8
  std::uint16_t ref_type; // error_ref: what `ref` names
  std::uint16_t reserved0;
  std::uint32_t ref;
  std::uint32_t reserved1;
};
static_assert(sizeof(error_fixed) == 16);
static_assert(offsetof(error_fixed, ref_type) == 4);
static_assert(offsetof(error_fixed, ref) == 8);

// ---- message properties block ----------------------------------------------
struct properties_fixed {
  std::uint16_t cnt;
  std::uint16_t reserved0;
};
static_assert(sizeof(properties_fixed) == 4);

enum class property_type : std::uint8_t { boolean = 1, int32 = 2, int64 = 3, string = 4, binary = 5 };

struct property_entry_fixed {
  std::uint8_t key_sz;    // 1..k_property_key_sz_max
  std::uint8_t type;      // property_type
  std::uint16_t value_sz; // bool 1, int32 4, int64 8, string/binary any
};
static_assert(sizeof(property_entry_fixed) == 4);

}  // namespace sluice::wire
