/**
 * Merchant ids (CONTRACT.md "Merchants"). The environment's UMS_* values are the merchant
 * `default`; the others are created at run time and kept in the `merchants` table.
 */
export const DEFAULT_MERCHANT_ID = 'default';

/** `[a-z0-9_-]{1,32}`: safe in a URL path (`/notify/ums/{merchantId}`) and in a log line. */
export const MERCHANT_ID_PATTERN = /^[a-z0-9_-]{1,32}$/;

export function isMerchantId(value: string): boolean {
  return MERCHANT_ID_PATTERN.test(value);
}
