/**
 * Per-sample loss of one output row, matching the training graph's losses: cross_entropy on a
 * class id (log-sum-exp minus the label's logit), mse and bce_with_logits averaged over the
 * row's elements (the PyTorch fixture's `per_sample_loss`). Computed in float64.
 */
export function rowLoss(loss: string, row: Float32Array, label: Float32Array | bigint): number {
  if (loss === "cross_entropy") {
    let max = -Infinity;
    for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]!);
    let sum = 0;
    for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
    return max + Math.log(sum) - row[Number(label as bigint)]!;
  }
  const y = label as Float32Array;
  let total = 0;
  for (let i = 0; i < row.length; i++) {
    const x = row[i]!;
    // BCE with logits in its stable form: max(x, 0) - x y + log(1 + exp(-|x|)).
    total += loss === "mse" ? (x - y[i]!) ** 2 : Math.max(x, 0) - x * y[i]! + Math.log1p(Math.exp(-Math.abs(x)));
  }
  return total / row.length;
}
