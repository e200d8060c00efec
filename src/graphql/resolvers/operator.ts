/**
 * The operator workflows (CONTRACT.md "Operator workflows"), admin scope: `resolveReview`,
 * `reconcile`, `reconciliationRun(s)` and a run's counts, totals and items. A merchant admin acts
 * for its own merchant only: another merchant's payment or run reads as not there.
 */
import { GraphQLError } from 'graphql';
import { Arg, Authorized, Ctx, FieldResolver, ID, Int, Mutation, Query, Resolver, Root } from 'type-graphql';
import { eq } from 'drizzle-orm';
import { merchants, type PaymentRow, type ReconciliationRunRow } from '../../db/schema.js';
import { DEFAULT_MERCHANT_ID, isMerchantId } from '../../merchants/ids.js';
import { findRun, listRuns, runItems, runSums } from '../../payments/reconcile/runs.js';
import { actorOf, merchantScope } from '../auth.js';
import type { GraphQLContext, OperatorServices } from '../context.js';
import { ReconciliationCounts, ReconciliationItem, ReconciliationKindEnum, ReconciliationRun, ReconciliationTotals, ReviewResolutionEnum, type ReconciliationKind, type ReviewResolution } from '../types/operator.js';
import { Payment } from '../types/payment.js';

const MAX_RUNS = 100;
const MAX_ITEMS = 1000;

const badInput = (message: string) => new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT' } });

function operator(ctx: GraphQLContext): OperatorServices {
  const services = ctx.services.operator;
  if (!services) throw new GraphQLError('Operator workflows are not available on this instance', { extensions: { code: 'SERVICE_UNAVAILABLE' } });
  return services;
}

function bounded(name: string, value: number | null | undefined, fallback: number, max: number): number {
  const n = value ?? fallback;
  if (!Number.isInteger(n) || n < 1 || n > max) throw badInput(`${name} must be between 1 and ${max}`);
  return n;
}

/** The merchant a request acts for: the caller's own, or the one named (gateway-wide admins only). */
function actingMerchant(ctx: GraphQLContext, named: string | null | undefined): string {
  const scope = merchantScope(ctx.caller);
  if (named != null) {
    if (!isMerchantId(named)) throw badInput('merchantId must be [a-z0-9_-]{1,32}');
    if (scope !== undefined && named !== scope) throw new GraphQLError('This key acts for another merchant', { extensions: { code: 'FORBIDDEN' } });
    return named;
  }
  return scope ?? DEFAULT_MERCHANT_ID;
}

@Resolver(() => ReconciliationRun)
export class OperatorResolver {
  @Authorized('admin')
  @Mutation(() => Payment, {
    description: 'Admin: closes a review case: clears needsReview and records an OPERATOR event with the note; REFUND refunds what is left at UMS first (once per case)',
  })
  resolveReview(
    @Arg('merOrderId', () => ID) merOrderId: string,
    @Arg('resolution', () => ReviewResolutionEnum) resolution: ReviewResolution,
    @Arg('note', () => String) note: string,
    @Ctx() ctx: GraphQLContext,
  ): Promise<PaymentRow> {
    return operator(ctx).resolveReview({ merOrderId, resolution, note, actor: actorOf(ctx.caller), merchantId: merchantScope(ctx.caller) });
  }

  @Authorized('admin')
  @Mutation(() => ReconciliationRun, { description: 'Admin: reconciles a Beijing business day (YYYY-MM-DD) against UMS by query-back; answers the RUNNING run' })
  async reconcile(
    @Arg('date', () => String) date: string,
    @Arg('merchantId', () => ID, { nullable: true }) merchantId: string | null | undefined,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ReconciliationRunRow> {
    if (date.length > 10) throw badInput('date must be a Beijing business day written YYYY-MM-DD');
    const acting = actingMerchant(ctx, merchantId);
    if (acting !== DEFAULT_MERCHANT_ID) {
      const [known] = await ctx.services.db.select({ id: merchants.id }).from(merchants).where(eq(merchants.id, acting));
      if (!known) throw new GraphQLError(`No merchant ${acting}`, { extensions: { code: 'NOT_FOUND' } });
    }
    return operator(ctx).reconcile({ date, merchantId: acting, actor: actorOf(ctx.caller) });
  }

  @Authorized('admin')
  @Query(() => ReconciliationRun, { nullable: true, description: 'Admin: one reconciliation run' })
  async reconciliationRun(@Arg('id', () => ID) id: string, @Ctx() ctx: GraphQLContext): Promise<ReconciliationRunRow | null> {
    if (id.length > 64) return null;
    const run = await findRun(ctx.services.db, id);
    const scope = merchantScope(ctx.caller);
    return run && (scope === undefined || run.merchantId === scope) ? run : null;
  }

  @Authorized('admin')
  @Query(() => [ReconciliationRun], { description: 'Admin: reconciliation runs, newest first' })
  reconciliationRuns(
    @Arg('first', () => Int, { nullable: true, defaultValue: 20, description: `1 to ${MAX_RUNS}` }) first: number | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ReconciliationRunRow[]> {
    return listRuns(ctx.services.db, bounded('first', first, 20, MAX_RUNS), merchantScope(ctx.caller));
  }

  @FieldResolver(() => ReconciliationCounts)
  async counts(@Root() run: ReconciliationRunRow, @Ctx() ctx: GraphQLContext): Promise<ReconciliationCounts> {
    const { counts } = await runSums(ctx.services.db, run.id);
    return {
      matched: counts.MATCHED,
      corrected: counts.CORRECTED,
      missingAtUms: counts.MISSING_AT_UMS,
      statusMismatch: counts.STATUS_MISMATCH,
      amountMismatch: counts.AMOUNT_MISMATCH,
      errors: counts.ERROR,
    };
  }

  @FieldResolver(() => ReconciliationTotals)
  async totals(@Root() run: ReconciliationRunRow, @Ctx() ctx: GraphQLContext): Promise<ReconciliationTotals> {
    return (await runSums(ctx.services.db, run.id)).totals;
  }

  @FieldResolver(() => [ReconciliationItem], { description: `Classified items by merOrderId (at most ${MAX_ITEMS})` })
  async items(
    @Root() run: ReconciliationRunRow,
    @Arg('kind', () => ReconciliationKindEnum, { nullable: true }) kind: ReconciliationKind | null | undefined,
    @Arg('first', () => Int, { nullable: true, defaultValue: 100 }) first: number | null,
    @Ctx() ctx: GraphQLContext,
  ): Promise<ReconciliationItem[]> {
    const rows = await runItems(ctx.services.db, run.id, kind ?? undefined, bounded('first', first, 100, MAX_ITEMS));
    return rows.map((r) => ({ merOrderId: r.merOrderId, kind: r.kind as ReconciliationKind, ours: r.ours, theirs: r.theirs, note: r.note }));
  }
}
