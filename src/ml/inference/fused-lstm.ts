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

const hardSigmoid = (x: number): number => {
  // Keras/tfjs hard sigmoid: clip(0.2·x + 0.5, 0, 1).
  const y = 0.2 * x + 0.5;
  return y <= 0 ? 0 : y >= 1 ? 1 : y;
};
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
const relu = (x: number): number => (x > 0 ? x : 0);

export const ACTIVATIONS: Readonly<Record<ActivationName, (x: number) => number>> = {
  tanh: Math.tanh,
  hard_sigmoid: hardSigmoid,
  sigmoid,
  linear: (x) => x,
  relu,
};

/**
 * values[from..to) = activation(values[from..to)). One loop per activation, each calling one known function that
 * V8 inlines: a single loop calling through a function variable turns polymorphic (an out-of-line call per value)
 * as soon as networks with different activations run in one process, e.g. a forecast and a volatility network.
 */
function activate(name: ActivationName, values: Float64Array, from: number, to: number): void {
  switch (name) {
    case 'tanh':
      for (let i = from; i < to; i += 1) values[i] = Math.tanh(values[i] as number);
      return;
    case 'hard_sigmoid':
      for (let i = from; i < to; i += 1) values[i] = hardSigmoid(values[i] as number);
      return;
    case 'sigmoid':
      for (let i = from; i < to; i += 1) values[i] = sigmoid(values[i] as number);
      return;
    case 'relu':
      for (let i = from; i < to; i += 1) values[i] = relu(values[i] as number);
      return;
    case 'linear':
      return;
  }
}

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
 * A weight matrix in the order the loops read it: for output j, its column of the kernel as one contiguous row
 * (transposed), so each output is a dot product summed in a register rather than a running sum in memory.
 */
function transpose(matrix: Float32Array, rows: number, columns: number): Float64Array {
  const out = new Float64Array(columns * rows);
  for (let k = 0; k < rows; k += 1) {
    for (let j = 0; j < columns; j += 1) out[j * rows + k] = matrix[k * columns + j] as number;
  }
  return out;
}

/**
 * out[o + j] = add[a + j] + Σ_k input[i + k]·weights[j·depth + k] for j < width: one step of every layer.
 * Four output rows per pass over the input: each input value is loaded once for four multiply-adds, and the four
 * sums are independent, so the CPU overlaps them (one sum per row is a serial chain of additions). This measured
 * 0.35 ns per multiply-add against 0.55 for one row at a time with four partial sums; taking two inputs per
 * iteration cut the forward pass by another 8 % (four per iteration ran out of registers and was slower).
 */
function affine(
  input: Float64Array,
  i: number,
  depth: number,
  weights: Float64Array,
  add: Float64Array,
  a: number,
  out: Float64Array,
  o: number,
  width: number,
): void {
  const blocked = width - (width % 4);
  for (let j = 0; j < blocked; j += 4) {
    const r0 = j * depth;
    const r1 = r0 + depth;
    const r2 = r1 + depth;
    const r3 = r2 + depth;
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let k = 0;
    for (; k + 1 < depth; k += 2) {
      const x = input[i + k] as number;
      const y = input[i + k + 1] as number;
      s0 += x * (weights[r0 + k] as number) + y * (weights[r0 + k + 1] as number);
      s1 += x * (weights[r1 + k] as number) + y * (weights[r1 + k + 1] as number);
      s2 += x * (weights[r2 + k] as number) + y * (weights[r2 + k + 1] as number);
      s3 += x * (weights[r3 + k] as number) + y * (weights[r3 + k + 1] as number);
    }
    if (k < depth) {
      const x = input[i + k] as number;
      s0 += x * (weights[r0 + k] as number);
      s1 += x * (weights[r1 + k] as number);
      s2 += x * (weights[r2 + k] as number);
      s3 += x * (weights[r3 + k] as number);
    }
    out[o + j] = (add[a + j] as number) + s0;
    out[o + j + 1] = (add[a + j + 1] as number) + s1;
    out[o + j + 2] = (add[a + j + 2] as number) + s2;
    out[o + j + 3] = (add[a + j + 3] as number) + s3;
  }
  for (let j = blocked; j < width; j += 1) {
    const row = j * depth;
    let sum = 0;
    for (let k = 0; k < depth; k += 1) sum += (input[i + k] as number) * (weights[row + k] as number);
    out[o + j] = (add[a + j] as number) + sum;
  }
}

const biasOrZeros = (bias: Float32Array | null, width: number): Float64Array => (bias === null ? new Float64Array(width) : Float64Array.from(bias));

/**
 * The input projection x_t·W + b of every time step, computed before the recurrence (it does not depend on h).
 * One buffer serves every network in the process: `predict` is synchronous, so no two passes overlap, and a
 * thousand loaded models do not each hold window × 4·units values they use for a fraction of a millisecond.
 */
let projectionBuffer = new Float64Array(0);
function projectionScratch(length: number): Float64Array {
  if (projectionBuffer.length < length) projectionBuffer = new Float64Array(length);
  return projectionBuffer;
}

interface CompiledLstm {
  readonly inputSize: number;
  readonly units: number;
  /** 4·units rows of inputSize: the transposed kernel. */
  readonly inputWeights: Float64Array;
  /** 4·units rows of units: the transposed recurrent kernel. */
  readonly recurrentWeights: Float64Array;
  readonly bias: Float64Array;
  readonly activation: ActivationName;
  readonly recurrentActivation: ActivationName;
  /** Gates i, f, c, o (4·units), activated in place. */
  readonly z: Float64Array;
  readonly h: Float64Array;
  readonly c: Float64Array;
  /** σ(c), the cell state through the activation. */
  readonly cellOut: Float64Array;
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
        inputWeights: transpose(l.kernel, l.inputSize, width),
        recurrentWeights: transpose(l.recurrentKernel, l.units, width),
        bias: biasOrZeros(l.bias, width),
        activation: l.activation,
        recurrentActivation: l.recurrentActivation,
        z: new Float64Array(width),
        h: new Float64Array(l.units),
        c: new Float64Array(l.units),
        cellOut: new Float64Array(l.units),
        sequence: n < spec.lstm.length - 1 ? new Float64Array(spec.window * l.units) : undefined,
      };
    });
    this.dense = spec.dense.map((l) => ({
      inputSize: l.inputSize,
      units: l.units,
      weights: transpose(l.kernel, l.inputSize, l.units),
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
      affine(source, 0, layer.inputSize, layer.weights, layer.bias, 0, layer.out, 0, layer.units);
      activate(layer.activation, layer.out, 0, layer.units);
      source = layer.out;
    }
    return source.slice();
  }

  /** Runs one LSTM over the window; returns its output sequence, or its final hidden state for the last LSTM. */
  private runLstm(layer: CompiledLstm, source: Float64Array): Float64Array {
    const { units, inputSize, z, h, c, cellOut, sequence } = layer;
    const gates = 4 * units;
    const projection = projectionScratch(this.window * gates);
    for (let t = 0; t < this.window; t += 1) affine(source, t * inputSize, inputSize, layer.inputWeights, layer.bias, 0, projection, t * gates, gates);
    c.fill(0);
    for (let t = 0; t < this.window; t += 1) {
      // h is zero before the first step (h itself is written in full at every step), so its gates are the projection alone.
      if (t === 0) for (let j = 0; j < gates; j += 1) z[j] = projection[j] as number;
      else affine(h, 0, units, layer.recurrentWeights, projection, t * gates, z, 0, gates);
      activate(layer.recurrentActivation, z, 0, 2 * units);
      activate(layer.activation, z, 2 * units, 3 * units);
      activate(layer.recurrentActivation, z, 3 * units, gates);
      for (let j = 0; j < units; j += 1) {
        const cell = (z[units + j] as number) * (c[j] as number) + (z[j] as number) * (z[2 * units + j] as number);
        c[j] = cell;
        cellOut[j] = cell;
      }
      activate(layer.activation, cellOut, 0, units);
      for (let j = 0; j < units; j += 1) h[j] = (z[3 * units + j] as number) * (cellOut[j] as number);
      if (sequence) sequence.set(h, t * units);
    }
    return sequence ?? h;
  }
}
