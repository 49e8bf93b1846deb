// bench/disk_floor.h — the physical floor of a durable write on this disk:
// one 4 KiB O_DIRECT pwrite followed by fdatasync, repeated, in a scratch
// directory on the same file system as the brokers' journals. Measured in
// the same run as w4-durable so the report can put the two side by side.
#pragma once

#include <string>

#include "common/histogram.h"

namespace sluice::bench {

struct disk_floor_result {
  std::string dir;    // where it was measured
  std::string error;  // non-empty: not measured, and why
  histogram write_sync;  // ns per write + fdatasync
};

// `count` samples (a preallocated, pre-written 4 KiB-aligned file, written in
// place so no metadata changes but the ones the file system makes anyway).
disk_floor_result measure_disk_floor(int count);

}  // namespace sluice::bench
