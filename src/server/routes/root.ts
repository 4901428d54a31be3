import fs from 'node:fs/promises';
import path from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { RootBody } from '../schemas.js';
import type { Services } from '../services.js';

/** q-value of the best Accept entry matching `type` (exact, `major/*` or `*\/*`), 0 when none matches. */
function acceptQuality(accept: string, type: string): number {
  const [major] = type.split('/');
  let best = 0;
  let bestSpecificity = -1;
  for (const part of accept.split(',')) {
    const [range = '', ...params] = part.trim().toLowerCase().split(';');
    const specificity = range === type ? 2 : range === `${major}/*` ? 1 : range === '*/*' ? 0 : -1;
    if (specificity < 0 || specificity < bestSpecificity) continue;
    const q = params.map((p) => /^\s*q=([0-9.]+)\s*$/.exec(p)?.[1]).find((v) => v !== undefined);
    bestSpecificity = specificity;
    best = q === undefined ? 1 : Number(q);
  }
  return best;
}

/** True when the client prefers HTML over JSON (a browser); ties go to JSON, so curl and scripts get JSON. */
export function prefersHtml(accept: string | undefined): boolean {
  if (!accept) return false;
  return acceptQuality(accept, 'text/html') > acceptQuality(accept, 'application/json');
}

export const rootRoutes: FastifyPluginAsyncZod<{ services: Services; webDir: string }> = async (app, { services, webDir }) => {
  const assets = path.join(webDir, 'assets');
  const hasAssets = await fs.stat(assets).then((s) => s.isDirectory()).catch(() => false);
  if (hasAssets) {
    await app.register(fastifyStatic, { root: assets, prefix: '/assets/', index: false, wildcard: true, schemaHide: true });
  }

  // A browser asking for `/` gets the dashboard; answered in a hook because the route's typed reply is the JSON document.
  app.addHook('onRequest', async (request, reply) => {
    if (request.method !== 'GET' || request.url !== '/' || !prefersHtml(request.headers.accept)) return;
    const html = await fs.readFile(path.join(webDir, 'index.html')).catch(() => undefined);
    if (html) await reply.type('text/html; charset=utf-8').header('Cache-Control', 'no-cache').send(html);
  });

  app.get(
    '/',
    {
      schema: {
        tags: ['service'],
        summary: 'Service name, version and links (browsers asking for HTML get the dashboard)',
        response: { 200: RootBody },
      },
    },
    async () => {
      return {
        service: 'stock-prediction',
        version: services.version,
        status: 'running',
        time: new Date().toISOString(),
        links: {
          predict: '/api/v1/predict/{symbol}?days=N',
          batch_predict: 'POST /api/v1/predict',
          historical: '/api/v1/historical/{symbol}?days=N',
          models: '/api/v1/models',
          health: '/api/v1/health',
          ready: '/health/ready',
          stats: '/api/v1/stats',
          metrics: '/metrics',
          docs: '/docs',
          dashboard: '/ (Accept: text/html)',
        },
      };
    },
  );
};
