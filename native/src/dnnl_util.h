// Process-wide oneDNN engine/stream and a cached weights reorder helper.
#pragma once
#include <oneapi/dnnl/dnnl.hpp>
#include <memory>

namespace lowbit {

dnnl::engine& cpuEngine();
dnnl::stream& cpuStream();

// Reorders between a user layout and a primitive's layout, keeping the scratch buffer and
// the reorder primitive alive so a training loop allocates nothing per step.
struct CachedReorder {
  bool needed = false;
  dnnl::memory scratch;  // memory in the primitive's layout
  dnnl::reorder prim;
  dnnl::memory::desc userDesc;
  void init(const dnnl::memory::desc& user, const dnnl::memory::desc& internal, bool toInternal) {
    userDesc = user;
    needed = !(user == internal);
    if (!needed) return;
    scratch = dnnl::memory(internal, cpuEngine());
    dnnl::memory u(user, cpuEngine(), DNNL_MEMORY_NONE);
    prim = toInternal ? dnnl::reorder(u, scratch) : dnnl::reorder(scratch, u);
  }
};

}  // namespace lowbit
