/**
 * How every benchmark prints: a table under the machine it ran on, each figure beside its reference from the
 * same run, and after the tables the summaries of the CPU profiles taken with --profile. Its own module so the
 * training benchmark's process (bench/training.ts) prints the same table without loading the HTTP bench.
 */
import os from 'node:os';

export interface Row {
  readonly measure: string;
  readonly value: string;
  readonly reference: string;
}

export function machine(): string {
  const cpus = os.cpus();
  return `${cpus[0]?.model ?? 'unknown cpu'}, ${cpus.length} cores, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`;
}

export function printTable(title: string, rows: readonly Row[]): void {
  const lines = [`## ${title}`, '', `machine: ${machine()}`, '', '| measure | value | reference (same run) |', '|---|---|---|'];
  for (const row of rows) lines.push(`| ${row.measure} | ${row.value} | ${row.reference} |`);
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

/** The summaries of the CPU profiles taken with --profile, after the tables. */
export function printProfiles(profiles: readonly (readonly [string, readonly string[]])[]): void {
  if (profiles.length === 0) return;
  const lines = ['## CPU profiles (--profile)', ''];
  for (const [title, summary] of profiles) lines.push(`### ${title}`, '', '```', ...summary, '```', '');
  process.stdout.write(`${lines.join('\n')}\n`);
}
