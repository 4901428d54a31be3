import type { z } from 'zod';
import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { NotFoundError, UnavailableError } from '../../errors.js';
import { GLOBAL_MODEL_KEY, symbolModelKey, symbolOfModelKey } from '../../ml/types.js';
import { requireApiKey } from '../auth.js';
import type { ModelEntry } from '../model-registry.js';
import { calibrationBody, evaluationBody, originBody, price } from '../prediction-body.js';
import type { Services } from '../services.js';
import type { TrainingJobView } from '../../jobs/training-job.js';
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
  TestForecastsBody,
  TestForecastsQuery,
  TrainBody,
} from '../schemas.js';

type ModelItem = z.output<typeof ModelListItem>;

export function modelItem(entry: ModelEntry): ModelItem {
  const meta = entry.metadata;
  const symbol = symbolOfModelKey(entry.key);
  return {
    symbol,
    scope: symbol === null ? 'global' : 'symbol',
    key: entry.key,
    name: meta?.name ?? `${symbol ?? entry.key} LSTM`,
    version: meta?.version ?? null,
    status: entry.status,
    trained_at: meta?.trained_at ?? null,
    window: meta?.window ?? null,
    horizon: meta?.horizon ?? null,
    features: meta ? [...meta.features] : [],
    backend: meta?.backend ?? null,
    evaluation: meta ? evaluationBody(meta.evaluation) : null,
    beats_naive: meta?.beats_naive ?? null,
    inference: entry.inference ? { ...entry.inference } : null,
    ...(meta?.origin !== undefined ? { origin: originBody(meta.origin) } : {}),
    ...(entry.error !== undefined ? { error: entry.error } : {}),
  };
}

export function jobBody(job: TrainingJobView): z.output<typeof JobBody> {
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

  /** The symbol's own model, or the global model for a symbol we have data for; 404 otherwise. */
  async function modelFor(symbol: string): Promise<{ entry: ModelEntry; fallback: boolean }> {
    const own = registry.entry(symbolModelKey(symbol));
    if (own) return { entry: own, fallback: false };
    // Only a symbol we have data for is answered by the global model.
    await services.predictions.bars(symbol);
    const global = registry.entry(GLOBAL_MODEL_KEY);
    if (!global) throw new NotFoundError(`no model for ${symbol}`, { symbol }, 'MODEL_NOT_FOUND');
    return { entry: global, fallback: true };
  }

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
      const { entry, fallback } = await modelFor(symbol);
      const meta = entry.metadata;
      return {
        ...modelItem(entry),
        symbol,
        fallback,
        calibration: meta ? calibrationBody(meta.calibration) : null,
        training_config: meta ? { ...meta.config } : null,
        data: meta ? { ...meta.data } : null,
        timings: meta ? { ...meta.timings } : null,
        versions: (await store.versions(entry.key)).map((v) => (v.error === undefined ? v : { ...v, error: services.publicMessage(v.error) })),
      };
    },
  );

  app.get(
    '/api/v1/models/:symbol/test-forecasts',
    {
      schema: {
        tags: ['models'],
        summary: "The held-out next-day forecasts behind the served model's evaluation, next to what really happened",
        description:
          "Test-split days only (never seen by the network, the scaler or the calibration), oldest first, from the version being served. " +
          "A symbol without a model of its own gets the global model's forecasts for that symbol. " +
          'A version saved before test forecasts were recorded returns no points.',
        params: SymbolParams,
        querystring: TestForecastsQuery,
        response: { 200: TestForecastsBody, 400: ErrorBody, 404: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      const { symbol } = request.params;
      const { entry, fallback } = await modelFor(symbol);
      const meta = entry.metadata;
      if (!meta) throw new UnavailableError(`model ${entry.key} is ${entry.status}`, 30, { symbol }, 'MODEL_UNAVAILABLE');
      const all = await store.readTestForecasts(entry.key, symbol, meta.version);
      const points = all.slice(-request.query.days).map((p) => ({
        date: p.date,
        actual: price(p.actual),
        predicted: price(p.predicted),
        // versions saved before calibrated forecasts recorded neither
        ...(p.lstm_predicted !== undefined ? { lstm_predicted: price(p.lstm_predicted) } : {}),
        ...(p.probability_up !== undefined ? { probability_up: Math.round(p.probability_up * 1e4) / 1e4 } : {}),
        lower_80: price(p.lower_80),
        upper_80: price(p.upper_80),
        lower_95: price(p.lower_95),
        upper_95: price(p.upper_95),
        naive: price(p.naive),
        ...(p.horizons !== undefined
          ? { horizons: p.horizons.map((h) => ({ step: h.step, actual: price(h.actual), predicted: price(h.predicted), lstm_predicted: price(h.lstm_predicted), lower_80: price(h.lower_80), upper_80: price(h.upper_80), lower_95: price(h.lower_95), upper_95: price(h.upper_95) })) }
          : {}),
      }));
      return {
        symbol,
        model: meta.name,
        key: entry.key,
        version: meta.version,
        fallback,
        test_from: all[0]?.date ?? null,
        test_to: all.at(-1)?.date ?? null,
        count: points.length,
        points,
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
      const job = await jobs.start(symbol, {
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
      const job = await jobs.get(request.params.id);
      if (!job) throw new NotFoundError(`no training job ${request.params.id}`, undefined, 'JOB_NOT_FOUND');
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
