/**
 * A request the simulator refuses. Thrown from checks and handlers; the server turns it into the
 * JSON answer UMS gives (`errCode`, `errMsg` and `errInfo`, since clients read either).
 */
import type { ErrCode } from './types.js';

export class SimRejection extends Error {
  override name = 'SimRejection';
  constructor(
    readonly errCode: ErrCode,
    message: string,
    /** 200 for business refusals (UMS answers those with 200); 401 for auth, 400 for H5 GETs, 404 unknown paths. */
    readonly httpStatus = 200,
  ) {
    super(message);
  }
}

/** OPEN-BODY-SIG, token and OPEN-FORM-PARAM failures: HTTP 401 with BAD_SIGN. */
export function badSign(message: string): SimRejection {
  return new SimRejection('BAD_SIGN', message, 401);
}

export function badRequest(message: string): SimRejection {
  return new SimRejection('BAD_REQUEST', message);
}
