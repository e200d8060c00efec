/**
 * Scenario controls: faults and oddities a test or a person asks for, applied to the next API
 * calls or the next notifications, then used up.
 *
 * API scenarios (`count` calls, default 1, optionally only for one `path`):
 *   slow        answer after `delayMs`
 *   http-error  answer HTTP `status` (default 503) with a plain body; `apply` (default false) runs
 *               the call first, so the order may exist although the client saw an error
 *   errcode     answer `errCode` (default ORDER_PROCESSING), one of the codes after which the
 *               outcome is unknown (ums/errors.ts, the client's own list); `apply` (default true)
 *               likewise
 * Notification scenarios (the next notification, optionally only for one `merOrderId`):
 *   duplicate   deliver it twice, the copy after the first has settled (same notifyId)
 *   concurrent  deliver `copies` (default 2) identical copies at the same time
 *   stale       after it has settled, deliver the order's previous status with a fresh notifyId
 *   wrong-key   sign it with a key the merchant does not have (every attempt)
 *   delay       hold it `delayMs` before the first attempt
 * Refund scenario (the next new refund, optionally only of one `merOrderId`):
 *   refund-processing  answer it `refundStatus: PROCESSING` and keep it pending; refund-query
 *               answers PROCESSING until `settleAfterMs` (default 0) has passed, then `outcome`
 *               (default SUCCESS: the money goes back and TRADE_REFUND is notified; FAIL: nothing
 *               is refunded)
 */
import { z } from 'zod';
import { OUTCOME_UNKNOWN_ERR_CODES } from '../ums/errors.js';

const count = z.number().int().min(1).max(10_000).default(1);
const path = z.string().startsWith('/').optional();
const merOrderId = z.string().min(1).optional();

export const scenarioSchema = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('slow'), delayMs: z.number().int().min(0).max(600_000), count, path }),
  z.object({ kind: z.literal('http-error'), status: z.number().int().min(500).max(599).default(503), count, path, apply: z.boolean().default(false) }),
  z.object({ kind: z.literal('errcode'), errCode: z.enum(OUTCOME_UNKNOWN_ERR_CODES).default('ORDER_PROCESSING'), count, path, apply: z.boolean().default(true) }),
  z.object({ kind: z.literal('duplicate'), merOrderId }),
  z.object({ kind: z.literal('concurrent'), copies: z.number().int().min(2).max(50).default(2), merOrderId }),
  z.object({ kind: z.literal('stale'), merOrderId }),
  z.object({ kind: z.literal('wrong-key'), merOrderId }),
  z.object({ kind: z.literal('delay'), delayMs: z.number().int().min(0).max(86_400_000), merOrderId }),
  z.object({
    kind: z.literal('refund-processing'),
    merOrderId,
    settleAfterMs: z.number().int().min(0).max(86_400_000).default(0),
    outcome: z.enum(['SUCCESS', 'FAIL']).default('SUCCESS'),
  }),
]);

/** What a caller may pass (defaults filled in on the way in). */
export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Scenario = z.output<typeof scenarioSchema>;
export type ApiScenario = Extract<Scenario, { kind: 'slow' | 'http-error' | 'errcode' }>;
export type RefundScenario = Extract<Scenario, { kind: 'refund-processing' }>;
export type NotifyScenario = Exclude<Scenario, ApiScenario | RefundScenario>;

export interface PendingScenario {
  id: number;
  scenario: Scenario;
  /** API scenarios: calls still to be affected. */
  remaining: number;
}

function isApi(s: Scenario): s is ApiScenario {
  return s.kind === 'slow' || s.kind === 'http-error' || s.kind === 'errcode';
}

function isRefund(s: Scenario): s is RefundScenario {
  return s.kind === 'refund-processing';
}

/** Thrown for a scenario request that does not parse; the message names the problem. */
export class ScenarioError extends Error {
  override name = 'ScenarioError';
}

export class ScenarioBook {
  #pending: PendingScenario[] = [];
  #nextId = 1;

  add(input: unknown): PendingScenario {
    const parsed = scenarioSchema.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new ScenarioError(`invalid scenario: ${issue ? `${issue.path.join('.') || 'body'}: ${issue.message}` : 'unreadable'}`);
    }
    const scenario = parsed.data;
    const entry: PendingScenario = { id: this.#nextId++, scenario, remaining: isApi(scenario) ? scenario.count : 1 };
    this.#pending.push(entry);
    return entry;
  }

  /**
   * The API scenario for this call, if one is pending (used up by one). `explicitOnly`: only a
   * scenario whose `path` names this path (the token endpoint).
   */
  takeApi(path: string, explicitOnly = false): ApiScenario | undefined {
    const entry = this.#pending.find(
      (p) => isApi(p.scenario) && (p.scenario.path === path || (!explicitOnly && p.scenario.path === undefined)),
    );
    if (!entry) return undefined;
    this.#use(entry);
    return entry.scenario as ApiScenario;
  }

  /** Every notification scenario pending for this order's next notification (each used up). */
  takeNotify(merOrderId: string): NotifyScenario[] {
    const taken: NotifyScenario[] = [];
    for (const entry of [...this.#pending]) {
      const s = entry.scenario;
      if (isApi(s) || isRefund(s) || (s.merOrderId !== undefined && s.merOrderId !== merOrderId)) continue;
      // One scenario of each kind per notification.
      if (taken.some((t) => t.kind === s.kind)) continue;
      taken.push(s);
      this.#use(entry);
    }
    return taken;
  }

  /** The refund scenario for a new refund of this order, if one is pending (used up). */
  takeRefund(merOrderId: string): RefundScenario | undefined {
    const entry = this.#pending.find(
      (p) => isRefund(p.scenario) && (p.scenario.merOrderId === undefined || p.scenario.merOrderId === merOrderId),
    );
    if (!entry) return undefined;
    this.#use(entry);
    return entry.scenario as RefundScenario;
  }

  list(): readonly PendingScenario[] {
    return this.#pending;
  }

  clear(): void {
    this.#pending = [];
  }

  #use(entry: PendingScenario): void {
    entry.remaining -= 1;
    if (entry.remaining <= 0) this.#pending = this.#pending.filter((p) => p !== entry);
  }
}
