// linear: out[r, n] = x[r, :] · w[n, :] with the weight read in place: fp32, fp16, or int4 codes
// dequantized in registers (c4w: one scale per row; b4w: one per 32 inputs) for one token row;
// for several, panels of weight rows decoded once per call. Other constant forms (int8, bf16,
// odd sizes) decode one weight row at a time. An optional third input (opset 2)
// is a bias added before the rounding.
#include <algorithm>
#include <cstring>

#include "runtime-fast/op_kernels.h"
#include "runtime-load/float_rows.h"

namespace pte::fast {
namespace {

enum class Form { Floats, F16, Q4, Rows };

struct Weight {
  Form form = Form::Rows;
  const float* floats = nullptr;     // Floats
  const uint8_t* bytes = nullptr;    // F16, Q4: row-major data
  const uint8_t* scales = nullptr;   // Q4
  bool f16_scales = false;
  size_t group = 0, scale_bytes = 0;
  const runtime::Tensor* tensor = nullptr;  // Rows
};

Weight weight_of(const Slot& w, const float* floats, size_t k) {
  Weight out;
  if (!w.constant || w.floats) {  // an activation, or fp32 in place
    out.form = Form::Floats;
    out.floats = floats;
    return out;
  }
  const runtime::Tensor& t = *w.constant;
  out.tensor = &t;
  if (!t.is_quantized() && t.dtype == DType::F16 && reinterpret_cast<uintptr_t>(t.bytes) % 2 == 0) {
    out.form = Form::F16;
    out.bytes = t.bytes;
  } else if (t.is_quantized() && t.dtype == DType::I4 && k % 2 == 0 && t.group > 0 && t.group % 2 == 0 &&
             k % static_cast<size_t>(t.group) == 0) {
    out.form = Form::Q4;
    out.bytes = t.bytes;
    out.scales = t.scales;
    out.f16_scales = t.scales_dtype == DType::F16;
    out.group = static_cast<size_t>(t.group);
    out.scale_bytes = out.f16_scales ? 2 : 4;
  }
  return out;
}

}  // namespace

void linear_kernel(const Step& s, RunContext& c) {
  const Slot& ws = c.slot(s.in[1]);
  const size_t n_out = static_cast<size_t>(ws.shape[0]), k = static_cast<size_t>(ws.shape[1]);
  const size_t rows = static_cast<size_t>(c.active_rows(c.slot(s.in[0])));
  const float* x = c.in(s, 0);
  float* o = c.out(s);
  const Weight w = weight_of(ws, c.in(s, 1), k);
  const SimdKernels& simd = c.simd;
  const size_t groups = w.group ? k / w.group : 0;
  // int4 rows in the split layout when the variant has it: x is split once for all rows.
  const bool split = w.form == Form::Q4 && simd.dot_q4_split && k % 32 == 0 && w.group % 32 == 0;
  const bool panels = rows > 1 && w.form != Form::Rows;
  // Panels read x and the decoded weights at a padded stride (see dot_panel).
  const size_t stride = panels ? k + kLinearRowPad : k;
  if (split || panels) {
    float* xs = c.split_x.data();
    for (size_t r = 0; r < rows; ++r) {
      if (split) simd.split(x + r * k, k, xs + r * stride);
      else std::memcpy(xs + r * stride, x + r * k, k * sizeof(float));
    }
    x = xs;
  }

  const bool parallel = n_out * k * rows >= kParallelWork;
  if (panels) {
    // Prefill: panels of weight rows decoded once per call into the thread's buffer, then dotted
    // with every x row by the variant's register-tiled kernel (the sums of dot_rows, bit for bit).
    const size_t panel_count = (n_out + kLinearPanelRows - 1) / kLinearPanelRows;
    c.pool.parallel_for(panel_count, parallel, [&](size_t begin, size_t end, size_t thread) {
      float* panel = c.scratch[thread].data();
      for (size_t p = begin; p < end; ++p) {
        const size_t n0 = p * kLinearPanelRows, count = std::min(kLinearPanelRows, n_out - n0);
        for (size_t i = 0; i < count; ++i) {
          const size_t n = n0 + i;
          float* row = panel + i * stride;
          if (w.form == Form::Floats) {
            std::memcpy(row, w.floats + n * k, k * sizeof(float));
          } else if (w.form == Form::F16) {
            runtime::decode_half(w.bytes + n * k * 2, k, row);
          } else {
            const uint8_t* codes = w.bytes + n * k / 2;
            const uint8_t* scales = w.scales + n * groups * w.scale_bytes;
            if (split) simd.dequant_q4_split(codes, k, w.group, scales, w.f16_scales, row);
            else simd.dequant_q4(codes, k, w.group, scales, w.f16_scales, row);
          }
        }
        simd.dot_panel(x, stride, rows, panel, stride, count, k, o + n0, n_out);
      }
    }, 1);
  } else {  // one row (decode), or weights in a form decoded row by row
    c.pool.parallel_for(n_out, parallel, [&](size_t begin, size_t end, size_t thread) {
      for (size_t n = begin; n < end; ++n) {
        const float* wr = nullptr;  // the weight row as float32, when it is decoded
        switch (w.form) {
          case Form::Floats: wr = w.floats + n * k; break;
          case Form::F16:
            o[n] = simd.dot_f16(x, reinterpret_cast<const uint16_t*>(w.bytes) + n * k, k);
            continue;
          case Form::Q4: {
            const uint8_t* codes = w.bytes + n * k / 2;
            const uint8_t* scales = w.scales + n * groups * w.scale_bytes;
            o[n] = split ? simd.dot_q4_split(x, codes, k, w.group, scales, w.f16_scales)
                         : simd.dot_q4(x, codes, k, w.group, scales, w.f16_scales);
            continue;
          }
          case Form::Rows: wr = runtime::read_floats(*w.tensor, n * k, k, c.scratch[thread]); break;
        }
        simd.dot_rows(x, rows, wr, k, o + n, n_out);
      }
    });
  }
  if (s.in.size() > 2) {  // opset 2: a bias, added in float32 before the one rounding
    const float* b = c.in(s, 2);
    for (size_t r = 0; r < rows; ++r)
      for (size_t n = 0; n < n_out; ++n) o[r * n_out + n] += b[n];
  }
  c.round(c.slot(s.out).dtype, o, rows * n_out);
}

}  // namespace pte::fast
