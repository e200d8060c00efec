/** Merchant and MerchantInput (CONTRACT.md "Merchants"). Secrets are input-only: Merchant has none. */
import { Field, ID, InputType, ObjectType } from 'type-graphql';
import { DateTimeScalar } from './scalars.js';

@ObjectType({ description: 'A UMS merchant profile; `default` is the UMS_* environment. Its secrets are write-only' })
export class Merchant {
  @Field(() => ID)
  id!: string;

  @Field(() => String, { nullable: true })
  name!: string | null;

  @Field(() => String, { description: 'UMS merchant number (商户号)' })
  mid!: string;

  @Field(() => String, { description: 'UMS terminal number (终端号)' })
  tid!: string;

  @Field(() => String, { description: 'The 4-character source number every order number starts with' })
  sourceId!: string;

  @Field(() => String, { nullable: true })
  instMid!: string | null;

  @Field(() => String)
  appId!: string;

  @Field(() => String, { description: 'body-sig or token' })
  authMode!: string;

  @Field(() => Boolean, { description: 'A disabled merchant takes no new payments; its notifications are still stored' })
  enabled!: boolean;

  @Field(() => String, { description: 'Where UMS posts this merchant’s notifications (its orders’ notifyUrl)' })
  notifyUrl!: string;

  @Field(() => DateTimeScalar)
  createdAt!: Date;

  @Field(() => DateTimeScalar)
  updatedAt!: Date;
}

@InputType({ description: 'A whole merchant profile (createMerchant, updateMerchant replaces it)' })
export class MerchantInput {
  @Field(() => ID, { description: '[a-z0-9_-]{1,32}; `default` is reserved' })
  id!: string;

  @Field(() => String, { nullable: true })
  name?: string | null;

  @Field(() => String)
  mid!: string;

  @Field(() => String)
  tid!: string;

  @Field(() => String)
  sourceId!: string;

  @Field(() => String, { nullable: true })
  instMid?: string | null;

  @Field(() => String)
  appId!: string;

  @Field(() => String, { description: 'Write-only: encrypted at rest, never returned' })
  appKey!: string;

  @Field(() => String, { description: 'The communication key that signs notifications. Write-only' })
  notifyKey!: string;

  @Field(() => String, { nullable: true, description: 'A second notify key accepted during a rotation. Write-only' })
  notifyKeyPrevious?: string | null;

  @Field(() => String, { nullable: true, description: 'body-sig (default) or token' })
  authMode?: string | null;

  @Field(() => Boolean, { nullable: true, description: 'Default true' })
  enabled?: boolean | null;
}
