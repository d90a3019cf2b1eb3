// The page of `lowbit export --format web`: the packed model (model.js, base64) run by lowbit's
// runtime (lowbit-runtime.iife.js) in the page. 28×28 grayscale models get a canvas to draw on (a
// white stroke on black, as MNIST); every model gets buttons for the test images embedded in
// model.js. Class probabilities update live. window.lowbitPage is what tests drive.
(function () {
  'use strict';
  const meta = window.LOWBIT_MODEL;
  const raw = atob(meta.base64);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  const model = lowbit.loadLowbit(bytes);
  const [H, W, C] = model.inputShape;
  const labels = meta.labels || [];

  /** Logits for one image of H·W·C bytes (0..255, HWC), normalised as in training. */
  function predictPixels(pixels) {
    const x = new Float32Array(H * W * C);
    for (let i = 0; i < x.length; i++) {
      const c = i % C;
      x[i] = (pixels[i] / 255 - meta.mean[c]) / meta.std[c];
    }
    return model.predict(x, 1);
  }

  function show(logits) {
    const m = Math.max(...logits);
    const e = Array.from(logits, (v) => Math.exp(v - m));
    const s = e.reduce((a, b) => a + b, 0);
    const p = e.map((v) => v / s);
    const best = p.indexOf(Math.max(...p));
    document.getElementById('prediction').textContent = `${labels[best] ?? best}: ${(100 * p[best]).toFixed(1)}%`;
    const bars = document.getElementById('bars');
    bars.replaceChildren(
      ...p.map((v, k) => {
        const row = document.createElement('div');
        row.className = 'bar';
        const name = document.createElement('span');
        name.textContent = `${labels[k] ?? k}`.padEnd(12, ' ');
        const fill = document.createElement('span');
        fill.className = 'fill';
        fill.style.width = `${Math.round(200 * v)}px`;
        const pct = document.createElement('span');
        pct.textContent = `${(100 * v).toFixed(1)}%`;
        row.append(name, fill, pct);
        return row;
      }),
    );
    return p;
  }

  const input = document.getElementById('input');
  let pad = null;
  if (H === 28 && W === 28 && C === 1 && meta.draw) {
    // Draw at 10× and average each 10×10 block into one pixel, as the 28×28 model sees it.
    pad = document.createElement('canvas');
    pad.id = 'pad';
    pad.width = pad.height = 280;
    const g = pad.getContext('2d', { willReadFrequently: true });
    g.fillStyle = '#000';
    g.fillRect(0, 0, 280, 280);
    g.strokeStyle = '#fff';
    g.lineWidth = 22;
    g.lineCap = g.lineJoin = 'round';
    let drawing = false;
    const at = (e) => {
      const r = pad.getBoundingClientRect();
      return [((e.clientX - r.left) * 280) / r.width, ((e.clientY - r.top) * 280) / r.height];
    };
    const pixels = () => {
      const d = g.getImageData(0, 0, 280, 280).data;
      const out = new Uint8Array(28 * 28);
      for (let y = 0; y < 28; y++)
        for (let x = 0; x < 28; x++) {
          let s = 0;
          for (let dy = 0; dy < 10; dy++) for (let dx = 0; dx < 10; dx++) s += d[((y * 10 + dy) * 280 + x * 10 + dx) * 4];
          out[y * 28 + x] = Math.round(s / 100);
        }
      return out;
    };
    const update = () => show(predictPixels(pixels()));
    pad.addEventListener('pointerdown', (e) => {
      drawing = true;
      g.beginPath();
      g.moveTo(...at(e));
    });
    pad.addEventListener('pointermove', (e) => {
      if (!drawing) return;
      g.lineTo(...at(e));
      g.stroke();
      update();
    });
    window.addEventListener('pointerup', () => {
      if (drawing) update();
      drawing = false;
    });
    const clear = document.createElement('button');
    clear.textContent = 'Clear';
    clear.onclick = () => {
      g.fillRect(0, 0, 280, 280);
      document.getElementById('prediction').textContent = '';
      document.getElementById('bars').replaceChildren();
    };
    const box = document.createElement('div');
    box.append(pad, document.createElement('br'), clear);
    input.append(box);
  }
  if (meta.samples && meta.samples.length) {
    const box = document.createElement('div');
    box.id = 'samples';
    const title = document.createElement('p');
    title.textContent = 'Test images:';
    box.append(title);
    meta.samples.forEach((s, i) => {
      const px = Uint8Array.from(atob(s.pixels), (ch) => ch.charCodeAt(0));
      const b = document.createElement('button');
      b.textContent = `#${i + 1} (${labels[s.label] ?? s.label})`;
      b.onclick = () => show(predictPixels(px));
      box.append(b);
    });
    input.append(box);
  }
  document.getElementById('about').textContent =
    `${meta.title} · input ${H}×${W}×${C} · ${lowbit.runtimeKernels()} kernels · ${(bytes.length / 1024).toFixed(1)} KB packed`;
  window.lowbitPage = { predictPixels, show, kernels: lowbit.runtimeKernels(), pad };
})();
