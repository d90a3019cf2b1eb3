// Fused batch normalization over the last (channel) axis of NHWC / NC tensors, training and
// inference, with an optional fused ReLU. Sums run in float over blocks of rows (so the inner
// loop over channels vectorises) and are flushed into double per block, which keeps float32
// accuracy for M = N*H*W in the millions. The variance uses data shifted by the first row,
// which avoids the cancellation of E[x^2] - E[x]^2 when |mean| >> std.
#include "common.h"
#include <algorithm>
#include <cmath>
#include <omp.h>
#include <vector>

namespace lowbit {

static constexpr size_t kBlock = 32;

// Per-thread block sums: for each channel c, A[c] = sum_r a(r,c), B[c] = sum_r b(r,c) with
// a, b computed by `rowFn(row, fa, fb)` which adds one row into the float block accumulators.
template <typename RowFn>
static void blockSums(size_t M, int C, std::vector<double>& A, std::vector<double>& B, RowFn rowFn) {
  const int T = threads();
  std::vector<double> part(size_t(T) * 2 * C, 0.0);
#pragma omp parallel num_threads(T)
  {
    const int t = omp_get_thread_num();
    double* pa = part.data() + size_t(t) * 2 * C;
    double* pb = pa + C;
    std::vector<float> fa(C), fb(C);
    const size_t per = (M + T - 1) / T, r0 = std::min(M, per * t), r1 = std::min(M, r0 + per);
    for (size_t b0 = r0; b0 < r1; b0 += kBlock) {
      std::fill(fa.begin(), fa.end(), 0.f);
      std::fill(fb.begin(), fb.end(), 0.f);
      const size_t b1 = std::min(r1, b0 + kBlock);
      for (size_t r = b0; r < b1; r++) rowFn(r, fa.data(), fb.data());
      for (int c = 0; c < C; c++) {
        pa[c] += fa[c];
        pb[c] += fb[c];
      }
    }
  }
  A.assign(C, 0.0);
  B.assign(C, 0.0);
  for (int t = 0; t < T; t++)
    for (int c = 0; c < C; c++) {
      A[c] += part[size_t(t) * 2 * C + c];
      B[c] += part[size_t(t) * 2 * C + C + c];
    }
}

// y = x*scale + shift (+ ReLU), rows in parallel.
static void affine(const float* X, float* Y, size_t M, int C, const float* scale, const float* shift, bool relu) {
#pragma omp parallel for num_threads(threads()) schedule(static) if (M * C > 32768)
  for (size_t r = 0; r < M; r++) {
    const float* __restrict xr = X + r * C;
    float* __restrict yr = Y + r * C;
    if (relu)
      for (int c = 0; c < C; c++) yr[c] = std::max(xr[c] * scale[c] + shift[c], 0.f);
    else
      for (int c = 0; c < C; c++) yr[c] = xr[c] * scale[c] + shift[c];
  }
}

// bnTrainForward(x, gamma, beta, y, meanOut, varOut, C, eps, relu): varOut is the biased batch variance.
static Napi::Value TrainForward(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), gamma = arg<float>(info, 1), beta = arg<float>(info, 2), y = arg<float>(info, 3);
  auto meanOut = arg<float>(info, 4), varOut = arg<float>(info, 5);
  const int C = argInt(info, 6);
  const float eps = argFloat(info, 7);
  const bool relu = argInt(info, 8) != 0;
  const size_t M = x.length / C;
  if (M == 0) fail("bnTrainForward: empty input");
  const float* X = x.data;
  std::vector<float> K(X, X + C);  // shift
  std::vector<double> S, Q;
  blockSums(M, C, S, Q, [&](size_t r, float* __restrict fs, float* __restrict fq) {
    const float* __restrict xr = X + r * C;
    const float* __restrict k = K.data();
    for (int c = 0; c < C; c++) {
      float d = xr[c] - k[c];
      fs[c] += d;
      fq[c] += d * d;
    }
  });
  std::vector<float> scale(C), shift(C);
  for (int c = 0; c < C; c++) {
    const double m = S[c] / double(M);
    const double var = std::max(0.0, Q[c] / double(M) - m * m);
    const float mean = float(K[c] + m);
    meanOut.data[c] = mean;
    varOut.data[c] = float(var);
    const float inv = 1.f / std::sqrt(float(var) + eps);
    scale[c] = inv * gamma.data[c];
    shift[c] = beta.data[c] - mean * scale[c];
  }
  affine(X, y.data, M, C, scale.data(), shift.data(), relu);
  return info.Env().Undefined();
}

// bnBackward(dy, x, y|null, gamma, mean, var, dx, dgamma, dbeta, C, eps, train): y (the fused ReLU
// output) masks dy where the ReLU was off. With train=1 the statistics are the batch's own, so
// the gradient flows through them too: dx = k*(g - mean(g) - xhat*mean(g*xhat)); with train=0
// (inference, fixed statistics) dx = k*g. In both, dgamma = sum g*xhat and dbeta = sum g.
static Napi::Value Backward(const Napi::CallbackInfo& info) {
  auto dy = arg<float>(info, 0), x = arg<float>(info, 1), y = arg<float>(info, 2), gamma = arg<float>(info, 3);
  auto mean = arg<float>(info, 4), var = arg<float>(info, 5), dx = arg<float>(info, 6);
  auto dgamma = arg<float>(info, 7), dbeta = arg<float>(info, 8);
  const int C = argInt(info, 9);
  const float eps = argFloat(info, 10);
  const bool train = argInt(info, 11) != 0;
  const size_t M = x.length / C;
  const float *DY = dy.data, *X = x.data, *Y = y.data, *MU = mean.data;
  const bool relu = Y != nullptr;
  std::vector<double> sg, sgx;
  blockSums(M, C, sg, sgx, [&](size_t r, float* __restrict fg, float* __restrict fgx) {
    const float* __restrict d = DY + r * C;
    const float* __restrict xr = X + r * C;
    const float* __restrict yr = relu ? Y + r * C : nullptr;
    for (int c = 0; c < C; c++) {
      float g = relu ? (yr[c] > 0.f ? d[c] : 0.f) : d[c];
      fg[c] += g;
      fgx[c] += g * (xr[c] - MU[c]);
    }
  });
  std::vector<float> k(C), a(C, 0.f), b(C, 0.f);
  for (int c = 0; c < C; c++) {
    const float inv = 1.f / std::sqrt(var.data[c] + eps);
    const double sgxhat = sgx[c] * inv;  // sum g * xhat
    dbeta.data[c] = float(sg[c]);
    dgamma.data[c] = float(sgxhat);
    k[c] = gamma.data[c] * inv;
    if (train) {
      a[c] = float(sg[c] / double(M));
      b[c] = float(sgxhat / double(M)) * inv;  // multiplies (x - mean)
    }
  }
  float* DX = dx.data;
#pragma omp parallel for num_threads(threads()) schedule(static) if (M * C > 32768)
  for (size_t r = 0; r < M; r++) {
    const float* __restrict d = DY + r * C;
    const float* __restrict xr = X + r * C;
    const float* __restrict yr = relu ? Y + r * C : nullptr;
    float* __restrict o = DX + r * C;
    for (int c = 0; c < C; c++) {
      float g = relu ? (yr[c] > 0.f ? d[c] : 0.f) : d[c];
      o[c] = k[c] * (g - a[c] - (xr[c] - MU[c]) * b[c]);
    }
  }
  return info.Env().Undefined();
}

// bnInference(x, gamma, beta, mean, var, y, C, eps, relu)
static Napi::Value Inference(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), gamma = arg<float>(info, 1), beta = arg<float>(info, 2);
  auto mean = arg<float>(info, 3), var = arg<float>(info, 4), y = arg<float>(info, 5);
  const int C = argInt(info, 6);
  const float eps = argFloat(info, 7);
  const bool relu = argInt(info, 8) != 0;
  std::vector<float> scale(C), shift(C);
  for (int c = 0; c < C; c++) {
    scale[c] = gamma.data[c] / std::sqrt(var.data[c] + eps);
    shift[c] = beta.data[c] - mean.data[c] * scale[c];
  }
  affine(x.data, y.data, x.length / C, C, scale.data(), shift.data(), relu);
  return info.Env().Undefined();
}

void registerBatchnorm(Napi::Env env, Napi::Object exports) {
  exports.Set("bnTrainForward", Napi::Function::New(env, TrainForward));
  exports.Set("bnBackward", Napi::Function::New(env, Backward));
  exports.Set("bnInference", Napi::Function::New(env, Inference));
}
LOWBIT_REGISTER(registerBatchnorm);

}  // namespace lowbit
