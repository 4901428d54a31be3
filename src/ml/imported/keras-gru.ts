import * as tf from '@tensorflow/tfjs';

/**
 * Keras's GRU, including its default `reset_after=True` form (TF 2 / Keras 3), which tfjs's own GRU
 * does not support (it implements reset_after=False only). Same weights as Keras: kernel
 * [inputs, 3·units] and recurrent_kernel [units, 3·units] with gates in Keras order (update z,
 * reset r, candidate h), bias [3·units] (reset_after=False) or [2, 3·units] (input and recurrent
 * biases, reset_after=True). Inference only: imported networks are never trained here.
 */
type LayerArgs = NonNullable<ConstructorParameters<typeof tf.layers.Layer>[0]>;

export interface KerasGruArgs extends LayerArgs {
  readonly units: number;
  readonly activation: GruActivation;
  readonly recurrentActivation: GruActivation;
  readonly useBias: boolean;
  readonly resetAfter: boolean;
  readonly returnSequences: boolean;
}

export const GRU_ACTIVATIONS = ['tanh', 'sigmoid', 'relu', 'linear', 'hard_sigmoid'] as const;
export type GruActivation = (typeof GRU_ACTIVATIONS)[number];

function activate(name: GruActivation, x: tf.Tensor): tf.Tensor {
  switch (name) {
    case 'tanh':
      return tf.tanh(x);
    case 'sigmoid':
      return tf.sigmoid(x);
    case 'relu':
      return tf.relu(x);
    case 'linear':
      return x;
    case 'hard_sigmoid':
      // Keras 2's definition: clip(0.2·x + 0.5, 0, 1).
      return tf.clipByValue(tf.add(tf.mul(x, 0.2), 0.5), 0, 1);
  }
}

export class KerasGru extends tf.layers.Layer {
  static readonly className = 'KerasGru';
  private readonly args: KerasGruArgs;
  private kernel: tf.LayerVariable | null = null;
  private recurrentKernel: tf.LayerVariable | null = null;
  private bias: tf.LayerVariable | null = null;

  constructor(args: KerasGruArgs) {
    super(args);
    this.args = args;
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const inputDim = shape[shape.length - 1] as number;
    const { units } = this.args;
    const zeros = tf.initializers.zeros();
    this.kernel = this.addWeight('kernel', [inputDim, 3 * units], 'float32', zeros);
    this.recurrentKernel = this.addWeight('recurrent_kernel', [units, 3 * units], 'float32', zeros);
    if (this.args.useBias) this.bias = this.addWeight('bias', this.args.resetAfter ? [2, 3 * units] : [3 * units], 'float32', zeros);
    this.built = true;
  }

  override computeOutputShape(inputShape: tf.Shape | tf.Shape[]): tf.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    return this.args.returnSequences ? [shape[0] as number | null, shape[1] as number | null, this.args.units] : [shape[0] as number | null, this.args.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
      const [batch, steps, inputDim] = x.shape;
      const { units, resetAfter } = this.args;
      const kernel = (this.kernel as tf.LayerVariable).read();
      const recurrent = (this.recurrentKernel as tf.LayerVariable).read();
      const bias = this.bias?.read();
      const inputBias = bias === undefined ? undefined : resetAfter ? bias.slice([0, 0], [1, 3 * units]).reshape([3 * units]) : bias;
      const recurrentBias = bias !== undefined && resetAfter ? bias.slice([1, 0], [1, 3 * units]).reshape([3 * units]) : undefined;
      let projected: tf.Tensor = tf.matMul(x.reshape([batch * steps, inputDim]), kernel as tf.Tensor2D);
      if (inputBias !== undefined) projected = tf.add(projected, inputBias);
      const xs = tf.unstack(projected.reshape([batch, steps, 3 * units]), 1);
      const [recurrentZR, recurrentH] = tf.split(recurrent, [2 * units, units], 1) as [tf.Tensor2D, tf.Tensor2D];
      let h: tf.Tensor2D = tf.zeros([batch, units]);
      const outputs: tf.Tensor2D[] = [];
      for (const xt of xs) {
        const [xz, xr, xh] = tf.split(xt, 3, 1) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
        let candidate: tf.Tensor;
        let z: tf.Tensor;
        if (resetAfter) {
          let inner: tf.Tensor = tf.matMul(h, recurrent as tf.Tensor2D);
          if (recurrentBias !== undefined) inner = tf.add(inner, recurrentBias);
          const [hz, hr, hh] = tf.split(inner, 3, 1);
          z = activate(this.args.recurrentActivation, tf.add(xz, hz as tf.Tensor));
          const r = activate(this.args.recurrentActivation, tf.add(xr, hr as tf.Tensor));
          candidate = activate(this.args.activation, tf.add(xh, tf.mul(r, hh as tf.Tensor)));
        } else {
          const [hz, hr] = tf.split(tf.matMul(h, recurrentZR), 2, 1);
          z = activate(this.args.recurrentActivation, tf.add(xz, hz as tf.Tensor));
          const r = activate(this.args.recurrentActivation, tf.add(xr, hr as tf.Tensor));
          candidate = activate(this.args.activation, tf.add(xh, tf.matMul(tf.mul(r, h) as tf.Tensor2D, recurrentH)));
        }
        h = tf.add(tf.mul(z, h), tf.mul(tf.sub(1, z), candidate)) as tf.Tensor2D;
        if (this.args.returnSequences) outputs.push(h);
      }
      return this.args.returnSequences ? tf.stack(outputs, 1) : h;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    const { units, activation, recurrentActivation, useBias, resetAfter, returnSequences } = this.args;
    return { ...super.getConfig(), units, activation, recurrentActivation, useBias, resetAfter, returnSequences };
  }
}

tf.serialization.registerClass(KerasGru);
