/**
 * What storage adds to the UMS amount rule (src/ums/amounts.ts, re-exported here for the
 * domain's convenience). No imports beyond that: anything in src/payments may import this without a cycle.
 */
export { MAX_AMOUNT_FEN } from '../ums/amounts.js';

/** The largest value an amount column (Postgres `integer`, int4) can hold. */
export const MAX_STORABLE_FEN = 2_147_483_647;
