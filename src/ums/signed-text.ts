/**
 * What may travel inside a signed UMS field.
 *
 * UMS signs `k=v` pairs joined by `&` with no escaping (PROTOCOL.md §4), so a value that holds
 * `&k2=v2` reads, once re-split, as another field that the signature seems to cover. Free text
 * that we send and UMS echoes back signed (descriptions, `attachedData`, `srcReserve`) must
 * therefore carry neither `&` nor `=`; field names must look like UMS's own.
 */

/** A field name as UMS writes them: a letter, then letters, digits or `_`. */
export const SIGNED_FIELD_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/** True when `text` can be signed and echoed back without being re-split. */
export function isSignSafeText(text: string): boolean {
  return !text.includes('&') && !text.includes('=');
}

/** The rule in words, for error messages. */
export const SIGN_SAFE_TEXT_RULE = 'must not contain "&" or "=" (UMS signs fields joined by & without escaping)';
