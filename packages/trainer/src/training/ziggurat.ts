/**
 * Tables of a 256-layer Ziggurat for the standard normal (Marsaglia and Tsang, "The Ziggurat
 * Method for Generating Random Variables", J. Stat. Softw. 5(8), 2000), computed in float64 at
 * load time. Layer i (0 to 255) is the box [0, X[i]] x [f(X[i]), f(X[i + 1])] with
 * f(x) = exp(-x^2 / 2); every layer has area V; layer 0 is the base box plus the tail beyond R.
 */
const LAYERS = 256;
/** Right edge of the base box (the tail starts here) and the common layer area, for 256 layers. */
export const ZIGGURAT_R = 3.6541528853610088;
const V = 0.00492867323399;

function f(x: number): number {
  return Math.exp(-0.5 * x * x);
}

/** X[0..256]: X[0] = V / f(R) (virtual width of the base layer), X[1] = R, ..., X[256] = 0. */
export const ZIGGURAT_X: Float64Array = (() => {
  const x = new Float64Array(LAYERS + 1);
  x[0] = V / f(ZIGGURAT_R);
  x[1] = ZIGGURAT_R;
  for (let i = 1; i < LAYERS - 1; i++) x[i + 1] = Math.sqrt(-2 * Math.log(V / x[i]! + f(x[i]!)));
  x[LAYERS] = 0;
  return x;
})();

/** Y[i] = f(X[i]) (Y[256] = 1). */
export const ZIGGURAT_Y: Float64Array = ZIGGURAT_X.map(f);

/** Area of each layer, for tests: every layer should cover V. */
export const ZIGGURAT_V = V;
