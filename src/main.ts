import { ConfigError, loadConfig } from './config/env.js';
import { errorMessage } from './errors.js';

/**
 * Starts the service: validated configuration (a bad variable → one line naming it, exit 1), the app on
 * HOST:PORT, and a graceful shutdown on SIGTERM/SIGINT: stop accepting, finish in-flight requests, close
 * Redis, flush the logs — forced after SHUTDOWN_TIMEOUT.
 */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  // Loaded after validation, so a bad variable is reported before tfjs and the rest are imported.
  const { buildApp } = await import('./server/app.js');
  const app = await buildApp({ config });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    const force = setTimeout(() => {
      process.stderr.write(`shutdown took longer than ${config.shutdownTimeoutSeconds}s; exiting\n`);
      process.exit(1);
    }, config.shutdownTimeoutSeconds * 1000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`shutdown failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  await app.listen({ port: config.port, host: config.host });
}

main().catch((error: unknown) => {
  process.stderr.write(`start-up failed: ${errorMessage(error)}\n`);
  process.exit(1);
});
