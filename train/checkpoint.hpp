#pragma once
// Checkpoints: the model file after every epoch (io/model_file.hpp) and the
// training state beside it, so that a run can resume.
//
//   PATH         the model, with the run's TrainConfig in its metadata
//   PATH.state   the optimizer's state ("optimizer.velocity.0", …) and, under
//                __metadata__["xgrad_state"], the epoch, the best test loss,
//                the monitored loss of each epoch and the metrics lines so
//                far: with PATH, all a run needs to go on; under
//                __metadata__["model_sha256"], the SHA-256 of PATH's bytes.
#include <string>
#include <vector>

#include "datasets/dataset.hpp"
#include "io/model_file.hpp"
#include "train/config.hpp"

namespace xg {

class Experiment;

// SHA-256 of a training split: its items (image bytes, or table values as
// float32 little-endian), then its labels as uint32 little-endian.
std::string data_sha256(const Split& train);

// Where the training state of the model file `model_path` goes.
std::string state_path(const std::string& model_path);
// Where the state that fits the model on disk is kept while a save writes a
// new pair (PATH.state.prev; removed once the new model is in place).
std::string previous_state_path(const std::string& model_path);
// The state file that belongs to the model file `model_path`: PATH.state, or
// PATH.state.prev when a save was cut off between its two files. A state
// records the SHA-256 of its model file ("model_sha256" in __metadata__).
std::string matching_state_path(const std::string& model_path);

// The config of a run resumed from the checkpoint `path`: the checkpoint's,
// with `command_line`'s epochs when "--epochs" is among `given_flags`. A
// training flag in `given_flags` must equal the checkpoint's (InputError).
TrainConfig resume_config(const std::string& path, const TrainConfig& command_line,
                          const std::vector<std::string>& given_flags);

// Where a run saves and what it resumes; an empty path is off.
struct CheckpointPaths {
  std::string save;       // the model after every epoch, its state in state_path(save)
  std::string save_best;  // the model of the epoch with the lowest monitored loss
  std::string resume;     // continue the run saved there
};

// A file at a save path that this run would replace: a model of another run
// (or anything else). It is never replaced silently: just before the run first
// saves there, it is copied to `backup` (PATH.bak; its PATH.state to
// PATH.bak.state), replacing an older backup, so the last earlier model is
// always kept.
struct ReplacedModel {
  std::string path;
  std::string backup;
  std::string description;  // "a model of 10 epochs, test_acc 0.8954", or "a file that is not an xgrad model"
  bool moved = false;       // true once it has been copied to `backup`
};

// Saves after every epoch and restores a run.
class Checkpointer {
 public:
  // Checks the output paths are writable; with paths.resume, loads the model
  // and the optimizer state into `run` and checks the data is the same. The
  // files are checked before use (InputError naming the file and the field):
  // headers before tensors, the metadata's types and ranges, no non-finite state.
  Checkpointer(const CheckpointPaths& paths, Experiment& run);
  // The first epoch to run (1, or the one after the checkpoint's).
  std::size_t first_epoch() const { return epoch_ + 1; }
  // The metrics lines of the epochs before first_epoch() (to continue a metrics file).
  const std::string& metrics_text() const { return metrics_text_; }
  // After each epoch: saves `save` (and its state) and, if the monitored loss
  // is the best so far, `save_best`. `metrics_text` is the metrics file so far
  // (JSON lines, each with the "epoch" it describes; --resume checks them).
  void after_epoch(std::size_t epoch, double monitored_loss, const std::string& metrics_text);
  // The epoch `save_best` holds (0: none yet), and its monitored loss.
  std::size_t best_epoch() const { return best_epoch_; }
  double best_loss() const { return best_loss_; }
  // The files at the save paths that belong to another run (see ReplacedModel).
  const std::vector<ReplacedModel>& replaced() const { return replaced_; }

 private:
  ModelInfo info_for(std::size_t epoch) const;
  void keep_earlier(const std::string& path);  // renames the ReplacedModel at path, if any
  // Reads and checks the training state `sp` of the resumed model (of epoch `model_epoch`).
  void read_state(const std::string& sp, std::size_t model_epoch);
  CheckpointPaths paths_;
  Experiment& run_;
  std::size_t epoch_ = 0;
  double best_loss_;
  std::size_t best_epoch_ = 0;
  std::vector<double> losses_;  // the monitored (validation or test) loss of each epoch so far
  std::string data_sha256_;
  std::string metrics_text_;
  std::vector<ReplacedModel> replaced_;
};

// "a model of 10 epochs, test_acc 0.8954" for the model file at `path`;
// "a file that is not an xgrad model (REASON)" when it cannot be read as one.
std::string describe_model_file(const std::string& path);

}  // namespace xg
