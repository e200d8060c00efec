/** ApiScope, ApiKey, CreatedApiKey and CreateApiKeyInput (CONTRACT.md "API keys and client secrets"). */
import { Field, ID, InputType, ObjectType, registerEnumType } from 'type-graphql';
import type { Scope } from '../../config.js';
import type { ApiKeyRow } from '../../db/schema.js';
import { DateTimeScalar } from './scalars.js';

/** The GraphQL names of the scopes GATEWAY_API_KEYS spells in lower case. */
export const ApiScopeEnum = { READ: 'READ', PAY: 'PAY', REFUND: 'REFUND', ADMIN: 'ADMIN' } as const;
export type ApiScope = keyof typeof ApiScopeEnum;

registerEnumType(ApiScopeEnum, {
  name: 'ApiScope',
  description: 'What a key may do: read, pay (create/sync/close payments), refund, admin (everything)',
});

export const toScope = (scope: ApiScope): Scope => scope.toLowerCase() as Scope;
const toApiScope = (scope: string): ApiScope => scope.toUpperCase() as ApiScope;

@ObjectType({ description: 'An API key created at run time; its text is never shown again, nor stored' })
export class ApiKey {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  name!: string | null;

  @Field(() => ID, { nullable: true, description: 'The merchant the key is bound to; null: gateway-wide' })
  merchantId!: string | null;

  @Field(() => [ApiScopeEnum])
  scopes!: ApiScope[];

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar, { nullable: true })
  expiresAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true })
  revokedAt!: Date | null;

  @Field(() => DateTimeScalar, { nullable: true, description: 'Recorded at most once a minute' })
  lastUsedAt!: Date | null;
}

/** A row as the ApiKey type shows it: every column but the hash. */
export function apiKeyOf(row: ApiKeyRow): ApiKey {
  return {
    id: row.id,
    name: row.name,
    merchantId: row.merchantId,
    scopes: row.scopes.map(toApiScope),
    createdAt: row.createdAt,
    expiresAt: row.expiresAt,
    revokedAt: row.revokedAt,
    lastUsedAt: row.lastUsedAt,
  };
}

@ObjectType()
export class CreatedApiKey {
  @Field(() => ApiKey)
  apiKey!: ApiKey;

  @Field(() => String, { description: 'The key text (Authorization: Bearer <key>): shown this once' })
  key!: string;
}

@InputType()
export class CreateApiKeyInput {
  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => ID, { nullable: true, description: 'Bind the key to this merchant; left out: gateway-wide' })
  merchantId?: string | null;

  @Field(() => [ApiScopeEnum])
  scopes!: ApiScope[];

  @Field(() => DateTimeScalar, { nullable: true, description: 'In the future; left out: never expires' })
  expiresAt?: Date | null;
}
