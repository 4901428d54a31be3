// Bundles the web dashboard (web/) into dist/web/: index.html, assets/app.js, assets/app.css.
// Everything, uPlot included, comes from node_modules, so the page works offline and needs no CDN.
// The same folder is served by the service (GET /, /assets/*) and by nginx in the compose stack.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const webDir = path.join(root, 'web');
const outDir = path.join(root, 'dist', 'web');
// Built beside the target and renamed into place, so a server never serves a half-written build.
const stagingDir = `${outDir}.tmp-${process.pid}`;
const assetsDir = path.join(stagingDir, 'assets');

const common = { bundle: true, minify: true, sourcemap: true, logLevel: 'warning', legalComments: 'none' };

async function main() {
  // esbuild strips types without checking them, and the root tsconfig does not cover web/: check here.
  execFileSync(process.execPath, [path.join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', path.join(webDir, 'tsconfig.json')], {
    stdio: 'inherit',
  });
  await rm(stagingDir, { recursive: true, force: true });
  await mkdir(assetsDir, { recursive: true });
  await build({
    ...common,
    entryPoints: [path.join(webDir, 'src', 'main.ts')],
    outfile: path.join(assetsDir, 'app.js'),
    format: 'esm',
    target: ['es2022'],
    tsconfig: path.join(webDir, 'tsconfig.json'),
  });
  await build({ ...common, entryPoints: [path.join(webDir, 'styles.css')], outfile: path.join(assetsDir, 'app.css') });

  // Content hashes in the asset URLs: a browser never mixes a cached old script with a new page.
  const version = async (file) => createHash('sha256').update(await readFile(path.join(assetsDir, file))).digest('hex').slice(0, 12);
  const html = (await readFile(path.join(webDir, 'index.html'), 'utf8'))
    .replace('assets/app.css', `assets/app.css?v=${await version('app.css')}`)
    .replace('assets/app.js', `assets/app.js?v=${await version('app.js')}`);
  await writeFile(path.join(stagingDir, 'index.html'), html);

  const previous = `${outDir}.old-${process.pid}`;
  // Another build may swap its folder in between our two renames: then move that one aside too and retry.
  for (let attempt = 1; ; attempt += 1) {
    await rename(outDir, previous).catch((error) => {
      if (error.code !== 'ENOENT') throw error;
    });
    try {
      await rename(stagingDir, outDir);
      break;
    } catch (error) {
      if (!['ENOTEMPTY', 'EEXIST'].includes(error.code) || attempt === 3) throw error;
      await rm(previous, { recursive: true, force: true });
    }
  }
  await rm(previous, { recursive: true, force: true });
  // stderr: `npm run -s ops -- monitor --json` and the other CLI scripts build first, and their stdout must stay theirs.
  console.error(`web dashboard built into ${path.relative(root, outDir)}/`);
}

main().catch(async (error) => {
  await rm(stagingDir, { recursive: true, force: true });
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
