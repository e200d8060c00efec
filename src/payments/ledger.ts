/**
 * The ledger, as the rest of the gateway sees it: the single writer of payments, payment_events,
 * refunds and notifications. Its parts live in ./ledger/ (apply.ts: one report at a time;
 * notification-batches.ts + forward-moves.ts: many plain forward moves at once; rows.ts: the rows
 * both write; refunds.ts; notifications.ts: stored notification bodies; retention.ts).
 */
export {
  applyReport,
  applyReportInTransaction,
  flagPaymentForReview,
  insertNewOrder,
  planForwardMove,
  scheduleSync,
} from './ledger/apply.js';
export { recordSecureState, type SecureState } from './ledger/secure.js';
export { insertRefundRequest, isSyntheticRefundId, scheduleRefundSync, syntheticRefundId, SYNTHETIC_REFUND_PREFIX } from './ledger/refunds.js';
export { receiptsOf, recordRejected, recordRepeat, storeFirstCopy } from './ledger/notifications.js';
export { NotificationBatcher, type BatchVerdict, type NotificationBatcherOptions, type VerifiedNotification } from './ledger/notification-batches.js';
export type { NotificationToStore } from './ledger/forward-moves.js';
export type { ReceivedNotification } from './ledger/rows.js';
export { NotificationRetention, stripNotificationsBefore, strippedBody, LEDGER_FIELDS } from './ledger/retention.js';
export {
  acceptReportedPayment,
  ACCEPTED_PAYMENT_REASON,
  paymentUnderReview,
  recordResolution,
  REVIEW_RESOLUTIONS,
  type Resolution,
  type ReviewResolution,
} from './ledger/reviews.js';
export * from './ledger/types.js';
