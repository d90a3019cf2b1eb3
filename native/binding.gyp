{
  "targets": [
    {
      "target_name": "lowbit_native",
      "sources": ["<!@(node -p \"require('fs').readdirSync('src').filter((f) => f.endsWith('.cc')).sort().map((f) => 'src/' + f).join(' ')\")"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "/usr/include/x86_64-linux-gnu"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_CPP_EXCEPTIONS_ALL"],
      "cflags_cc!": ["-fno-exceptions", "-fno-rtti", "-std=gnu++17"],
      "cflags_cc": ["-std=c++17", "-O3", "-mavx2", "-mfma", "-fopenmp", "-fexceptions"],
      "libraries": ["-ldnnl", "-lopenblas", "-fopenmp"]
    }
  ]
}
