/** callUms (admin): any UMS Open API call, signed by the client; UMS's answer comes back as is. */
import { UmsBusinessError, UmsConfigError, UmsInputError } from '../../ums/errors.js';
import { badInput } from '../errors.js';
import type { CommandDeps } from './deps.js';
import { toPaymentError } from './ums-errors.js';

/**
 * `dataTag` wraps the body as `{"data": {...}}` for this call (the seed SDKs' needDataTag); left
 * out, the client's own setting (UMS_DATA_TAG) applies.
 */
export async function callUms(deps: CommandDeps, service: string, version: string, body: unknown, dataTag?: boolean): Promise<unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw badInput('body', 'body must be a JSON object (the UMS request fields)');
  }
  try {
    return await deps.client.call(service.replace(/^\/+/, ''), version, body as Record<string, unknown>, dataTag === undefined ? {} : { wrapData: dataTag });
  } catch (err) {
    // A refusal is still UMS's answer: an operator calling the raw API wants to see it.
    if (err instanceof UmsBusinessError) return err.response;
    if (err instanceof UmsConfigError || err instanceof UmsInputError) throw badInput('service', err.message);
    throw toPaymentError(err, {});
  }
}
