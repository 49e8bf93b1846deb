// bench/scenarios.h — the named scenarios of issue 7. Names are stable so
// results can be compared over time; see README.md for what each measures.
#pragma once

#include <string>
#include <vector>

#include "bench/harness.h"

namespace sluice::bench {

// Every scenario, in report order. `smoke`: about a second each, rates capped
// at 5,000 msg/s (correctness only).
std::vector<scenario> all_scenarios(bool smoke);
// The scenario names (w1-latency, ...), for --help and validation.
std::vector<std::string> scenario_names();

}  // namespace sluice::bench
