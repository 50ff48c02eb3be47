#include "report/console.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <vector>
#include <sys/ioctl.h>
#include <unistd.h>

#include "io/number_text.hpp"

namespace xg {

int terminal_columns(int fd) {
  winsize size{};
  if (::ioctl(fd, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  if (const char* columns = std::getenv("COLUMNS")) {
    const int n = std::atoi(columns);
    if (n > 0 && n < 10000) return n;
  }
  return 80;
}

std::string format_duration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds) || seconds > 1e8) return "?";
  const long total = long(seconds + 0.5), h = total / 3600, m = total / 60 % 60, s = total % 60;
  char text[32];
  if (h > 0) std::snprintf(text, sizeof text, "%ld:%02ld:%02ld", h, m, s);
  else std::snprintf(text, sizeof text, "%ld:%02ld", m, s);
  return text;
}

namespace {

// "950", "17.9k", "1.2M": three significant digits at most.
std::string format_rate(double per_second) {
  char text[32];
  if (per_second >= 1e6) std::snprintf(text, sizeof text, "%.3gM", per_second / 1e6);
  else if (per_second >= 1e3) std::snprintf(text, sizeof text, "%.3gk", per_second / 1e3);
  else std::snprintf(text, sizeof text, "%.3g", per_second);
  return text;
}

}  // namespace

std::string format_progress(const Progress& p, int columns) {
  const std::size_t width = std::size_t(std::max(columns - 1, 1));
  const double fraction = p.total ? std::min(1.0, double(p.done) / double(p.total)) : 0.0;
  const std::string count = std::to_string(p.done) + "/" + std::to_string(p.total);
  const double eta = p.done ? p.seconds * double(p.total - std::min(p.done, p.total)) / double(p.done) : -1.0;
  const std::string elapsed_eta = format_duration(p.seconds) + "<" + format_duration(eta);
  const std::string eta_only = "ETA " + format_duration(eta);
  const std::string rate = p.seconds > 0 && p.items > 0 ? format_rate(p.items / p.seconds) + " items/s" : "";
  const std::string loss = std::isnan(p.loss) ? "" : "loss " + format_fixed(p.loss, 4);

  // The parts in order, most important first to stay; the bar fills what is left.
  struct Layout {
    bool detail, rate, elapsed, bar;
  };
  for (const Layout l : {Layout{true, true, true, true}, Layout{true, false, true, true}, Layout{false, false, true, true},
                         Layout{false, false, false, true}, Layout{false, false, false, false}}) {
    std::string before = p.label + "  " + count, after;
    auto append = [&after](const std::string& part) {
      if (!part.empty()) after += "  " + part;
    };
    if (!l.bar) before = p.label + " " + count;
    append(l.elapsed ? elapsed_eta : eta_only);
    if (l.rate) append(rate);
    append(loss);
    if (l.detail) append(p.detail);
    if (l.detail && p.detail.empty() && !l.rate) continue;  // the same as the next layout
    if (!l.bar) {
      std::string line = before + after;
      if (line.size() > width) line.resize(width);
      while (!line.empty() && line.back() == ' ') line.pop_back();
      return line;
    }
    const std::size_t fixed = before.size() + 3 + after.size();  // " [" and "]"
    if (fixed + 10 > width) continue;                            // a bar under 10 cells says little
    const std::size_t cells = std::min<std::size_t>(30, width - fixed);
    const std::size_t filled = std::size_t(double(cells) * fraction);
    return before + " [" + std::string(filled, '#') + std::string(cells - filled, '.') + "]" + after;
  }
  return "";  // not reached: the last layout always returns
}

void draw_progress_line(std::FILE* out, const Progress& progress) {
  std::fprintf(out, "\r%s\x1b[K", format_progress(progress, terminal_columns(::fileno(out))).c_str());
  std::fflush(out);
}

void clear_progress_line(std::FILE* out) {
  std::fprintf(out, "\r\x1b[K");
  std::fflush(out);
}

namespace {

// The table's cells, left to right, with their widths; `keep` says which fit
// `columns` (dropping time, then lr, then train_acc).
std::string table_line(const std::vector<std::string>& cells, int columns) {
  const int widths[] = {-7, 10, 9, 9, 8, 8, 7};  // negative: left-aligned
  std::vector<bool> keep(cells.size(), true);
  auto width = [&] {
    int total = 0;
    for (std::size_t i = 0; i < cells.size(); ++i)
      if (keep[i]) total += (i ? 2 : 0) + std::max(std::abs(widths[i]), int(cells[i].size()));
    return total;
  };
  for (std::size_t drop : {6, 5, 2})
    if (columns > 0 && width() > columns - 1) keep[drop] = false;
  std::string line;
  for (std::size_t i = 0; i < cells.size(); ++i) {
    if (!keep[i]) continue;
    const std::size_t w = std::size_t(std::abs(widths[i])), pad = w > cells[i].size() ? w - cells[i].size() : 0;
    if (i) line += "  ";
    line += widths[i] < 0 ? cells[i] + std::string(pad, ' ') : std::string(pad, ' ') + cells[i];
  }
  while (!line.empty() && line.back() == ' ') line.pop_back();
  return line;
}

}  // namespace

std::string format_epoch_header(bool validation, int columns) {
  const std::string h = validation ? "val" : "test";
  return table_line({"epoch", "train_loss", "train_acc", h + "_loss", h + "_acc", "lr", "time"}, columns);
}

std::string format_epoch_row(const EpochStats& s, std::size_t epochs, int columns) {
  return table_line({std::to_string(s.epoch) + "/" + std::to_string(epochs), format_fixed(s.train_loss, 4),
                     format_fixed(s.train_acc, 4), format_fixed(s.test_loss, 4), format_fixed(s.test_acc, 4),
                     format_number(s.lr, 3), format_fixed(s.seconds, 2) + "s"},
                    columns);
}

}  // namespace xg
