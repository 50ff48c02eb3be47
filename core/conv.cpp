#include "core/conv.hpp"

// The layout of each op follows core/ops.cpp: a header line with the forward
// formula and the shapes, the derivative, a "Node:" line, backward, forward.
//
// conv2d goes through the GEMM by im2col: the input pixels under every
// position of the kernel are copied into the rows of a matrix `col`, so that
// the convolution of image g is one matrix product
//
//   col_g (C·kh·kw, Ho·Wo)   row (c, i, j), column (oh, ow) holds
//                            x[g][c][oh·stride - pad + i][ow·stride - pad + j]  (0 outside)
//   y[g]  (O, Ho·Wo) = bias + w (O, C·kh·kw) · col_g
//
// written straight into y's NCHW layout (y[g] is a contiguous (O, Ho·Wo)
// matrix). Backward rebuilds col_g from x instead of keeping it: it costs a
// copy, much less than the GEMMs, and keeps a training step's memory that of
// its activations.
//
// Threads: one pass over the images does everything for an image while its
// col_g (113 KB for the default CNN's second layer) is in cache: im2col, the
// GEMM, and in backward also dw, dbias, dcol_g and col2im. The images are cut
// into `parts` runs (ConvShape::parts: from the batch size alone, never from
// the thread count); a thread takes whole runs, and each run sums its images'
// dw and dbias into a partial sum of its own, in image order. The partial
// sums are then added in run order on the calling thread. Each thread builds
// col_g and dcol_g in a scratch matrix of its own.
//
// Determinism: the GEMM is bit-identical at any thread count (core/gemm.hpp),
// the runs depend on the batch size only and are summed in order, and each
// image's im2col, col2im and pooling write disjoint memory, each element in a
// fixed order. They run on the GEMM's
// threads (core/parallel.hpp), not in OpenMP regions whose barrier waits for
// a thread the OS has not scheduled. Sums in SIMD lanes (the bias gradient)
// depend on the vector width -march picks, so on the CPU, never on threads.
//
// Speed: a small CNN is bound by memory traffic as much as by its GEMMs (a
// batch of 64 conv1 outputs is 3.2 MB, more than L2), so the passes around the
// GEMM are written to stream: im2col and col2im move a same-size convolution's
// rows as one contiguous run, max_pool2d gathers L windows per SIMD step, and
// no pass branches on data (docs/PERFORMANCE.md, "The CNN").

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

#include <xsimd/xsimd.hpp>

#include "core/gemm.hpp"
#include "core/ops.hpp"
#include "core/parallel.hpp"

namespace xg {

namespace {

using Index = long long;
using IndexArray = xt::xarray<std::int32_t, xt::layout_type::row_major, PoolAllocator<std::int32_t>>;  // signed, for OpenMP loops and for rows and columns above or left of the image

std::string dims(const Tensor& t) { return shape_string(t.value()); }

// The sizes of one convolution: x (B,C,H,W), w (O,C,kh,kw), y (B,O,Ho,Wo).
struct ConvShape {
  std::size_t B, C, H, W;
  std::size_t O, kh, kw;
  std::size_t stride, pad;
  std::size_t Ho, Wo;
  std::size_t pixels() const { return Ho * Wo; }       // output positions per image
  std::size_t patch() const { return C * kh * kw; }    // rows of col: one input patch
  // Backward's runs of images, each summing its own partial dw and dbias: up to
  // 8 (enough for 8 threads), from the batch size alone, so the sums' order
  // never depends on the thread count.
  std::size_t parts() const { return std::min<std::size_t>(B, 8); }
};

ConvShape conv_shape(const Array& x, const Array& w, std::size_t stride, std::size_t pad) {
  ConvShape s{x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3], w.shape()[0], w.shape()[2], w.shape()[3],
              stride, pad, 0, 0};
  s.Ho = (s.H + 2 * pad - s.kh) / stride + 1;
  s.Wo = (s.W + 2 * pad - s.kw) / stride + 1;
  return s;
}

// Along one axis (rows or columns): the outputs o whose input position
// o·stride - pad + k (k: the kernel's row i or column j) lies inside the image
// (0 <= it < size) form one range [lo, hi); the rest read the zero padding.
struct Inside {
  Index lo, hi;
};
Inside inside_range(Index size, Index outputs, Index stride, Index pad, Index k) {
  const auto ceil_div = [stride](Index a) { return a <= 0 ? 0 : (a + stride - 1) / stride; };
  const Index lo = std::min(ceil_div(pad - k), outputs), hi = std::min(ceil_div(size + pad - k), outputs);
  return {lo, std::max(lo, hi)};
}
Inside inside_rows(const ConvShape& s, Index i) {
  return inside_range(Index(s.H), Index(s.Ho), Index(s.stride), Index(s.pad), i);
}
Inside inside_columns(const ConvShape& s, Index j) {
  return inside_range(Index(s.W), Index(s.Wo), Index(s.stride), Index(s.pad), j);
}

// col_g (patch, pixels) from image g at x (C,H,W): see the top of the file.
// A row of col is one kernel position (c, i, j); along it, each output row oh
// reads one input row, contiguous when the stride is 1 (a copy), zeros at the
// padded edges.
void im2col(const float* x, const ConvShape& s, float* col) {
  const Index Ho = Index(s.Ho), Wo = Index(s.Wo), W = Index(s.W), pad = Index(s.pad);
  for (std::size_t r = 0; r < s.patch(); ++r) {
    const Index c = Index(r / (s.kh * s.kw)), i = Index(r / s.kw % s.kh), j = Index(r % s.kw);
    const Inside in = inside_columns(s, j);
    const Inside rows = inside_rows(s, i);  // the output rows that read the image
    const Index first = rows.lo, last = rows.hi;
    const float* plane = x + std::size_t(c) * s.H * s.W;
    float* out = col + r * s.pixels();
    std::fill(out, out + first * Wo, 0.0f);  // rows above the image
    std::fill(out + last * Wo, out + Ho * Wo, 0.0f);  // rows below it
    if (s.stride == 1 && Wo == W && in.lo < in.hi && first < last) {
      // A same-size convolution (stride 1, Wo = W): out[q] = plane[q + delta] for every
      // q = oh·Wo + ow inside the image, so the inside rows are one contiguous copy, the
      // image's rows running on into each other; what ran over a left or right edge
      // is zeroed after.
      const Index delta = (i - pad) * W + (j - pad), begin = first * Wo + in.lo, end = (last - 1) * Wo + in.hi;
      std::copy(plane + begin + delta, plane + end + delta, out + begin);
      for (Index oh = first; oh < last; ++oh) {
        std::fill(out + oh * Wo, out + oh * Wo + in.lo, 0.0f);
        std::fill(out + oh * Wo + in.hi, out + (oh + 1) * Wo, 0.0f);
      }
      continue;
    }
    for (Index oh = first; oh < last; ++oh) {
      const float* row = plane + (oh * Index(s.stride) - pad + i) * W;
      const Index shift = j - pad;  // iw = ow·stride + shift
      float* o = out + oh * Wo;
      std::fill(o, o + in.lo, 0.0f);
      for (Index ow = in.lo; ow < in.hi; ++ow) o[ow] = row[ow * Index(s.stride) + shift];
      std::fill(o + in.hi, o + Wo, 0.0f);
    }
  }
}

// For col2im of a same-size convolution (stride 1, Wo = W): inside[j·pixels + q]
// is 1 where output column q mod Wo reads inside the image for kernel column j,
// 0 where it ran over an edge. An empty array for other convolutions.
Array same_size_mask(const ConvShape& s) {
  if (s.stride != 1 || s.Wo != s.W) return Array();
  const Index pixels = Index(s.pixels()), Wo = Index(s.Wo);
  Array inside = Array::from_shape({s.kw, s.pixels()});
  for (Index j = 0; j < Index(s.kw); ++j) {
    const Inside in = inside_columns(s, j);
    for (Index q = 0; q < pixels; ++q) inside.data()[j * pixels + q] = q % Wo >= in.lo && q % Wo < in.hi;
  }
  return inside;
}

// The adjoint of im2col: dx (C,H,W) of image g += every entry of dcol_g
// (patch, pixels) at the pixel it was copied from, in one fixed order. A
// same-size convolution adds each row of dcol_g into dx as one contiguous run,
// as im2col copies it, with `mask` (same_size_mask) zeroing the entries that
// ran over an edge.
void col2im_accumulate(const float* dcol, const ConvShape& s, const Array& mask, float* dx) {
  const Index Wo = Index(s.Wo), W = Index(s.W), pad = Index(s.pad), pixels = Index(s.pixels());
  const bool same = s.stride == 1 && Wo == W;  // then mask is same_size_mask's
  for (std::size_t r = 0; r < s.patch(); ++r) {
    const Index c = Index(r / (s.kh * s.kw)), i = Index(r / s.kw % s.kh), j = Index(r % s.kw);
    const Inside in = inside_columns(s, j);
    float* plane = dx + std::size_t(c) * s.H * s.W;
    const float* d = dcol + r * s.pixels();
    const Inside rows = inside_rows(s, i);
    const Index first = rows.lo, last = rows.hi;
    if (same) {
      if (in.lo >= in.hi || first >= last) continue;
      const Index delta = (i - pad) * W + (j - pad), begin = first * Wo + in.lo, end = (last - 1) * Wo + in.hi;
      const float* inside = mask.data() + j * pixels;
      for (Index q = begin; q < end; ++q) plane[q + delta] += inside[q] != 0.0f ? d[q] : 0.0f;
      continue;
    }
    for (Index oh = first; oh < last; ++oh) {
      float* row = plane + (oh * Index(s.stride) - pad + i) * W;
      const Index shift = j - pad;  // iw = ow·stride + shift
      for (Index ow = in.lo; ow < in.hi; ++ow) row[ow * Index(s.stride) + shift] += d[oh * Wo + ow];
    }
  }
}

// Σ row[0..n): lane k of a SIMD register adds row[k], row[k + L], ..., then
// the L lane sums and the last n mod L elements are added in double, in order.
double row_sum(const float* row, std::size_t n) {
  using Batch = xsimd::batch<float>;
  constexpr std::size_t L = Batch::size;
  Batch lanes(0.0f);
  std::size_t p = 0;
  for (; p + L <= n; p += L) lanes += Batch::load_unaligned(row + p);
  alignas(64) float part[L];
  lanes.store_aligned(part);
  double sum = 0.0;
  for (const float v : part) sum += v;
  for (; p < n; ++p) sum += row[p];
  return sum;
}

// One plane of max_pool2d, in SIMD vectors (xsimd, as core/gemm.cpp: the
// width follows -march). The plane's outputs are taken L at a time in their
// flat order q = oh·Wo + ow, whatever Wo is: window q starts at input element
// start[q] = oh·stride·W + ow·stride, so the window's element (i, j) of L
// windows is one gather at plane + i·W + j. Each element then challenges the
// running maximum of its window, in PyTorch's order (row by row; the first
// maximum wins ties; a NaN wins and propagates), with selects, not branches:
// which element wins is data, and unpredictable. `start` holds Ho·Wo offsets,
// padded with zeros (a valid element) to a multiple of L; the padded lanes'
// results are not stored.
void max_pool_plane(const float* plane, const std::int32_t* start, std::size_t outputs, std::size_t W,
                    std::size_t kernel, float* value, float* best) {
  using Batch = xsimd::batch<float>;
  using Offsets = xsimd::batch<std::int32_t>;
  static_assert(Batch::size == Offsets::size, "one int32 offset per float lane");
  constexpr std::size_t L = Batch::size;
  alignas(64) float max_out[L], at_out[L];
  for (std::size_t q = 0; q < outputs; q += L) {
    const Offsets offsets = Offsets::load_unaligned(start + q);
    Batch max = Batch::gather(plane, offsets), at(0.0f);  // element (0, 0) first
    for (std::size_t i = 0; i < kernel; ++i)
      for (std::size_t j = i == 0 ? 1 : 0; j < kernel; ++j) {
        const Batch v = Batch::gather(plane + i * W + j, offsets);
        const auto wins = (v > max) | xsimd::isnan(v);
        max = xsimd::select(wins, v, max);
        at = xsimd::select(wins, Batch(float(i * kernel + j)), at);
      }
    if (q + L <= outputs) {
      max.store_unaligned(value + q);
      at.store_unaligned(best + q);
    } else {  // the last, partial group
      max.store_aligned(max_out);
      at.store_aligned(at_out);
      std::copy(max_out, max_out + (outputs - q), value + q);
      std::copy(at_out, at_out + (outputs - q), best + q);
    }
  }
}

// One plane of max_pool2d's backward: each output's gradient goes to its window's
// winner, `where` (its offset i·k + j in the window), found at step[where] from
// the window's first element. A function of its own so that its pointers are
// parameters: the compiler then keeps them in registers across the stores.
// With relu_out (the plane of x = relu(u), when du is wanted instead of dx,
// max_pool2d_backward), a winner x[e] <= 0 passes no gradient, as in relu's own
// backward (core/ops.cpp): each gradient added is dy where x[e] > 0 (or NaN) and
// +0 where x[e] <= 0, by a mask on its bits (whether x[e] > 0 is data: a branch
// on it would be mispredicted half the time). Per element that sums the same
// values in the same order as relu's backward applied to dx afterwards: the
// same bits.
void max_pool_plane_backward(const float* dy, const float* where, const std::int32_t* step, std::size_t Ho,
                             std::size_t Wo, std::size_t stride, std::size_t W, const float* relu_out, float* dx) {
  for (std::size_t oh = 0; oh < Ho; ++oh) {
    const std::size_t row = oh * stride * W;  // window (oh, 0)'s first element
    for (std::size_t ow = 0; ow < Wo; ++ow) {
      const std::size_t e = row + ow * stride + std::size_t(step[std::size_t(where[oh * Wo + ow])]);
      float g = dy[oh * Wo + ow];
      if (relu_out) {
        std::uint32_t bits;
        std::memcpy(&bits, &g, sizeof bits);
        bits &= relu_out[e] <= 0.0f ? 0u : ~0u;
        std::memcpy(&g, &bits, sizeof g);
      }
      dx[e] += g;
    }
  }
}

// The sizes of a pooling op on x (B, C, H, W), after checking that a kernel×kernel
// window moved by stride fits (std::invalid_argument naming `op` otherwise).
struct PoolShape {
  std::size_t planes, H, W, Ho, Wo;  // planes = B·C
};
PoolShape pool_shape(const char* op, const Tensor& x, std::size_t kernel, std::size_t stride) {
  if (x.rank() != 4) throw std::invalid_argument(std::string(op) + ": input must be (B, C, H, W), got shape " + dims(x));
  if (kernel == 0 || stride == 0) throw std::invalid_argument(std::string(op) + ": kernel and stride must be at least 1");
  if (x.dim(2) < kernel || x.dim(3) < kernel) {
    throw std::invalid_argument(std::string(op) + ": a " + std::to_string(kernel) + "x" + std::to_string(kernel) +
                                " window does not fit input " + dims(x));
  }
  const std::size_t H = x.dim(2), W = x.dim(3);
  return {x.dim(0) * x.dim(1), H, W, (H - kernel) / stride + 1, (W - kernel) / stride + 1};
}

}  // namespace

// ---- conv2d: y[b][o] = bias[o] + Σ_c,i,j w[o][c][i][j] · x[b][c][oh·s - p + i][ow·s - p + j] --
// x (B,C,H,W), w (O,C,kh,kw), bias (O), y (B,O,Ho,Wo). Per image g, with col_g = im2col(x[g])
// and dy_g = dy[g] as an (O, Ho·Wo) matrix:
// dw += dy_g · col_gᵀ,  dbias[o] += Σ_{oh,ow} dy_g[o],  dcol_g = wᵀ · dy_g, then dx[g] += col2im(dcol_g)
// Node: parents {x, w, bias}; sizes = {stride, padding}; saved holds relu(y)
// until relu() takes it (made only with relu_follows), scalar unused (backward
// reads x's and w's values, and rebuilds col from x).
static void conv2d_backward(Node& n) {
  const Array &x = parent(n, 0).value, &w = parent(n, 1).value;
  const ConvShape s = conv_shape(x, w, n.sizes[0], n.sizes[1]);
  const std::size_t pixels = s.pixels(), patch = s.patch(), parts = s.parts();
  const bool dx_wanted = wants_grad(n, 0), dw_wanted = wants_grad(n, 1), db_wanted = wants_grad(n, 2);
  const int threads = pass_threads(Index(parts), s.B * s.O * pixels * patch);
  // Scratch: col_g and dcol_g for each thread; a partial dw and dbias for each run.
  Array col = dw_wanted ? Array::from_shape({std::size_t(threads), patch, pixels}) : Array();
  Array dcol = dx_wanted ? Array::from_shape({std::size_t(threads), patch, pixels}) : Array();
  Array dw_part = dw_wanted ? Array::from_shape({parts, s.O, patch}) : Array();
  Array db_part = db_wanted ? Array::from_shape({parts, s.O}) : Array();
  // dx: when x has no gradient yet, each image's dx is zeroed just before col2im adds
  // into it, while it is in cache (Node::grad_to_overwrite).
  bool dx_add = true;
  float* dx = dx_wanted ? parent(n, 0).grad_to_overwrite(dx_add).data() : nullptr;
  const Array mask = dx_wanted ? same_size_mask(s) : Array();
  const std::size_t image = s.C * s.H * s.W;
  const int O = int(s.O), K = int(patch), P = int(pixels);
  parallel_ranges(Index(parts), threads, [&](Index part, int t) {
    const std::size_t first = s.B * std::size_t(part) / parts, last = s.B * std::size_t(part + 1) / parts;
    float* col_g = dw_wanted ? col.data() + std::size_t(t) * patch * pixels : nullptr;
    float* dcol_g = dx_wanted ? dcol.data() + std::size_t(t) * patch * pixels : nullptr;
    for (std::size_t g = first; g < last; ++g) {
      const float* dy = n.grad.data() + g * s.O * pixels;  // dy_g (O, pixels)
      const float beta = g == first ? 0.0f : 1.0f;          // a run's first image stores
      if (dw_wanted) {  // partial dw (O, patch) += dy_g (O, pixels) · col_gᵀ
        im2col(x.data() + g * image, s, col_g);
        gemm(Trans::No, Trans::Yes, O, K, P, 1.0f, dy, P, col_g, P, beta, dw_part.data() + std::size_t(part) * s.O * patch, K);
      }
      if (db_wanted) {  // partial dbias (O) += row sums of dy_g
        float* db = db_part.data() + std::size_t(part) * s.O;
        for (std::size_t o = 0; o < s.O; ++o) db[o] = (g == first ? 0.0f : db[o]) + float(row_sum(dy + o * pixels, pixels));
      }
      if (dx_wanted) {  // dcol_g (patch, pixels) = wᵀ · dy_g, w (O, patch); then dx[g] += col2im(dcol_g)
        gemm(Trans::Yes, Trans::No, K, P, O, 1.0f, w.data(), K, dy, P, 0.0f, dcol_g, P);
        if (!dx_add) std::fill_n(dx + g * image, image, 0.0f);
        col2im_accumulate(dcol_g, s, mask, dx + g * image);
      }
    }
  });
  // The runs' partial sums, added in run order. Right after zero_grad() the first
  // run's is stored instead of added to zeros (Node::grad_to_overwrite).
  const auto add_parts = [parts](Node& param, const Array& partial) {
    bool add = true;
    float* out = param.grad_to_overwrite(add).data();
    const std::size_t size = param.value.size();
    for (std::size_t i = 0; i < size; ++i) {
      float sum = add ? out[i] + partial.data()[i] : partial.data()[i];
      for (std::size_t part = 1; part < parts; ++part) sum += partial.data()[part * size + i];
      out[i] = sum;
    }
  };
  if (dw_wanted) add_parts(parent(n, 1), dw_part);
  if (db_wanted) add_parts(parent(n, 2), db_part);
}

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, std::size_t stride, std::size_t padding,
              bool relu_follows) {
  if (x.rank() != 4 || w.rank() != 4 || b.rank() != 1 || x.dim(1) != w.dim(1) || b.dim(0) != w.dim(0)) {
    throw std::invalid_argument("conv2d: input " + dims(x) + ", weight " + dims(w) + " and bias " + dims(b) +
                                " do not fit (input (B, C, H, W), weight (out, C, kh, kw), bias (out))");
  }
  if (stride == 0) throw std::invalid_argument("conv2d: stride must be at least 1");
  if (w.dim(2) == 0 || w.dim(3) == 0 || x.dim(2) + 2 * padding < w.dim(2) || x.dim(3) + 2 * padding < w.dim(3)) {
    throw std::invalid_argument("conv2d: kernel " + std::to_string(w.dim(2)) + "x" + std::to_string(w.dim(3)) +
                                " does not fit input " + dims(x) + " with padding " + std::to_string(padding));
  }
  const ConvShape s = conv_shape(x.value(), w.value(), stride, padding);
  const std::size_t pixels = s.pixels(), patch = s.patch();
  if (patch * pixels > std::size_t(INT_MAX) || s.O * pixels > std::size_t(INT_MAX)) {
    throw std::invalid_argument("conv2d: input " + dims(x) + " with weight " + dims(w) + " is too large");
  }
  Array y = Array::from_shape({s.B, s.O, s.Ho, s.Wo});
  const int threads = pass_threads(Index(s.B), s.B * s.O * pixels * patch);
  Array col = Array::from_shape({std::size_t(threads), patch, pixels});  // col_g, one per thread
  // With relu_follows, relu(y) too, made as the GEMM finishes each element
  // (Epilogue::relu_copy) and kept in the node (`saved`) for relu() to take:
  // no pass of its own over y. y itself is stored too: the graph is the same.
  Array relu_y = relu_follows ? Array::from_shape(y.shape()) : Array();
  const std::size_t image = s.C * s.H * s.W;
  const int O = int(s.O), K = int(patch), P = int(pixels);
  // One image at a time: y_g (O, pixels) = bias + w (O, patch) · col_g, written in place in
  // y's NCHW layout: each row starts as its bias, and the GEMM adds into it (beta = 1)
  parallel_ranges(Index(s.B), threads, [&](Index g, int t) {
    float* col_g = col.data() + std::size_t(t) * patch * pixels;
    im2col(x.data() + std::size_t(g) * image, s, col_g);
    float* yg = y.data() + std::size_t(g) * s.O * pixels;
    for (std::size_t o = 0; o < s.O; ++o) std::fill_n(yg + o * pixels, pixels, b.data()[o]);
    Epilogue relu;
    if (relu_follows) relu.relu_copy = relu_y.data() + std::size_t(g) * s.O * pixels;
    gemm(Trans::No, Trans::No, O, P, K, 1.0f, w.data(), K, col_g, P, 1.0f, yg, P, relu);
  });
  Tensor out = make_result("conv2d", std::move(y), {x, w, b}, conv2d_backward);
  out.node()->sizes = {stride, padding};
  if (relu_follows) out.node()->saved = std::move(relu_y);
  return out;
}

// ---- max_pool2d: y[b][c][oh][ow] = max_{i,j < k} x[b][c][oh·s + i][ow·s + j] -----------
// x (B,C,H,W), y (B,C,Ho,Wo). dx = dy at the element that was the maximum of its
// window, 0 elsewhere (the first maximum on ties, as PyTorch); overlapping
// windows (stride < kernel) add up.
// Node: parents {x}; saved = for each output, the offset i·k + j of its maximum in
// its window (y's shape); sizes = {kernel, stride}; scalar unused.
static void max_pool2d_backward(Node& n) {
  if (!wants_grad(n, 0)) return;
  Node& x = parent(n, 0);
  const std::size_t planes = x.value.shape()[0] * x.value.shape()[1], H = x.value.shape()[2], W = x.value.shape()[3];
  const std::size_t Ho = n.value.shape()[2], Wo = n.value.shape()[3], k = n.sizes[0], stride = n.sizes[1];
  // When x = relu(u) and nothing needs x's own gradient (fusable_relu_input, as
  // for a linear layer after a ReLU), the winners' gradients go to u, relu's mask
  // applied as each is added: the same numbers, without relu's pass over dx, x
  // and du. add == false: the gradient (x's or u's) is still zero, and each plane
  // is zeroed just before its winners are added in, while it is in cache, instead
  // of the whole buffer first (Node::grad_to_overwrite)
  Node* u = fusable_relu_input(x);
  bool add = true;
  float* dx = (u ? *u : x).grad_to_overwrite(add).data();
  const float* relu_out = u ? x.value.data() : nullptr;
  if (u) x.backward_made = true;
  const float *dy = n.grad.data(), *where = n.saved.data();
  // step[offset]: how far the window's element offset = i·k + j lies from its first, i·W + j
  IndexArray step = IndexArray::from_shape({k * k});
  for (std::size_t offset = 0; offset < k * k; ++offset) step.data()[offset] = std::int32_t(offset / k * W + offset % k);
  parallel_for(Index(planes), n.value.size(), [&](Index plane) {
    float* dx_plane = dx + std::size_t(plane) * H * W;
    if (!add) std::fill_n(dx_plane, H * W, 0.0f);
    const std::size_t out = std::size_t(plane) * Ho * Wo;
    max_pool_plane_backward(dy + out, where + out, step.data(), Ho, Wo, stride, W,
                            relu_out ? relu_out + std::size_t(plane) * H * W : nullptr, dx_plane);
  });
}

Tensor max_pool2d(const Tensor& x, std::size_t kernel, std::size_t stride) {
  const PoolShape p = pool_shape("max_pool2d", x, kernel, stride);
  const std::size_t planes = p.planes, H = p.H, W = p.W, Ho = p.Ho, Wo = p.Wo;
  Array y = Array::from_shape({x.dim(0), x.dim(1), Ho, Wo});
  Array where = Array::from_shape(y.shape());
  if (H * W > std::size_t(INT32_MAX)) throw std::invalid_argument("max_pool2d: input " + dims(x) + " is too large");
  // start[q]: where window q = oh·Wo + ow starts in its plane (max_pool_plane)
  constexpr std::size_t L = xsimd::batch<float>::size;
  const std::size_t outputs = Ho * Wo;
  IndexArray start = IndexArray::from_shape({(outputs + L - 1) / L * L});
  start.fill(0);
  for (std::size_t oh = 0; oh < Ho; ++oh)
    for (std::size_t ow = 0; ow < Wo; ++ow) start.data()[oh * Wo + ow] = std::int32_t(oh * stride * W + ow * stride);
  const float* in = x.data();
  parallel_for(Index(planes), x.size(), [&](Index plane) {
    max_pool_plane(in + std::size_t(plane) * H * W, start.data(), outputs, W, kernel,
                   y.data() + std::size_t(plane) * outputs, where.data() + std::size_t(plane) * outputs);
  });
  Tensor out = make_result("max_pool2d", std::move(y), {x}, max_pool2d_backward);
  if (out.requires_grad()) out.node()->saved = std::move(where);
  out.node()->sizes = {kernel, stride};
  return out;
}

}  // namespace xg

namespace xg {

// ---- avg_pool2d: y[b][c][oh][ow] = (1/k²) Σ_{i,j < k} x[b][c][oh·s + i][ow·s + j] ----------
// x (B,C,H,W), y (B,C,Ho,Wo). dx[b][c][oh·s + i][ow·s + j] += dy[b][c][oh][ow] / k² for every
// i, j < k: each input pixel gets 1/k² of the gradient of every window it is in
// (overlapping windows, stride < kernel, add up).
// Node: parents {x}; sizes = {kernel, stride}; saved and scalar unused.
static void avg_pool2d_backward(Node& n) {
  if (!wants_grad(n, 0)) return;
  Node& x = parent(n, 0);
  const std::size_t planes = x.value.shape()[0] * x.value.shape()[1], H = x.value.shape()[2], W = x.value.shape()[3];
  const std::size_t Ho = n.value.shape()[2], Wo = n.value.shape()[3], k = n.sizes[0], stride = n.sizes[1];
  const float area = float(k * k);
  float* dx = x.grad_buffer().data();
  const float* dy = n.grad.data();
  // One plane per thread, its windows in a fixed order: the same sums at any thread count.
  parallel_for(Index(planes), x.value.size(), [&](Index plane) {
    for (std::size_t oh = 0; oh < Ho; ++oh)
      for (std::size_t ow = 0; ow < Wo; ++ow) {
        const float share = dy[(std::size_t(plane) * Ho + oh) * Wo + ow] / area;
        float* window = dx + (std::size_t(plane) * H + oh * stride) * W + ow * stride;
        for (std::size_t i = 0; i < k; ++i)
          for (std::size_t j = 0; j < k; ++j) window[i * W + j] += share;
      }
  });
}

Tensor avg_pool2d(const Tensor& x, std::size_t kernel, std::size_t stride) {
  const PoolShape p = pool_shape("avg_pool2d", x, kernel, stride);
  const std::size_t planes = p.planes, H = p.H, W = p.W, Ho = p.Ho, Wo = p.Wo;
  Array y = Array::from_shape({x.dim(0), x.dim(1), Ho, Wo});
  const float* in = x.data();
  const float area = float(kernel * kernel);
  parallel_for(Index(planes), x.size(), [&](Index plane) {
    for (std::size_t oh = 0; oh < Ho; ++oh)
      for (std::size_t ow = 0; ow < Wo; ++ow) {
        const float* window = in + (std::size_t(plane) * H + oh * stride) * W + ow * stride;
        float sum = 0.0f;  // in float, row by row; then divided by k²
        for (std::size_t i = 0; i < kernel; ++i)
          for (std::size_t j = 0; j < kernel; ++j) sum += window[i * W + j];
        y.data()[(std::size_t(plane) * Ho + oh) * Wo + ow] = sum / area;
      }
  });
  Tensor out = make_result("avg_pool2d", std::move(y), {x}, avg_pool2d_backward);
  out.node()->sizes = {kernel, stride};
  return out;
}

}  // namespace xg
