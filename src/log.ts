/**
 * The one pino logger factory. Redaction is a second fence behind `Secret`: header and field
 * names that carry keys or signatures are censored wherever they appear in a log object.
 */
import { pino, type Logger } from 'pino';

export type { Logger };

export const REDACT_PATHS = [
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
  '*.authorization',
  'sign',
  '*.sign',
  'signature',
  '*.signature',
  'appKey',
  '*.appKey',
  'accessToken',
  '*.accessToken',
  'key',
  '*.key',
];

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'ums-gateway' } },
    destination,
  );
}
