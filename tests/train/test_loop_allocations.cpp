// train/loop in steady state: a training step of the real train_epoch
// allocates nothing on the heap (the memory pool recycles every tensor and node).
//
// This file replaces the global operator new of the test binary with one that
// counts calls while `counting` is set; it forwards to malloc otherwise.
#include <doctest/doctest.h>

#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include "datasets/image_dataset.hpp"
#include "layers/architecture.hpp"
#include "layers/sequential.hpp"
#include "optim/sgd.hpp"
#include "train/loop.hpp"
#include "tests/support/files.hpp"
#include "tests/support/toy_data.hpp"

namespace {
std::atomic<bool> counting{false};
std::atomic<long> allocations{0};

void* counted_malloc(std::size_t bytes, std::size_t alignment) {
  if (counting.load(std::memory_order_relaxed)) allocations.fetch_add(1, std::memory_order_relaxed);
  if (bytes == 0) bytes = 1;
  void* p = alignment <= alignof(std::max_align_t)
                ? std::malloc(bytes)
                : std::aligned_alloc(alignment, (bytes + alignment - 1) / alignment * alignment);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
}  // namespace

void* operator new(std::size_t bytes) { return counted_malloc(bytes, 0); }
void* operator new(std::size_t bytes, std::align_val_t a) { return counted_malloc(bytes, std::size_t(a)); }
void* operator new(std::size_t bytes, const std::nothrow_t&) noexcept {
  try {
    return counted_malloc(bytes, 0);
  } catch (...) {
    return nullptr;
  }
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

using namespace xg;

// Counts allocations from the end of step 2 to the end of step 10 of the real
// training loop (train/loop.cpp), through its StepObserver hook.
struct CountStepsThreeToTen : StepObserver {
  std::size_t steps_done = 0;
  long counted = -1;
  void after_backward(const Tensor&) override {}
  void after_step() override {
    ++steps_done;
    if (steps_done == 2) {
      allocations = 0;
      counting = true;
    } else if (steps_done == 10) {
      counting = false;
      counted = allocations;
    }
  }
};

namespace {

// Trains one epoch of `images` toy 28x28 images in batches of 64 and returns how
// many heap allocations steps 3 to 10 made.
std::size_t allocations_in_steps_three_to_ten(const std::string& arch, std::size_t images) {
  testing::TempDir dir;
  testing::write_toy_dataset(dir.path(), images, 64, 10, 28, 28);
  const Dataset data = load_image_dataset(dir.path());
  Rng rng(0);
  auto model = arch == "mlp" ? make_mlp({784, 256, 128, 10}, rng)
                             : make_network(parse_architecture(arch, "--arch"), {1, 28, 28}, 10, rng, "--arch");
  SGD sgd(model->parameters(), 0.05f, 0.9f);
  DataLoader loader(data.train, 64, true, 0, compute_normalization(data.train));
  loader.start_epoch(1);
  CountStepsThreeToTen observer;
  ExplosionRule divergence_state;
  train_epoch(*model, sgd, loader, 1, nullptr, &divergence_state, &observer);
  counting = false;
  REQUIRE(observer.steps_done == images / 64);
  return observer.counted;
}

}  // namespace

TEST_CASE("a training step allocates nothing on the heap in steady state (steps 3..10)") {
  CHECK(allocations_in_steps_three_to_ten("mlp", 1024) == 0);
  // The counter does see allocations: the check above is not vacuous.
  allocations = 0;
  counting = true;
  { std::vector<int> v(1000); }
  counting = false;
  CHECK(allocations == 1);
}

TEST_CASE("a CNN training step allocates nothing on the heap in steady state (steps 3..10)") {
  CHECK(allocations_in_steps_three_to_ten("cnn", 640) == 0);
}
