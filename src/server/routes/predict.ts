import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { catalogMessage, ValidationError } from '../../errors.js';
import { notModified, predictionEtag } from '../http-caching.js';
import type { Services } from '../services.js';
import { BatchPredictBody, BatchPredictionBody, ErrorBody, NotModifiedBody, PredictionBody, PredictQuery, SymbolParams, TickerSymbol } from '../schemas.js';

const errors = { 400: ErrorBody, 404: ErrorBody, 429: ErrorBody, 500: ErrorBody, 503: ErrorBody };

function parseSymbol(raw: string): string {
  const parsed = TickerSymbol.safeParse(raw);
  if (!parsed.success) throw new ValidationError(catalogMessage('INVALID_SYMBOL', JSON.stringify(raw)), undefined, 'INVALID_SYMBOL');
  return parsed.data;
}

export const predictRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/api/v1/predict/:symbol',
    {
      schema: {
        tags: ['predictions'],
        summary: 'Forecast a symbol N trading days ahead, with intervals, the naive baseline and the model evaluation',
        params: SymbolParams,
        querystring: PredictQuery,
        response: { 200: PredictionBody, 304: NotModifiedBody, ...errors },
      },
    },
    async (request, reply) => {
      const prediction = await services.predictions.predict(request.params.symbol, request.query.days);
      if (notModified(request, reply, predictionEtag(prediction), services.config.predictionTtlSeconds)) return reply.code(304).send(null);
      return prediction;
    },
  );

  app.post(
    '/api/v1/predict',
    {
      schema: {
        tags: ['predictions'],
        summary: 'Forecast up to 50 symbols; one bad symbol becomes an entry of errors and does not fail the others',
        body: BatchPredictBody,
        response: { 200: BatchPredictionBody, 400: ErrorBody, 413: ErrorBody, 415: ErrorBody, 429: ErrorBody, 500: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) =>
      services.predictions.predictMany(request.body.symbols, request.body.days ?? 1, parseSymbol, (symbol, error) =>
        request.log.error({ err: error, symbol }, 'batch prediction failed'),
      ),
  );
};
