/** The UmsError a call rejected with, asserting that it rejected and with a UmsError. */
import { expect } from 'vitest';
import { UmsError } from '../../src/ums/errors.js';

export async function umsFailure(promise: Promise<unknown>): Promise<UmsError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(UmsError);
    return error as UmsError;
  }
  throw new Error('expected the call to fail');
}
