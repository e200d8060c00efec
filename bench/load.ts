/**
 * HTTP load with autocannon on loopback: a warm-up run whose figures are thrown away, then the
 * measured run. `next()` gives every request its own body (distinct notifications, varying ids).
 */
import autocannon from 'autocannon';

export interface LoadOptions {
  url: string;
  path: string;
  headers: Record<string, string>;
  /** The body of each request, called once per request. */
  next: () => string;
  connections: number;
  warmupSeconds: number;
  seconds: number;
  /** Only answers with this exact body count as done (others are errors). */
  expectBody?: string;
}

export interface LoadResult {
  /** Answers that were 2xx (and matched expectBody) per second of the measured run. */
  perSecond: number;
  done: number;
  failed: number;
  p50: number;
  p99: number;
  seconds: number;
}

/** One autocannon run of `seconds` (no warm-up). */
export async function once(options: LoadOptions, seconds: number): Promise<LoadResult> {
  // autocannon refuses expectBody with `requests`: count 2xx answers with another body here.
  let mismatches = 0;
  const expect = options.expectBody;
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    duration: seconds,
    timeout: 10,
    requests: [
      {
        method: 'POST',
        path: options.path,
        headers: options.headers,
        setupRequest: (request) => ({ ...request, body: options.next() }),
        ...(expect !== undefined
          ? {
              onResponse: (status: number, body: string) => {
                if (status >= 200 && status < 300 && body !== expect) mismatches++;
              },
            }
          : {}),
      },
    ],
  });
  const done = result['2xx'] - mismatches;
  return {
    perSecond: done / result.duration,
    done,
    failed: result.non2xx + result.errors + result.timeouts + mismatches,
    p50: result.latency.p50,
    p99: result.latency.p99,
    seconds: result.duration,
  };
}

export async function load(options: LoadOptions): Promise<LoadResult> {
  if (options.warmupSeconds > 0) await once(options, options.warmupSeconds);
  return once(options, options.seconds);
}
