// train/distributed: without mpirun the Communicator is one rank and every
// operation leaves the numbers alone, so the loop has one code path; errors
// pass through agree() and run_in_lockstep() unchanged. (N ranks: tests/apps/test_mpirun.cpp.)
#include <doctest/doctest.h>

#include <omp.h>

#include "core/error.hpp"
#include "train/distributed.hpp"

using namespace xg;

TEST_CASE("without mpirun the world is one rank and its operations change nothing") {
  const Communicator& comm = world();
  CHECK(comm.rank() == 0);
  CHECK(comm.size() == 1);
  CHECK(comm.is_root());
  CHECK(comm.local_size() == 1);
  float values[3] = {1.5f, -2.0f, 3.0f};
  comm.sum(values, 3);
  comm.broadcast(values, 3);
  CHECK(values[0] == 1.5f);
  CHECK(values[1] == -2.0f);
  std::string text = "rank 0";
  comm.broadcast(text);
  CHECK(text == "rank 0");
  CHECK(comm.all_gather("mine") == std::vector<std::string>{"mine"});
  CHECK(default_threads(comm) == omp_get_num_procs());
}

TEST_CASE("one rank: agree() and run_in_lockstep() run the step and pass its error through") {
  const Communicator& comm = world();
  int runs = 0;
  comm.agree([&] { ++runs; });
  CHECK(runs == 1);
  CHECK_THROWS_WITH_AS(comm.agree([] { throw InputError("--data x: no such file"); }), "--data x: no such file", InputError);
  CHECK(run_in_lockstep([] { return 7; }) == 7);
  CHECK_THROWS_AS(run_in_lockstep([]() -> int { throw InputError("bad"); }), InputError);
}

TEST_CASE("one rank: the gradient reducer returns the loss and leaves the gradients") {
  Tensor w(xt::xarray<float>({1.0f, 2.0f}), true);
  w.grad() = xt::xarray<float>({0.25f, -0.5f});
  GradientReducer reducer(world(), {w});
  CHECK(reducer.reduce(1.75f, 3, 8) == 1.75f);
  CHECK(w.grad()(0) == 0.25f);
  CHECK(w.grad()(1) == -0.5f);
}
