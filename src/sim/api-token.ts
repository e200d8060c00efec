/**
 * `POST /v1/token/access` (PROTOCOL.md §2): signature = hex SHA-256 (or legacy SHA-1 when no
 * signMethod is sent) of appId + timestamp + nonce + appKey. Success is errCode `0000`.
 */
import { tokenSignature } from '../ums/sign.js';
import { checkTimestamp, sameText, type AuthContext } from './auth.js';
import { SimRejection, badSign } from './errors.js';
import type { JsonObject } from './types.js';

function text(body: JsonObject, name: string): string {
  const value = body[name];
  if (typeof value !== 'string' || value === '') throw new SimRejection('BAD_REQUEST', `${name} is required`, 400);
  return value;
}

export function tokenAnswer(body: JsonObject, ctx: AuthContext): Record<string, unknown> {
  const appId = text(body, 'appId');
  const timestamp = text(body, 'timestamp');
  const nonce = text(body, 'nonce');
  const signature = text(body, 'signature').toLowerCase();
  if (nonce.length > 128) throw new SimRejection('BAD_REQUEST', 'nonce is longer than 128 characters', 400);
  const signMethod = body.signMethod;
  let method: 'SHA256' | 'SHA1';
  if (signMethod === 'SHA256') method = 'SHA256';
  else if (signMethod === undefined) method = signature.length === 40 ? 'SHA1' : 'SHA256';
  else throw new SimRejection('BAD_REQUEST', 'signMethod must be SHA256', 400);
  const appKey = ctx.appKeyOf(appId);
  if (appKey === undefined) throw badSign('unknown appId');
  checkTimestamp(timestamp, ctx);
  const want = tokenSignature({ appId, appKey, timestamp, nonce, method });
  if (!sameText(signature, want)) throw badSign('签名错误: token request signature does not match');
  const { accessToken, expiresIn } = ctx.tokens.issue(appId);
  return { errCode: '0000', errInfo: '正常', accessToken, expiresIn };
}
