/**
 * Loaded into a benchmarked server with `node --import` when `npm run bench -- --profile DIR` asks for CPU
 * profiles. Each SIGUSR2 starts the V8 profiler, or stops it and writes `<BENCH_PROFILE_OUT>.<n>.cpuprofile`, so
 * the bench profiles exactly the phase it measures (a load, a series of requests). With BENCH_PROFILE_FROM_START
 * the profiler runs from the first line (start-up). Written by the inspector module, not `--cpu-prof`, which writes
 * only at a normal exit, never when the process is stopped by a signal.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

const out = process.env['BENCH_PROFILE_OUT'];
if (out !== undefined) {
  const session = new Session();
  session.connect();
  let running = false;
  let written = 0;
  const start = async (): Promise<void> => {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    running = true;
  };
  if (process.env['BENCH_PROFILE_FROM_START'] === '1') await start();
  process.on('SIGUSR2', () => {
    if (!running) {
      void start();
      return;
    }
    running = false;
    void session.post('Profiler.stop').then(({ profile }) => {
      written += 1;
      try {
        writeFileSync(`${out}.${written}.cpuprofile`, JSON.stringify(profile));
      } catch (error) {
        // A profile that cannot be written must not take the benchmarked server down with it.
        process.stderr.write(`profile not written: ${String(error)}\n`);
      }
    });
  });
}
