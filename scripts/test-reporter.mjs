// node:test reporter of `npm test`: the spec reporter's output, then one line of coverage of the service's
// code (the per-file table goes to coverage/coverage.txt instead of drowning the output), the ten slowest test
// files (where the suite's time goes, for whoever next tries to keep it short), and last a plain
// "N passed, N failed" line that CI and people can read at the end of the log.
// Coverage is measured on the compiled JavaScript: `npm test` compiles without source maps because Node 20's
// coverage fails on tsc's maps ("Could not report code coverage ... reading 'line'").
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Transform } from 'node:stream';
import { spec as Spec } from 'node:test/reporters';

const percent = (covered, total) => (total === 0 ? 100 : (100 * covered) / total).toFixed(2);

function coverageLines(summary) {
  const files = summary.files
    .map((file) => ({ ...file, relative: path.relative(summary.workingDirectory, file.path) }))
    // The service's own code (dist/src/**, compiled): not tests, not node_modules, not temp copies.
    .filter((file) => /^(dist[^/]*\/)?src\//.test(file.relative.split(path.sep).join('/')))
    .sort((a, b) => a.relative.localeCompare(b.relative));
  const sum = (key) => files.reduce((total, file) => total + file[key], 0);
  const table = [
    'file | line % | branch % | funcs %',
    ...files.map((f) => `${f.relative} | ${percent(f.coveredLineCount, f.totalLineCount)} | ${percent(f.coveredBranchCount, f.totalBranchCount)} | ${percent(f.coveredFunctionCount, f.totalFunctionCount)}`),
  ];
  mkdirSync('coverage', { recursive: true });
  writeFileSync(path.join('coverage', 'coverage.txt'), `${table.join('\n')}\n`);
  return `ℹ coverage of the service's code (${files.length} files of dist/src): lines ${percent(sum('coveredLineCount'), sum('totalLineCount'))}%, branches ${percent(sum('coveredBranchCount'), sum('totalBranchCount'))}%, functions ${percent(sum('coveredFunctionCount'), sum('totalFunctionCount'))}% (per file: coverage/coverage.txt)\n`;
}

const SLOWEST_SHOWN = 10;

/**
 * The slowest test files, from the runner's file-level `test:complete` events (one per file, named after it):
 * their duration is the whole child process — start-up, imports, hooks and tests.
 */
function slowestFilesLines(durations) {
  const slowest = [...durations].sort((a, b) => b[1] - a[1]).slice(0, SLOWEST_SHOWN);
  if (slowest.length === 0) return '';
  const total = [...durations.values()].reduce((sum, ms) => sum + ms, 0);
  const rows = slowest.map(([file, ms]) => `ℹ   ${(ms / 1000).toFixed(1).padStart(6)} s  ${path.relative(process.cwd(), file)}`);
  return [`ℹ slowest ${slowest.length} of ${durations.size} test files (all files: ${(total / 1000).toFixed(0)} s of process time):`, ...rows, ''].join('\n');
}

export default class SpecWithCoverageSummary extends Transform {
  #spec = new Spec();
  #counts = { pass: 0, fail: 0 };
  #coverage;
  /** Test file → milliseconds its process ran. */
  #fileDurations = new Map();

  constructor() {
    super({ writableObjectMode: true });
    this.#spec.on('data', (chunk) => this.push(chunk));
  }

  _transform(event, _encoding, callback) {
    if (event.type === 'test:coverage') {
      this.#coverage = event.data.summary;
      callback();
      return;
    }
    if (event.type === 'test:complete' && event.data.nesting === 0 && event.data.file !== undefined && event.data.name === event.data.file) {
      this.#fileDurations.set(event.data.file, event.data.details.duration_ms);
    }
    if (event.type === 'test:diagnostic' && event.data.nesting === 0) {
      const match = /^(pass|fail) (\d+)$/.exec(event.data.message);
      if (match) this.#counts[match[1]] = Number(match[2]);
    }
    this.#spec.write(event, callback);
  }

  _flush(callback) {
    this.#spec.once('end', () => {
      if (this.#coverage !== undefined) this.push(coverageLines(this.#coverage));
      this.push(slowestFilesLines(this.#fileDurations));
      this.push(`${this.#counts.pass} passed, ${this.#counts.fail} failed\n`);
      callback();
    });
    this.#spec.end();
  }
}
