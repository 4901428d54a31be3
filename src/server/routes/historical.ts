import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { Services } from '../services.js';
import { ErrorBody, HistoricalBody, HistoricalQuery, SymbolParams } from '../schemas.js';

export const historicalRoutes: FastifyPluginAsyncZod<{ services: Services }> = async (app, { services }) => {
  app.get(
    '/api/v1/historical/:symbol',
    {
      schema: {
        tags: ['market data'],
        summary: 'Daily bars of the last N trading days, oldest first',
        params: SymbolParams,
        querystring: HistoricalQuery,
        response: { 200: HistoricalBody, 400: ErrorBody, 404: ErrorBody, 429: ErrorBody, 503: ErrorBody },
      },
    },
    async (request) => {
      const { symbol } = request.params;
      const { days } = request.query;
      const bars = (await services.predictions.bars(symbol)).slice(-days);
      return {
        symbol,
        days,
        count: bars.length,
        data: bars.map((bar) => ({
          symbol,
          timestamp: `${bar.date}T00:00:00Z`,
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
