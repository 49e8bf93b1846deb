// tools/sluicectl.h — pieces of sluicectl shared between its files.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace sluicectl {

using json = nlohmann::json;

// One request to sluice-control's operator socket; the reply object, or
// {"ok": false, "error": ...} (with "unreachable": true when the socket
// could not be reached).
json request(const std::string& socket, const json& req);

// Human renderings of replies (tables), by command name.
void print_human(const std::string& cmd, const json& reply);

// A plain text table: header row, then rows; columns sized to fit.
void print_table(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows);

// `top`: refreshes every `interval_s` until interrupted or `iterations` (0 = forever).
int run_top(const std::string& socket, double interval_s, int iterations);

int run_journal_command(const std::string& path, bool details, bool as_json);

}  // namespace sluicectl
