// Element-wise kernels that dominate a training profile once convolutions are native:
// ReLU and its gradient, clipping (ReLU6) and its gradient, same-shape add/multiply, and column
// sums (bias gradients).
#include "common.h"
#include <omp.h>
#include <vector>

namespace lowbit {

static constexpr size_t kParallelMin = 1 << 15;

static Napi::Value Relu(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), y = arg<float>(info, 1);
  const size_t n = x.length;
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > kParallelMin)
  for (size_t i = 0; i < n; i++) y.data[i] = x.data[i] > 0.f ? x.data[i] : 0.f;
  return info.Env().Undefined();
}

// reluGrad(dy, x, dx): dx = dy where x > 0 (the subgradient at 0 is 0, as in tfjs).
static Napi::Value ReluGrad(const Napi::CallbackInfo& info) {
  auto dy = arg<float>(info, 0), x = arg<float>(info, 1), dx = arg<float>(info, 2);
  const size_t n = x.length;
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > kParallelMin)
  for (size_t i = 0; i < n; i++) dx.data[i] = x.data[i] > 0.f ? dy.data[i] : 0.f;
  return info.Env().Undefined();
}

// clip(x, lo, hi, y): y = hi where x > hi, lo where x < lo, else x (NaN passes, as in tfjs).
static Napi::Value Clip(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), y = arg<float>(info, 3);
  const float lo = argFloat(info, 1), hi = argFloat(info, 2);
  const size_t n = x.length;
  if (y.length != n) fail("clip: array lengths do not match");
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > kParallelMin)
  for (size_t i = 0; i < n; i++) {
    const float v = x.data[i];
    y.data[i] = v > hi ? hi : (v < lo ? lo : v);
  }
  return info.Env().Undefined();
}

// clipGrad(dy, x, lo, hi, dx): dx = dy where lo <= x <= hi, else 0 (tfjs's ClipByValue gradient).
static Napi::Value ClipGrad(const Napi::CallbackInfo& info) {
  auto dy = arg<float>(info, 0), x = arg<float>(info, 1), dx = arg<float>(info, 4);
  const float lo = argFloat(info, 2), hi = argFloat(info, 3);
  const size_t n = x.length;
  if (dy.length != n || dx.length != n) fail("clipGrad: array lengths do not match");
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > kParallelMin)
  for (size_t i = 0; i < n; i++) dx.data[i] = x.data[i] >= lo && x.data[i] <= hi ? dy.data[i] : 0.f;
  return info.Env().Undefined();
}

template <int OP>
static inline float apply(float u, float v) {
  return OP == 0 ? u + v : OP == 1 ? u - v : OP == 2 ? u * v : u / v;
}

// Each operand has length 1 (scalar), length(out), or C dividing length(out) (broadcast over
// the last axis, e.g. a bias); the loop is specialised so the common cases vectorise.
template <int OP>
static void binaryLoop(const float* A, size_t la, const float* B, size_t lb, float* O, size_t n) {
  if (la == n && lb == n) {
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > kParallelMin)
    for (size_t i = 0; i < n; i++) O[i] = apply<OP>(A[i], B[i]);
  } else if (la == n && lb == 1) {
    const float v = B[0];
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > kParallelMin)
    for (size_t i = 0; i < n; i++) O[i] = apply<OP>(A[i], v);
  } else if (la == 1 && lb == n) {
    const float u = A[0];
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > kParallelMin)
    for (size_t i = 0; i < n; i++) O[i] = apply<OP>(u, B[i]);
  } else if (la == n) {
    const size_t rows = n / lb;
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > kParallelMin)
    for (size_t r = 0; r < rows; r++)
      for (size_t c = 0; c < lb; c++) O[r * lb + c] = apply<OP>(A[r * lb + c], B[c]);
  } else {
    const size_t rows = n / la;
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > kParallelMin)
    for (size_t r = 0; r < rows; r++)
      for (size_t c = 0; c < la; c++) O[r * la + c] = apply<OP>(A[c], B[r * la + c]);
  }
}

// General broadcast: out has shape `shape` (rank R); a and b are read with element strides
// sa, sb (0 on broadcast axes). Rows of the last axis run in parallel.
template <int OP>
static void stridedLoop(const float* A, const float* B, float* O, const int32_t* shape, const int32_t* sa,
                        const int32_t* sb, int R) {
  const size_t last = size_t(shape[R - 1]);
  size_t rows = 1;
  for (int d = 0; d < R - 1; d++) rows *= size_t(shape[d]);
  const size_t la = size_t(sa[R - 1]), lb = size_t(sb[R - 1]);
#pragma omp parallel for num_threads(threads()) schedule(static) if (rows * last > kParallelMin)
  for (size_t r = 0; r < rows; r++) {
    size_t rem = r, oa = 0, ob = 0;
    for (int d = R - 2; d >= 0; d--) {
      size_t i = rem % size_t(shape[d]);
      rem /= size_t(shape[d]);
      oa += i * size_t(sa[d]);
      ob += i * size_t(sb[d]);
    }
    const float* a = A + oa;
    const float* b = B + ob;
    float* o = O + r * last;
    if (la == 1 && lb == 1)
      for (size_t j = 0; j < last; j++) o[j] = apply<OP>(a[j], b[j]);
    else if (la == 1)
      for (size_t j = 0; j < last; j++) o[j] = apply<OP>(a[j], b[0]);
    else if (lb == 1)
      for (size_t j = 0; j < last; j++) o[j] = apply<OP>(a[0], b[j]);
    else
      for (size_t j = 0; j < last; j++) o[j] = apply<OP>(a[0], b[0]);
  }
}

// binary(a, b, out, op[, shape, stridesA, stridesB]): op 0 add, 1 sub, 2 mul, 3 div.
// Without shapes, operands are scalar, full, or broadcast over the last axis.
static Napi::Value Binary(const Napi::CallbackInfo& info) {
  auto a = arg<float>(info, 0), b = arg<float>(info, 1), out = arg<float>(info, 2);
  const int op = argInt(info, 3);
  const size_t n = out.length;
  if (n == 0) return info.Env().Undefined();
  if (info.Length() > 4) {
    auto shape = arg<int32_t>(info, 4), sa = arg<int32_t>(info, 5), sb = arg<int32_t>(info, 6);
    const int R = int(shape.length);
    if (R == 0 || sa.length != shape.length || sb.length != shape.length) fail("binary: bad broadcast description");
    if (op == 0) stridedLoop<0>(a.data, b.data, out.data, shape.data, sa.data, sb.data, R);
    else if (op == 1) stridedLoop<1>(a.data, b.data, out.data, shape.data, sa.data, sb.data, R);
    else if (op == 2) stridedLoop<2>(a.data, b.data, out.data, shape.data, sa.data, sb.data, R);
    else stridedLoop<3>(a.data, b.data, out.data, shape.data, sa.data, sb.data, R);
    return info.Env().Undefined();
  }
  if ((a.length != n && (a.length == 0 || n % a.length)) || (b.length != n && (b.length == 0 || n % b.length)))
    fail("binary: operand lengths do not broadcast");
  if (op == 0) binaryLoop<0>(a.data, a.length, b.data, b.length, out.data, n);
  else if (op == 1) binaryLoop<1>(a.data, a.length, b.data, b.length, out.data, n);
  else if (op == 2) binaryLoop<2>(a.data, a.length, b.data, b.length, out.data, n);
  else binaryLoop<3>(a.data, a.length, b.data, b.length, out.data, n);
  return info.Env().Undefined();
}

// meanMiddle(x, out, N, K, C): x viewed as [N, K, C]; out[n, c] = mean over k (spatial mean in NHWC).
static Napi::Value MeanMiddle(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), out = arg<float>(info, 1);
  const int N = argInt(info, 2), K = argInt(info, 3), C = argInt(info, 4);
  const float inv = 1.f / float(K);
#pragma omp parallel for num_threads(threads()) schedule(static) if (size_t(N) * K * C > kParallelMin)
  for (int nn = 0; nn < N; nn++) {
    std::vector<double> acc(C, 0.0);
    const float* xs = x.data + size_t(nn) * K * C;
    for (int k = 0; k < K; k++)
      for (int c = 0; c < C; c++) acc[c] += xs[size_t(k) * C + c];
    for (int c = 0; c < C; c++) out.data[size_t(nn) * C + c] = float(acc[c]) * inv;
  }
  return info.Env().Undefined();
}

// sumRows(x, out, C): out[c] = sum over rows of x viewed as [rows, C].
static Napi::Value SumRows(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), out = arg<float>(info, 1);
  const int C = argInt(info, 2);
  const size_t M = x.length / C;
  // Thread-local sums (no false sharing for small C), reduced at the end.
  int T = threads();
  std::vector<std::vector<double>> part(T);
#pragma omp parallel num_threads(T) if (M * C > kParallelMin)
  {
    std::vector<double> p(C, 0.0);
#pragma omp for schedule(static)
    for (size_t r = 0; r < M; r++)
      for (int c = 0; c < C; c++) p[c] += x.data[r * C + c];
    part[omp_get_thread_num()] = std::move(p);
  }
  for (int c = 0; c < C; c++) {
    double s = 0;
    for (const auto& p : part)
      if (!p.empty()) s += p[c];
    out.data[c] = float(s);
  }
  return info.Env().Undefined();
}

void registerElementwise(Napi::Env env, Napi::Object exports) {
  exports.Set("relu", Napi::Function::New(env, Relu));
  exports.Set("reluGrad", Napi::Function::New(env, ReluGrad));
  exports.Set("clip", Napi::Function::New(env, Clip));
  exports.Set("clipGrad", Napi::Function::New(env, ClipGrad));
  exports.Set("binary", Napi::Function::New(env, Binary));
  exports.Set("sumRows", Napi::Function::New(env, SumRows));
  exports.Set("meanMiddle", Napi::Function::New(env, MeanMiddle));
}
LOWBIT_REGISTER(registerElementwise);

}  // namespace lowbit
