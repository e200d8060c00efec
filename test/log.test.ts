import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { wantsPrettyLogs } from '../src/log.js';

const run = promisify(execFile);

/** Runs a few log lines in a child process, through a pseudo-terminal when `tty` (util-linux `script`). */
async function logOutput(tty: boolean, nodeEnv: string): Promise<string> {
  const program = `import { createLogger } from './src/log.ts'; const log = createLogger('info'); log.info({ sign: 'secret-sig', orderId: 'o1' }, 'hello there'); log.flush?.();`;
  const node = `${JSON.stringify(process.execPath)} --import tsx --input-type=module -e ${JSON.stringify(program)}`;
  const env = { PATH: process.env.PATH, NODE_ENV: nodeEnv };
  const { stdout } = tty
    ? await run('script', ['-qec', node, '/dev/null'], { env, encoding: 'utf8' })
    : await run('sh', ['-c', node], { env, encoding: 'utf8' });
  return stdout;
}

describe('logs', () => {
  it('are pretty only for a terminal outside production', () => {
    expect(wantsPrettyLogs(true, 'development')).toBe(true);
    expect(wantsPrettyLogs(true, undefined)).toBe(true);
    expect(wantsPrettyLogs(true, 'production')).toBe(false);
    expect(wantsPrettyLogs(false, 'development')).toBe(false);
    expect(wantsPrettyLogs(undefined, 'development')).toBe(false);
  });

  it('a terminal gets readable lines, a pipe JSON; both redacted', async () => {
    const [pretty, piped, production] = await Promise.all([logOutput(true, 'development'), logOutput(false, 'development'), logOutput(true, 'production')]);
    expect(pretty).toContain('hello there');
    expect(pretty).toContain('[redacted]');
    expect(pretty).not.toMatch(/^\{/m);
    expect(JSON.parse(piped.trim())).toMatchObject({ msg: 'hello there', sign: '[redacted]', orderId: 'o1' });
    expect(JSON.parse(production.trim().replace(/\r/g, ''))).toMatchObject({ msg: 'hello there' });
    for (const out of [pretty, piped, production]) expect(out).not.toContain('secret-sig');
  });
});
