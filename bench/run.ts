/**
 * `npm run bench`: the HTTP service benchmark (bench/http.ts) and, when present, the training benchmark
 * of the ML core (bench/training.ts), each printing its table with the machine it ran on.
 */
import { spawn } from 'node:child_process';
import { access } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { printTable, runHttpBench } from './http.js';

const here = path.dirname(fileURLToPath(import.meta.url));

const rows = await runHttpBench({ duration: 5, connections: 50, models: 200 });
printTable('HTTP service benchmark (npm run bench)', rows);

const training = path.join(here, 'training.js');
if (await access(training).then(() => true, () => false)) {
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [training], { stdio: 'inherit' });
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`bench/training exited with ${code}`))));
  });
}
