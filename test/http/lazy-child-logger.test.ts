/**
 * The stand-in for a request's child logger (src/http/lazy-child-logger.ts): nothing is made until
 * it logs, and then the line carries the request's bindings as a real child's would.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { LazyChildLogger } from '../../src/http/lazy-child-logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: 'info' }, stream) };
}

it('makes the child on first use only, with the bindings, and keeps its level', async () => {
  const { lines, logger } = capture();
  let made = 0;
  const parent = Object.assign(Object.create(logger) as typeof logger, {
    child: (...args: Parameters<typeof logger.child>) => {
      made++;
      return logger.child(...args);
    },
  });
  const lazy = new LazyChildLogger(parent, { reqId: 'req-7' }, {});
  expect(lazy.level).toBe('info');
  expect(made).toBe(0);
  lazy.debug('not written');
  lazy.error({ code: 'X' }, 'failed %s', 'here');
  lazy.warn('again');
  await new Promise((resolve) => setImmediate(resolve));
  expect(made).toBe(1);
  expect(lines).toMatchObject([
    { level: 50, reqId: 'req-7', code: 'X', msg: 'failed here' },
    { level: 40, reqId: 'req-7', msg: 'again' },
  ]);
  expect(lazy.child({ sub: 1 }).level).toBe('info');
});
