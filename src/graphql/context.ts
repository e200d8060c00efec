/**
 * What every resolver receives: who is calling, the Idempotency-Key they sent, the services, and
 * per-operation loaders. Built once per HTTP request and once per graphql-ws operation.
 */
import type { Config } from '../config.js';
import type { Database } from '../db/database.js';
import type { PaymentBus } from '../events/bus.js';
import type { ApiKeyCache } from '../access/key-cache.js';
import type { ApiKeyStore } from '../access/key-store.js';
import type { ClientSecrets } from '../access/client-secret.js';
import type { Logger } from '../log.js';
import type { MerchantAdmin } from '../merchants/admin.js';
import type { Metrics } from '../metrics.js';
import type { PaymentCommands } from '../payments/commands-api.js';
import type { PaymentRow, ReconciliationRunRow } from '../db/schema.js';
import type { ResolveReviewInput } from '../payments/commands.js';
import type { ReconcileRequest } from '../payments/reconcile/reconciler.js';
import type { WebhookAdmin } from '../webhooks/admin.js';
import type { Caller } from './auth.js';
import type { Verdict } from './caller-limits.js';
import type { PaymentReads } from './data.js';
import { createLoaders, type Loaders } from './loaders.js';

export interface GraphQLServices {
  config: Config;
  db: Database;
  /** The read side over `db`, with its prepared statements (one per GraphQL room). */
  reads: PaymentReads;
  bus: PaymentBus;
  commands: PaymentCommands;
  simulatorMode: boolean;
  log: Logger;
  metrics: Metrics;
  /** Run-time API keys: the table, and the in-memory copy requests are checked against. */
  apiKeys: { store: ApiKeyStore; cache: ApiKeyCache };
  /** Issues (and checks) the payments' client secrets. */
  clientSecrets: ClientSecrets;
  /** Merchant administration (src/merchants/admin.ts); absent where no registry runs (some tests). */
  merchants?: MerchantAdmin | undefined;
  /** Webhook management (src/webhooks/); absent in tests that do not need it. */
  webhooks?: WebhookAdmin;
  /** The review queue and reconciliation (absent: those operations answer that they are unavailable). */
  operator?: OperatorServices | undefined;
}

/** What the operator workflows ask of the write side (payments/). */
export interface OperatorServices {
  resolveReview(input: ResolveReviewInput): Promise<PaymentRow>;
  reconcile(request: ReconcileRequest): Promise<ReconciliationRunRow>;
}

export interface GraphQLContext {
  caller: Caller;
  /** The raw `Idempotency-Key` header, checked by the mutations that honour it. */
  idempotencyKey: string | undefined;
  services: GraphQLServices;
  loaders: Loaders;
  /**
   * HTTP only: charges this operation to its client's operations per minute (http-limits.ts). A
   * field, not a side table: Apollo hands its plugins a copy of the context.
   */
  charge?: (cost: number) => Promise<Verdict>;
}

const LOADERS = Symbol('loaders');

/**
 * One operation's context. The loaders are made on first use: most operations (one payment, a
 * mutation) never batch anything, and each DataLoader is a few objects. A class rather than an
 * object literal with a getter: it is built on every request, and Apollo copies it (its own
 * fields onto an object of the same prototype), which keeps the getter working on the copy.
 */
class OperationContext implements GraphQLContext {
  [LOADERS]: Loaders | undefined = undefined;
  constructor(
    readonly caller: Caller,
    readonly idempotencyKey: string | undefined,
    readonly services: GraphQLServices,
    readonly charge: ((cost: number) => Promise<Verdict>) | undefined,
  ) {}

  get loaders(): Loaders {
    return (this[LOADERS] ??= createLoaders(this.services.reads));
  }
}

/** `charge`: HTTP only (see GraphQLContext). */
export function createContext(services: GraphQLServices, caller: Caller, idempotencyKey?: string, charge?: (cost: number) => Promise<Verdict>): GraphQLContext {
  return new OperationContext(caller, idempotencyKey, services, charge);
}
