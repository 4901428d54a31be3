import path from 'node:path';
import helmet from '@fastify/helmet';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Server } from 'node:http';
import Fastify, { type FastifyBaseLogger, type FastifyHttpOptions, type FastifyRequest } from 'fastify';
import { jsonSchemaTransform, validatorCompiler, type ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Logger } from 'pino';
import { configSecrets, type AppConfig } from '../config/env.js';
import { packageRoot, packageVersion } from '../config/package-root.js';
import type { MarketDataProvider } from '../market/provider.js';
import { preferBackend, tfjsBackend } from '../ml/backend.js';
import { createAppLogger } from '../observability/logger.js';
import { createMetrics } from '../observability/metrics.js';
import { lazyChildLoggerFactory, OneLinePerRequest } from '../observability/request-logging.js';
import { clientErrorHandler, errorBody, frameworkErrorHandler, installErrorHandlers, requestIdFor } from './error-handler.js';
import { memoizingSerializerCompiler } from './serializer.js';
import corsPlugin, { simpleCorsHeaders } from './plugins/cors.js';
import metricsPlugin from './plugins/metrics.js';
import modelRegistryPlugin from './plugins/model-registry.js';
import loadSheddingPlugin from './plugins/load-shedding.js';
import rateLimitPlugin from './plugins/rate-limit.js';
import { docsSecurityHeaders, securityHeaders } from './plugins/security-headers.js';
import trackingPlugin from './plugins/tracking.js';
import { healthRoutes } from './routes/health.js';
import { historicalRoutes } from './routes/historical.js';
import { modelRoutes } from './routes/models.js';
import { predictRoutes } from './routes/predict.js';
import { rootRoutes } from './routes/root.js';
import { statsRoutes } from './routes/stats.js';
import { createServices, ensureLayout, type Services } from './services.js';
import type { TrainRunner } from './training-jobs.js';
import { workerTrainRunner } from './train-runner.js';

export interface BuildAppOptions {
  readonly config: AppConfig;
  /** Use this logger instead of creating one from the configuration (stdout + rotated file). */
  readonly logger?: Logger;
  /** With the configured logger: also write JSON lines to stdout (default true). */
  readonly logToStdout?: boolean;
  /** Replaces the worker-thread trainer (tests of the job lifecycle). */
  readonly trainRunner?: TrainRunner;
  /** Replaces the configured market data provider (tests of a failing source). */
  readonly market?: MarketDataProvider;
  readonly shippedModelsDir?: string;
  readonly sampleDataDir?: string;
  /** The built dashboard (default `<package>/dist/web`). */
  readonly webDir?: string;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The service's parts (registry, caches, market data, jobs), for routes, tests and benchmarks. */
    readonly services: Services;
    /** Settles once seeding, model loading and warm-up have finished (readiness turns 200 if a model loaded). */
    readonly started: Promise<void>;
  }
}

export type App = Awaited<ReturnType<typeof buildApp>>;

/** Probes and scrapes are never throttled or shed into a false outage. */
const isProbe = (request: FastifyRequest): boolean =>
  request.url.startsWith('/health') || request.url === '/metrics' || request.url.startsWith('/api/v1/health');

/** Node checks the headers and request deadlines this often: a slow client is cut off at most this late. */
export const TIMEOUT_CHECK_INTERVAL_MS = 1000;

/**
 * Every HTTP server timeout set on purpose (Node's defaults leave requestTimeout at 0 in Fastify and check
 * deadlines only every 30 s): a client that sends its headers or body too slowly gets a 408 and is disconnected,
 * idle keep-alive and stalled sockets are closed.
 */
function serverTimeouts(config: AppConfig): Pick<FastifyHttpOptions<Server>, 'requestTimeout' | 'keepAliveTimeout' | 'connectionTimeout' | 'http'> {
  const ms = (seconds: number) => Math.round(seconds * 1000);
  const { server } = config;
  return {
    requestTimeout: ms(server.requestTimeoutSeconds),
    keepAliveTimeout: ms(server.keepAliveTimeoutSeconds),
    connectionTimeout: ms(server.connectionTimeoutSeconds),
    http: { headersTimeout: ms(server.headersTimeoutSeconds), connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
  };
}

/**
 * Builds the service without listening: persistent_data tree, logger, tfjs backend preference, metrics, caches, model
 * registry and every route of the contract. Model loading starts when the app becomes ready and runs in the
 * background (`app.started`), so /health/live answers at once and /health/ready turns 200 only when done.
 */
export async function buildApp(options: BuildAppOptions) {
  const { config } = options;
  await ensureLayout(config);
  const metrics = createMetrics();
  const appLogger = options.logger
    ? { logger: options.logger, fileState: () => undefined, close: async () => undefined }
    : await createAppLogger({
        level: config.logLevel,
        file: config.layout.logFile,
        maxSize: config.logMaxSize,
        keepFiles: config.logKeepFiles,
        stdout: options.logToStdout ?? true,
        secrets: configSecrets(config),
        onDrop: () => metrics.logLinesDropped.inc(),
      });
  const logger = appLogger.logger;
  const version = packageVersion();
  // tfjs is imported only when a model needs it (or never): most services run every model on the fused pass.
  preferBackend(config.tfjsBackend);

  const services = await createServices({
    config,
    version,
    backend: tfjsBackend,
    metrics,
    logger,
    logFile: appLogger.fileState,
    trainRunner: options.trainRunner ?? workerTrainRunner(config, logger),
    ...(options.market ? { market: options.market } : {}),
  });

  const loggerInstance: FastifyBaseLogger = logger;
  const trustProxy: FastifyHttpOptions<Server>['trustProxy'] = config.trustProxy;
  const base = Fastify({
    loggerInstance,
    bodyLimit: config.bodyLimit,
    trustProxy,
    logController: new OneLinePerRequest(),
    childLoggerFactory: lazyChildLoggerFactory,
    genReqId: (req) => requestIdFor(req.headers),
    // Errors raised before routing or by Node's HTTP parser get the contract's body too, not Fastify's.
    frameworkErrors: frameworkErrorHandler((request) => simpleCorsHeaders(config.corsOrigins, request.method, request.headers.origin)),
    clientErrorHandler,
    // Fastify's own 503 while closing has its own body; the onRequest hook below answers in the contract's.
    return503OnClosing: false,
    ...serverTimeouts(config),
  });
  installErrorHandlers(base, services.publicMessage);
  const app = base.withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(memoizingSerializerCompiler);
  // Only JSON bodies are accepted: anything else is a 415, not a string handed to the handlers.
  app.removeContentTypeParser(['text/plain']);
  // Per-request hooks use the callback form: no promise per request on the hot path.
  // While shutting down, new requests get a 503 and in-flight responses close their keep-alive connection, so
  // close() does not wait on idle clients.
  let closing = false;
  app.addHook('onRequest', (request, reply, done) => {
    void reply.header('X-Request-Id', String(request.id));
    if (closing) {
      void reply.code(503).header('Retry-After', '5').type('application/json; charset=utf-8').send(errorBody('SERVICE_UNAVAILABLE'));
      return;
    }
    done();
  });
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) void reply.header('Connection', 'close');
    done(null, payload);
  });

  await app.register(corsPlugin, { origins: config.corsOrigins });
  await app.register(rateLimitPlugin, {
    max: config.rateLimitMax,
    windowSeconds: config.rateLimitWindowSeconds,
    // Probes and scrapes must never be throttled into a false outage.
    exempt: isProbe,
    ...(config.redisUrl
      ? {
          shared: {
            redisUrl: config.redisUrl,
            onDegraded: (degraded: boolean, reason: string) =>
              degraded
                ? logger.warn({ reason }, 'rate limit: Redis does not answer; counting per process until it does')
                : logger.info('rate limit: counting in Redis again (one budget per client across replicas)'),
            onLocalHit: () => metrics.rateLimitLocalFallbacks.inc(),
          },
        }
      : {}),
  });
  // Before everything else that costs: a shed request is answered from its onRequest hook.
  await app.register(loadSheddingPlugin, { ...config.loadShedding, exempt: isProbe, onShed: (reason) => metrics.requestsShed.inc({ reason }) });
  await app.register(swagger, {
    openapi: {
      info: { title: 'Stock Prediction Service', version, description: 'LSTM forecasts with intervals, compared with the naive forecast' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
    },
    transform: jsonSchemaTransform,
  });
  // Security headers (CSP) only where a browser renders pages: /docs here, the dashboard with the root routes.
  await app.register(async (docs) => {
    await docs.register(helmet, docsSecurityHeaders);
    await docs.register(swaggerUi, { routePrefix: '/docs' });
  });
  await app.register(modelRegistryPlugin, {
    services,
    seed: { shippedModelsDir: options.shippedModelsDir, sampleDataDir: options.sampleDataDir },
  });
  await app.register(metricsPlugin, { services });
  await app.register(trackingPlugin, { services });

  const routeOptions = { services };
  await app.register(healthRoutes, routeOptions);
  await app.register(predictRoutes, routeOptions);
  await app.register(historicalRoutes, routeOptions);
  await app.register(modelRoutes, routeOptions);
  await app.register(statsRoutes, routeOptions);
  await app.register(async (dashboard) => {
    await dashboard.register(helmet, securityHeaders);
    await dashboard.register(rootRoutes, { services, webDir: options.webDir ?? path.join(packageRoot, 'dist', 'web') });
  });

  // Registered after the plugins, so it runs after their onClose hooks: the last line written is "service stopped".
  app.addHook('onClose', async () => {
    logger.info('service stopped');
    await appLogger.close();
  });

  if (config.redisUrl) {
    const redisUrl = config.redisUrl;
    // The retraining policy is a BullMQ scheduled job (RETRAINING_TIME) that the worker runs; unset takes it off.
    app.addHook('onReady', async () => {
      const { RETRAINING, scheduleDaily } = await import('../jobs/daily-schedules.js');
      void scheduleDaily(RETRAINING, { redisUrl, time: config.retrainingTime, settings: config.jobs, logger: app.log });
    });
  }

  app.decorate('services', services);
  return app;
}
