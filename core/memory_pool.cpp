#include "core/memory_pool.hpp"

#include <array>
#include <new>
#include <vector>

namespace xg::memory_pool {

namespace {

constexpr std::size_t kAlignment = 64;           // a cache line; also AVX-512's vector width
constexpr std::size_t kMinClass = 6;             // 2^6 = 64 bytes
constexpr std::size_t kMaxClass = 26;            // 2^26 = 64 MiB; larger blocks bypass the pool

// Smallest k with 2^k >= bytes (and k >= kMinClass).
std::size_t size_class(std::size_t bytes) {
  std::size_t k = kMinClass;
  while ((std::size_t(1) << k) < bytes) ++k;
  return k;
}

void* heap_allocate(std::size_t bytes) { return ::operator new(bytes, std::align_val_t(kAlignment)); }
void heap_free(void* block) noexcept { ::operator delete(block, std::align_val_t(kAlignment)); }

struct FreeLists {
  std::array<std::vector<void*>, kMaxClass + 1> lists;
  ~FreeLists() {
    for (auto& list : lists)
      for (void* block : list) heap_free(block);
    alive = false;
  }
  static thread_local bool alive;  // false once this thread's lists are destroyed
};
thread_local bool FreeLists::alive = true;

FreeLists& free_lists() {
  thread_local FreeLists lists;
  return lists;
}

}  // namespace

void* allocate(std::size_t bytes) {
  const std::size_t k = size_class(bytes);
  if (k > kMaxClass || !FreeLists::alive) return heap_allocate(bytes);
  std::vector<void*>& list = free_lists().lists[k];
  if (list.empty()) return heap_allocate(std::size_t(1) << k);
  void* block = list.back();
  list.pop_back();
  return block;
}

void deallocate(void* block, std::size_t bytes) noexcept {
  if (block == nullptr) return;
  const std::size_t k = size_class(bytes);
  if (k > kMaxClass || !FreeLists::alive) {
    heap_free(block);
    return;
  }
  try {
    free_lists().lists[k].push_back(block);
  } catch (...) {  // the list could not grow: give the block back to the heap
    heap_free(block);
  }
}

}  // namespace xg::memory_pool
