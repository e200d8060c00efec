/**
 * The gateway's tables, as Drizzle code. `npx drizzle-kit generate` turns changes here into SQL
 * migrations under drizzle/ (committed); `openDatabase` applies them at start-up.
 *
 * Conventions: money is integer fen (`integer`: UMS caps an order at 100,000,000 fen, well inside
 * int4); every instant is `timestamptz`; statuses are text checked by the application (the one
 * table of statuses lives in src/payments/status.ts, not in a Postgres enum that would need a
 * migration for every alias). Only the ledger (src/payments/ledger/) writes `payments`,
 * `payment_events`, `refunds` and `notifications`.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

const instant = (name: string) => timestamp(name, { withTimezone: true, mode: 'date' });

/** One row per merchant order (UMS `merOrderId`); `version` grows by one with every applied change. */
export const payments = pgTable(
  'payments',
  {
    merOrderId: text('mer_order_id').primaryKey(),
    /** The merchant (src/merchants/) the order belongs to; `default` is the environment's UMS_* profile. */
    merchantId: text('merchant_id').notNull().default('default'),
    /** A PaymentStatus (src/payments/status.ts). */
    status: text('status').notNull(),
    version: integer('version').notNull().default(1),
    /** A PaymentChannel (CONTRACT.md); null for an order first seen in a notification. */
    channel: text('channel'),
    totalAmount: integer('total_amount').notNull(),
    mid: text('mid').notNull(),
    tid: text('tid').notNull(),
    instMid: text('inst_mid'),
    description: text('description'),
    targetOrderId: text('target_order_id'),
    targetSys: text('target_sys'),
    seqId: text('seq_id'),
    payTime: instant('pay_time'),
    /** `yyyyMMdd` or `yyyy-MM-dd` as UMS sends it; a settlement day, not an instant. */
    settleDate: text('settle_date'),
    buyerPayAmount: integer('buyer_pay_amount'),
    receiptAmount: integer('receipt_amount'),
    refundedAmount: integer('refunded_amount').notNull().default(0),
    /** Set when something arrived that must not be applied silently (mismatch, paid after close, unknown order). */
    needsReview: boolean('needs_review').notNull().default(false),
    reviewReason: text('review_reason'),
    /** The merchant's own text sent to UMS with the order and echoed in its notifications. */
    attachedData: text('attached_data'),
    /** The requesting system's reserved field (srcReserve), sent with the order and echoed. */
    srcReserve: text('src_reserve'),
    /** The caller's own key/value data, kept by the gateway only (bounded: payments/commands/metadata.ts). */
    metadata: jsonb('metadata'),
    /** A guaranteed payment (担保): UMS holds the money until completeSecurePayment / cancelSecurePayment. */
    secureTransaction: boolean('secure_transaction').notNull().default(false),
    /** UNCOMPLETED, PARTLY_COMPLETED, ALL_COMPLETED or CANCELED, as UMS last said. */
    secureStatus: text('secure_status'),
    /** Fen released to the merchant by secure-complete. */
    completedAmount: integer('completed_amount'),
    /** A split payment (分账): the platform's share and each sub-merchant's ({mid, totalAmount}[]). */
    divisionFlag: boolean('division_flag').notNull().default(false),
    platformAmount: integer('platform_amount'),
    subOrders: jsonb('sub_orders'),
    expireTime: instant('expire_time'),
    /** When the sync scheduler should next ask UMS about this order; null: no need. */
    nextSyncAt: instant('next_sync_at'),
    syncAttempts: integer('sync_attempts').notNull().default(0),
    /** When news about this order (notification, query answer, mutation) last arrived. */
    lastEventAt: instant('last_event_at'),
    createdAt: instant('created_at').notNull().defaultNow(),
    updatedAt: instant('updated_at').notNull().defaultNow(),
  },
  (t) => [
    // Keyset pagination of `payments(first, after, status, mid)`: newest first.
    index('payments_created_idx').on(t.createdAt, t.merOrderId),
    index('payments_status_created_idx').on(t.status, t.createdAt, t.merOrderId),
    index('payments_mid_created_idx').on(t.mid, t.createdAt, t.merOrderId),
    index('payments_merchant_created_idx').on(t.merchantId, t.createdAt, t.merOrderId),
    index('payments_next_sync_idx').on(t.nextSyncAt).where(sql`${t.nextSyncAt} is not null`),
    index('payments_review_idx').on(t.merOrderId).where(sql`${t.needsReview}`),
  ],
);

/** Append-only history of applied status changes (one per version after the first insert). */
export const paymentEvents = pgTable(
  'payment_events',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    merOrderId: text('mer_order_id')
      .notNull()
      .references(() => payments.merOrderId),
    /** An EventSource: NOTIFY, SYNC or MUTATION. */
    source: text('source').notNull(),
    previousStatus: text('previous_status'),
    status: text('status').notNull(),
    /** The payment's version after this event. */
    version: integer('version').notNull(),
    /** Why this event happened (decideTransition's reason), for operators. */
    reason: text('reason'),
    /** The notification that caused it, when it came from one. */
    notificationId: bigint('notification_id', { mode: 'number' }),
    /** The report as received (admin-only in GraphQL). */
    payload: jsonb('payload'),
    /**
     * Who acted (CONTRACT.md "Event feed"): a run-time key's id, `env:` + 8 hex digits of a
     * GATEWAY_API_KEYS key's SHA-256, `client` for a client secret, `system` otherwise.
     */
    actor: text('actor'),
    at: instant('at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('payment_events_order_version_idx').on(t.merOrderId, t.version)],
);

/**
 * Every notification body that reached POST /notify/ums, accepted or not, for audit. `dedupeKey`
 * is set only on the first authentic copy of a notification (notifyId when present, else
 * merOrderId + status + amounts); its unique index is what makes a redelivery, even one racing on
 * another connection, a duplicate.
 *
 * Storage is bounded whatever is posted: a body is stored once (`bodyHash`) and its repeats are
 * counted beside its row (notification_repeats), a rejected body is kept cut short, and after
 * RAW_NOTIFICATION_RETENTION_DAYS a body keeps only the fields the ledger uses (`strippedAt`).
 */
export const notifications = pgTable(
  'notifications',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    receivedAt: instant('received_at').notNull().defaultNow(),
    contentType: text('content_type'),
    /** The body as received; a rejected one cut short (ledger/rows.ts KEPT_REJECTED_BODY_BYTES). */
    rawBody: text('raw_body').notNull(),
    /** SHA-256 (base64url) of the whole body as received. */
    bodyHash: text('body_hash').notNull(),
    /** When the retention job cut the body down to the fields the ledger uses; null: not yet. */
    strippedAt: instant('stripped_at'),
    /** The signature verified with one of the configured communication keys. */
    verified: boolean('verified').notNull(),
    /** 0: UMS_NOTIFY_KEY, 1: UMS_NOTIFY_KEY_PREVIOUS. */
    keyIndex: integer('key_index'),
    notifyId: text('notify_id'),
    /** The merchant whose keys verified it (by URL, else by mid/tid); null: none did. */
    merchantId: text('merchant_id'),
    merOrderId: text('mer_order_id'),
    status: text('status'),
    dedupeKey: text('dedupe_key'),
    /** What was done: applied, duplicate, stale, review, created, rejected. */
    outcome: text('outcome').notNull(),
    /** Why (rejection cause, decideTransition's reason). */
    reason: text('reason'),
    /** For a signature that did not verify: the signature doctor's verdict, for an operator. */
    diagnosis: text('diagnosis'),
    paymentEventId: bigint('payment_event_id', { mode: 'number' }),
  },
  (t) => [
    uniqueIndex('notifications_dedupe_key_idx').on(t.dedupeKey),
    // Repeats of a rejected or duplicate body count on one row. The first authentic copy (it has
    // a dedupe key) is outside it: a body once rejected (say, before a key was configured) can
    // still be applied when it verifies.
    uniqueIndex('notifications_repeat_body_idx').on(t.bodyHash).where(sql`${t.dedupeKey} is null`),
    index('notifications_notify_id_idx').on(t.notifyId),
    index('notifications_order_idx').on(t.merOrderId, t.receivedAt),
    index('notifications_unstripped_idx').on(t.receivedAt).where(sql`${t.strippedAt} is null`),
  ],
);

/**
 * Repeats of a stored notification body: receivedCount = 1 + `repeats`, lastReceivedAt =
 * `lastReceivedAt` (the row's receivedAt when there is none). Kept apart from the body so that a
 * repeat updates a row of a few bytes, not a copy of the body (MVCC writes a new row version on
 * every update): a flood of one replayed body stays a few kilobytes.
 */
export const notificationRepeats = pgTable('notification_repeats', {
  notificationId: bigint('notification_id', { mode: 'number' })
    .primaryKey()
    .references(() => notifications.id, { onDelete: 'cascade' }),
  repeats: integer('repeats').notNull(),
  lastReceivedAt: instant('last_received_at').notNull(),
});

/** One row per refund request (`refundOrderId`, unique like every UMS order number). */
export const refunds = pgTable(
  'refunds',
  {
    refundOrderId: text('refund_order_id').primaryKey(),
    merOrderId: text('mer_order_id')
      .notNull()
      .references(() => payments.merOrderId),
    refundAmount: integer('refund_amount').notNull(),
    /** PROCESSING, SUCCESS, FAIL or UNKNOWN (PROTOCOL.md §6.1 refundStatus). */
    status: text('status').notNull(),
    refundTargetOrderId: text('refund_target_order_id'),
    /**
     * When `refundAmount` was added to the payment's `refundedAmount`; null: not counted yet. Set in
     * the same write that counts it (and that makes the refund SUCCESS), so a refund is counted at
     * most once whatever its status did before (a FAIL later reported SUCCESS, a redelivery).
     */
    countedAt: instant('counted_at'),
    description: text('description'),
    /** A refund of a split payment: the platform's part and the sub-merchant's ({mid, totalAmount}[]). */
    platformAmount: integer('platform_amount'),
    subOrders: jsonb('sub_orders'),
    nextSyncAt: instant('next_sync_at'),
    createdAt: instant('created_at').notNull().defaultNow(),
    updatedAt: instant('updated_at').notNull().defaultNow(),
  },
  (t) => [
    index('refunds_order_idx').on(t.merOrderId, t.createdAt),
    index('refunds_next_sync_idx').on(t.nextSyncAt).where(sql`${t.nextSyncAt} is not null`),
  ],
);

/** `Idempotency-Key` of money-moving mutations; rows older than 24 h may be deleted. */
export const idempotencyKeys = pgTable(
  'idempotency_keys',
  {
    key: text('key').notNull(),
    operation: text('operation').notNull(),
    requestHash: text('request_hash').notNull(),
    /** The first answer; null while the first request is still running. */
    response: jsonb('response'),
    createdAt: instant('created_at').notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.key, t.operation] }), index('idempotency_keys_created_idx').on(t.createdAt)],
);

/**
 * API keys created at run time (`createApiKey`). The key's text is shown once and never stored:
 * `key_hash` is its SHA-256 (hex), what a presented bearer is looked up by. `merchant_id` is null
 * for a gateway-wide key (every key today); it names the merchant a key is bound to once
 * merchants exist. `scopes` holds Scope names (src/config.ts), checked by the application.
 */
export const apiKeys = pgTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    name: text('name'),
    merchantId: text('merchant_id'),
    scopes: text('scopes').array().notNull(),
    keyHash: text('key_hash').notNull(),
    createdAt: instant('created_at').notNull().defaultNow(),
    expiresAt: instant('expires_at'),
    revokedAt: instant('revoked_at'),
    lastUsedAt: instant('last_used_at'),
  },
  (t) => [uniqueIndex('api_keys_key_hash_idx').on(t.keyHash), index('api_keys_created_idx').on(t.createdAt, t.id)],
);

/**
 * UMS merchant profiles created at run time (`createMerchant`). The environment's UMS_* values are
 * the merchant `default` and have no row. `secrets` is the AES-256-GCM box (src/merchants/
 * secret-box.ts) of the appKey and notify keys under GATEWAY_SECRET_KEY: never stored in clear.
 */
export const merchants = pgTable(
  'merchants',
  {
    id: text('id').primaryKey(),
    name: text('name'),
    mid: text('mid').notNull(),
    tid: text('tid').notNull(),
    sourceId: text('source_id').notNull(),
    instMid: text('inst_mid'),
    appId: text('app_id').notNull(),
    /** body-sig or token. */
    authMode: text('auth_mode').notNull().default('body-sig'),
    enabled: boolean('enabled').notNull().default(true),
    secrets: text('secrets').notNull(),
    createdAt: instant('created_at').notNull().defaultNow(),
    updatedAt: instant('updated_at').notNull().defaultNow(),
  },
  (t) => [uniqueIndex('merchants_mid_tid_idx').on(t.mid, t.tid)],
);

export type PaymentRow = typeof payments.$inferSelect;
export type PaymentEventRow = typeof paymentEvents.$inferSelect;
export type RefundRow = typeof refunds.$inferSelect;
export type NotificationRow = typeof notifications.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type MerchantRow = typeof merchants.$inferSelect;
