import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import { sessionCloseUtc } from '../../calendar/session.js';
import { historyEtag, notModified } from '../http-caching.js';
import type { Services } from '../services.js';
import { ErrorBody, HistoricalBody, HistoricalQuery, NotModifiedBody, SymbolParams } from '../schemas.js';

export const historicalRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/api/v1/historical/:symbol',
    {
      schema: {
        tags: ['market data'],
        summary: 'Daily bars of the last N trading days, oldest first',
        params: SymbolParams,
        querystring: HistoricalQuery,
        response: { 200: HistoricalBody, 304: NotModifiedBody, 400: ErrorBody, 404: ErrorBody, 429: ErrorBody, 503: ErrorBody },
      },
    },
    async (request, reply) => {
      const { symbol } = request.params;
      const { days } = request.query;
      const bars = (await services.predictions.bars(symbol)).slice(-days);
      if (notModified(request, reply, historyEtag(symbol, days, bars), services.config.predictionTtlSeconds)) return reply.code(304).send(null);
      return {
        symbol,
        days,
        count: bars.length,
        data: bars.map((bar) => ({
          symbol,
          date: bar.date,
          timestamp: sessionCloseUtc(bar.date),
          open: bar.open,
          high: bar.high,
          low: bar.low,
          close: bar.close,
          adj_close: bar.adjClose,
          volume: bar.volume,
        })),
      };
    },
  );
};
