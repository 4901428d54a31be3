import * as tf from '@tensorflow/tfjs';
import type { Bar } from '../../market/bar.js';
import { barValue, TARGET_INPUT } from './bar-inputs.js';
import { scaleColumn, unscaleColumn, type ImportedScalerState } from './imported-scaler.js';

/**
 * An imported network predicts tomorrow's close from a window of scaled bar columns. A univariate
 * close-only network is run on its own output for longer horizons (day 2 is predicted from a window
 * ending with the predicted day 1, …); a network with other inputs cannot be, so it forecasts one day.
 */

/** True when the network can be iterated on its own output (its only input is the close). */
export function canIterate(scaler: ImportedScalerState): boolean {
  return scaler.inputs.length === 1 && scaler.inputs[0] === TARGET_INPUT;
}

/** The raw (unscaled) input window ending at bar `end` (inclusive): [window][inputs]. */
export function inputWindow(bars: readonly Bar[], end: number, window: number, inputs: readonly string[]): number[][] {
  if (end - window + 1 < 0 || end >= bars.length) throw new RangeError(`a window of ${window} bars ending at index ${end} does not fit ${bars.length} bars`);
  return bars.slice(end - window + 1, end + 1).map((bar) => inputs.map((input) => barValue(bar, input)));
}

const PREDICT_BATCH = 512;

/**
 * Predicted closes for steps 1..horizon after each window: result[i][h]. Windows are raw bar
 * values; scaling in and out uses the imported scaler exactly as scikit-learn would.
 */
export function predictCloses(model: tf.LayersModel, scaler: ImportedScalerState, windows: readonly (readonly (readonly number[])[])[], horizon: number): number[][] {
  if (horizon > 1 && !canIterate(scaler)) throw new RangeError(`a network with inputs ${scaler.inputs.join(', ')} forecasts one day only`);
  const count = windows.length;
  const window = windows[0]?.length ?? 0;
  const width = scaler.inputs.length;
  const data = new Float32Array(count * window * width);
  let k = 0;
  for (const w of windows) for (const row of w) for (let j = 0; j < width; j += 1) data[k++] = scaleColumn(scaler.features, j, row[j] as number);
  const result = windows.map(() => [] as number[]);
  for (let step = 0; step < horizon; step += 1) {
    const scaled = tf.tidy(() => {
      const output = model.predict(tf.tensor3d(data, [count, window, width]), { batchSize: PREDICT_BATCH }) as tf.Tensor;
      return output.reshape([count]).dataSync() as Float32Array;
    });
    for (let i = 0; i < count; i += 1) {
      const price = unscaleColumn(scaler.target, 0, scaled[i] as number);
      (result[i] as number[]).push(price);
      if (step + 1 < horizon) {
        // Slide this window by one day and append the prediction, scaled as an input.
        const base = i * window;
        data.copyWithin(base, base + 1, base + window);
        data[base + window - 1] = scaleColumn(scaler.features, 0, price);
      }
    }
  }
  return result;
}
