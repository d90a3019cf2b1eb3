// Softmax cross-entropy with integer labels, fused forward (mean loss + saved probabilities)
// and backward ((p - onehot) * dy / B), numerically stable through the max shift.
#include "common.h"
#include <cmath>

namespace lowbit {

// softmaxXentForward(logits, labels(int32), probs, B, K) -> mean loss
static Napi::Value Forward(const Napi::CallbackInfo& info) {
  auto logits = arg<float>(info, 0);
  auto labels = arg<int32_t>(info, 1);
  auto probs = arg<float>(info, 2);
  const int B = argInt(info, 3), K = argInt(info, 4);
  double total = 0;
  for (int b = 0; b < B; b++) {
    const float* z = logits.data + size_t(b) * K;
    float* p = probs.data + size_t(b) * K;
    float mx = z[0];
    for (int k = 1; k < K; k++) mx = z[k] > mx ? z[k] : mx;
    double s = 0;
    for (int k = 0; k < K; k++) s += std::exp(double(z[k] - mx));
    double logS = std::log(s);
    for (int k = 0; k < K; k++) p[k] = float(std::exp(double(z[k] - mx) - logS));
    int y = labels.data[b];
    if (y < 0 || y >= K) fail("label " + std::to_string(y) + " out of range [0, " + std::to_string(K) + ")");
    total += logS - double(z[y] - mx);
  }
  return Napi::Number::New(info.Env(), total / B);
}

// softmaxXentBackward(probs, labels, dlogits, B, K, dy)
static Napi::Value Backward(const Napi::CallbackInfo& info) {
  auto probs = arg<float>(info, 0);
  auto labels = arg<int32_t>(info, 1);
  auto dl = arg<float>(info, 2);
  const int B = argInt(info, 3), K = argInt(info, 4);
  const float scale = argFloat(info, 5) / float(B);
  for (int b = 0; b < B; b++) {
    const float* p = probs.data + size_t(b) * K;
    float* d = dl.data + size_t(b) * K;
    for (int k = 0; k < K; k++) d[k] = p[k] * scale;
    d[labels.data[b]] -= scale;
  }
  return info.Env().Undefined();
}

void registerLoss(Napi::Env env, Napi::Object exports) {
  exports.Set("softmaxXentForward", Napi::Function::New(env, Forward));
  exports.Set("softmaxXentBackward", Napi::Function::New(env, Backward));
}
LOWBIT_REGISTER(registerLoss);

}  // namespace lowbit
