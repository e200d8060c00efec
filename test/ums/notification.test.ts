/**
 * ums/notification.ts: a raw notify body to verified, typed fields or a typed rejection. These
 * are the protocol's rules on the way in (PROTOCOL.md §4): decode once, first of a repeated name,
 * names as UMS writes them, a bounded field count, one split of the signed text only.
 */
import { describe, expect, it } from 'vitest';
import { MAX_NOTIFICATION_FIELDS, readNotification, type NotificationReading, type UmsNotification } from '../../src/ums/notification.js';
import { DiagnosisBudget } from '../../src/ums/sign-doctor.js';
import { notifySigningString } from '../../src/ums/sign.js';
import { vectorsOf } from '../support/vectors.js';
import { FORM, NOTIFY_KEY, formBody, newOrderId, notificationFields, signed } from '../payments/notification-fixtures.js';

const read = (body: string, contentType = FORM, keys: readonly string[] = [NOTIFY_KEY]) => readNotification({ body, contentType }, keys);

function accepted(reading: NotificationReading): UmsNotification {
  if (!reading.ok) throw new Error(`expected a verified notification, got ${reading.reason}`);
  return reading.notification;
}

describe('readNotification', () => {
  it('reads a signed form body into typed fields, without the sign', () => {
    const merOrderId = newOrderId();
    const fields = signed(notificationFields(merOrderId));
    const n = accepted(read(formBody(fields)));
    expect(n).toMatchObject({
      keyIndex: 0,
      signType: 'SHA256',
      merOrderId,
      status: 'TRADE_SUCCESS',
      totalAmount: 100,
      buyerPayAmount: 100,
      payTime: new Date('2026-11-27T04:30:05Z'),
      settleDate: '2026-11-27',
      notifyId: fields.notifyId,
    });
    expect(n.fields).not.toHaveProperty('sign');
    expect(n.fields.merName).toBe('测试商户 (一店)');
    expect(n).not.toHaveProperty('refund');
    expect(n).not.toHaveProperty('note');
  });

  it('reads a refund notice with its own amount and status, typed (vector NTF-06, and refundStatus as the simulator sends it)', () => {
    const v = vectorsOf('notification').find((x) => x.id.startsWith('NTF-06'))!;
    const n = accepted(read(v.expected.formBody as string, FORM, [v.input.key as string]));
    expect(n).toMatchObject({
      status: 'TRADE_REFUND',
      refund: { refundOrderId: '3A9K20240619093000001', refundTargetOrderId: '50300509862024061912345678901', refundAmount: 500 },
    });
    expect(n.refund).not.toHaveProperty('refundStatus');

    const merOrderId = newOrderId();
    const refund = (refundStatus: string) =>
      accepted(read(formBody(signed(notificationFields(merOrderId, { status: 'TRADE_REFUND', refundOrderId: `${merOrderId}R1`, refundAmount: '40', refundStatus })))));
    expect(refund('SUCCESS').refund).toEqual({ refundOrderId: `${merOrderId}R1`, refundAmount: 40, refundStatus: 'SUCCESS' });
    expect(refund('fail').refund?.refundStatus).toBe('FAIL');
    expect(refund('PROCESSING').refund?.refundStatus).toBe('PROCESSING');
    // Outside §6.1: not final, so read as UNKNOWN (a refund-query settles it).
    expect(refund('SOMETHING_NEW').refund?.refundStatus).toBe('UNKNOWN');
  });

  it('reads a bills/QR notice as the order notice it is (vector NTF-07)', () => {
    const v = vectorsOf('notification').find((x) => x.id.startsWith('NTF-07'))!;
    const fields = v.input.fields as Record<string, string>;
    const n = accepted(read(v.expected.formBody as string, FORM, [v.input.key as string]));
    expect(n.merOrderId).toBe(fields.billNo);
    expect(n.billStatus).toBe(fields.billStatus);
    expect(n).not.toHaveProperty('status');
    expect(n.payTime).toBeInstanceOf(Date);
  });

  it('keeps the first value of a repeated name and notes it, whether the signature verifies or not', () => {
    const merOrderId = newOrderId();
    const body = `${formBody(signed(notificationFields(merOrderId)))}&merOrderId=${newOrderId()}&totalAmount=1`;
    const n = accepted(read(body));
    expect(n).toMatchObject({ merOrderId, totalAmount: 100 });
    expect(n.note).toMatch(/repeated field\(s\) merOrderId, totalAmount: the first value of each was used/);

    const forged = read(`${formBody(signed(notificationFields(merOrderId), 'not-the-key'))}&status=TRADE_CLOSED`);
    expect(forged).toMatchObject({ ok: false, reason: 'bad-signature', merOrderId, status: 'TRADE_SUCCESS' });
    expect(forged.ok ? '' : forged.diagnosis).toMatch(/^bad-signature\/wrong-key: .*; repeated field\(s\) status: the first value/);
  });

  it('refuses a field name outside [A-Za-z][A-Za-z0-9_]* before verifying, even in a body signed over it', () => {
    const merOrderId = newOrderId();
    for (const name of ['a b', '1st', '_x', 'näme', 'a-b', 'a.b', 'x'.repeat(65)]) {
      const body = formBody(signed({ ...notificationFields(merOrderId), [name]: 'v' }));
      expect(read(body), name).toMatchObject({ ok: false, reason: 'invalid-field-name', verified: false, merOrderId });
    }
    const json = JSON.stringify(signed({ ...notificationFields(merOrderId), 'a b': 'v' }));
    expect(read(json, 'application/json')).toMatchObject({ ok: false, reason: 'invalid-field-name' });
  });

  it(`refuses more than ${MAX_NOTIFICATION_FIELDS} fields before verifying, in a form or a JSON body`, () => {
    const merOrderId = newOrderId();
    const many: Record<string, string> = notificationFields(merOrderId);
    for (let i = 0; Object.keys(many).length < MAX_NOTIFICATION_FIELDS; i++) many[`extra${i}`] = 'x';
    // At the cap (with its sign, one more), a signed body is still read; one more field is too many.
    delete many.extra0;
    expect(read(formBody(signed(many)))).toMatchObject({ ok: true });
    many.extra0 = 'x';
    many.extraLast = 'x';
    expect(read(formBody(signed(many)))).toMatchObject({ ok: false, reason: 'too-many-fields' });
    expect(read(JSON.stringify(signed(many)), 'application/json')).toMatchObject({ ok: false, reason: 'too-many-fields' });
    // Repeats count too: they are fields on the wire.
    expect(read(`${formBody(signed(notificationFields(merOrderId)))}${'&ns=1'.repeat(300)}`)).toMatchObject({ ok: false, reason: 'too-many-fields' });
  });

  it('refuses a value that holds "&name=": the signed text would split into other fields', () => {
    const merOrderId = newOrderId();
    const genuine = signed(notificationFields(merOrderId, { attachedData: 'gift&note=x' }));
    expect(read(formBody(genuine))).toMatchObject({ ok: false, reason: 'ambiguous-field:attachedData', verified: true, keyIndex: 0, merOrderId });
    // An `&` or `=` alone is no ambiguity.
    expect(read(formBody(signed(notificationFields(merOrderId, { attachedData: 'a & b = c' }))))).toMatchObject({ ok: true });
  });

  it('refuses the re-split of a signed value into the fields of another order', () => {
    // UMS signed a notice for the attacker's own cheap order, whose attachedData (echoed back) was
    // chosen to read, once re-split, as a paid notice for someone else's order. The genuine
    // fields sorted after it have to go somewhere: into the value of a last, made-up field.
    const victim = newOrderId();
    const own = newOrderId();
    const injected = `x&merOrderId=${victim}&status=TRADE_SUCCESS&totalAmount=100&zz=y`;
    const genuine = signed(notificationFields(own, { totalAmount: '1', buyerPayAmount: '1', receiptAmount: '1', attachedData: injected }));
    const text = notifySigningString(genuine);
    const tail = text.slice(text.indexOf('&zz=y&') + '&zz='.length);
    const resplit: Record<string, string> = { attachedData: 'x', merOrderId: victim, status: 'TRADE_SUCCESS', totalAmount: '100', zz: tail, sign: genuine.sign! };
    expect(notifySigningString(resplit)).toBe(text);
    expect(read(formBody(resplit))).toMatchObject({ ok: false, reason: 'ambiguous-field:zz', verified: true, merOrderId: victim });
  });

  it('refuses a body built by merging two signed fields into one value', () => {
    const merOrderId = newOrderId();
    const genuine = signed(notificationFields(merOrderId, { status: 'TRADE_REFUND', refundOrderId: `${merOrderId}R1`, refundAmount: '100' }));
    // "refundAmount=100&refundOrderId=…" read as one field hides the refund's id from the ledger.
    const { refundOrderId, ...merged } = genuine;
    merged.refundAmount = `100&refundOrderId=${refundOrderId}`;
    expect(notifySigningString(merged)).toBe(notifySigningString(genuine));
    expect(read(formBody(merged))).toMatchObject({ ok: false, reason: 'ambiguous-field:refundAmount', verified: true });
  });

  it('turns a JSON body nested too deep to re-serialise into unparsable-body, not a throw', () => {
    const deep = `{"merOrderId":"${newOrderId()}","x":${'['.repeat(20_000)}${']'.repeat(20_000)}}`;
    expect(read(deep, 'application/json')).toMatchObject({ ok: false, reason: 'unparsable-body' });
  });

  it('asks the sign doctor only within its budget', () => {
    const merOrderId = newOrderId();
    const budget = new DiagnosisBudget({ burst: 1, perSecond: 0 });
    const forged = formBody(signed(notificationFields(merOrderId), 'not-the-key'));
    const first = readNotification({ body: forged, contentType: FORM }, [NOTIFY_KEY], { diagnosis: budget });
    const second = readNotification({ body: forged, contentType: FORM }, [NOTIFY_KEY], { diagnosis: budget });
    expect(first.ok ? '' : first.diagnosis).toMatch(/^bad-signature\/wrong-key/);
    expect(second.ok ? '' : second.diagnosis).toMatch(/^bad-signature\/not-diagnosed/);
  });
});
