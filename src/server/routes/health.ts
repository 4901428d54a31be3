import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { healthReport, isReady } from '../health.js';
import { HealthBody, ProbeBody } from '../schemas.js';
import { loadHealth } from '../plugins/load-shedding.js';
import type { Services } from '../services.js';

export const healthRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/health/live',
    { schema: { tags: ['health'], summary: 'Liveness: 200 while the process runs', response: { 200: ProbeBody } } },
    async () => ({ status: 'alive', timestamp: new Date().toISOString() }),
  );

  app.get(
    '/health/ready',
    {
      schema: {
        tags: ['health'],
        summary: 'Readiness: 200 only once models are loaded and warmed, else 503',
        response: { 200: ProbeBody, 503: ProbeBody },
      },
    },
    async (_request, reply) => {
      const timestamp = new Date().toISOString();
      if (isReady(services)) return { status: 'ready', timestamp };
      return reply.code(503).header('Retry-After', '5').send({ status: 'not ready', timestamp });
    },
  );

  for (const url of ['/health', '/api/v1/health']) {
    app.get(
      url,
      {
        schema: {
          tags: ['health'],
          summary: 'Detailed health: redis, data source, models, disk, load shedding (local checks only). 200 healthy/degraded, 503 unhealthy',
          response: { 200: HealthBody, 503: HealthBody },
        },
      },
      async (_request, reply) => {
        const report = await healthReport(services, loadHealth(app, services.config.loadShedding, services.admission.state()));
        return reply.code(report.status === 'unhealthy' ? 503 : 200).send(report);
      },
    );
  }
};
