import { FusedLstmNetwork } from '../inference/fused-lstm.js';
import { readFusedSpec } from '../inference/fused-spec.js';
import { readSavedWeights } from '../inference/saved-weights.js';
import { headInput, longRunVariance, variancesOfOutput } from './inputs.js';

/** A head as its two files of a model version hold it, in the model.json / weights.bin layout of tfjs. */
export interface SavedVolatilityHead {
  readonly modelJson: { readonly modelTopology: unknown; readonly weightsManifest: unknown };
  readonly weightData: Uint8Array;
}

/** The learned volatility model at serving time: trailing returns → cumulative variance per step, on the fused pass. */
export interface VolatilityHead {
  readonly window: number;
  readonly units: number;
  readonly horizon: number;
  variances(returns: readonly number[], horizon: number): number[];
}

/**
 * Builds the head straight from its saved files, like a model version's network (no tfjs model, no
 * tensors): a prediction is one LSTM pass over window × 3 numbers. Throws when the files do not describe
 * a network the fused pass runs (the head is always one LSTM and one Dense, so that means corrupt files).
 */
export function loadVolatilityHead(saved: SavedVolatilityHead): VolatilityHead {
  const weights = readSavedWeights(saved.modelJson.weightsManifest, saved.weightData);
  const reading = 'weights' in weights ? readFusedSpec(saved.modelJson.modelTopology, (name) => weights.weights.get(name)) : weights;
  if (!('spec' in reading)) throw new TypeError(`not a volatility head the fused pass runs: ${reading.unsupported}`);
  const network = new FusedLstmNetwork(reading.spec);
  const window = reading.spec.window;
  const horizon = reading.spec.dense.at(-1)?.units ?? 0;
  return {
    window,
    units: reading.spec.lstm[0]?.units ?? 0,
    horizon,
    variances(returns, steps) {
      if (steps > horizon) throw new RangeError(`the volatility head forecasts ${horizon} steps, ${steps} asked`);
      const longRun = longRunVariance(returns);
      return variancesOfOutput(network.predict(headInput(returns, window, longRun)), longRun, steps);
    },
  };
}
