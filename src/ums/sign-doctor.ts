/**
 * The signature doctor: when a notification fails verification, say why in words an operator can
 * act on, without ever revealing a key or a signature.
 *
 * It is a pure function of the decoded fields and the configured keys. It re-runs the §4.2
 * algorithm (sign.ts, never re-implemented) over the variants that the usual bugs produce
 * (signType left out of the string, empty values kept, "0" dropped, an `&` or
 * `key=` before the key, values decoded once too few or too many times, a key with stray
 * whitespace, the appKey used instead of the communication key) and reports the first variant
 * that verifies. When none does, the notification is well-formed and every variant fails, the
 * likely cause is a wrong key — or, when fields that UMS always sends are absent, a field lost on
 * the way.
 *
 * Its work is bounded whatever the body: variants are built one at a time and at most
 * MAX_VARIANTS of them are signed (a variant per suspect field would make a crafted body with
 * thousands of fields cost the square of its size). Diagnosis is a courtesy to operators: the
 * notify path asks it only for bodies shaped like a UMS notification, and only while a
 * DiagnosisBudget has tokens, so a flood of forged bodies is turned away without it.
 *
 * The output holds field names, algorithm names, key slots ("current" / "previous") and prose;
 * nothing in it is derived from a key's or a signature's value, so it may go to logs and to the
 * stored notification attempt as it is.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { notifySign, notifySignTypeOf, notifySigningString, type NotifySignType } from './sign.js';

export interface DoctorKeys {
  /** UMS_NOTIFY_KEY (the communication key, 通讯密钥). */
  current: string;
  /** UMS_NOTIFY_KEY_PREVIOUS during a rotation. */
  previous?: string | undefined;
  /** UMS_APP_KEY, only to recognise "signed with the appKey instead of the communication key". */
  appKey?: string | undefined;
}

export type SignatureCause =
  | 'valid'
  | 'valid-with-previous-key'
  | 'missing-sign'
  | 'malformed-sign'
  | 'unsupported-sign-type'
  | 'sign-type-length-mismatch'
  | 'sign-type-excluded'
  | 'empty-values-kept'
  | 'zero-values-dropped'
  | 'separator-before-key'
  | 'double-encoded-values'
  | 'plus-decoded-as-space'
  | 'key-whitespace'
  | 'app-key-used'
  | 'missing-field'
  | 'object-value'
  | 'wrong-key'
  /** Not looked into: the body does not name an order, so it is no UMS notification. */
  | 'not-a-notification'
  /** Not looked into: too many signatures failed at once (the DiagnosisBudget ran out). */
  | 'not-diagnosed';

export interface SignatureDiagnosis {
  /** True when the notification verifies with a configured communication key as it is. */
  ok: boolean;
  cause: SignatureCause;
  /** The signType field as received (`null` when absent); it names an algorithm, never a secret. */
  signTypeDeclared: string | null;
  /** The algorithm the verifier tried and how it was chosen. */
  algorithm: NotifySignType | null;
  algorithmFrom: 'signType' | 'sign-length' | 'none';
  /** Which configured key slot the diagnosis concerns, when one verifies a variant. */
  keySlot?: 'current' | 'previous' | 'appKey';
  /** Names of the fields the diagnosis points at (never their values). */
  suspectFields: string[];
  /** One sentence for the log line and the stored attempt. */
  summary: string;
  /** What to check or change. */
  hints: string[];
}

/** Fields that every netpay payment or refund notification carries; missing ones point at a parser. */
const ALWAYS_SENT = ['merOrderId', 'status', 'totalAmount', 'mid', 'tid', 'notifyId'] as const;
const ALWAYS_SENT_BILLS = ['billNo', 'billStatus', 'totalAmount', 'mid', 'tid', 'notifyId'] as const;

type Fields = Readonly<Record<string, string>>;

interface Variant {
  cause: SignatureCause;
  /** Produces the hex digest the sender would have computed, for one key. */
  digest: (key: string) => string | undefined;
  suspectFields?: string[];
}

/**
 * How many full diagnoses may run: a token bucket (`burst` at once, then `perSecond`). The notify
 * path holds one for the life of the route; under a flood of forged bodies the tokens run out
 * and the rest are rejected with the cheap checks only.
 */
export class DiagnosisBudget {
  private tokens: number;
  private last: number;
  private readonly burst: number;
  private readonly perSecond: number;
  private readonly now: () => number;

  constructor(options: { burst?: number; perSecond?: number; now?: () => number } = {}) {
    this.burst = options.burst ?? 20;
    this.perSecond = options.perSecond ?? 5;
    this.now = options.now ?? (() => performance.now());
    this.tokens = this.burst;
    this.last = this.now();
  }

  /** Takes a token when one is left. */
  take(): boolean {
    const at = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((at - this.last) / 1000) * this.perSecond);
    this.last = at;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

/** A body worth diagnosing names an order, as every UMS notification does (bills name a billNo). */
export function looksLikeNotification(fields: Fields): boolean {
  return Boolean(fields.merOrderId || fields.billNo);
}

export interface DiagnoseOptions {
  /** When given, a full diagnosis (the variants) runs only while it has tokens. */
  budget?: DiagnosisBudget | undefined;
}

/**
 * Diagnoses a notification's signature. `keys` is either the named slots or, as the notify path
 * holds them, the list of communication keys (current first, then the previous one).
 */
export function diagnoseSignature(
  fields: Fields,
  keyList: DoctorKeys | readonly string[],
  options: DiagnoseOptions = {},
): SignatureDiagnosis {
  const keys: DoctorKeys = isKeyList(keyList) ? { current: keyList[0] ?? '', previous: keyList[1] } : keyList;
  const received = fields.sign;
  const declared = fields.signType;
  const signTypeDeclared = declared === undefined ? null : declared;
  const base = { signTypeDeclared, suspectFields: [] as string[] };

  if (received === undefined || received === '') {
    return {
      ...base,
      ok: false,
      cause: 'missing-sign',
      algorithm: null,
      algorithmFrom: 'none',
      suspectFields: ['sign'],
      summary: 'the notification has no sign field, so it cannot be verified',
      hints: [
        'UMS always sends sign: check that the whole form body reached the gateway (a proxy or a body parser may have dropped it)',
        'a request without sign may not come from UMS at all',
      ],
    };
  }
  if (!/^[0-9A-Fa-f]{32}$|^[0-9A-Fa-f]{64}$/.test(received)) {
    return {
      ...base,
      ok: false,
      cause: 'malformed-sign',
      algorithm: null,
      algorithmFrom: 'none',
      suspectFields: ['sign'],
      summary: `the sign field is not a hex digest (${received.length} characters; MD5 has 32 hex, SHA256 64)`,
      hints: [
        'a sign with spaces or % signs was decoded or encoded once too often on the way',
        'check that the body is read as application/x-www-form-urlencoded and decoded exactly once',
      ],
    };
  }

  const algorithm = notifySignTypeOf(fields);
  const algorithmFrom = declared !== undefined && declared !== '' ? 'signType' : 'sign-length';
  if (!algorithm) {
    return {
      ...base,
      ok: false,
      cause: 'unsupported-sign-type',
      algorithm: null,
      algorithmFrom: 'none',
      suspectFields: ['signType'],
      summary: `signType "${clip(declared ?? '')}" is neither MD5 nor SHA256`,
      hints: ['UMS signs notifications with MD5 or SHA256; a different signType means another protocol or a corrupted field'],
    };
  }
  const expectedLength = algorithm === 'MD5' ? 32 : 64;
  const withAlgorithm = { ...base, algorithm, algorithmFrom } as const;
  if (received.length !== expectedLength) {
    return {
      ...withAlgorithm,
      ok: false,
      cause: 'sign-type-length-mismatch',
      suspectFields: ['signType', 'sign'],
      summary: `signType says ${algorithm} (${expectedLength} hex) but sign has ${received.length} hex characters`,
      hints: ['the sender declared one algorithm and used the other; ask UMS which signType the merchant is configured for'],
    };
  }

  const slots = keySlots(keys);
  const matches = (digest: string | undefined) => digest !== undefined && sameHex(digest, received);

  // As received: valid with the current or the previous key.
  for (const slot of slots.filter((s) => s.slot !== 'appKey')) {
    if (matches(notifySign(fields, slot.key, algorithm))) {
      if (slot.slot === 'current') {
        return { ...withAlgorithm, ok: true, cause: 'valid', keySlot: 'current', summary: `valid ${algorithm} signature (current key)`, hints: [] };
      }
      return {
        ...withAlgorithm,
        ok: true,
        cause: 'valid-with-previous-key',
        keySlot: 'previous',
        summary: `valid ${algorithm} signature, but made with UMS_NOTIFY_KEY_PREVIOUS`,
        hints: ['UMS still signs with the previous communication key: finish the rotation at UMS before removing UMS_NOTIFY_KEY_PREVIOUS'],
      };
    }
  }

  // Only the cheap checks above run for every body; the rest signs up to MAX_VARIANTS variants.
  if (!looksLikeNotification(fields)) {
    return {
      ...withAlgorithm,
      ok: false,
      cause: 'not-a-notification',
      suspectFields: ['merOrderId', 'billNo'],
      summary: 'the body names no order (neither merOrderId nor billNo), so it is no UMS notification; not diagnosed further',
      hints: ['UMS notifications always name the order: the request may not come from UMS'],
    };
  }
  if (options.budget && !options.budget.take()) {
    return {
      ...withAlgorithm,
      ok: false,
      cause: 'not-diagnosed',
      summary: 'too many signatures failed at once: diagnosis skipped for this one',
      hints: ['many notifications with bad signatures arrived together: look at the earlier diagnoses, or at who is sending them'],
    };
  }

  const appKeyVariant: Variant = { cause: 'app-key-used', digest: (key) => notifySign(fields, key, algorithm) };
  if (keys.appKey && matches(appKeyVariant.digest(keys.appKey))) return explain(appKeyVariant, 'appKey', withAlgorithm);

  const notifySlots = slots.filter((s) => s.slot !== 'appKey');
  for (const variant of bounded(variantsOf(fields, algorithm))) {
    for (const slot of notifySlots) {
      if (!matches(variant.digest(slot.key))) continue;
      return explain(variant, slot.slot, withAlgorithm);
    }
  }

  // Key with stray whitespace (a trailing newline from a secrets file is the classic).
  for (const slot of notifySlots) {
    const trimmed = slot.key.trim();
    if (trimmed !== slot.key && matches(notifySign(fields, trimmed, algorithm))) {
      return {
        ...withAlgorithm,
        ok: false,
        cause: 'key-whitespace',
        keySlot: slot.slot,
        summary: `the configured ${slotName(slot.slot)} has leading or trailing whitespace; without it the signature verifies`,
        hints: [`remove the whitespace (often a trailing newline from a secrets file) from ${slotName(slot.slot)}`],
      };
    }
  }

  const objectFields = Object.keys(fields).filter((name) => /^\[object \w+\]$/.test(fields[name] ?? ''));
  if (objectFields.length > 0) {
    return {
      ...withAlgorithm,
      ok: false,
      cause: 'object-value',
      suspectFields: objectFields,
      summary: `field(s) ${objectFields.join(', ')} arrived as "[object Object]": a nested JSON value was turned into a string the wrong way`,
      hints: ['UMS signs nested values such as billPayment as their raw JSON text: keep the value as the exact string received'],
    };
  }

  const bills = fields.billNo !== undefined || fields.billStatus !== undefined;
  const absent = (bills ? ALWAYS_SENT_BILLS : ALWAYS_SENT).filter((name) => fields[name] === undefined);
  if (absent.length > 0) {
    return {
      ...withAlgorithm,
      ok: false,
      cause: 'missing-field',
      suspectFields: absent,
      summary: `fields that UMS always sends are absent (${absent.join(', ')}); the signature covers every field UMS sent, so a lost field breaks it`,
      hints: [
        'check that the body parser keeps every received field (never a fixed field list) and that a proxy does not truncate the body',
        'if the fields are really absent, the request may not come from UMS',
      ],
    };
  }

  return {
    ...withAlgorithm,
    ok: false,
    cause: 'wrong-key',
    summary:
      `well-formed ${algorithm} notification (${algorithmFrom === 'signType' ? 'signType present' : 'signType absent, algorithm inferred from the sign length'}) ` +
      `that no configured key verifies, under any of the usual encoding variants: the key is most likely wrong`,
    hints: [
      'UMS_NOTIFY_KEY must be the communication key (通讯密钥, md5Key) of this merchant, not UMS_APP_KEY',
      'during a key change, put the old key in UMS_NOTIFY_KEY_PREVIOUS',
      'if the key is right, the request was altered on the way or does not come from UMS',
    ],
  };
}

/**
 * One line for a log entry or the stored attempt's `reason` column, e.g.
 * `bad-signature/wrong-key: well-formed SHA256 notification (signType present) that no configured key verifies…`.
 */
export function diagnosisLine(d: SignatureDiagnosis): string {
  const fields = d.suspectFields.length > 0 ? ` [fields: ${d.suspectFields.join(', ')}]` : '';
  return `${d.ok ? 'signature' : 'bad-signature'}/${d.cause}: ${d.summary}${fields}`;
}

// ---------------------------------------------------------------------------------------------

function isKeyList(keys: DoctorKeys | readonly string[]): keys is readonly string[] {
  return Array.isArray(keys);
}

/**
 * At most this many variants are signed per diagnosis (each with every configured key): enough
 * for the fixed mistakes and a few single-field suspects, never a number that grows with the body.
 */
export const MAX_VARIANTS = 12;
/** Single-field variants tried per kind of encoding mistake (after the all-fields variant). */
const MAX_SINGLE_FIELD_VARIANTS = 3;

/** The variants in the order tried, built lazily: a caller that stops early pays for no more. */
function* variantsOf(fields: Fields, algorithm: NotifySignType): Generator<Variant> {
  if (fields.signType !== undefined) {
    const withoutSignType = omit(fields, 'signType');
    yield { cause: 'sign-type-excluded', digest: (key) => notifySign(withoutSignType, key, algorithm), suspectFields: ['signType'] };
  }

  const emptyNames = Object.keys(fields).filter((name) => fields[name] === '' && name !== 'sign');
  if (emptyNames.length > 0) {
    yield {
      cause: 'empty-values-kept',
      digest: (key) => digest(algorithm, signingStringKeepingEmpty(fields) + key),
      suspectFields: emptyNames,
    };
  }

  const zeroNames = Object.keys(fields).filter((name) => fields[name] === '0');
  if (zeroNames.length > 0) {
    const withoutZeros = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== '0'));
    yield { cause: 'zero-values-dropped', digest: (key) => notifySign(withoutZeros, key, algorithm), suspectFields: zeroNames };
  }

  // notifySign appends the key directly, so a prefixed key reproduces "…&key" and "…&key=key".
  yield { cause: 'separator-before-key', digest: (key) => notifySign(fields, `&${key}`, algorithm) };
  yield { cause: 'separator-before-key', digest: (key) => notifySign(fields, `&key=${key}`, algorithm) };

  // Values that still look form-encoded: the sender (or a proxy) encoded twice, so UMS signed the
  // once-decoded text and we hold text one decoding short of it. The whole body first, then a
  // few fields alone.
  const encodedNames = Object.keys(fields).filter((name) => name !== 'sign' && /%[0-9A-Fa-f]{2}|\+/.test(fields[name] ?? ''));
  // Spaces that were `+` characters in the signed value (a value decoded twice turns a literal
  // `%2B` into `+` and then into a space). Spaces are normal in times, so fields alone too.
  const spacedNames = Object.keys(fields).filter((name) => name !== 'sign' && (fields[name] ?? '').includes(' '));
  const decodedAgain = (names: readonly string[]): Variant => {
    const copy = mapValues(fields, names, formDecode);
    return { cause: 'double-encoded-values', digest: (key) => notifySign(copy, key, algorithm), suspectFields: [...names] };
  };
  const plussed = (names: readonly string[]): Variant => {
    const copy = mapValues(fields, names, (v) => v.replace(/ /g, '+'));
    return { cause: 'plus-decoded-as-space', digest: (key) => notifySign(copy, key, algorithm), suspectFields: [...names] };
  };
  if (encodedNames.length > 0) yield decodedAgain(encodedNames);
  if (spacedNames.length > 0) yield plussed(spacedNames);
  if (encodedNames.length > 1) for (const name of encodedNames.slice(0, MAX_SINGLE_FIELD_VARIANTS)) yield decodedAgain([name]);
  if (spacedNames.length > 1) for (const name of spacedNames.slice(0, MAX_SINGLE_FIELD_VARIANTS)) yield plussed([name]);
}

/** The first MAX_VARIANTS of `variants`. */
function* bounded(variants: Iterable<Variant>): Generator<Variant> {
  let tried = 0;
  for (const variant of variants) {
    if (tried++ >= MAX_VARIANTS) return;
    yield variant;
  }
}

function explain(
  variant: Variant,
  slot: 'current' | 'previous' | 'appKey',
  base: Omit<SignatureDiagnosis, 'ok' | 'cause' | 'summary' | 'hints'>,
): SignatureDiagnosis {
  const suspectFields = variant.suspectFields ?? [];
  const names = suspectFields.join(', ');
  const common = { ...base, ok: false, cause: variant.cause, keySlot: slot, suspectFields };
  if (slot === 'appKey') {
    return {
      ...common,
      cause: 'app-key-used',
      summary: 'the notification verifies with UMS_APP_KEY, not with the communication key',
      hints: [
        'UMS_NOTIFY_KEY is configured with a different value than the key that signs notifications; set it to the communication key (通讯密钥) — if that is really the appKey, use the same value',
      ],
    };
  }
  switch (variant.cause) {
    case 'sign-type-excluded':
      return { ...common, summary: 'the signature verifies only when signType is left out of the signed string', hints: ['the sender leaves signType out of the string; UMS includes it (PROTOCOL.md §4.2): is the sender really UMS, or a test tool with that bug?'] };
    case 'empty-values-kept':
      return { ...common, summary: `the signature verifies only when empty fields (${names}) are kept in the signed string`, hints: ['UMS drops empty values before signing; a sender that keeps them is not following §4.2'] };
    case 'zero-values-dropped':
      return { ...common, summary: `the signature verifies only when fields equal to "0" (${names}) are dropped`, hints: ['"0" is not empty: the sender treats it as empty (a JS `if (!v)` or PHP empty() bug)'] };
    case 'separator-before-key':
      return { ...common, summary: 'the signature verifies only with "&" or "&key=" between the fields and the key', hints: ['UMS appends the key directly, with no separator; the sender is not following §4.2'] };
    case 'double-encoded-values':
      return { ...common, summary: `values of ${names} still look form-encoded after decoding, and verify once decoded again: the body was encoded twice on the way`, hints: ['a proxy or the sender encodes the form twice; decode exactly once at the gateway and fix the double encoding upstream'] };
    case 'plus-decoded-as-space':
      return { ...common, summary: `values of ${names} verify with "+" where they now hold spaces: a value was decoded twice (a literal "+" became a space)`, hints: ['decode the form body exactly once; check that no middleware decodes the values again'] };
    default:
      return { ...common, summary: `signature verifies under variant ${variant.cause}`, hints: [] };
  }
}

function keySlots(keys: DoctorKeys): { slot: 'current' | 'previous' | 'appKey'; key: string }[] {
  const slots: { slot: 'current' | 'previous' | 'appKey'; key: string }[] = [{ slot: 'current', key: keys.current }];
  if (keys.previous) slots.push({ slot: 'previous', key: keys.previous });
  if (keys.appKey) slots.push({ slot: 'appKey', key: keys.appKey });
  return slots;
}

function slotName(slot: 'current' | 'previous' | 'appKey'): string {
  return slot === 'current' ? 'UMS_NOTIFY_KEY' : slot === 'previous' ? 'UMS_NOTIFY_KEY_PREVIOUS' : 'UMS_APP_KEY';
}

function signingStringKeepingEmpty(fields: Fields): string {
  // The §4.2 string with step 2 skipped: built by marking empty values non-empty, then unmarking.
  const marker = '\u0000';
  const marked = Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, v === '' ? marker : v]));
  return notifySigningString(marked).split(marker).join('');
}

/** Only for the "empty values kept" variant, which §4.2's notifySign cannot produce by design. */
function digest(algorithm: NotifySignType, text: string): string {
  return createHash(algorithm === 'MD5' ? 'md5' : 'sha256').update(text, 'utf8').digest('hex').toUpperCase();
}

function sameHex(a: string, b: string): boolean {
  const x = Buffer.from(a.toUpperCase(), 'utf8');
  const y = Buffer.from(b.toUpperCase(), 'utf8');
  return x.length === y.length && timingSafeEqual(x, y);
}

function formDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch {
    return value;
  }
}

function omit(fields: Fields, name: string): Record<string, string> {
  const copy: Record<string, string> = { ...fields };
  delete copy[name];
  return copy;
}

function mapValues(fields: Fields, names: readonly string[], f: (v: string) => string): Record<string, string> {
  const copy: Record<string, string> = { ...fields };
  for (const name of names) copy[name] = f(copy[name] ?? '');
  return copy;
}

/** A declared signType is short and public, but clip it: the field is untrusted input. */
function clip(text: string): string {
  return text.length > 16 ? `${text.slice(0, 16)}…` : text;
}
