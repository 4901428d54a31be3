import type { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { NotFoundError } from '../../errors.js';
import { GLOBAL_MODEL_KEY } from '../../ml/types.js';
import { requireApiKey } from '../auth.js';
import type { ModelEntry } from '../model-registry.js';
import type { Services } from '../services.js';
import type { Job } from '../training-jobs.js';
import {
  ErrorBody,
  JobAcceptedBody,
  JobBody,
  JobParams,
  ModelDetailBody,
  ModelListBody,
  ModelListItem,
  ReloadBody,
  SymbolParams,
  TrainBody,
} from '../schemas.js';

type ModelItem = z.output<typeof ModelListItem>;

export function modelItem(entry: ModelEntry): ModelItem {
  const meta = entry.metadata;
  const symbol = entry.key.toUpperCase();
  return {
    symbol,
    key: entry.key,
    name: meta?.name ?? `${symbol} LSTM`,
    version: meta?.version ?? null,
    status: entry.status,
    trained_at: meta?.trained_at ?? null,
    window: meta?.window ?? null,
    horizon: meta?.horizon ?? null,
    features: meta ? [...meta.features] : [],
    backend: meta?.backend ?? null,
    evaluation: meta?.evaluation ?? null,
    beats_naive: meta?.beats_naive ?? null,
    ...(entry.error !== undefined ? { error: entry.error } : {}),
  };
}

export function jobBody(job: Job): z.output<typeof JobBody> {
  const p = job.progress;
  return {
    job_id: job.id,
    symbol: job.symbol,
    status: job.status,
    created_at: job.createdAt.toISOString(),
    started_at: job.startedAt?.toISOString() ?? null,
    finished_at: job.finishedAt?.toISOString() ?? null,
    progress: p
      ? { epoch: p.epoch, epochs: p.epochs, loss: p.loss, val_loss: p.val_loss, eta_seconds: p.eta_seconds, percent: Math.round((100 * p.epoch) / p.epochs) }
      : null,
    result: job.result ? { version: job.result.version, mae_ratio: job.result.evaluation.mae_ratio, beats_naive: job.result.beats_naive } : null,
    error: job.error ?? null,
  };
}

const protectedErrors = { 401: ErrorBody, 403: ErrorBody, 429: ErrorBody };

export const modelRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  const { registry, store, jobs } = services;
  const guard = requireApiKey(services.config.apiKeys);

  app.get(
    '/api/v1/models',
    { schema: { tags: ['models'], summary: 'Every model the service knows, with status and evaluation against naive', response: { 200: ModelListBody } } },
    async () => {
      const models = registry.entries().map(modelItem);
      return { count: models.length, models };
    },
  );

  app.get(
    '/api/v1/models/:symbol',
    {
      schema: {
        tags: ['models'],
        summary: "A symbol's model (or the global model that answers for it) with training configuration and version history",
        params: SymbolParams,
        response: { 200: ModelDetailBody, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const { symbol } = request.params;
      const own = registry.entry(symbol.toLowerCase());
      let entry = own;
      if (!own) {
        // Only a symbol we have data for is answered by the global model.
        await services.predictions.bars(symbol);
        entry = registry.entry(GLOBAL_MODEL_KEY);
      }
      if (!entry) throw new NotFoundError(`no model for ${symbol}`, { symbol });
      const meta = entry.metadata;
      return {
        ...modelItem(entry),
        symbol,
        fallback: own === undefined,
        training_config: meta ? { ...meta.config } : null,
        data: meta ? { ...meta.data } : null,
        timings: meta ? { ...meta.timings } : null,
        versions: await store.versions(entry.key),
      };
    },
  );

  app.post(
    '/api/v1/models/:symbol/train',
    {
      onRequest: guard,
      schema: {
        tags: ['models'],
        summary: 'Start a training job (runs in a worker thread; one job per symbol at a time)',
        security: [{ bearer: [] }, { apiKey: [] }],
        params: SymbolParams,
        body: TrainBody.nullish(),
        response: { 202: JobAcceptedBody, 400: ErrorBody, 404: ErrorBody, 409: ErrorBody, ...protectedErrors },
      },
    },
    async (request, reply) => {
      const { symbol } = request.params;
      await services.predictions.bars(symbol);
      const body = request.body ?? {};
      const job = jobs.start(symbol, {
        ...(body.epochs !== undefined ? { epochs: body.epochs } : {}),
        ...(body.window !== undefined ? { window: body.window } : {}),
        ...(body.units !== undefined ? { units: body.units } : {}),
        ...(body.max_bars !== undefined ? { maxBars: body.max_bars } : {}),
      });
      const statusUrl = `/api/v1/jobs/${job.id}`;
      return reply.code(202).header('Location', statusUrl).send({ job_id: job.id, status: job.status, symbol, status_url: statusUrl });
    },
  );

  app.get(
    '/api/v1/jobs/:id',
    {
      schema: {
        tags: ['models'],
        summary: 'Progress and result of a training job',
        params: JobParams,
        response: { 200: JobBody, 400: ErrorBody, 404: ErrorBody },
      },
    },
    async (request) => {
      const job = jobs.get(request.params.id);
      if (!job) throw new NotFoundError(`no training job ${request.params.id}`);
      return jobBody(job);
    },
  );

  app.post(
    '/api/v1/models/reload',
    {
      onRequest: guard,
      schema: {
        tags: ['models'],
        summary: 'Re-scan the model directory; new versions are loaded and warmed before they replace the old ones',
        security: [{ bearer: [] }, { apiKey: [] }],
        response: { 200: ReloadBody, ...protectedErrors },
      },
    },
    async () => {
      const report = await registry.reload(true);
      return {
        message: `${report.loaded.length} loaded, ${report.unchanged.length} unchanged, ${report.failed.length} failed`,
        ...report,
        time: new Date().toISOString(),
      };
    },
  );
};
