/**
 * The one pino logger factory. Redaction is a second fence behind `Secret`: header and field
 * names that carry keys or signatures are censored wherever they appear in a log object.
 *
 * A person at a terminal gets pino-pretty's readable lines; everything else (a file, a pipe, a
 * log shipper, production) gets one JSON object per line. Redaction happens before either.
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

/** Readable lines only for a person: stdout is a terminal and this is not production. */
export function wantsPrettyLogs(stdoutIsTty: boolean | undefined, nodeEnv: string | undefined): boolean {
  return stdoutIsTty === true && nodeEnv !== 'production';
}

/**
 * A logger at `level`. With a `destination` (tests capturing lines) it always writes JSON there;
 * without one it writes to stdout, pretty on a terminal outside production.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    base: { service: 'ums-gateway' },
  };
  if (destination === undefined && wantsPrettyLogs(process.stdout.isTTY, process.env.NODE_ENV)) {
    return pino({
      ...options,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service' } },
    });
  }
  return pino(options, destination);
}
