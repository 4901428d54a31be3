/**
 * `npm run bench [-- --profile DIR]`: the in-process inference benchmark (bench/inference.ts), the HTTP service
 * benchmark (bench/http.ts), throughput through nginx with one and two replicas (bench/cluster.ts), then the
 * training benchmark of the ML core (bench/training.ts, in its own process so its tfjs backend choice starts
 * clean), each printing its table with the machine it ran on. With --profile, the measured phases of the HTTP
 * benchmark and a series of in-process forecasts are also CPU-profiled (files in DIR) and their top frames printed after
 * the HTTP table.
 *
 * Another benchmark is one more `printTable(title, await runIt())` line below.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { runClusterBench } from './cluster.js';
import { runHttpBench } from './http.js';
import { printProfiles, printTable } from './table.js';
import { runInferenceBench } from './inference.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const { values } = parseArgs({ options: { profile: { type: 'string' } } });
const profileDir = values.profile === undefined ? undefined : path.resolve(values.profile);

const [load1, load5] = os.loadavg();
process.stdout.write(`load average at start: ${(load1 ?? 0).toFixed(2)} (1 min), ${(load5 ?? 0).toFixed(2)} (5 min)\n\n`);

const profiles: [string, string[]][] = [];
const onProfile = (title: string, summary: string[]): void => void profiles.push([title, summary]);
printTable('Inference benchmark (npm run bench)', await runInferenceBench({ profileDir, onProfile }));

const rows = await runHttpBench({ duration: 5, connections: 50, models: 1000, profileDir, onProfile });
printTable('HTTP service benchmark (npm run bench)', rows);
printProfiles(profiles);

printTable('Cluster benchmark: throughput through nginx, 1 vs 2 replicas (npm run bench)', await runClusterBench({ duration: 5, connections: 50, rounds: 2 }));

await new Promise<void>((resolve, reject) => {
  const child = spawn(process.execPath, [path.join(here, 'training.js')], { stdio: 'inherit' });
  child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench/training exited with ${code}`))));
});
