#pragma once
// Recycled memory for tensors and graph nodes.
//
// Define-by-run builds a fresh graph every training step: the same nodes and
// arrays, of the same sizes, step after step. Instead of returning that memory
// to the heap and asking for it again, freed blocks go onto a free list for
// their size class (a power of two, at least 64 bytes, 64-byte aligned) and
// the next request of that class takes one back. After the first steps have
// warmed the lists, a training step does no heap allocation at all.
//
// Free lists are per thread, so no locking. Blocks larger than 64 MiB bypass
// the pool (they are rare and would pin memory).
#include <cstddef>

namespace xg {

namespace memory_pool {
void* allocate(std::size_t bytes);
void deallocate(void* block, std::size_t bytes) noexcept;
}  // namespace memory_pool

// A standard allocator over the pool, for containers (xg::Array) and
// std::allocate_shared (graph nodes).
template <class T>
struct PoolAllocator {
  using value_type = T;
  PoolAllocator() noexcept = default;
  template <class U>
  PoolAllocator(const PoolAllocator<U>&) noexcept {}
  T* allocate(std::size_t n) { return static_cast<T*>(memory_pool::allocate(n * sizeof(T))); }
  void deallocate(T* p, std::size_t n) noexcept { memory_pool::deallocate(p, n * sizeof(T)); }
  template <class U>
  bool operator==(const PoolAllocator<U>&) const noexcept { return true; }
  template <class U>
  bool operator!=(const PoolAllocator<U>&) const noexcept { return false; }
};

}  // namespace xg
