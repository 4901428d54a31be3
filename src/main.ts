import { ConfigError, loadConfig } from './config/env.js';
import { errorMessage } from './errors.js';

/**
 * Starts the service: validated configuration (a bad variable → one line naming it, exit 1), then the role:
 * the app on HOST:PORT (ROLE=api, the default) or the job worker (ROLE=worker), with a graceful shutdown on
 * SIGTERM/SIGINT: stop accepting, finish in-flight requests or the running job, close Redis, flush the logs —
 * forced after SHUTDOWN_TIMEOUT.
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
  const shutdownOn = (close: () => Promise<void>, log: (signal: string) => void): void => {
    let stopping = false;
    const stop = (signal: string): void => {
      if (stopping) return;
      stopping = true;
      log(signal);
      const force = setTimeout(() => {
        process.stderr.write(`shutdown took longer than ${config.shutdownTimeoutSeconds}s; exiting\n`);
        process.exit(1);
      }, config.shutdownTimeoutSeconds * 1000);
      force.unref();
      close().then(
        () => process.exit(0),
        (error: unknown) => {
          process.stderr.write(`shutdown failed: ${String(error)}\n`);
          process.exit(1);
        },
      );
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  };
  // Loaded after validation, so a bad variable is reported before tfjs and the rest are imported.
  if (config.role === 'worker') {
    const { startWorkerRole } = await import('./worker/worker-role.js');
    const worker = await startWorkerRole(config);
    // The running job finishes first; one that outlasts SHUTDOWN_TIMEOUT is retried by the next worker.
    shutdownOn(() => worker.close(), (signal) => process.stdout.write(`${signal}: stopping the worker after its running job\n`));
    return;
  }
  const { buildApp } = await import('./server/app.js');
  const app = await buildApp({ config });
  shutdownOn(() => app.close(), (signal) => app.log.info({ signal }, 'shutting down: finishing in-flight requests'));
  await app.listen({ port: config.port, host: config.host });
}

main().catch((error: unknown) => {
  process.stderr.write(`start-up failed: ${errorMessage(error)}\n`);
  process.exit(1);
});
