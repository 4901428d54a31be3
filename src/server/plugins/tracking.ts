import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { ActualsWatcher } from '../actuals-watcher.js';
import { DailyScheduler } from '../daily-scheduler.js';
import { predictionRoutes } from '../routes/predictions.js';
import type { Services } from '../services.js';
import { refreshAccuracyMetrics, recordDailyRun } from '../tracking-metrics.js';
import { adaptiveOutcomeListener } from '../adaptive-outcomes.js';
import { Tracking } from '../tracking.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Prediction tracking: the store, the daily-run scheduler and the scoring of matured forecasts. */
    readonly tracking: { readonly tracking: Tracking; readonly scheduler: DailyScheduler; readonly actuals: ActualsWatcher };
  }
}

/**
 * Prediction tracking in the app: opens the store (a database outage only turns the tracking routes to 503), serves
 * the /api/v1/predictions routes, and once the models are loaded starts the daily-run scheduler (if enabled) and
 * the scoring of matured forecasts as new bars appear (CSV rows within a watcher pass, Yahoo bars as they are stored). Stops both and closes the store on close.
 */
async function trackingPlugin(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const { metrics } = services;
  const tracking = new Tracking(services, app.log);
  // matured outcomes move the served bands (adaptive conformal); the state survives restarts
  tracking.onOutcomes(adaptiveOutcomeListener(services.registry, services.adaptiveBands, app.log));
  await tracking.open();
  let refreshing: Promise<void> | undefined;
  const refreshMetrics = (): void => {
    refreshing ??= refreshAccuracyMetrics(tracking.store(), metrics)
      .catch((error: unknown) => app.log.warn({ err: error }, 'tracking metrics refresh failed'))
      .finally(() => {
        refreshing = undefined;
      });
  };
  const scheduler = new DailyScheduler({
    config: services.config.dailyPrediction,
    tracking,
    logger: app.log,
    onRun: (run) => {
      recordDailyRun(metrics, run);
      refreshMetrics();
    },
  });
  const actuals = new ActualsWatcher({
    tracking,
    logger: app.log,
    onScored: refreshMetrics,
    intervalMs: services.config.actualsWatchIntervalSeconds * 1000,
  });
  // New Yahoo bars score the forecasts waiting for them at once (CSV rows are found by the watcher's passes).
  services.onNewBars((symbol) => void actuals.scoreSymbol(symbol));
  metrics.dailyRunEnabled.set(services.config.dailyPrediction.enabled ? 1 : 0);
  // Until a run completes, "last success" is the start: a fresh install is not alerted as overdue at once.
  metrics.dailyRunLastSuccess.set(Date.now() / 1000);
  app.decorate('tracking', { tracking, scheduler, actuals });
  await app.register(predictionRoutes, { services, tracking, scheduler });

  app.addHook('onReady', async () => {
    void app.started.then(async () => {
      try {
        const last = await tracking.store().lastRun(['scheduled', 'manual'], ['completed']);
        if (last?.completed_at) metrics.dailyRunLastSuccess.set(Date.parse(last.completed_at) / 1000);
        refreshMetrics();
      } catch (error) {
        app.log.warn({ err: error }, 'tracking metrics not initialised');
      }
      const { config } = services;
      // With Redis the daily run is a BullMQ scheduled job run by the worker: once per schedule however many replicas.
      if (config.redisUrl) {
        const { enabled, time } = config.dailyPrediction;
        const { DAILY_RUN, scheduleDaily } = await import('../../jobs/daily-schedules.js');
        await scheduleDaily(DAILY_RUN, { redisUrl: config.redisUrl, time: enabled ? time : undefined, settings: config.jobs, logger: app.log });
      } else scheduler.start();
      actuals.start();
      void actuals.scoreNow();
    });
  });
  app.addHook('onClose', async () => {
    await scheduler.stop();
    await actuals.stop();
    await refreshing;
    await tracking.close();
  });
}

export default fp(trackingPlugin, { name: 'tracking', dependencies: ['model-registry'] });
