import fp from 'fastify-plugin';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import { describeLegacyFile, findLegacyModelFiles } from '../../keras-import/legacy-files.js';
import { seedPersistentData, type SeedSources, type Services } from '../services.js';

export interface ModelRegistryPluginOptions {
  readonly services: Services;
  readonly seed: SeedSources;
}

/**
 * The models' life in the app. When the app is ready: seed an empty persistent_data (sample prices, shipped
 * models), then load and warm every model in the background, so /health/live answers at once and
 * /health/ready turns 200 only when done; afterwards, poll the CURRENT pointers for new versions
 * (MODEL_WATCH_INTERVAL). Decorates `started`, which settles when the first load has finished. On close:
 * stop polling, then release training jobs, models (once their in-flight requests finish) and caches.
 */
async function modelRegistryPlugin(app: FastifyInstance, { services, seed }: ModelRegistryPluginOptions): Promise<void> {
  const { config, registry } = services;
  const log = app.log;
  let resolveStarted: () => void = () => undefined;
  const started = new Promise<void>((resolve) => {
    resolveStarted = resolve;
  });
  app.decorate('started', started);

  let startupRun: Promise<void> | undefined;
  let watch: NodeJS.Timeout | undefined;
  const startup = async (): Promise<void> => {
    const t0 = performance.now();
    try {
      if (config.seedOnStart) await seedPersistentData(services, seed, log);
      const report = await registry.reload();
      const seconds = Number(((performance.now() - t0) / 1000).toFixed(3));
      log.info({ loaded: report.loaded.length, failed: report.failed, backend: services.backend(), seconds }, 'models loaded and warmed');
      await logLegacyFiles(config.layout.mlModels, log);
    } catch (error) {
      log.error({ err: error }, 'start-up failed; the service stays not ready');
    }
    if (config.modelWatchIntervalSeconds > 0) {
      // Picks up versions that the CLI or a training job switched CURRENT to.
      watch = setInterval(() => {
        registry.reload().catch((error: unknown) => log.error({ err: error }, 'model watch failed'));
      }, config.modelWatchIntervalSeconds * 1000);
      watch.unref();
    }
  };

  app.addHook('onReady', async () => {
    startupRun = startup().finally(resolveStarted);
  });
  app.addHook('onClose', async () => {
    clearInterval(watch);
    await startupRun;
    await services.close();
  });
}

/** The original system's Keras files are not served; say so once, with the command that imports each. */
async function logLegacyFiles(mlModelsDir: string, log: FastifyBaseLogger): Promise<void> {
  const files = await findLegacyModelFiles(mlModelsDir);
  if (files.length === 0) return;
  const lines = files.map(describeLegacyFile);
  log.warn({ legacy_files: lines }, `legacy Keras model files in ${mlModelsDir} are not served until imported: ${lines.join('; ')}`);
}

export default fp(modelRegistryPlugin, { name: 'model-registry' });
