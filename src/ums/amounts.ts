/**
 * The amount rule of the UMS Open API (PROTOCOL.md §5.1): integer fen from 1 to 100000000.
 * Every room checks amounts with this one rule (the domain adds only what storage needs).
 */

/** The largest amount UMS accepts for an order or a refund, in fen. */
export const MAX_AMOUNT_FEN = 100_000_000;

/** The rule in words, for error messages. */
export const AMOUNT_RULE = `a whole number of fen from 1 to ${MAX_AMOUNT_FEN}`;

export function isAmountFen(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 1 && value <= MAX_AMOUNT_FEN;
}
