// Fused batch normalization over the last (channel) axis of NHWC / NC tensors, training and
// inference, with an optional fused ReLU. Statistics accumulate in double so that large
// batches (M = N*H*W up to millions) keep float32 accuracy.
#include "common.h"
#include <cmath>
#include <omp.h>
#include <vector>

namespace lowbit {

// Per-channel sums of f(row, c) over all rows, split across threads then reduced.
template <typename F>
static void channelSums(size_t M, int C, std::vector<double>& out, F f) {
  int T = threads();
  std::vector<double> part(size_t(T) * C, 0.0);
#pragma omp parallel num_threads(T)
  {
    int t = omp_get_thread_num();
    double* p = part.data() + size_t(t) * C;
#pragma omp for schedule(static)
    for (size_t r = 0; r < M; r++)
      for (int c = 0; c < C; c++) p[c] += f(r, c);
  }
  out.assign(C, 0.0);
  for (int t = 0; t < T; t++)
    for (int c = 0; c < C; c++) out[c] += part[size_t(t) * C + c];
}

// bnTrainForward(x, gamma, beta, y, meanOut, varOut, C, eps, relu): varOut is the biased batch variance.
static Napi::Value TrainForward(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), gamma = arg<float>(info, 1), beta = arg<float>(info, 2), y = arg<float>(info, 3);
  auto meanOut = arg<float>(info, 4), varOut = arg<float>(info, 5);
  const int C = argInt(info, 6);
  const float eps = argFloat(info, 7);
  const bool relu = argInt(info, 8) != 0;
  const size_t M = x.length / C;
  const float* X = x.data;
  std::vector<double> sum, sq;
  channelSums(M, C, sum, [&](size_t r, int c) { return double(X[r * C + c]); });
  std::vector<float> mean(C), scale(C), shift(C);
  for (int c = 0; c < C; c++) mean[c] = float(sum[c] / double(M));
  channelSums(M, C, sq, [&](size_t r, int c) {
    double d = double(X[r * C + c]) - mean[c];
    return d * d;
  });
  for (int c = 0; c < C; c++) {
    float var = float(sq[c] / double(M));
    meanOut.data[c] = mean[c];
    varOut.data[c] = var;
    float inv = 1.f / std::sqrt(var + eps);
    scale[c] = inv * gamma.data[c];
    shift[c] = beta.data[c] - mean[c] * scale[c];
  }
  float* Y = y.data;
#pragma omp parallel for num_threads(threads()) schedule(static)
  for (size_t r = 0; r < M; r++) {
    const float* xr = X + r * C;
    float* yr = Y + r * C;
    for (int c = 0; c < C; c++) {
      float v = xr[c] * scale[c] + shift[c];
      yr[c] = relu ? (v > 0.f ? v : 0.f) : v;
    }
  }
  return info.Env().Undefined();
}

// bnTrainBackward(dy, x, y|null, gamma, mean, var, dx, dgamma, dbeta, C, eps): y (the fused ReLU
// output) masks dy where the ReLU was off; exact gradient of batch statistics included.
static Napi::Value TrainBackward(const Napi::CallbackInfo& info) {
  auto dy = arg<float>(info, 0), x = arg<float>(info, 1), y = arg<float>(info, 2), gamma = arg<float>(info, 3);
  auto mean = arg<float>(info, 4), var = arg<float>(info, 5), dx = arg<float>(info, 6);
  auto dgamma = arg<float>(info, 7), dbeta = arg<float>(info, 8);
  const int C = argInt(info, 9);
  const float eps = argFloat(info, 10);
  const size_t M = x.length / C;
  const float *DY = dy.data, *X = x.data, *Y = y.data;
  std::vector<float> inv(C);
  for (int c = 0; c < C; c++) inv[c] = 1.f / std::sqrt(var.data[c] + eps);
  auto g = [&](size_t i) { return (Y && Y[i] <= 0.f) ? 0.f : DY[i]; };
  std::vector<double> sg, sgx;
  channelSums(M, C, sg, [&](size_t r, int c) { return double(g(r * C + c)); });
  channelSums(M, C, sgx, [&](size_t r, int c) {
    size_t i = r * C + c;
    return double(g(i)) * double((X[i] - mean.data[c]) * inv[c]);
  });
  std::vector<float> a(C), b(C), k(C);
  for (int c = 0; c < C; c++) {
    dbeta.data[c] = float(sg[c]);
    dgamma.data[c] = float(sgx[c]);
    k[c] = gamma.data[c] * inv[c];
    a[c] = float(sg[c] / double(M));
    b[c] = float(sgx[c] / double(M));
  }
  float* DX = dx.data;
#pragma omp parallel for num_threads(threads()) schedule(static)
  for (size_t r = 0; r < M; r++) {
    for (int c = 0; c < C; c++) {
      size_t i = r * C + c;
      float xhat = (X[i] - mean.data[c]) * inv[c];
      DX[i] = k[c] * (g(i) - a[c] - xhat * b[c]);
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
  const size_t M = x.length / C;
  std::vector<float> scale(C), shift(C);
  for (int c = 0; c < C; c++) {
    scale[c] = gamma.data[c] / std::sqrt(var.data[c] + eps);
    shift[c] = beta.data[c] - mean.data[c] * scale[c];
  }
  const float* X = x.data;
  float* Y = y.data;
#pragma omp parallel for num_threads(threads()) schedule(static) if (M * C > 65536)
  for (size_t r = 0; r < M; r++)
    for (int c = 0; c < C; c++) {
      float v = X[r * C + c] * scale[c] + shift[c];
      Y[r * C + c] = relu ? (v > 0.f ? v : 0.f) : v;
    }
  return info.Env().Undefined();
}

void registerBatchnorm(Napi::Env env, Napi::Object exports) {
  exports.Set("bnTrainForward", Napi::Function::New(env, TrainForward));
  exports.Set("bnTrainBackward", Napi::Function::New(env, TrainBackward));
  exports.Set("bnInference", Napi::Function::New(env, Inference));
}

}  // namespace lowbit
