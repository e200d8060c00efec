/**
 * Gateway and baseline measured in alternating slices (G B G B G B), not one after the other.
 * This machine's two cores are shared with whatever else runs; a background job that starts
 * half-way would otherwise land on one side only and fake a ratio. Alternation spreads it over
 * both sides. Throughput is total answers over total measured time; p50/p99 are the medians of
 * the slices' percentiles.
 */
import type { LoadResult } from './load.js';
import { median } from './stats.js';

export async function alternate<K extends string>(
  sides: readonly K[],
  slices: number,
  run: (side: K, slice: number) => Promise<LoadResult>,
): Promise<Record<K, LoadResult>> {
  const got = new Map<K, LoadResult[]>(sides.map((s) => [s, []]));
  for (let i = 0; i < slices; i++) {
    for (const side of sides) got.get(side)?.push(await run(side, i));
  }
  const combined = {} as Record<K, LoadResult>;
  for (const side of sides) {
    const results = got.get(side) ?? [];
    const done = results.reduce((sum, r) => sum + r.done, 0);
    const seconds = results.reduce((sum, r) => sum + r.seconds, 0);
    combined[side] = {
      perSecond: done / seconds,
      done,
      failed: results.reduce((sum, r) => sum + r.failed, 0),
      p50: median(results.map((r) => r.p50)),
      p99: median(results.map((r) => r.p99)),
      seconds,
    };
  }
  return combined;
}

/** Seconds per slice: the measured time split in `slices`, at least 2 s each. */
export function sliceSeconds(totalSeconds: number, slices: number): number {
  return Math.max(2, Math.round(totalSeconds / slices));
}
