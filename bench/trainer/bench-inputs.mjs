// Random inputs of the trainer benchmarks' models (fixtures/bench/*.onnx) at a batch size:
// the data feeds and integer labels (10 classes; 2 for the transformer's text task).
import * as ort from "onnxruntime-node";

export function inputsFor(model, batch) {
  const rand = (n) => Float32Array.from({ length: n }, () => Math.random() * 2 - 1);
  const labels = new ort.Tensor("int64", BigInt64Array.from({ length: batch }, () => BigInt(Math.floor(Math.random() * (model === "transformer2" ? 2 : 10)))), [batch]);
  if (model === "mlp784") return { feeds: { x: new ort.Tensor("float32", rand(batch * 784), [batch, 784]) }, labels };
  if (model === "fmnist_cnn") return { feeds: { image: new ort.Tensor("float32", rand(batch * 784), [batch, 1, 28, 28]) }, labels };
  // transformer2: token ids with a random length per row, padding masked out.
  const ids = new BigInt64Array(batch * 64);
  const mask = new BigInt64Array(batch * 64);
  for (let r = 0; r < batch; r++) {
    const len = 1 + Math.floor(Math.random() * 64);
    for (let t = 0; t < 64; t++) {
      ids[r * 64 + t] = t < len ? BigInt(1 + Math.floor(Math.random() * 999)) : 0n;
      mask[r * 64 + t] = t < len ? 1n : 0n;
    }
  }
  return { feeds: { input_ids: new ort.Tensor("int64", ids, [batch, 64]), attention_mask: new ort.Tensor("int64", mask, [batch, 64]) }, labels };
}
