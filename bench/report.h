// bench/report.h — what a run produced, as a markdown report with tables per
// scenario, the targets, BlazingMQ's published table alongside, and
// gnuplot PNGs; plus results.jsonl (one object per system × scenario).
#pragma once

#include <string>

#include "bench/disk_floor.h"
#include <vector>

#include "bench/harness.h"

namespace sluice::bench {

struct system_info {
  std::string name;
  std::string description;
};

struct report_data {
  std::string started_utc, finished_utc;
  bool smoke = false;
  std::vector<system_info> systems;
  std::vector<run_result> results;
  std::string disk_refusal;  // why Sluice skipped w4 ("" if it ran)
  std::string af_xdp_note;
  disk_floor_result disk_floor;  // measured when w4 ran (count 0 otherwise)
};

std::string utc_now();
// Writes report.md, results.jsonl, *.dat, plots.gp and the PNGs into `dir`.
void write_report(const report_data& rep, const std::string& dir);
// A short table of every result on stdout.
void print_summary(const report_data& rep);

}  // namespace sluice::bench
