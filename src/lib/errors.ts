/**
 * What of an error may be logged or stored: its class, its code and a message, never a cause
 * chain, a query or a query's parameters. Drizzle's wrapper message repeats the SQL parameters
 * (raw notification bodies, signatures, buyer ids), and postgres.js errors carry `query` and
 * `parameters`: none of it may reach a log line.
 */
import { DrizzleQueryError } from 'drizzle-orm';

export interface ErrorSummary {
  type: string;
  message: string;
  code?: string;
  /** Where it was thrown: the driver's own error's stack, never the wrapper's (its first line holds the parameters). */
  stack?: string;
}

export function errorSummary(err: unknown): ErrorSummary {
  // Drizzle's wrapper holds the driver's error as its cause; its own message lists the parameters.
  const root = err instanceof DrizzleQueryError && err.cause !== undefined ? err.cause : err;
  if (root instanceof Error) {
    const code = (root as { code?: unknown }).code;
    const message = root instanceof DrizzleQueryError ? 'query failed' : root.message;
    const stack = root instanceof DrizzleQueryError ? undefined : root.stack;
    return { type: root.name, message, ...(typeof code === 'string' ? { code } : {}), ...(stack ? { stack } : {}) };
  }
  return { type: typeof root, message: 'non-error thrown' };
}
