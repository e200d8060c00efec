/**
 * Builds the demo storefront (web/) into `outDir`: `assets/app-<hash>.js` and
 * `assets/styles-<hash>.css` bundled by esbuild from TypeScript and CSS, and `index.html` from
 * web/src/index.html with those names filled in. Called by scripts/build.mjs (into dist/web) and
 * by the browser tests (into a temporary directory); `node scripts/build-web.mjs <outDir>` too.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const web = join(root, 'web', 'src');

/** @param {string} outDir @param {{ minify?: boolean }} [options] */
export async function buildWeb(outDir, options = {}) {
  const assets = join(outDir, 'assets');
  rmSync(assets, { recursive: true, force: true });
  mkdirSync(assets, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { app: join(web, 'main.ts'), styles: join(web, 'styles.css') },
    outdir: assets,
    entryNames: '[name]-[hash]',
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome109', 'firefox115', 'safari15'],
    minify: options.minify ?? true,
    sourcemap: 'linked',
    metafile: true,
    legalComments: 'none',
    // graphql's instanceOf check reads process.env.NODE_ENV; browsers have no `process`.
    define: { 'process.env.NODE_ENV': '"production"' },
    logLevel: 'warning',
  });
  const names = {};
  for (const [file, output] of Object.entries(result.metafile.outputs)) {
    if (file.endsWith('.map') || !output.entryPoint) continue;
    names[file.endsWith('.css') ? 'styles' : 'app'] = basename(file);
  }
  if (!names.app || !names.styles) throw new Error('build-web: esbuild produced no app or styles bundle');
  const page = readFileSync(join(web, 'index.html'), 'utf8')
    .replace('%APP%', `/assets/${names.app}`)
    .replace('%STYLES%', `/assets/${names.styles}`);
  writeFileSync(join(outDir, 'index.html'), page);
  return names;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? join(root, 'dist', 'web'));
  const names = await buildWeb(out);
  process.stdout.write(`build-web: ${out} (${names.app}, ${names.styles})\n`);
}
