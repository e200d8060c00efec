/**
 * What every resolver receives: who is calling, the Idempotency-Key they sent, the services, and
 * per-request batchers. Built once per HTTP request and once per graphql-ws operation.
 */
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { PaymentEventRow, RefundRow } from '../db/schema.js';
import type { PaymentBus } from '../events/bus.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { PaymentCommands } from '../payments/commands-api.js';
import type { Caller } from './auth.js';
import { createBatcher } from './batcher.js';
import { eventsByOrder, refundsByOrder } from './data.js';

export interface GraphQLServices {
  config: Config;
  db: Database;
  bus: PaymentBus;
  commands: PaymentCommands;
  simulatorMode: boolean;
  log: Logger;
  metrics: Metrics;
}

export interface GraphQLContext {
  caller: Caller;
  /** The raw `Idempotency-Key` header, checked by the mutations that honour it. */
  idempotencyKey: string | undefined;
  services: GraphQLServices;
  loaders: {
    events: (merOrderId: string) => Promise<PaymentEventRow[]>;
    refunds: (merOrderId: string) => Promise<RefundRow[]>;
  };
}

export function createContext(services: GraphQLServices, caller: Caller, idempotencyKey?: string): GraphQLContext {
  return {
    caller,
    idempotencyKey,
    services,
    loaders: {
      events: createBatcher((ids) => eventsByOrder(services.db, ids), () => []),
      refunds: createBatcher((ids) => refundsByOrder(services.db, ids), () => []),
    },
  };
}
