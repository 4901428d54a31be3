import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import { measureStorage } from '../../observability/storage.js';
import { newestArchive } from '../../ops/backup-archives.js';
import type { Services } from '../services.js';

/**
 * HTTP metrics by route template (bounded labels: `unmatched` for 404s), the /metrics endpoint, and the
 * gauges that would be costly per scrape (storage walk, Redis key count) refreshed on an interval.
 */
/** As /health: Redis counts as up when it answers PING within this. */
const REDIS_PING_TIMEOUT_MS = 500;

async function metricsPlugin(app: FastifyInstance, { services }: { services: Services }): Promise<void> {
  const { metrics } = services;

  app.addHook('onResponse', (request, reply, done) => {
    // One observation: http_requests_total is read from this histogram's counts at scrape time.
    metrics.httpDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status_code: reply.statusCode },
      reply.elapsedTime / 1000,
    );
    done();
  });

  app.get('/metrics', { schema: { tags: ['operations'], summary: 'Prometheus metrics', hide: false } }, async (_request, reply) => {
    // A real PING at each scrape: a frozen Redis keeps its connection open, so the connection state would say "up".
    if (services.pingRedis) metrics.redisUp.set(await services.pingRedis(REDIS_PING_TIMEOUT_MS).then(() => 1, () => 0));
    // The backend changes from `none` once a model needs tfjs (imported on demand), so the label is set per scrape.
    metrics.appInfo.reset();
    metrics.appInfo.set({ version: services.version, backend: services.backend() }, 1);
    const text = await metrics.registry.metrics();
    return reply.type(metrics.registry.contentType).send(text);
  });

  const refresh = async (): Promise<void> => {
    const { layout } = services.config;
    for (const usage of await measureStorage(layout.root)) {
      metrics.storageBytes.set({ directory: usage.directory }, usage.bytes);
      metrics.storageFiles.set({ directory: usage.directory }, usage.files);
    }
    const newest = await newestArchive(layout.backups);
    metrics.lastBackup.set(newest === undefined ? 0 : newest.mtimeMs / 1000);
    for (const tier of await services.cache.report()) metrics.cacheEntries.set({ tier: tier.name }, tier.size);
  };
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  const tick = (): void => {
    running ??= refresh()
      .catch((error: unknown) => app.log.warn({ err: error }, 'storage metrics refresh failed'))
      .finally(() => {
        running = undefined;
      });
  };
  app.addHook('onReady', async () => {
    // First reading once seeding and model loading are done, then periodically.
    void app.started.then(tick);
    timer = setInterval(tick, services.config.storageMetricsIntervalSeconds * 1000);
    timer.unref();
  });
  app.addHook('onClose', async () => {
    clearInterval(timer);
    await running;
  });
}

export default fp(metricsPlugin, { name: 'metrics', dependencies: ['model-registry'] });
