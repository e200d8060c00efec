/**
 * Limits on amounts in fen, shared by the commands (input checks), the notification parser and
 * the ledger. No imports: anything in src/payments may import this without a cycle.
 */

/** The largest amount UMS accepts for an order or a refund (PROTOCOL: amounts are 1..100000000 fen). */
export const MAX_AMOUNT_FEN = 100_000_000;

/** The largest value an amount column (Postgres `integer`, int4) can hold. */
export const MAX_STORABLE_FEN = 2_147_483_647;
