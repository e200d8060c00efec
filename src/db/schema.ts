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
  customType,
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

/**
 * Postgres's 64-bit transaction id (`xid8`), read as decimal text: it orders the event feed by
 * commit horizon (src/events/feed.ts), which a sequence cannot (ids are taken before commit).
 */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' });

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
    /** An EventSource: NOTIFY, SYNC, MUTATION or OPERATOR. */
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
    /**
     * The writing transaction's id, set by Postgres. The event feed serves only events whose
     * transaction is older than every transaction still in flight, ordered by (tx_id, id): a
     * reader paging on never skips an event committed late (src/events/feed.ts).
     */
    txId: xid8('tx_id').notNull().default(sql`pg_current_xact_id()`),
    // The payment as committed with this change: what a webhook's body carries (never re-read).
    /** The payment's merchant, copied so the feed filters without a join. */
    merchantId: text('merchant_id').notNull().default('default'),
    /** What the event is about: `payment` (status or amounts), `refund` (a refund's status), `review` (a new flag). */
    kind: text('kind').notNull().default('payment'),
    totalAmount: integer('total_amount'),
    refundedAmount: integer('refunded_amount'),
    payTime: instant('pay_time'),
    /** For kind `refund`: the refund this change is about, as committed. */
    refundOrderId: text('refund_order_id'),
    refundAmount: integer('refund_amount'),
    refundStatus: text('refund_status'),
  },
  (t) => [
    uniqueIndex('payment_events_order_version_idx').on(t.merOrderId, t.version),
    // Reconciliation finds the payments that changed on a business day by their events.
    index('payment_events_at_idx').on(t.at),
    index('payment_events_feed_idx').on(t.txId, t.id),
    index('payment_events_merchant_feed_idx').on(t.merchantId, t.txId, t.id),
  ],
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

/**
 * One reconciliation of a merchant's Beijing business day against UMS (`reconcile`, or the daily
 * schedule: `trigger` daily, at most one per date and merchant). A run is worked on by one
 * instance at a time: `leaseOwner` holds it until `leaseUntil`, renewed while it works; a run
 * left RUNNING whose lease ran out (its instance died) is taken up by another instance.
 */
export const reconciliationRuns = pgTable(
  'reconciliation_runs',
  {
    id: text('id').primaryKey(),
    /** The Beijing business day, `YYYY-MM-DD`. */
    date: text('date').notNull(),
    merchantId: text('merchant_id').notNull(),
    /** `manual` (the reconcile mutation) or `daily` (RECONCILE_DAILY_AT). */
    trigger: text('trigger').notNull(),
    /** RUNNING, DONE or FAILED. */
    status: text('status').notNull(),
    /** Who asked: the actor of the key, or `system` for the schedule. */
    actor: text('actor').notNull(),
    /** The day's payments were listed into reconciliation_items (done once per run). */
    listedAt: instant('listed_at'),
    leaseOwner: text('lease_owner'),
    leaseUntil: instant('lease_until'),
    /** Why a run FAILED. */
    error: text('error'),
    startedAt: instant('started_at').notNull().defaultNow(),
    finishedAt: instant('finished_at'),
  },
  (t) => [
    index('reconciliation_runs_started_idx').on(t.startedAt, t.id),
    index('reconciliation_runs_running_idx').on(t.leaseUntil).where(sql`${t.status} = 'RUNNING'`),
    uniqueIndex('reconciliation_runs_daily_idx').on(t.date, t.merchantId).where(sql`${t.trigger} = 'daily'`),
  ],
);

/**
 * One payment of a run: listed with `kind` null, classified once (the update only takes a row
 * still unclassified), so a run taken up again never counts a payment twice. Amounts in fen:
 * `ours*` as the gateway had them before the run looked, `ums*` as UMS reported them.
 */
export const reconciliationItems = pgTable(
  'reconciliation_items',
  {
    runId: text('run_id')
      .notNull()
      .references(() => reconciliationRuns.id, { onDelete: 'cascade' }),
    merOrderId: text('mer_order_id').notNull(),
    /** A ReconciliationKind; null: not looked at yet. */
    kind: text('kind'),
    ours: jsonb('ours'),
    theirs: jsonb('theirs'),
    note: text('note'),
    oursPaid: integer('ours_paid').notNull().default(0),
    oursRefunded: integer('ours_refunded').notNull().default(0),
    umsPaid: integer('ums_paid').notNull().default(0),
    umsRefunded: integer('ums_refunded').notNull().default(0),
    checkedAt: instant('checked_at'),
  },
  (t) => [primaryKey({ columns: [t.runId, t.merOrderId] }), index('reconciliation_items_kind_idx').on(t.runId, t.kind, t.merOrderId)],
);

/**
 * Where the merchant's backend hears of events (CONTRACT.md "Webhooks"). `merchant_id` null: a
 * gateway-wide endpoint (every merchant's events). Secrets are sealed (src/webhooks/secret-box.ts),
 * never stored in clear; `previous_secret` is signed with too until 24 h after `rotated_at`.
 * `feed_from`: events of transactions older than this never go to this endpoint (it did not exist,
 * or was disabled): the id of the transaction that created it, or last enabled it.
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: text('id').primaryKey(),
    url: text('url').notNull(),
    merchantId: text('merchant_id'),
    /** WebhookEventType names; empty: every type. */
    events: text('events').array().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    description: text('description'),
    secret: text('secret').notNull(),
    previousSecret: text('previous_secret'),
    rotatedAt: instant('rotated_at'),
    feedFrom: xid8('feed_from').notNull().default(sql`pg_snapshot_xmin(pg_current_snapshot())`),
    createdAt: instant('created_at').notNull().defaultNow(),
  },
  (t) => [index('webhook_endpoints_merchant_idx').on(t.merchantId)],
);

/**
 * One row per attempt to send one event to one endpoint. A `PENDING` row is an attempt not yet
 * made, due at `due_at`; a worker claims it (`claimed_until`, a lease: a killed instance's claim
 * expires) and turns it into `SUCCEEDED`, `RETRYING` (a next PENDING row follows) or `FAILED`.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    eventId: bigint('event_id', { mode: 'number' })
      .notNull()
      .references(() => paymentEvents.id),
    endpointId: text('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    /** A WebhookEventType. */
    eventType: text('event_type').notNull(),
    attempt: integer('attempt').notNull(),
    status: text('status').notNull(),
    dueAt: instant('due_at').notNull(),
    claimedUntil: instant('claimed_until'),
    claimedBy: text('claimed_by'),
    httpStatus: integer('http_status'),
    durationMs: integer('duration_ms'),
    error: text('error'),
    /** When the attempt was made (for PENDING: when it is due). */
    at: instant('at').notNull().defaultNow(),
    nextAttemptAt: instant('next_attempt_at'),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_attempt_idx').on(t.eventId, t.endpointId, t.attempt),
    index('webhook_deliveries_due_idx').on(t.dueAt).where(sql`${t.status} = 'PENDING'`),
    // Claims look per endpoint at its oldest due attempts.
    index('webhook_deliveries_endpoint_due_idx').on(t.endpointId, t.dueAt, t.id).where(sql`${t.status} = 'PENDING'`),
    // The attempts in flight (claimed, not yet recorded), which the claim counts per endpoint and
    // per merchant: without it each claim walked every PENDING row of the queue.
    index('webhook_deliveries_in_flight_idx').on(t.endpointId, t.claimedUntil).where(sql`${t.status} = 'PENDING' and ${t.claimedUntil} is not null`),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.id),
  ],
);

/** The dispatcher's place in the event feed: one row, locked by the instance that advances it. */
export const webhookFeedCursor = pgTable('webhook_feed_cursor', {
  name: text('name').primaryKey(),
  txId: xid8('tx_id').notNull(),
  eventId: bigint('event_id', { mode: 'number' }).notNull(),
});

export type PaymentRow = typeof payments.$inferSelect;
export type PaymentEventRow = typeof paymentEvents.$inferSelect;
export type RefundRow = typeof refunds.$inferSelect;
export type NotificationRow = typeof notifications.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type MerchantRow = typeof merchants.$inferSelect;
export type ReconciliationRunRow = typeof reconciliationRuns.$inferSelect;
export type ReconciliationItemRow = typeof reconciliationItems.$inferSelect;
export type WebhookEndpointRow = typeof webhookEndpoints.$inferSelect;
export type WebhookDeliveryRow = typeof webhookDeliveries.$inferSelect;
