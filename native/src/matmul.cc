// (Batched) matrix multiply on OpenBLAS sgemm with an optional fused bias and ReLU,
// covering tfjs MatMul/BatchMatMul/_FusedMatMul (row-major, batch broadcast when a batch is 1).
#include "common.h"
#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>
#include <algorithm>

extern "C" void openblas_set_num_threads(int);

namespace lowbit {

static bool g_useBlas = true;
static int g_blasThreads = -1;

// OpenBLAS threads for one product: small products run single-threaded, where waking OpenBLAS's
// own threads (which contend with OpenMP's spinning workers on a small machine) costs more than
// it saves; large ones use every thread.
static void blasThreadsFor(long macs) {
  const int want = macs < (1L << 22) ? 1 : threads();
  if (want != g_blasThreads) {
    openblas_set_num_threads(want);
    g_blasThreads = want;
  }
}

// matmul(a, b, out, dims[batchA, batchB, M, N, K, transA, transB], bias|null, act)
static Napi::Value Matmul(const Napi::CallbackInfo& info) {
  auto a = arg<float>(info, 0), b = arg<float>(info, 1), out = arg<float>(info, 2);
  auto d = arg<int32_t>(info, 3);
  auto bias = arg<float>(info, 4);
  int act = argInt(info, 5);
  if (d.length != 7) fail("matmul dims must have 7 entries");
  const int batchA = d.data[0], batchB = d.data[1], M = d.data[2], N = d.data[3], K = d.data[4];
  const bool tA = d.data[5] != 0, tB = d.data[6] != 0;
  const int batch = std::max(batchA, batchB);
  const int lda = tA ? M : K, ldb = tB ? K : N;
  for (int i = 0; i < batch; i++) {
    const float* A = a.data + size_t(batchA == 1 ? 0 : i) * M * K;
    const float* B = b.data + size_t(batchB == 1 ? 0 : i) * K * N;
    float* C = out.data + size_t(i) * M * N;
    if (g_useBlas) {
      blasThreadsFor(long(M) * N * K);
      cblas_sgemm(CblasRowMajor, tA ? CblasTrans : CblasNoTrans, tB ? CblasTrans : CblasNoTrans, M, N, K, 1.f, A, lda,
                  B, ldb, 0.f, C, N);
    } else if (dnnl_sgemm(tA ? 'T' : 'N', tB ? 'T' : 'N', M, N, K, 1.f, A, lda, B, ldb, 0.f, C, N) != dnnl_success)
      fail("dnnl_sgemm failed");
    if (bias.data || act) {
      const size_t rows = size_t(M);
#pragma omp parallel for num_threads(threads()) if (rows * N > 65536)
      for (size_t r = 0; r < rows; r++) {
        float* row = C + r * N;
        if (bias.data)
          for (int c = 0; c < N; c++) row[c] += bias.data[c];
        if (act == 1)
          for (int c = 0; c < N; c++) row[c] = row[c] > 0.f ? row[c] : 0.f;
      }
    }
  }
  return info.Env().Undefined();
}

static Napi::Value UseBlas(const Napi::CallbackInfo& info) {
  g_useBlas = info[0].As<Napi::Boolean>().Value();
  return info.Env().Undefined();
}

static Napi::Value SetBlasThreads(const Napi::CallbackInfo& info) {
  g_blasThreads = -1;  // re-chosen per product from the new thread count
  openblas_set_num_threads(argInt(info, 0));
  return info.Env().Undefined();
}

void registerMatmul(Napi::Env env, Napi::Object exports) {
  exports.Set("matmul", Napi::Function::New(env, Matmul));
  exports.Set("setBlasThreads", Napi::Function::New(env, SetBlasThreads));
  exports.Set("useBlas", Napi::Function::New(env, UseBlas));
}
LOWBIT_REGISTER(registerMatmul);

}  // namespace lowbit
