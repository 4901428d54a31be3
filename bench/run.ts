/**
 * `npm run bench`: the in-process inference benchmark (bench/inference.ts), the HTTP service benchmark (bench/http.ts),
 * throughput through nginx with one and two replicas (bench/cluster.ts), then the training benchmark of the ML core
 * (bench/training.ts, in its own process so its tfjs backend choice starts clean), each printing its table
 * with the machine it ran on.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runClusterBench } from './cluster.js';
import { printTable, runHttpBench } from './http.js';
import { runInferenceBench } from './inference.js';

const here = path.dirname(fileURLToPath(import.meta.url));

printTable('Inference benchmark (npm run bench)', await runInferenceBench());

const rows = await runHttpBench({ duration: 5, connections: 50, models: 1000 });
printTable('HTTP service benchmark (npm run bench)', rows);

printTable('Cluster benchmark: throughput through nginx, 1 vs 2 replicas (npm run bench)', await runClusterBench({ duration: 5, connections: 50, rounds: 2 }));

await new Promise<void>((resolve, reject) => {
  const child = spawn(process.execPath, [path.join(here, 'training.js')], { stdio: 'inherit' });
  child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench/training exited with ${code}`))));
});
