// tools/cli_suggest.h — "unknown command" with the nearest valid one, for
// the `sluice` and `sluicectl` command lines (CLI11 alone answers a
// mistyped command with "A subcommand is required").
#pragma once

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

namespace sluice::cli {

inline std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

// When the first word of argv that is neither an option nor the value of
// one of `valued` (options that take a value) is not one of app's
// subcommands: prints "<prog>: unknown command "x"", with the nearest
// subcommand when one is close, and returns true.
inline bool report_unknown_command(const char* prog, const CLI::App& app, int argc, char** argv,
                                   const std::vector<std::string>& valued) {
  std::string word;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") break;
    if (!a.empty() && a[0] == '-') {
      if (a.find('=') == std::string::npos && std::find(valued.begin(), valued.end(), a) != valued.end()) ++i;
      continue;
    }
    word = a;
    break;
  }
  if (word.empty()) return false;
  std::string best;
  std::size_t best_d = SIZE_MAX;
  for (const CLI::App* sub : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (sub->get_name() == word) return false;
    const std::size_t d = edit_distance(word, sub->get_name());
    if (d < best_d) {
      best_d = d;
      best = sub->get_name();
    }
  }
  if (!best.empty() && best_d <= std::max<std::size_t>(2, best.size() / 3)) {
    std::fprintf(stderr, "%s: unknown command \"%s\"; did you mean \"%s\"? (--help lists them)\n", prog,
                 word.c_str(), best.c_str());
  } else {
    std::fprintf(stderr, "%s: unknown command \"%s\" (--help lists the commands)\n", prog, word.c_str());
  }
  return true;
}

}  // namespace sluice::cli
