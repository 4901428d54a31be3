import { h } from './dom.js';
import { dateTime, percent, price, share } from './format.js';
import type { Prediction, TradingSignal } from './types.js';

// The thresholds are the service's configuration (STOCK_BUY_THRESHOLD, STOCK_SELL_THRESHOLD), which the API
// does not report, so they are named rather than quoted.
const SIGNAL_MEANING: Record<TradingSignal, string> = {
  BUY: "BUY: the predicted next-day close is above the current price by more than the service's buy threshold (STOCK_BUY_THRESHOLD).",
  SELL: "SELL: the predicted next-day close is below the current price by more than the service's sell threshold (STOCK_SELL_THRESHOLD).",
  HOLD: 'HOLD: the predicted next-day close is within the buy and sell thresholds around the current price, so no move is signalled.',
};

function fact(label: string, value: string, testId: string): HTMLElement[] {
  return [h('dt', {}, label), h('dd', { 'data-testid': testId }, value)];
}

/** The served probability of an up day is the model's base rate: validation showed no direction skill. */
function noDirectionSkill(prediction: Prediction): boolean {
  const rate = prediction.model.evaluation?.base_rate;
  return rate !== undefined && prediction.probability_up !== undefined && Math.abs(prediction.probability_up - rate) < 5e-5;
}

/** Signal, confidence and headline prices of one prediction, each with what it means. */
export function renderSignal(prediction: Prediction): HTMLElement {
  const signal = prediction.trading_signal;
  return h(
    'div',
    {},
    h(
      'p',
      { class: 'signal-line' },
      h('span', { class: `signal signal-${signal.toLowerCase()}`, 'data-testid': 'signal' }, signal),
      ' with confidence ',
      h('strong', { 'data-testid': 'confidence' }, share(prediction.confidence)),
    ),
    h('p', { class: 'explain' }, SIGNAL_MEANING[signal]),
    h(
      'p',
      { class: 'explain' },
      'Confidence is the calibrated probability that the more likely direction (up or down) is right. ',
      'It starts from the share of up days before the held-out period and moves away from it only as far as held-out validation days showed the network has skill — ',
      'a calibrated estimate, not a guarantee. A signal is not investment advice.',
    ),
    noDirectionSkill(prediction)
      ? h('p', { class: 'warning', 'data-testid': 'low-confidence' }, 'No validated skill at calling the direction: the probability of an up day is just the historical share of up days.')
      : null,
    h(
      'dl',
      { class: 'facts' },
      ...fact('Last close', `${price(prediction.current_price)} on ${prediction.as_of}`, 'current-price'),
      ...fact('Predicted next close', price(prediction.predicted_price), 'predicted-price'),
      ...fact('Network (raw LSTM) next close', price(prediction.lstm_predicted_price), 'lstm-price'),
      ...fact('Probability of an up day', share(prediction.probability_up), 'probability-up'),
      ...fact('Predicted change', percent(prediction.predicted_change_pct), 'predicted-change'),
      ...fact('Naive forecast', `${price(prediction.baseline.predicted_price)} (${prediction.baseline.method})`, 'naive-price'),
      ...fact('Model version', prediction.model_version, 'prediction-model-version'),
      ...fact('Predicted at', dateTime(prediction.prediction_time), 'prediction-time'),
      ...fact('Served from cache', prediction.cached ? 'yes' : 'no', 'prediction-cached'),
    ),
  );
}

/** Every forecast row the API returned, as a table (the chart's numbers in readable form). */
export function renderForecastTable(prediction: Prediction): HTMLElement {
  return h(
    'table',
    { class: 'data', 'data-testid': 'forecast-table' },
    h('caption', {}, `Forecast for ${prediction.forecast.length} trading day(s) after ${prediction.as_of}`),
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        h('th', { scope: 'col' }, 'Date'),
        h('th', { scope: 'col' }, 'Forecast (served)'),
        h('th', { scope: 'col' }, 'Network (raw)'),
        h('th', { scope: 'col' }, '80% interval'),
        h('th', { scope: 'col' }, '95% interval'),
        h('th', { scope: 'col' }, 'Expected volatility'),
      ),
    ),
    h(
      'tbody',
      {},
      ...prediction.forecast.map((point) =>
        h(
          'tr',
          {},
          h('td', {}, point.date),
          h('td', { class: 'num' }, price(point.price)),
          h('td', { class: 'num' }, price(point.lstm_price)),
          h('td', { class: 'num' }, `${price(point.lower_80)} – ${price(point.upper_80)}`),
          h('td', { class: 'num' }, `${price(point.lower_95)} – ${price(point.upper_95)}`),
          h('td', { class: 'num' }, share(point.volatility)),
        ),
      ),
    ),
  );
}
