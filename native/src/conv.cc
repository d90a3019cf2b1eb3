// Convolution forward / backward-data / backward-filter over oneDNN, NHWC activations and
// HWIO weights (the tfjs layouts). Weights are reordered into the layout oneDNN prefers
// because forcing HWIO makes it fall back to a much slower GEMM path (measured: 1.5x).
// Grouped convolutions (an 18th dimension G > 1) take tfjs's depthwise filter [KH, KW, C, M]:
// G = C groups of one input channel and M outputs each, oneDNN's grouped "hwigo" layout.
#include "common.h"
#include "dnnl_util.h"
#include <string>
#include <unordered_map>

namespace lowbit {

using namespace dnnl;
using tag = memory::format_tag;
using dt = memory::data_type;

// The engine, stream and primitive cache live until the process ends and are never destroyed:
// static destructors at exit would run in an order where primitives outlive their engine
// (seen as heap corruption when Node exits).
engine& cpuEngine() {
  static engine* e = new engine(engine::kind::cpu, 0);
  return *e;
}
stream& cpuStream() {
  static stream* s = new stream(cpuEngine());
  return *s;
}

// dims: N,H,W,IC,OC,KH,KW,sh,sw,dh,dw,pt,pb,pl,pr,OH,OW[,G]
struct ConvDims {
  int N, H, W, IC, OC, KH, KW, sh, sw, dh, dw, pt, pb, pl, pr, OH, OW, G;
};

static ConvDims readDims(const Span<int32_t>& d) {
  if (d.length != 17 && d.length != 18) fail("conv dims must have 17 entries (18 with groups)");
  const int32_t* p = d.data;
  ConvDims c{p[0], p[1], p[2], p[3], p[4], p[5], p[6], p[7], p[8], p[9], p[10], p[11], p[12], p[13], p[14], p[15], p[16], 1};
  if (d.length == 18) c.G = p[17];
  if (c.G < 1 || c.IC % c.G || c.OC % c.G) fail("conv groups must divide the input and output channels");
  if (c.G > 1 && c.IC != c.G) fail("grouped conv: only depthwise (one input channel per group) is supported");
  return c;
}

struct ConvEntry {
  memory::desc src, wei, bias, dst, weiUser;
  bool hasBias = false;
  std::unique_ptr<convolution_forward::primitive_desc> fpd;
  std::unique_ptr<convolution_forward> fwd;
  CachedReorder fwdWei;
  std::unique_ptr<convolution_backward_data::primitive_desc> bdpd;
  std::unique_ptr<convolution_backward_data> bwdData;
  CachedReorder bwdDataWei;
  std::unique_ptr<convolution_backward_weights::primitive_desc> bwpd;
  std::unique_ptr<convolution_backward_weights> bwdWei;
  CachedReorder bwdWeiOut;
};

static std::unordered_map<std::string, std::unique_ptr<ConvEntry>>& g_cache = *new std::unordered_map<std::string, std::unique_ptr<ConvEntry>>();

static std::string key(const ConvDims& c, bool bias, int act) {
  std::string k;
  const int* p = &c.N;
  for (int i = 0; i < 18; i++) k += std::to_string(p[i]) + ",";
  return k + (bias ? "b" : "-") + std::to_string(act) + "@" + std::to_string(threads());
}

static ConvEntry& entry(const ConvDims& c, bool bias, int act) {
  auto& slot = g_cache[key(c, bias, act)];
  if (slot) return *slot;
  slot = std::make_unique<ConvEntry>();
  ConvEntry& e = *slot;
  e.hasBias = bias;
  e.src = memory::desc({c.N, c.IC, c.H, c.W}, dt::f32, tag::nhwc);
  e.dst = memory::desc({c.N, c.OC, c.OH, c.OW}, dt::f32, tag::nhwc);
  if (c.G > 1) {
    const memory::dims wd{c.G, c.OC / c.G, c.IC / c.G, c.KH, c.KW};
    e.weiUser = memory::desc(wd, dt::f32, tag::hwigo);
    e.wei = memory::desc(wd, dt::f32, tag::any);
  } else {
    e.weiUser = memory::desc({c.OC, c.IC, c.KH, c.KW}, dt::f32, tag::hwio);
    e.wei = memory::desc({c.OC, c.IC, c.KH, c.KW}, dt::f32, tag::any);
  }
  e.bias = memory::desc({c.OC}, dt::f32, tag::x);
  memory::dims strides{c.sh, c.sw}, dil{c.dh - 1, c.dw - 1}, pl{c.pt, c.pl}, pr{c.pb, c.pr};
  auto d = bias ? convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, e.src, e.wei,
                                            e.bias, e.dst, strides, dil, pl, pr)
                : convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct, e.src, e.wei,
                                            e.dst, strides, dil, pl, pr);
  primitive_attr attr;
  if (act == 1) {
    post_ops ops;
    ops.append_eltwise(1.f, algorithm::eltwise_relu, 0.f, 0.f);
    attr.set_post_ops(ops);
  }
  e.fpd = std::make_unique<convolution_forward::primitive_desc>(d, attr, cpuEngine());
  return e;
}

static Napi::Value Forward(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), w = arg<float>(info, 1), b = arg<float>(info, 2), y = arg<float>(info, 3);
  ConvDims c = readDims(arg<int32_t>(info, 4));
  int act = argInt(info, 5);
  ConvEntry& e = entry(c, b.data != nullptr, act);
  if (!e.fwd) {
    e.fwd = std::make_unique<convolution_forward>(*e.fpd);
    e.fwdWei.init(e.weiUser, e.fpd->weights_desc(), true);
  }
  auto& eng = cpuEngine();
  auto& s = cpuStream();
  memory X(e.src, eng, x.data), W(e.weiUser, eng, w.data), Y(e.dst, eng, y.data);
  memory Wp = W;
  if (e.fwdWei.needed) {
    e.fwdWei.prim.execute(s, W, e.fwdWei.scratch);
    Wp = e.fwdWei.scratch;
  }
  std::unordered_map<int, memory> args{{DNNL_ARG_SRC, X}, {DNNL_ARG_WEIGHTS, Wp}, {DNNL_ARG_DST, Y}};
  if (e.hasBias) args.insert({DNNL_ARG_BIAS, memory(e.bias, eng, b.data)});
  e.fwd->execute(s, args);
  s.wait();
  return info.Env().Undefined();
}

static Napi::Value BackwardData(const Napi::CallbackInfo& info) {
  auto dy = arg<float>(info, 0), w = arg<float>(info, 1), dx = arg<float>(info, 2);
  ConvDims c = readDims(arg<int32_t>(info, 3));
  ConvEntry& e = entry(c, false, 0);
  if (!e.bwdData) {
    memory::dims strides{c.sh, c.sw}, dil{c.dh - 1, c.dw - 1}, pl{c.pt, c.pl}, pr{c.pb, c.pr};
    convolution_backward_data::desc d(algorithm::convolution_direct, e.src, e.wei, e.dst, strides, dil, pl, pr);
    e.bdpd = std::make_unique<convolution_backward_data::primitive_desc>(d, cpuEngine(), *e.fpd);
    e.bwdData = std::make_unique<convolution_backward_data>(*e.bdpd);
    e.bwdDataWei.init(e.weiUser, e.bdpd->weights_desc(), true);
  }
  auto& eng = cpuEngine();
  auto& s = cpuStream();
  memory DY(e.dst, eng, dy.data), W(e.weiUser, eng, w.data), DX(e.src, eng, dx.data);
  memory Wp = W;
  if (e.bwdDataWei.needed) {
    e.bwdDataWei.prim.execute(s, W, e.bwdDataWei.scratch);
    Wp = e.bwdDataWei.scratch;
  }
  e.bwdData->execute(s, {{DNNL_ARG_DIFF_DST, DY}, {DNNL_ARG_WEIGHTS, Wp}, {DNNL_ARG_DIFF_SRC, DX}});
  s.wait();
  return info.Env().Undefined();
}

static Napi::Value BackwardFilter(const Napi::CallbackInfo& info) {
  auto x = arg<float>(info, 0), dy = arg<float>(info, 1), dw = arg<float>(info, 2);
  ConvDims c = readDims(arg<int32_t>(info, 3));
  ConvEntry& e = entry(c, false, 0);
  if (!e.bwdWei) {
    memory::dims strides{c.sh, c.sw}, dil{c.dh - 1, c.dw - 1}, pl{c.pt, c.pl}, pr{c.pb, c.pr};
    convolution_backward_weights::desc d(algorithm::convolution_direct, e.src, e.wei, e.dst, strides, dil, pl, pr);
    e.bwpd = std::make_unique<convolution_backward_weights::primitive_desc>(d, cpuEngine(), *e.fpd);
    e.bwdWei = std::make_unique<convolution_backward_weights>(*e.bwpd);
    e.bwdWeiOut.init(e.weiUser, e.bwpd->diff_weights_desc(), false);
  }
  auto& eng = cpuEngine();
  auto& s = cpuStream();
  memory X(e.src, eng, x.data), DY(e.dst, eng, dy.data), DW(e.weiUser, eng, dw.data);
  memory target = e.bwdWeiOut.needed ? e.bwdWeiOut.scratch : DW;
  e.bwdWei->execute(s, {{DNNL_ARG_SRC, X}, {DNNL_ARG_DIFF_DST, DY}, {DNNL_ARG_DIFF_WEIGHTS, target}});
  if (e.bwdWeiOut.needed) e.bwdWeiOut.prim.execute(s, e.bwdWeiOut.scratch, DW);
  s.wait();
  return info.Env().Undefined();
}

static Napi::Value CacheSize(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), g_cache.size()); }

void registerConv(Napi::Env env, Napi::Object exports) {
  exports.Set("conv2dForward", Napi::Function::New(env, Forward));
  exports.Set("conv2dBackwardData", Napi::Function::New(env, BackwardData));
  exports.Set("conv2dBackwardFilter", Napi::Function::New(env, BackwardFilter));
  exports.Set("convCacheSize", Napi::Function::New(env, CacheSize));
}
LOWBIT_REGISTER(registerConv);

}  // namespace lowbit
