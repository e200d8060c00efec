/**
 * How long to wait before asking UMS about an order again: the longer it has been open, the
 * less often: about every minute for the first ten minutes, every ten minutes up to an
 * hour, then hourly up to a day. After a day the scheduler stops asking (the order is far past
 * UMS's own 30-minute default lifetime; an operator looks at what is left: a refund still pending
 * then is flagged for review by the scheduler).
 */

export interface GapStep {
  /** This step applies while the order is younger than this. */
  untilAgeMs: number;
  /** Wait between two questions during this step. */
  everyMs: number;
}

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;

export const DEFAULT_GAPS: readonly GapStep[] = [
  { untilAgeMs: 10 * MINUTE, everyMs: MINUTE },
  { untilAgeMs: HOUR, everyMs: 10 * MINUTE },
  { untilAgeMs: 24 * HOUR, everyMs: HOUR },
];

/**
 * When to ask next about an order created at `createdAt`, seen at `now`; `null` when it is older
 * than the last step (stop asking). Never later than `expireTime` while that is still ahead, so
 * an expiring order is looked at (and closed at UMS) when it expires.
 */
export function nextSyncAt(
  createdAt: Date,
  now: Date,
  gaps: readonly GapStep[] = DEFAULT_GAPS,
  expireTime?: Date | null,
): Date | null {
  const age = now.getTime() - createdAt.getTime();
  const step = gaps.find((g) => age < g.untilAgeMs);
  if (!step) return null;
  let at = now.getTime() + step.everyMs;
  if (expireTime && expireTime.getTime() > now.getTime()) at = Math.min(at, expireTime.getTime());
  return new Date(at);
}
