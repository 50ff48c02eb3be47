// report/console: the progress line at several terminal widths, durations,
// the epoch table's header and rows, and the terminal width lookup.
#include <doctest/doctest.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <unistd.h>

#include "report/console.hpp"

using namespace xg;

namespace {

Progress sample() {
  Progress p;
  p.label = "epoch 1/2";
  p.done = 280, p.total = 938;
  p.seconds = 3.0, p.items = 280.0 * 64;
  p.loss = 0.65634;
  return p;
}

std::size_t count(const std::string& text, char c) {
  std::size_t n = 0;
  for (char x : text) n += x == c;
  return n;
}

}  // namespace

TEST_CASE("console: format_duration writes m:ss, h:mm:ss, and ? for an unknown time") {
  CHECK(format_duration(0) == "0:00");
  CHECK(format_duration(7.4) == "0:07");
  CHECK(format_duration(59.6) == "1:00");
  CHECK(format_duration(723) == "12:03");
  CHECK(format_duration(3723) == "1:02:03");
  CHECK(format_duration(-1) == "?");
  CHECK(format_duration(std::nan("")) == "?");
}

TEST_CASE("console: a wide progress line has the bar, elapsed<ETA, items/s and the loss") {
  const std::string line = format_progress(sample(), 120);
  CAPTURE(line);
  CHECK(line.size() <= 119);
  CHECK(line.rfind("epoch 1/2  280/938 [", 0) == 0);
  CHECK(count(line, '#') + count(line, '.') >= 30);  // a 30-cell bar (and the loss's point)
  CHECK(count(line, '#') == 8);                      // 280/938 of 30 cells
  CHECK(line.find("0:03<0:07") != std::string::npos);  // 3 s for 280 steps: 7 s more for 658
  CHECK(line.find("5.97k items/s") != std::string::npos);
  CHECK(line.find("loss 0.6563") != std::string::npos);
}

TEST_CASE("console: the progress line fits every width, dropping parts in order") {
  for (int columns = 1; columns <= 200; ++columns) {
    const std::string line = format_progress(sample(), columns);
    CAPTURE(columns);
    CAPTURE(line);
    CHECK(line.size() <= std::size_t(std::max(columns - 1, 1)));
    CHECK(line.find('\n') == std::string::npos);
  }
  const std::string at80 = format_progress(sample(), 80);
  CHECK(at80.find("items/s") != std::string::npos);
  CHECK(at80.find('[') != std::string::npos);
  const std::string at45 = format_progress(sample(), 45);  // the bar shrinks, the rate goes, the ETA stays
  CAPTURE(at45);
  CHECK(at45.find("items/s") == std::string::npos);
  CHECK(at45.find("ETA 0:07") != std::string::npos);
  CHECK(at45.find("loss 0.6563") != std::string::npos);
  const std::string at30 = format_progress(sample(), 30);  // no room for a bar
  CAPTURE(at30);
  CHECK(at30.find('[') == std::string::npos);
  CHECK(at30.rfind("epoch 1/2 280/938  ETA 0:07", 0) == 0);
}

TEST_CASE("console: a progress detail (a sweep's rates) outlasts the rate, and goes before the elapsed time") {
  Progress p = sample();
  p.detail = "0.001:30% 0.01:30% 0.1:29%";
  p.loss = std::nan("");  // a sweep shows no one loss
  const std::string at120 = format_progress(p, 120);
  CAPTURE(at120);
  CHECK(at120.find("items/s  0.001:30% 0.01:30% 0.1:29%") != std::string::npos);
  const std::string at80 = format_progress(p, 80);
  CAPTURE(at80);
  CHECK(at80.find("0:03<0:07  0.001:30% 0.01:30% 0.1:29%") != std::string::npos);
  CHECK(at80.find("items/s") == std::string::npos);
  CHECK(at80.find('[') != std::string::npos);
  const std::string at50 = format_progress(p, 50);
  CAPTURE(at50);
  CHECK(at50.find("0.001:30%") == std::string::npos);
  CHECK(at50.find("0:03<0:07") != std::string::npos);
  CHECK(at50.find('[') != std::string::npos);
}

TEST_CASE("console: before the first step the ETA is unknown") {
  Progress p = sample();
  p.done = 0, p.seconds = 0, p.items = 0;
  const std::string line = format_progress(p, 100);
  CAPTURE(line);
  CHECK(line.find("0:00<?") != std::string::npos);
  CHECK(line.find("items/s") == std::string::npos);
}

TEST_CASE("console: the epoch table fits 80 columns and names the held-out set") {
  EpochStats s;
  s.epoch = 10, s.train_loss = 0.15159, s.train_acc = 0.94181, s.test_loss = 0.32091, s.test_acc = 0.89541;
  s.lr = 0.00122, s.seconds = 123.456;
  const std::string header = format_epoch_header(false), row = format_epoch_row(s, 100);
  CAPTURE(header);
  CAPTURE(row);
  CHECK(header == "epoch    train_loss  train_acc  test_loss  test_acc        lr     time");
  CHECK(row == "10/100       0.1516     0.9418     0.3209    0.8954   0.00122  123.46s");
  CHECK(row.size() <= 80);
  CHECK(format_epoch_header(true).find("val_loss   val_acc") != std::string::npos);
  s.train_loss = std::nan(""), s.lr = 1.25e-5;
  const std::string odd = format_epoch_row(s, 100);
  CHECK(odd.find(" nan ") != std::string::npos);
  CHECK(odd.find("1.25e-05") != std::string::npos);
}

TEST_CASE("console: in a narrow terminal the epoch table leaves out time, then lr, then train_acc") {
  EpochStats s;
  s.epoch = 3, s.train_loss = 0.5, s.train_acc = 0.8, s.test_loss = 0.45, s.test_acc = 0.83, s.lr = 0.05, s.seconds = 2.5;
  CHECK(format_epoch_row(s, 10, 120) == format_epoch_row(s, 10));
  CHECK(format_epoch_row(s, 10, 71) == format_epoch_row(s, 10));  // 70 characters fit 71 columns
  CHECK(format_epoch_header(false, 70) == "epoch    train_loss  train_acc  test_loss  test_acc        lr");
  CHECK(format_epoch_row(s, 10, 70) == "3/10         0.5000     0.8000     0.4500    0.8300      0.05");
  CHECK(format_epoch_header(false, 52) == "epoch    train_loss  train_acc  test_loss  test_acc");
  CHECK(format_epoch_header(false, 45) == "epoch    train_loss  test_loss  test_acc");
  CHECK(format_epoch_row(s, 10, 45) == "3/10         0.5000     0.4500    0.8300");
  CHECK(format_epoch_row(s, 10, 10) == format_epoch_row(s, 10, 45));  // never fewer columns than these four
}

TEST_CASE("console: terminal_columns asks the terminal, then $COLUMNS, else 80") {
  std::FILE* file = std::tmpfile();  // not a terminal
  REQUIRE(file != nullptr);
  const int fd = ::fileno(file);
  ::setenv("COLUMNS", "45", 1);
  CHECK(terminal_columns(fd) == 45);
  ::setenv("COLUMNS", "junk", 1);
  CHECK(terminal_columns(fd) == 80);
  ::unsetenv("COLUMNS");
  CHECK(terminal_columns(fd) == 80);
  std::fclose(file);
}
