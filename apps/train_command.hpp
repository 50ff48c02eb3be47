#pragma once
// `xgrad train`: train an MLP classifier on an MNIST-style data set or a CSV table.
#include <string>

#include "apps/flags.hpp"

namespace xg {

// Where `xgrad train` saves the model when neither --save nor --no-save is given.
inline const char* const kDefaultModelPath = "model.safetensors";

// Registers the subcommand and its flags (with defaults shown in --help).
CLI::App* add_train_command(CLI::App& app, TrainCommandOptions& options);
// Checks the flags once: the config's values (train/config.hpp validate) and
// that each flag given applies (apps/flags.hpp); throws InputError.
void validate_train_command(const TrainCommandOptions& options);
// Runs it; returns the exit status. Throws InputError for bad input (exit 2)
// and TrainingDiverged (exit 3); main() turns those into messages.
int run_train(const TrainCommandOptions& options);

}  // namespace xg
