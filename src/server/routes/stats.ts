import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { requireApiKey } from '../auth.js';
import { CacheClearedBody, ErrorBody, StatsBody } from '../schemas.js';
import type { Services } from '../services.js';

export const statsRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/api/v1/stats',
    { schema: { tags: ['operations'], summary: 'Cache (per tier), models and process statistics', response: { 200: StatsBody } } },
    async () => {
      const tiers = await services.cache.report();
      const entries = services.registry.entries();
      const memory = process.memoryUsage();
      const count = (status: string) => entries.filter((e) => e.status === status).length;
      return {
        cache: {
          size: tiers.find((t) => t.name === 'memory')?.size ?? 0,
          default_ttl: services.config.predictionTtlSeconds,
          // A lookup is answered by at most one tier; a full miss is a miss of the last tier.
          hits: tiers.reduce((sum, t) => sum + t.hits, 0),
          misses: tiers.at(-1)?.misses ?? 0,
          tiers: Object.fromEntries(
            tiers.map((t) => [t.name, { status: t.up ? 'up' : `down: ${t.detail ?? 'unknown'}`, size: t.size, hits: t.hits, misses: t.misses }]),
          ),
          memos: services.predictions.memoSizes(),
        },
        models: {
          total: entries.length,
          ready: count('ready'),
          failed: count('failed'),
          loading: count('loading'),
          backend: services.backend(),
          inference: {
            fused: entries.filter((e) => e.inference?.path === 'fused').length,
            tfjs: entries.filter((e) => e.inference?.path === 'tfjs').length,
          },
        },
        system: {
          uptime_seconds: Math.round(process.uptime() * 100) / 100,
          memory_rss_bytes: memory.rss,
          memory_heap_used_bytes: memory.heapUsed,
          node_version: process.version,
          pid: process.pid,
          version: services.version,
        },
      };
    },
  );

  app.post(
    '/api/v1/cache/clear',
    {
      onRequest: requireApiKey(services.config.apiKeys),
      schema: {
        tags: ['operations'],
        summary: 'Empty every prediction cache tier',
        security: [{ bearer: [] }, { apiKey: [] }],
        response: { 200: CacheClearedBody, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody },
      },
    },
    async (request) => {
      await services.cache.clear();
      request.log.info('prediction cache cleared');
      return { message: 'Cache cleared successfully', time: new Date().toISOString() };
    },
  );
};
