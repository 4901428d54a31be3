export { walkForward, type WalkForwardOptions, type WalkForwardPoint, type WalkForwardResult, type WalkForwardWindow } from './walk-forward.js';
export { beatsNaive, evaluateForecasts, type ScoredForecast } from './evaluate.js';
