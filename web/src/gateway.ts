/**
 * The storefront's two sides, each talking to the gateway with the project's typed client
 * (src/graphql/client): queries and mutations over fetch, the subscription over graphql-ws.
 *
 * - `merchant`: what a shop's server does (create, refund, read). In simulator mode the gateway is
 *   open; a real server would send its API key (`Authorization: Bearer sk_…`) from its own side.
 * - `watchPayment`: what the shopper's browser does. It presents the payment's `clientSecret` when
 *   the create answer carries one (it is scoped to that one payment), and nothing otherwise.
 */
import type { FormattedExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-ws';
import {
  CreatePaymentDocument,
  GetPaymentDocument,
  RefundPaymentDocument,
  request,
  watch,
  WatchPaymentDocument,
  type CreatePaymentMutation,
  type GetPaymentQuery,
  type PaymentChannel,
  type RefundPaymentMutation,
  type WatchPaymentSubscription,
} from '../../src/graphql/client/index.js';

export type Created = CreatePaymentMutation['createPayment'];
export type RefundAnswer = RefundPaymentMutation['refundPayment'];
export type PaymentRead = NonNullable<GetPaymentQuery['payment']>;
export type Change = WatchPaymentSubscription['paymentStatusChanged'];

const HTTP_PATH = '/graphql';

/** A GraphQL error as the gateway answered it: its message and `extensions.code`. */
export class GatewayError extends Error {
  override name = 'GatewayError';
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

function dataOf<T>(result: FormattedExecutionResult<T, unknown>): T {
  const error = result.errors?.[0];
  if (error) {
    const code = error.extensions?.code;
    throw new GatewayError(error.message, typeof code === 'string' ? code : undefined);
  }
  if (!result.data) throw new GatewayError('the gateway answered no data', undefined);
  return result.data;
}

/** An Idempotency-Key: a retried create or refund is answered, never repeated (getRandomValues works on plain http too). */
function idempotencyKey(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** The payment's client secret, once the gateway hands one out with createPayment. */
export function clientSecretOf(created: Created): string | undefined {
  const secret = (created as Created & { clientSecret?: unknown }).clientSecret;
  return typeof secret === 'string' && secret !== '' ? secret : undefined;
}

export const merchant = {
  // No returnUrl: the cashier opens in its own tab (or on a phone) and this page follows live.
  async create(channel: PaymentChannel, totalAmount: number): Promise<Created> {
    const input = { channel, totalAmount, description: 'Flat white' };
    return dataOf(await request(HTTP_PATH, CreatePaymentDocument, { input }, { 'idempotency-key': idempotencyKey() })).createPayment;
  },

  async refund(merOrderId: string, refundAmount: number): Promise<RefundAnswer> {
    const input = { merOrderId, refundAmount, description: 'Demo refund' };
    return dataOf(await request(HTTP_PATH, RefundPaymentDocument, { input }, { 'idempotency-key': idempotencyKey() })).refundPayment;
  },

  async read(merOrderId: string): Promise<PaymentRead | undefined> {
    return dataOf(await request(HTTP_PATH, GetPaymentDocument, { merOrderId })).payment ?? undefined;
  },
};

export interface Watcher {
  stop(): Promise<void>;
}

export interface WatchHandlers {
  change(change: Change): void;
  /** The connection's state, for the page to show ("live", "reconnecting", …). */
  connection(state: 'connecting' | 'live' | 'reconnecting' | 'closed'): void;
  error(error: GatewayError): void;
}

/** Watches one payment live; the gateway sends the current state first, then every change. */
export function watchPayment(merOrderId: string, clientSecret: string | undefined, on: WatchHandlers): Watcher {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  let opened = false;
  const client: Client = createClient({
    url: `${scheme}//${location.host}${HTTP_PATH}`,
    ...(clientSecret ? { connectionParams: { authorization: `Bearer ${clientSecret}` } } : {}),
    lazy: false,
    retryAttempts: 8,
    on: {
      connecting: () => on.connection(opened ? 'reconnecting' : 'connecting'),
      connected: () => {
        opened = true;
        on.connection('live');
      },
      closed: () => on.connection('closed'),
    },
  });
  const changes = watch(client, WatchPaymentDocument, { merOrderId });
  const done = (async () => {
    try {
      for await (const result of changes) {
        try {
          on.change(dataOf(result).paymentStatusChanged);
        } catch (err) {
          on.error(err instanceof GatewayError ? err : new GatewayError(String(err), undefined));
        }
      }
    } catch (err) {
      on.error(new GatewayError(describe(err), undefined));
    }
  })();
  return {
    async stop() {
      await changes.return?.();
      await client.dispose();
      await done;
    },
  };
}

/** graphql-ws rejects with errors, close events or arrays of GraphQL errors. */
function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  if (Array.isArray(err)) return err.map((e: { message?: unknown }) => String(e.message)).join('; ');
  if (err && typeof err === 'object' && 'reason' in err) return `connection closed: ${String((err as CloseEvent).reason || (err as CloseEvent).code)}`;
  return String(err);
}
