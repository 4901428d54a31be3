import { once } from 'node:events';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { createAppLogger } from '../../src/observability/logger.js';

/**
 * One process logging to its own LOG_FILE in a folder other processes log into too (driven by
 * replica-log-files.test.ts): `node log-writer.js <log file> <writer name>`. It logs two lines and prints "open"
 * once they are on disk; when its stdin closes it logs until its file rotates, logs one line into the new file,
 * closes the logger and exits.
 */
const [file, writer] = process.argv.slice(2);
if (file === undefined || writer === undefined) throw new Error('usage: log-writer.js <log file> <writer name>');
const dir = path.dirname(file);
const dated = new RegExp(`^${path.basename(file, '.log')}\\.\\d{4}-\\d{2}-\\d{2}\\.\\d+\\.log$`);
const ownFiles = async (): Promise<string[]> => (await readdir(dir)).filter((name) => dated.test(name));
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
// Lines of about 300 bytes against 2 KiB files: a rotation every few lines.
const padding = 'x'.repeat(200);

const { logger, close } = await createAppLogger({ level: 'info', file, maxSize: '2k', keepFiles: 50, stdout: false });
logger.info({ writer, padding }, 'started');
logger.info({ writer, padding }, 'second line');
// Read from the dated files, not through the link under test.
const written = async (): Promise<number> => {
  const texts = await Promise.all((await ownFiles()).map((name) => readFile(path.join(dir, name), 'utf8')));
  return texts.join('').split('\n').filter(Boolean).length;
};
while ((await written()) < 2) await sleep(5);
process.stdout.write('open\n');

await once(process.stdin.resume(), 'end');
const before = (await ownFiles()).length;
for (let i = 0; (await ownFiles()).length === before; i += 1) {
  if (i === 200) throw new Error(`${writer}: no rotation after 200 lines`);
  logger.info({ writer, i, padding }, 'filling the file');
  await sleep(5);
}
// The new file exists, so SonicBoom has reopened: this line goes into it.
logger.info({ writer }, 'after rotation');
await close();
