// Runs every model of a reference folder (see reference/main.go) in onnxruntime-web (WebAssembly)
// over the whole test set and compares it with nnsweep: each probability within 1e-5 of nnsweep's
// own forward pass, and the test accuracy exactly the one stored in the results. Exit status 1 on
// any difference, with what differed.
//
//   node check.mjs REFDIR
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-web';

const tolerance = 1e-5;
const batch = 1000;
const dir = process.argv[2];
const mf = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8'));
const f32 = (file) => { const b = readFileSync(join(dir, file)); return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4); };
ort.env.wasm.numThreads = 1;
ort.env.logLevel = 'error';
let failed = 0;
// Each model runs twice: as a user runs it (every graph optimization on) and with the graph's
// optimizations off, so that fusions (onnxruntime folds a Pad into the MaxPool after it, for one)
// cannot hide what the file itself says.
const levels = ['all', 'disabled'];
for (const tc of mf.cases.flatMap((c) => levels.map((level) => ({ ...c, level })))) {
  const session = await ort.InferenceSession.create(readFileSync(join(dir, tc.onnx)), { graphOptimizationLevel: tc.level });
  const want = f32(tc.probs);
  const images = f32(tc.images), labels = readFileSync(join(dir, tc.labels));
  const [c, h, w] = tc.shape_chw, size = c * h * w;
  let maxDiff = 0, worst = -1, correct = 0;
  for (let lo = 0; lo < tc.n; lo += batch) {
    const n = Math.min(batch, tc.n - lo);
    const input = new ort.Tensor('float32', images.subarray(lo * size, (lo + n) * size), [n, c, h, w]);
    const out = await session.run({ input });
    const p = out.probabilities.data;
    if (out.probabilities.dims.join() !== [n, tc.classes].join()) {
      console.error(`${tc.name}: output of shape [${out.probabilities.dims}], want [${n}, ${tc.classes}]`);
      process.exit(1);
    }
    for (let r = 0; r < n; r++) {
      let best = 0;
      for (let k = 0; k < tc.classes; k++) {
        const i = r * tc.classes + k;
        const d = Math.abs(p[i] - want[(lo * tc.classes) + i]);
        if (!(d <= maxDiff)) { maxDiff = d; worst = lo + r; }
        if (p[i] > p[r * tc.classes + best]) best = k;
      }
      if (best === labels[lo + r]) correct++;
    }
  }
  const accuracy = correct / tc.n;
  const ok = maxDiff <= tolerance && accuracy === tc.test_accuracy;
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${tc.name} (optimizations ${tc.level}): max |p_onnxruntime − p_nnsweep| = ${maxDiff.toExponential(2)} (image ${worst}; tolerance ${tolerance}), ` +
    `accuracy ${accuracy} (stored test_accuracy ${tc.test_accuracy}, nnsweep's forward pass ${tc.go_accuracy}) over ${tc.n} test images`);
  if (!ok) failed++;
}
if (failed > 0) {
  console.error(`${failed} of ${2 * mf.cases.length} runs of ${mf.cases.length} models differ from nnsweep`);
  process.exit(1);
}
console.log(`onnxruntime-web ${ort.env.versions.web ?? ''}: all ${mf.cases.length} models agree with nnsweep, with graph optimizations on and off`);
