/**
 * scripts/bundle-gateway.mjs: what `npm start` loads must behave as tsc's output does. Bundles a
 * small compiled tree the way the build does and loads it: classes keep the names they were
 * written with (type-graphql names GraphQL types after them, and esbuild renames a class whose
 * name another module uses too), CommonJS code still finds `require`, and a dynamic import (how
 * main.ts loads app.ts) still works.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { bundleGateway } from '../../scripts/bundle-gateway.mjs';

let dist: string | undefined;
afterEach(() => {
  if (dist) rmSync(dist, { recursive: true, force: true });
  dist = undefined;
});

it('keeps class names, require and dynamic imports working', async () => {
  dist = mkdtempSync(join(tmpdir(), 'bundle-gateway-'));
  const src = join(dist, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'a.js'), 'export class Payment {}\n');
  writeFileSync(join(src, 'b.js'), 'export class Payment { kind = "b"; }\n');
  writeFileSync(join(src, 'eol.cjs'), "module.exports = { eol: require('node:os').EOL };\n");
  writeFileSync(join(src, 'late.js'), 'export const late = "loaded";\n');
  writeFileSync(
    join(src, 'main.js'),
    [
      "import { Payment as A } from './a.js';",
      "import { Payment as B } from './b.js';",
      "import eol from './eol.cjs';",
      "const { late } = await import('./late.js');",
      'globalThis.bundleGatewayTest = { names: [A.name, B.name], eol: eol.eol, late };',
      '',
    ].join('\n'),
  );
  await bundleGateway(dist);
  await import(pathToFileURL(join(dist, 'bundle', 'main.js')).href);
  const { EOL } = await import('node:os');
  expect((globalThis as { bundleGatewayTest?: unknown }).bundleGatewayTest).toEqual({ names: ['Payment', 'Payment'], eol: EOL, late: 'loaded' });
});
