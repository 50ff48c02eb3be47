#pragma once
// What `xgrad lr-find` shows: the range test's curve as a text chart for the
// terminal, and with --report DIR a page (DIR/report.html) and DIR/metrics.csv.
#include <string>
#include <utility>
#include <vector>

#include "train/lr_finder.hpp"

namespace xg {

// The curve as a small text chart (smoothed loss against log10 LR, the
// suggestions marked S and V), lines ending in '\n'.
std::string format_lr_chart(const LrFindResult& result, const LrFindSettings& settings, int width = 64,
                            int height = 16);

struct LrFindReport {
  std::string data_name;
  std::vector<std::pair<std::string, std::string>> config;  // key/value lines of the run
  LrFindSettings settings;
  LrFindResult result;
};

void write_lr_find_report(const std::string& dir, const LrFindReport& run);

}  // namespace xg
