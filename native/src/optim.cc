// Optimizer updates fused into one pass over each parameter. The parameter result goes to a
// fresh output array (tfjs may share a variable's buffer); the optimizer state is owned by
// lowbit and updated in place.
#include "common.h"
#include <cmath>

namespace lowbit {

// sgdMomentum(w, g, v, wOut, lr, momentum, weightDecay, nesterov): PyTorch's rule,
// g' = g + wd*w; v = mu*v + g'; w -= lr * (nesterov ? g' + mu*v : v).
static Napi::Value Sgd(const Napi::CallbackInfo& info) {
  auto w = arg<float>(info, 0), g = arg<float>(info, 1), v = arg<float>(info, 2), out = arg<float>(info, 3);
  const float lr = argFloat(info, 4), mu = argFloat(info, 5), wd = argFloat(info, 6);
  const bool nesterov = argInt(info, 7) != 0;
  const size_t n = w.length;
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > (1 << 16))
  for (size_t i = 0; i < n; i++) {
    float gi = g.data[i] + wd * w.data[i];
    float vi = mu * v.data[i] + gi;
    v.data[i] = vi;
    out.data[i] = w.data[i] - lr * (nesterov ? gi + mu * vi : vi);
  }
  return info.Env().Undefined();
}

// adam(w, g, m, v, wOut, lr, beta1, beta2, eps, weightDecay, step, decoupled):
// decoupled=1 is AdamW (decay applied to the weight), 0 adds wd*w to the gradient.
static Napi::Value Adam(const Napi::CallbackInfo& info) {
  auto w = arg<float>(info, 0), g = arg<float>(info, 1), m = arg<float>(info, 2), v = arg<float>(info, 3);
  auto out = arg<float>(info, 4);
  const float lr = argFloat(info, 5), b1 = argFloat(info, 6), b2 = argFloat(info, 7), eps = argFloat(info, 8);
  const float wd = argFloat(info, 9);
  const int step = argInt(info, 10);
  const bool decoupled = argInt(info, 11) != 0;
  const float c1 = 1.f - std::pow(b1, float(step)), c2 = 1.f - std::pow(b2, float(step));
  const size_t n = w.length;
#pragma omp parallel for num_threads(threads()) schedule(static) if (n > (1 << 16))
  for (size_t i = 0; i < n; i++) {
    float wi = w.data[i];
    float gi = g.data[i] + (decoupled ? 0.f : wd * wi);
    float mi = b1 * m.data[i] + (1.f - b1) * gi;
    float vi = b2 * v.data[i] + (1.f - b2) * gi * gi;
    m.data[i] = mi;
    v.data[i] = vi;
    float upd = (mi / c1) / (std::sqrt(vi / c2) + eps);
    out.data[i] = wi - lr * (upd + (decoupled ? wd * wi : 0.f));
  }
  return info.Env().Undefined();
}

void registerOptim(Napi::Env env, Napi::Object exports) {
  exports.Set("sgdMomentum", Napi::Function::New(env, Sgd));
  exports.Set("adam", Napi::Function::New(env, Adam));
}
LOWBIT_REGISTER(registerOptim);

}  // namespace lowbit
