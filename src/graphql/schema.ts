/**
 * The executable schema: every resolver, the scope checker, and `simulatePayment` only in
 * simulator mode. `reflect-metadata` is imported here so whoever builds the schema has it.
 */
import 'reflect-metadata';
import { assertValidSchema, lexicographicSortSchema, printSchema, type GraphQLSchema } from 'graphql';
import { buildSchema, type NonEmptyArray, type PubSub } from 'type-graphql';
import { scopeAuthChecker } from './auth.js';
import { ApiKeyResolver } from './resolvers/api-keys.js';
import { NotificationResolver } from './resolvers/notifications.js';
import { OperatorResolver } from './resolvers/operator.js';
import { MerchantResolver } from './resolvers/merchants.js';
import { PaymentMoneyFields } from './resolvers/payment-money.js';
import { PaymentMutations } from './resolvers/payment-mutations.js';
import { PaymentQueries } from './resolvers/payment-queries.js';
import { SecurePaymentMutations } from './resolvers/secure-payments.js';
import { SimulatorResolver } from './resolvers/simulator.js';
import { PaymentSubscriptions } from './resolvers/subscriptions.js';
import { UmsResolver } from './resolvers/ums.js';
import { PaymentEventQueries } from './resolvers/payment-events.js';
import { WebhookResolver } from './resolvers/webhooks.js';
import { DateTimeScalar } from './types/scalars.js';

/**
 * type-graphql insists on a PubSub whenever there is a subscription, even when every subscription
 * brings its own `subscribe` (ours read the event bus). This one says so if ever called.
 */
const unusedPubSub: PubSub = {
  publish() {
    throw new Error('subscriptions use the payment event bus, not type-graphql PubSub');
  },
  subscribe() {
    throw new Error('subscriptions use the payment event bus, not type-graphql PubSub');
  },
};

export async function buildGatewaySchema(options: { simulatorMode: boolean }): Promise<GraphQLSchema> {
  const common = [PaymentQueries, PaymentMutations, UmsResolver, PaymentSubscriptions, ApiKeyResolver, OperatorResolver, NotificationResolver, PaymentEventQueries, WebhookResolver, MerchantResolver, PaymentMoneyFields, SecurePaymentMutations] as const;
  const resolvers: NonEmptyArray<(typeof common)[number] | typeof SimulatorResolver> = options.simulatorMode
    ? [...common, SimulatorResolver]
    : [...common];
  const schema = await buildSchema({
    resolvers,
    authChecker: scopeAuthChecker,
    authMode: 'error',
    validate: false,
    scalarsMap: [{ type: Date, scalar: DateTimeScalar }],
    pubSub: unusedPubSub,
    // type-graphql's own check executes the whole introspection query over the new schema:
    // 80 ms of CPU per start on an idle machine, several times that on a busy one
    // (bench/README.md "Cold start").
    // graphql-js's schema validation below finds what makes a schema unusable, at start-up as
    // before; the committed schema.graphql (printed in CI) covers the rest.
    skipCheck: true,
  });
  assertValidSchema(schema);
  return schema;
}

/** The SDL as committed in schema.graphql: sorted, so it changes only when the schema does. */
export function printGatewaySchema(schema: GraphQLSchema): string {
  return `${printSchema(lexicographicSortSchema(schema))}\n`;
}
