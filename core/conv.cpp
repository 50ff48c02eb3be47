#include "core/conv.hpp"

// The layout of each op follows core/ops.cpp: a header line with the forward
// formula and the shapes, the derivative, a "Node:" line, backward, forward.
//
// conv2d goes through the GEMM by im2col: the input pixels under every
// position of the kernel are copied into the rows of a matrix `col`, so that
// the convolution of a group of G images is one matrix product
//
//   col  (C·kh·kw, G·Ho·Wo)   row (c, i, j), column (g, oh, ow) holds
//                             x[g][c][oh·stride - pad + i][ow·stride - pad + j]  (0 outside)
//   yt   (O, G·Ho·Wo) = w (O, C·kh·kw) · col
//
// and yt is then scattered into y's NCHW layout with the bias added. Images
// are taken G at a time, G chosen from the shapes alone so that col stays near
// 4 MB whatever the batch size (evaluation runs large batches). Backward
// rebuilds col from x instead of keeping it: it costs a copy, much less than
// the GEMMs, and keeps a training step's memory that of its activations.
//
// Determinism: the GEMM is bit-identical at any thread count (core/gemm.hpp),
// G depends on the shapes only, the chunks are summed into dw and db in order,
// and the parallel copies (im2col, the scatter, col2im, max_pool2d) write
// disjoint memory, each element in a fixed order. They run on the GEMM's
// threads (core/parallel.hpp), not in OpenMP regions whose barrier waits for
// a thread the OS has not scheduled.

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

#include <omp.h>

#include "core/gemm.hpp"
#include "core/parallel.hpp"

namespace xg {

namespace {

using Index = long long;  // signed, for OpenMP loops and for rows and columns above or left of the image

// Runs body(i) for i = 0..n-1 in contiguous ranges on the GEMM's threads when
// the loop touches enough elements (`work`) to pay for waking them; each i runs
// on one thread, in a fixed order, so results never depend on the thread count.
template <class Body>
void parallel_for(Index n, std::size_t work, const Body& body) {
  const int threads = work < (std::size_t(1) << 15) ? 1 : int(std::min<Index>(omp_get_max_threads(), n));
  auto chunk = [&](int c) {
    for (Index i = n * c / threads; i < n * (c + 1) / threads; ++i) body(i);
  };
  parallel_chunks(threads, threads, [&chunk](int c, bool) { chunk(c); });  // one reference: no allocation
}

Node& parent(Node& n, int i) { return *n.parents[i]; }
bool wants_grad(Node& n, int i) { return n.parents[i] && n.parents[i]->requires_grad; }

std::string dims(const Tensor& t) { return shape_string(t.value()); }

// The sizes of one convolution: x (B,C,H,W), w (O,C,kh,kw), y (B,O,Ho,Wo).
struct ConvShape {
  std::size_t B, C, H, W;
  std::size_t O, kh, kw;
  std::size_t stride, pad;
  std::size_t Ho, Wo;
  std::size_t pixels() const { return Ho * Wo; }       // output positions per image
  std::size_t patch() const { return C * kh * kw; }    // rows of col: one input patch
  // Images per GEMM: col (patch, G·pixels) near 1M floats; at least one image.
  std::size_t group() const { return std::max<std::size_t>(1, (std::size_t(1) << 20) / (patch() * pixels())); }
};

ConvShape conv_shape(const Array& x, const Array& w, std::size_t stride, std::size_t pad) {
  ConvShape s{x.shape()[0], x.shape()[1], x.shape()[2], x.shape()[3], w.shape()[0], w.shape()[2], w.shape()[3],
              stride, pad, 0, 0};
  s.Ho = (s.H + 2 * pad - s.kh) / stride + 1;
  s.Wo = (s.W + 2 * pad - s.kw) / stride + 1;
  return s;
}

// col (patch, n·pixels) from the n images at x (n,C,H,W): see the top of the file.
void im2col(const float* x, std::size_t n, const ConvShape& s, float* col) {
  const std::size_t pixels = s.pixels(), cols = n * pixels;
  parallel_for(Index(s.patch()), s.patch() * cols, [&](Index r) {
    const Index c = r / Index(s.kh * s.kw), i = r / Index(s.kw) % Index(s.kh), j = r % Index(s.kw);
    for (std::size_t g = 0; g < n; ++g) {
      const float* plane = x + (g * s.C + std::size_t(c)) * s.H * s.W;
      float* out = col + std::size_t(r) * cols + g * pixels;
      for (Index oh = 0; oh < Index(s.Ho); ++oh, out += s.Wo) {
        const Index ih = oh * Index(s.stride) - Index(s.pad) + i;
        for (Index ow = 0; ow < Index(s.Wo); ++ow) {
          const Index iw = ow * Index(s.stride) - Index(s.pad) + j;
          const bool inside = ih >= 0 && ih < Index(s.H) && iw >= 0 && iw < Index(s.W);
          out[ow] = inside ? plane[ih * Index(s.W) + iw] : 0.0f;
        }
      }
    }
  });
}

// The adjoint of im2col: dx (n,C,H,W) += every entry of dcol (patch, n·pixels)
// at the pixel it was copied from. One thread per image; each image's pixels
// are summed in one fixed order.
void col2im_accumulate(const float* dcol, std::size_t n, const ConvShape& s, float* dx) {
  const std::size_t pixels = s.pixels(), cols = n * pixels;
  parallel_for(Index(n), s.patch() * cols, [&](Index g) {
    for (std::size_t r = 0; r < s.patch(); ++r) {
      const Index c = Index(r / (s.kh * s.kw)), i = Index(r / s.kw % s.kh), j = Index(r % s.kw);
      float* plane = dx + (std::size_t(g) * s.C + std::size_t(c)) * s.H * s.W;
      const float* in = dcol + r * cols + std::size_t(g) * pixels;
      for (Index oh = 0; oh < Index(s.Ho); ++oh, in += s.Wo) {
        const Index ih = oh * Index(s.stride) - Index(s.pad) + i;
        if (ih < 0 || ih >= Index(s.H)) continue;
        for (Index ow = 0; ow < Index(s.Wo); ++ow) {
          const Index iw = ow * Index(s.stride) - Index(s.pad) + j;
          if (iw >= 0 && iw < Index(s.W)) plane[ih * Index(s.W) + iw] += in[ow];
        }
      }
    }
  });
}

}  // namespace

// ---- conv2d: y[b][o] = bias[o] + Σ_c,i,j w[o][c][i][j] · x[b][c][oh·s - p + i][ow·s - p + j] --
// x (B,C,H,W), w (O,C,kh,kw), bias (O), y (B,O,Ho,Wo). Per group of images, with col and yt above:
// dw += dyt · colᵀ,  dbias = Σ_{b,oh,ow} dy,  dcol = wᵀ · dyt, then dx += col2im(dcol)
// Node: parents {x, w, bias}; sizes = {stride, padding}; saved and scalar unused
// (backward reads x's and w's values, and rebuilds col from x).
static void conv2d_backward(Node& n) {
  const Array &x = parent(n, 0).value, &w = parent(n, 1).value;
  const ConvShape s = conv_shape(x, w, n.sizes[0], n.sizes[1]);
  const std::size_t pixels = s.pixels(), group = std::min(s.group(), s.B);
  const int O = int(s.O), patch = int(s.patch());
  const bool dx_wanted = wants_grad(n, 0), dw_wanted = wants_grad(n, 1), db_wanted = wants_grad(n, 2);
  Array col = Array::from_shape({s.patch(), group * pixels});
  Array dyt = Array::from_shape({s.O, group * pixels});
  Array dcol = dx_wanted ? Array::from_shape({s.patch(), group * pixels}) : Array();
  for (std::size_t b0 = 0; b0 < s.B; b0 += group) {
    const std::size_t count = std::min(group, s.B - b0), cols = count * pixels;
    // dyt (O, count·pixels) gathered from dy (count,O,Ho,Wo)
    const float* dy = n.grad.data() + b0 * s.O * pixels;
    parallel_for(Index(s.O), s.O * cols, [&](Index o) {
      for (std::size_t g = 0; g < count; ++g)
        std::copy_n(dy + (g * s.O + std::size_t(o)) * pixels, pixels, dyt.data() + std::size_t(o) * cols + g * pixels);
    });
    // dw (O, patch) += dyt (O, cols) · colᵀ, col (patch, cols)
    if (dw_wanted) {
      im2col(x.data() + b0 * s.C * s.H * s.W, count, s, col.data());
      gemm_accumulate_abt(O, patch, int(cols), dyt.data(), col.data(), parent(n, 1).grad_buffer().data());
    }
    // dbias (O) += row sums of dyt, each summed in double
    if (db_wanted) {
      float* db = parent(n, 2).grad_buffer().data();
      for (std::size_t o = 0; o < s.O; ++o) {
        double sum = 0.0;
        for (std::size_t k = 0; k < cols; ++k) sum += dyt.data()[o * cols + k];
        db[o] += float(sum);
      }
    }
    // dcol (patch, cols) = wᵀ · dyt, w (O, patch); then dx += col2im(dcol)
    if (dx_wanted) {
      gemm_atb(patch, int(cols), O, w.data(), dyt.data(), dcol.data());
      col2im_accumulate(dcol.data(), count, s, parent(n, 0).grad_buffer().data() + b0 * s.C * s.H * s.W);
    }
  }
}

Tensor conv2d(const Tensor& x, const Tensor& w, const Tensor& b, std::size_t stride, std::size_t padding) {
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
  const std::size_t pixels = s.pixels(), group = std::min(s.group(), std::max<std::size_t>(s.B, 1));
  if (s.patch() * group * pixels > std::size_t(INT_MAX) || s.O * group * pixels > std::size_t(INT_MAX)) {
    throw std::invalid_argument("conv2d: input " + dims(x) + " with weight " + dims(w) + " is too large");
  }
  Array y = Array::from_shape({s.B, s.O, s.Ho, s.Wo});
  Array col = Array::from_shape({s.patch(), group * pixels});
  Array yt = Array::from_shape({s.O, group * pixels});
  const float* bias = b.data();
  for (std::size_t b0 = 0; b0 < s.B; b0 += group) {
    const std::size_t count = std::min(group, s.B - b0), cols = count * pixels;
    im2col(x.data() + b0 * s.C * s.H * s.W, count, s, col.data());
    // yt (O, cols) = w (O, patch) · col (patch, cols)
    gemm_ab(int(s.O), int(cols), int(s.patch()), w.data(), col.data(), yt.data());
    // y[b0 + g][o][p] = yt[o][g·pixels + p] + bias[o]
    float* out = y.data() + b0 * s.O * pixels;
    parallel_for(Index(s.O), s.O * cols, [&](Index o) {
      for (std::size_t g = 0; g < count; ++g) {
        const float* in = yt.data() + std::size_t(o) * cols + g * pixels;
        float* dst = out + (g * s.O + std::size_t(o)) * pixels;
        for (std::size_t p = 0; p < pixels; ++p) dst[p] = in[p] + bias[o];
      }
    });
  }
  Tensor out = make_result("conv2d", std::move(y), {x, w, b}, conv2d_backward);
  out.node()->sizes = {stride, padding};
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
  float* dx = x.grad_buffer().data();
  const float *dy = n.grad.data(), *where = n.saved.data();
  parallel_for(Index(planes), n.value.size(), [&](Index plane) {
    for (std::size_t oh = 0; oh < Ho; ++oh)
      for (std::size_t ow = 0; ow < Wo; ++ow) {
        const std::size_t out = (std::size_t(plane) * Ho + oh) * Wo + ow, offset = std::size_t(where[out]);
        const std::size_t ih = oh * stride + offset / k, iw = ow * stride + offset % k;
        dx[(std::size_t(plane) * H + ih) * W + iw] += dy[out];
      }
  });
}

Tensor max_pool2d(const Tensor& x, std::size_t kernel, std::size_t stride) {
  if (x.rank() != 4) throw std::invalid_argument("max_pool2d: input must be (B, C, H, W), got shape " + dims(x));
  if (kernel == 0 || stride == 0) throw std::invalid_argument("max_pool2d: kernel and stride must be at least 1");
  if (x.dim(2) < kernel || x.dim(3) < kernel) {
    throw std::invalid_argument("max_pool2d: a " + std::to_string(kernel) + "x" + std::to_string(kernel) +
                                " window does not fit input " + dims(x));
  }
  const std::size_t planes = x.dim(0) * x.dim(1), H = x.dim(2), W = x.dim(3);
  const std::size_t Ho = (H - kernel) / stride + 1, Wo = (W - kernel) / stride + 1;
  Array y = Array::from_shape({x.dim(0), x.dim(1), Ho, Wo});
  Array where = Array::from_shape(y.shape());
  const float* in = x.data();
  parallel_for(Index(planes), x.size(), [&](Index plane) {
    for (std::size_t oh = 0; oh < Ho; ++oh)
      for (std::size_t ow = 0; ow < Wo; ++ow) {
        const float* window = in + (std::size_t(plane) * H + oh * stride) * W + ow * stride;
        std::size_t best = 0;
        float value = window[0];
        for (std::size_t i = 0; i < kernel; ++i)
          for (std::size_t j = 0; j < kernel; ++j)
            // strict: the first maximum wins ties; a NaN wins and propagates (as PyTorch)
            if (window[i * W + j] > value || std::isnan(window[i * W + j])) value = window[i * W + j], best = i * kernel + j;
        const std::size_t out = (std::size_t(plane) * Ho + oh) * Wo + ow;
        y.data()[out] = value;
        where.data()[out] = float(best);
      }
  });
  Tensor out = make_result("max_pool2d", std::move(y), {x}, max_pool2d_backward);
  if (out.requires_grad()) out.node()->saved = std::move(where);
  out.node()->sizes = {kernel, stride};
  return out;
}

}  // namespace xg
