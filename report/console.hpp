#pragma once
// What the training commands print on a terminal: the progress line redrawn
// in place during an epoch (as Keras's and tqdm's, fitted to the terminal's
// width) and the table of epochs (one header, one row per epoch, as fastai's
// fit prints it), which fits 80 columns.
#include <cstddef>
#include <cstdio>
#include <limits>
#include <string>

#include "train/loop.hpp"

namespace xg {

// The width of the terminal on `fd` (ioctl TIOCGWINSZ), else $COLUMNS, else 80.
int terminal_columns(int fd);

// "0:07", "12:03", "1:02:03"; "?" for a negative or non-finite time.
std::string format_duration(double seconds);

// One progress line.
struct Progress {
  std::string label;       // what runs: "epoch 3/10", "lr-find"
  std::size_t done = 0;    // steps done, of total
  std::size_t total = 0;
  double seconds = 0.0;    // since the first step began
  double items = 0.0;      // items (images, rows) trained so far: items/s = items / seconds
  double loss = std::numeric_limits<double>::quiet_NaN();  // running mean; NaN: not shown
  std::string detail;      // after the loss when it fits: a sweep's per-rate shares, lr-find's rate
};

// The line for a terminal `columns` wide, at most columns - 1 characters (a
// character in the last column makes some terminals wrap):
//   epoch 3/10  280/938 [#########...................] 0:03<0:07  17.9k items/s  loss 0.6563  detail
// Narrower terminals lose, in order, the rate, the detail, the elapsed time
// (the ETA stays), the bar, then characters at the end. No escape codes.
std::string format_progress(const Progress& progress, int columns);

// Redraws the progress line in place on `out`, a terminal: "\r", the line for
// its width, and "\x1b[K" (erase to the end of the line).
void draw_progress_line(std::FILE* out, const Progress& progress);
// Erases it, leaving the cursor at the start of the empty line.
void clear_progress_line(std::FILE* out);

// The header of the epoch table ("epoch  train_loss  train_acc  test_loss …";
// val_ for a held-out validation set) and one row: 70 characters (more only
// past 999 epochs). For a terminal narrower than `columns` - 1 (0: no limit)
// the time, lr and train_acc columns are left out, in that order.
std::string format_epoch_header(bool validation, int columns = 0);
std::string format_epoch_row(const EpochStats& stats, std::size_t epochs, int columns = 0);

}  // namespace xg
