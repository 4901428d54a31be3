/**
 * A forward pass of the networks the project trains (stacked LSTM layers, then dense layers) over plain
 * typed arrays: weights are copied in once, every buffer is allocated once, and a prediction is a few loops
 * with no tensors and no kernel dispatch. tfjs runs some 300 tiny kernels for the same 0.15 M multiply-adds.
 *
 * The maths is the tfjs/Keras LSTM (gates i, f, c, o in that order along the 4·units axis of the kernels):
 *   z = x·W + h·U + b;  i = σr(z_i); f = σr(z_f); c = f∘c + i∘σ(z_c); o = σr(z_o); h = o∘σ(c)
 * with σ the activation and σr the recurrent activation. Weights are float32 as trained; sums are float64,
 * so the result is tfjs's to well within 1e-5 (tfjs rounds every intermediate to float32).
 */

export type ActivationName = 'tanh' | 'hard_sigmoid' | 'sigmoid' | 'linear' | 'relu';

export const ACTIVATIONS: Readonly<Record<ActivationName, (x: number) => number>> = {
  tanh: Math.tanh,
  // Keras/tfjs hard sigmoid: clip(0.2·x + 0.5, 0, 1).
  hard_sigmoid: (x) => {
    const y = 0.2 * x + 0.5;
    return y <= 0 ? 0 : y >= 1 ? 1 : y;
  },
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  linear: (x) => x,
  relu: (x) => (x > 0 ? x : 0),
};

export interface LstmLayerWeights {
  readonly inputSize: number;
  readonly units: number;
  /** inputSize × 4·units, row-major (the tfjs `kernel`). */
  readonly kernel: Float32Array;
  /** units × 4·units, row-major (the tfjs `recurrent_kernel`). */
  readonly recurrentKernel: Float32Array;
  /** 4·units, or null without bias. */
  readonly bias: Float32Array | null;
  readonly activation: ActivationName;
  readonly recurrentActivation: ActivationName;
}

export interface DenseLayerWeights {
  readonly inputSize: number;
  readonly units: number;
  /** inputSize × units, row-major. */
  readonly kernel: Float32Array;
  readonly bias: Float32Array | null;
  readonly activation: ActivationName;
}

/** Every LSTM but the last returns its whole sequence; the last one's final state feeds the dense layers. */
export interface FusedNetworkSpec {
  readonly window: number;
  readonly features: number;
  readonly lstm: readonly LstmLayerWeights[];
  readonly dense: readonly DenseLayerWeights[];
}

function checkLength(what: string, array: Float32Array | null, expected: number): void {
  if (array !== null && array.length !== expected) throw new RangeError(`${what} has ${array.length} values, expected ${expected}`);
}

function checkSpec(spec: FusedNetworkSpec): void {
  if (!(spec.window >= 1 && spec.features >= 1)) throw new RangeError('window and features must be at least 1');
  if (spec.lstm.length === 0) throw new RangeError('the network needs at least one LSTM layer');
  let size = spec.features;
  spec.lstm.forEach((layer, n) => {
    if (layer.inputSize !== size) throw new RangeError(`LSTM layer ${n} takes ${layer.inputSize} inputs, the layer before gives ${size}`);
    const gates = 4 * layer.units;
    checkLength(`LSTM layer ${n} kernel`, layer.kernel, layer.inputSize * gates);
    checkLength(`LSTM layer ${n} recurrent kernel`, layer.recurrentKernel, layer.units * gates);
    checkLength(`LSTM layer ${n} bias`, layer.bias, gates);
    size = layer.units;
  });
  spec.dense.forEach((layer, n) => {
    if (layer.inputSize !== size) throw new RangeError(`dense layer ${n} takes ${layer.inputSize} inputs, the layer before gives ${size}`);
    checkLength(`dense layer ${n} kernel`, layer.kernel, layer.inputSize * layer.units);
    checkLength(`dense layer ${n} bias`, layer.bias, layer.units);
    size = layer.units;
  });
}

/**
 * Weights in the order the loops read them: for output j, its column of the kernel as one contiguous row
 * (transposed), so each output is a dot product summed in a register rather than 4·units running sums in memory.
 * An LSTM's kernel and recurrent kernel are stacked, so [x_t, h_{t-1}] times one matrix gives all gates.
 */
function transposeStacked(blocks: readonly { readonly matrix: Float32Array; readonly rows: number }[], columns: number): Float64Array {
  const depth = blocks.reduce((sum, b) => sum + b.rows, 0);
  const out = new Float64Array(columns * depth);
  let offset = 0;
  for (const { matrix, rows } of blocks) {
    for (let k = 0; k < rows; k += 1) {
      for (let j = 0; j < columns; j += 1) out[j * depth + offset + k] = matrix[k * columns + j] as number;
    }
    offset += rows;
  }
  return out;
}

/** out[j] = bias[j] + Σ_k input[k]·weights[j·depth + k] for j < width. */
function matVec(input: Float64Array, depth: number, weights: Float64Array, bias: Float64Array, out: Float64Array, width: number): void {
  // Four independent sums per row let the CPU overlap the multiply-adds (one sum is a serial dependency chain).
  const tail = depth - (depth % 4);
  for (let j = 0; j < width; j += 1) {
    const row = j * depth;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    for (let k = 0; k < tail; k += 4) {
      s0 += (input[k] as number) * (weights[row + k] as number);
      s1 += (input[k + 1] as number) * (weights[row + k + 1] as number);
      s2 += (input[k + 2] as number) * (weights[row + k + 2] as number);
      s3 += (input[k + 3] as number) * (weights[row + k + 3] as number);
    }
    for (let k = tail; k < depth; k += 1) s0 += (input[k] as number) * (weights[row + k] as number);
    out[j] = (bias[j] as number) + (s0 + s1 + (s2 + s3));
  }
}

const biasOrZeros = (bias: Float32Array | null, width: number): Float64Array => (bias === null ? new Float64Array(width) : Float64Array.from(bias));

interface CompiledLstm {
  readonly inputSize: number;
  readonly units: number;
  /** 4·units rows of (inputSize + units): transposed [kernel; recurrentKernel]. */
  readonly weights: Float64Array;
  readonly bias: Float64Array;
  readonly activation: (x: number) => number;
  readonly recurrentActivation: (x: number) => number;
  /** [x_t, h_{t-1}] */
  readonly xh: Float64Array;
  readonly z: Float64Array;
  readonly c: Float64Array;
  /** Output sequence (window × units) of every LSTM but the last. */
  readonly sequence: Float64Array | undefined;
}

interface CompiledDense {
  readonly inputSize: number;
  readonly units: number;
  readonly weights: Float64Array;
  readonly bias: Float64Array;
  readonly activation: ActivationName;
  readonly out: Float64Array;
}

/**
 * A compiled network: `predict` maps one window (window × features values, row-major by time step) to the
 * outputs of the last layer. Not re-entrant (it reuses its buffers), which is safe because it is synchronous.
 */
export class FusedLstmNetwork {
  readonly window: number;
  readonly features: number;
  readonly outputSize: number;
  private readonly input: Float64Array;
  private readonly lstm: readonly CompiledLstm[];
  private readonly dense: readonly CompiledDense[];

  constructor(spec: FusedNetworkSpec) {
    checkSpec(spec);
    this.window = spec.window;
    this.features = spec.features;
    this.input = new Float64Array(spec.window * spec.features);
    this.lstm = spec.lstm.map((l, n) => {
      const width = 4 * l.units;
      return {
        inputSize: l.inputSize,
        units: l.units,
        weights: transposeStacked([{ matrix: l.kernel, rows: l.inputSize }, { matrix: l.recurrentKernel, rows: l.units }], width),
        bias: biasOrZeros(l.bias, width),
        activation: ACTIVATIONS[l.activation],
        recurrentActivation: ACTIVATIONS[l.recurrentActivation],
        xh: new Float64Array(l.inputSize + l.units),
        z: new Float64Array(width),
        c: new Float64Array(l.units),
        sequence: n < spec.lstm.length - 1 ? new Float64Array(spec.window * l.units) : undefined,
      };
    });
    this.dense = spec.dense.map((l) => ({
      inputSize: l.inputSize,
      units: l.units,
      weights: transposeStacked([{ matrix: l.kernel, rows: l.inputSize }], l.units),
      bias: biasOrZeros(l.bias, l.units),
      activation: l.activation,
      out: new Float64Array(l.units),
    }));
    this.outputSize = this.dense.at(-1)?.units ?? (spec.lstm.at(-1) as LstmLayerWeights).units;
  }

  /** The network's outputs for one window, as a new array. */
  predict(window: ArrayLike<number>): Float64Array {
    if (window.length !== this.input.length) {
      throw new RangeError(`expected ${this.input.length} inputs (window ${this.window} × ${this.features} features), got ${window.length}`);
    }
    this.input.set(window);
    let source = this.input;
    for (const layer of this.lstm) source = this.runLstm(layer, source);
    for (const layer of this.dense) {
      matVec(source, layer.inputSize, layer.weights, layer.bias, layer.out, layer.units);
      if (layer.activation !== 'linear') {
        const act = ACTIVATIONS[layer.activation];
        for (let j = 0; j < layer.units; j += 1) layer.out[j] = act(layer.out[j] as number);
      }
      source = layer.out;
    }
    return source.slice();
  }

  /** Runs one LSTM over the window; returns its output sequence, or its final hidden state for the last LSTM. */
  private runLstm(layer: CompiledLstm, source: Float64Array): Float64Array {
    const { units, inputSize, weights, bias, xh, z, c, sequence } = layer;
    const act = layer.activation;
    const rec = layer.recurrentActivation;
    const depth = inputSize + units;
    xh.fill(0);
    c.fill(0);
    for (let t = 0; t < this.window; t += 1) {
      // xh = [x_t, h_{t-1}]: h lives in the tail of xh between steps.
      for (let k = 0; k < inputSize; k += 1) xh[k] = source[t * inputSize + k] as number;
      matVec(xh, depth, weights, bias, z, 4 * units);
      for (let j = 0; j < units; j += 1) {
        const i = rec(z[j] as number);
        const f = rec(z[units + j] as number);
        const g = act(z[2 * units + j] as number);
        const o = rec(z[3 * units + j] as number);
        const cell = f * (c[j] as number) + i * g;
        c[j] = cell;
        const h = o * act(cell);
        xh[inputSize + j] = h;
        if (sequence) sequence[t * units + j] = h;
      }
    }
    return sequence ?? xh.subarray(inputSize);
  }
}
