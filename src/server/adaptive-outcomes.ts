import type { FastifyBaseLogger as Logger } from 'fastify';
import type { AdaptiveBands } from '../ml/adaptive-bands.js';
import { bandStartFromHistory } from '../ml/history-start.js';
import type { Forecaster } from '../ml/types.js';
import type { ForecasterLease, OutcomeListener } from '../tracking/daily-run.js';
import type { ModelRegistry } from './model-registry.js';

/**
 * The adaptive conformal update wired to the tracking store: every batch of newly scored forecasts moves
 * the bands of the model version that issued them (if it is still the one served for its key; outcomes of
 * a replaced version no longer describe what is served). Writes are asynchronous; a failure is logged
 * and the bands stay as they were (the outcomes themselves are already saved in the tracking store).
 */
export function adaptiveOutcomeListener(registry: ModelRegistry, bands: AdaptiveBands, logger: Logger): OutcomeListener {
  return (symbol, scored) => {
    const served = new Map(registry.entries().flatMap((e) => (e.metadata === undefined ? [] : [[e.key, e.metadata] as const])));
    const byVersion = new Map<string, typeof scored>();
    for (const row of scored) {
      if (served.get(row.model_key)?.version === row.model_version) byVersion.set(row.model_key, [...(byVersion.get(row.model_key) ?? []), row]);
    }
    for (const [key, rows] of byVersion) {
      const metadata = served.get(key);
      if (metadata === undefined) continue;
      const outcomes = rows.map((r) => ({ issue_date: r.issue_date, target_date: r.target_date, horizon: r.horizon, inside_80: r.outcome.inside_80, inside_95: r.outcome.inside_95 }));
      bands.record(metadata, symbol, outcomes).then(
        (applied) => {
          if (applied > 0) logger.info({ symbol, model: key, version: metadata.version, applied }, 'adaptive bands updated from matured outcomes');
        },
        (error: unknown) => logger.error({ err: error, symbol, model: key }, 'adaptive band state not saved'),
      );
    }
  };
}

/** A lease whose forecasts use `symbol`'s served band state (started from its own history where the model never trained on it), so tracked forecasts carry the bands the API serves. */
export function withServedBands(lease: ForecasterLease, symbol: string, bands: AdaptiveBands): ForecasterLease {
  const f = lease.forecaster;
  const forecaster: Forecaster = {
    metadata: f.metadata,
    inference: f.inference,
    requiredBars: f.requiredBars,
    forecast: async (bars, days, options) => {
      const last = bars[bars.length - 1];
      if (last !== undefined) await bands.begin(f.metadata, symbol, last.date, () => bandStartFromHistory(f, bars));
      const adaptive = bands.live(f.metadata, symbol);
      return f.forecast(bars, days, { symbol, ...(adaptive === undefined ? {} : { adaptive }), ...options });
    },
    dispose: () => f.dispose(),
  };
  return { key: lease.key, forecaster, release: () => lease.release() };
}
