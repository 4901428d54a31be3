/**
 * In-process cost of one uncached forecast of the shipped NVDA model (features, forward pass, prices and
 * intervals — what a cache miss computes), on the fused pass and, as its reference in the same run, on tfjs.
 *
 * The machine is shared (2 cores, other processes come and go), so one series of timings says more about the
 * neighbours than about the code: ROUNDS rounds alternate fused and tfjs, and the row reports the median of the
 * round medians with the spread of the rounds, the CPU time per forecast (which neighbours inflate far less than
 * wall time) and the load average before and after. With --profile, one more fused series is CPU-profiled.
 * A second row times the one-off start of a symbol the model never trained on (500 forecasts of its history).
 * `node dist/bench/inference.js [--profile DIR]` runs this benchmark alone.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { packageRoot } from '../src/config/package-root.js';
import { CsvMarketData } from '../src/market/csv.js';
import type { Bar } from '../src/market/bar.js';
import { selectBackend } from '../src/ml/backend.js';
import type { InferencePreference } from '../src/ml/inference/engine.js';
import { bandStartFromHistory } from '../src/ml/history-start.js';
import { GLOBAL_MODEL_KEY, type Forecaster } from '../src/ml/types.js';
import { ModelStore } from '../src/model-store/store.js';
import { printProfiles, printTable, type Row } from './table.js';
import { topFrames } from './profile.js';

const TARGET_MS = 0.5;
const ROUNDS = 5;
/** Forecasts per round: tfjs takes 10–40× longer per forecast, so fewer of its keep a round short. */
const PER_ROUND: Readonly<Record<InferencePreference, number>> = { auto: 1000, tfjs: 200 };
const HORIZONS = 60;

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;
const load = (): string => (os.loadavg()[0] ?? 0).toFixed(2);

interface Round {
  readonly p50: number;
  /** CPU time of the process (user + system) per forecast, in ms. */
  readonly cpu: number;
}

/** `count` forecasts with horizons cycling through 1–60, each timed on its own. */
async function timeRound(forecaster: Forecaster, bars: readonly Bar[], count: number): Promise<Round> {
  const times: number[] = [];
  const cpu = process.cpuUsage();
  for (let i = 0; i < count; i += 1) {
    const t0 = performance.now();
    await forecaster.forecast(bars, 1 + (i % HORIZONS));
    times.push(performance.now() - t0);
  }
  const used = process.cpuUsage(cpu);
  return { p50: median(times), cpu: (used.user + used.system) / 1000 / count };
}

/** Profiles one more fused round through the inspector; returns the summary lines of its profile. */
async function profileRound(forecaster: Forecaster, bars: readonly Bar[], dir: string): Promise<string[]> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    for (let n = 0; n < 5; n += 1) await timeRound(forecaster, bars, PER_ROUND.auto);
    const { profile } = await session.post('Profiler.stop');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'inference.cpuprofile');
    writeFileSync(file, JSON.stringify(profile));
    return topFrames(file);
  } finally {
    session.disconnect();
  }
}

export interface InferenceBenchOptions {
  readonly profileDir?: string;
  readonly onProfile?: (title: string, summary: string[]) => void;
}

export async function runInferenceBench(options: InferenceBenchOptions = {}): Promise<Row[]> {
  const backend = await selectBackend('auto');
  const modelsDir = path.join(packageRoot, 'models');
  const store = new ModelStore({ modelsDir, scalersDir: path.join(modelsDir, 'scalers') });
  const bars = await new CsvMarketData({ directory: path.join(packageRoot, 'data', 'sample') }).getBars('NVDA');
  const forecasters = { auto: await store.loadForecaster('nvda', undefined, 'auto'), tfjs: await store.loadForecaster('nvda', undefined, 'tfjs') };
  const rounds: Record<InferencePreference, Round[]> = { auto: [], tfjs: [] };
  const loadBefore = load();
  try {
    for (const inference of ['auto', 'tfjs'] as const) await timeRound(forecasters[inference], bars, 200);
    for (let r = 0; r < ROUNDS; r += 1) {
      for (const inference of ['auto', 'tfjs'] as const) rounds[inference].push(await timeRound(forecasters[inference], bars, PER_ROUND[inference]));
    }
    if (options.profileDir !== undefined) {
      options.onProfile?.('in-process uncached forecasts, fused pass (5 × 1000)', await profileRound(forecasters.auto, bars, options.profileDir));
    }
  } finally {
    forecasters.auto.dispose();
    forecasters.tfjs.dispose();
  }
  const start = await timeBandStart(store, bars);
  const fused = rounds.auto.map((r) => r.p50);
  const tfjs = rounds.tfjs.map((r) => r.p50);
  const [fusedP50, tfjsP50] = [median(fused), median(tfjs)];
  const met = fused.filter((p) => p <= TARGET_MS).length;
  const list = (values: readonly number[]): string => values.map((v) => v.toFixed(3)).join(' / ');
  return [
    {
      measure: `uncached single forecast in-process (shipped NVDA model: features + forward pass + prices), fused pass, target p50 ≤ ${TARGET_MS} ms`,
      value:
        `p50 ${fusedP50.toFixed(3)} ms, median of ${ROUNDS} rounds (${list(fused)}; ${met} of ${ROUNDS} ≤ ${TARGET_MS} ms), ` +
        `CPU ${median(rounds.auto.map((r) => r.cpu)).toFixed(3)} ms per forecast; ${PER_ROUND.auto} forecasts a round, horizons 1–${HORIZONS}; load average ${loadBefore} → ${load()}`,
      reference:
        `same forecasts on tfjs (${backend}), rounds interleaved: p50 ${tfjsP50.toFixed(3)} ms (${list(tfjs)}; ${PER_ROUND.tfjs} a round), ` +
        `CPU ${median(rounds.tfjs.map((r) => r.cpu)).toFixed(3)} ms → ${(tfjsP50 / fusedP50).toFixed(1)}× faster`,
    },
    {
      measure: `first answer for a symbol the model never trained on: its bands' start from ${start.days} days of its own history (shipped global model, NVDA's bars), once per version and symbol`,
      value: `${start.ms.toFixed(1)} ms, median of ${START_ROUNDS}`,
      reference: `${start.days} uncached single forecasts of the same model at the p50 above: ${(start.days * fusedP50).toFixed(1)} ms`,
    },
  ];
}

const START_ROUNDS = 3;

/** Wall time of bandStartFromHistory on the shipped global model, median of START_ROUNDS, and the days it serves. */
async function timeBandStart(store: ModelStore, bars: readonly Bar[]): Promise<{ ms: number; days: number }> {
  const forecaster = await store.loadForecaster(GLOBAL_MODEL_KEY, undefined, 'auto');
  try {
    const times: number[] = [];
    let days = 0;
    for (let r = 0; r < START_ROUNDS; r += 1) {
      const t0 = performance.now();
      days = (await bandStartFromHistory(forecaster, bars))?.start?.days ?? 0;
      times.push(performance.now() - t0);
    }
    return { ms: median(times), days };
  } finally {
    forecaster.dispose();
  }
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { profile: { type: 'string' } } });
  const profiles: [string, string[]][] = [];
  const rows = await runInferenceBench({
    ...(values.profile === undefined ? {} : { profileDir: path.resolve(values.profile) }),
    onProfile: (title, summary) => void profiles.push([title, summary]),
  });
  printTable('Inference benchmark (node dist/bench/inference.js)', rows);
  printProfiles(profiles);
}
