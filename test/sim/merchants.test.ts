/**
 * The simulator serving several merchants (src/sim/merchants.ts): each app acts only for its own
 * merchants' mid/tid (NO_MERCHANT otherwise, with a signature or with a token), order numbers
 * start with that merchant's source number, and each order's notifications are signed with its
 * merchant's communication key.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO } from '../../src/config.js';
import { UmsClient, type UmsAuthMode } from '../../src/ums/client.js';
import { UmsAuthError, UmsBusinessError } from '../../src/ums/errors.js';
import { generateOrderId } from '../../src/ums/ids.js';
import { UmsOperations } from '../../src/ums/operations.js';
import { verifyNotifySign } from '../../src/ums/sign.js';
import { beijingDate } from '../../src/ums/time.js';
import { startFixture, type Fixture } from './support/fixture.js';

const B = {
  appId: 'app-of-merchant-b',
  appKey: 'appkey-of-merchant-b-0123456789abcdef',
  notifyKey: 'notifykey-of-merchant-b-9876543210',
  sourceId: '7B7B',
  mid: '898310060514002',
  tid: '00000002',
};

describe('a simulator with two merchants', () => {
  let fx: Fixture;
  const clients: UmsClient[] = [];
  beforeAll(async () => {
    fx = await startFixture();
    fx.sim.registerMerchant(B);
  });
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await fx?.close();
  });

  const client = (creds: { appId: string; appKey: string }, authMode: UmsAuthMode = 'body-sig') => {
    const c = new UmsClient({ baseUrl: fx.sim.url, appId: creds.appId, appKey: creds.appKey, authMode });
    clients.push(c);
    return c;
  };
  const opsFor = (c: UmsClient, merchant: { mid: string; tid: string }) => new UmsOperations(c, { mid: merchant.mid, tid: merchant.tid });
  const refusal = (promise: Promise<unknown>) => promise.then(() => undefined, (err: unknown) => err);

  for (const authMode of ['body-sig', 'token'] as const) {
    it(`serves each merchant with its own credentials, and only those (${authMode})`, async () => {
      const asB = opsFor(client(B, authMode), B);
      const billNo = generateOrderId(B.sourceId);
      const created = await asB.createQrCode({ merOrderId: billNo, totalAmount: 500 });
      expect(created.qrCode).toBeTruthy();
      expect(fx.sim.order(billNo)).toMatchObject({ mid: B.mid, tid: B.tid });

      // The default merchant's app cannot act for B's mid/tid, nor B's app for the default's.
      const aForB = await refusal(opsFor(client(DEMO, authMode), B).billsQuery({ billNo, billDate: beijingDate(new Date()) }));
      expect(aForB).toBeInstanceOf(UmsBusinessError);
      expect((aForB as UmsBusinessError).errCode).toBe('NO_MERCHANT');
      const bForA = await refusal(opsFor(client(B, authMode), DEMO).createQrCode({ merOrderId: generateOrderId(DEMO.sourceId), totalAmount: 100 }));
      expect((bForA as UmsBusinessError).errCode).toBe('NO_MERCHANT');

      // B's order numbers start with B's source number.
      const wrongPrefix = await refusal(asB.createQrCode({ merOrderId: generateOrderId(DEMO.sourceId), totalAmount: 100 }));
      expect((wrongPrefix as UmsBusinessError).errCode).toBe('INVALID_ORDER');
    });
  }

  it('refuses an app it does not know', async () => {
    const stranger = await refusal(opsFor(client({ appId: 'stranger', appKey: B.appKey }), B).billsQuery({ billNo: generateOrderId(B.sourceId), billDate: beijingDate(new Date()) }));
    expect(stranger).toBeInstanceOf(UmsAuthError);
  });

  it('signs each order’s notifications with its merchant’s key', async () => {
    const asB = opsFor(client(B), B);
    const billNo = generateOrderId(B.sourceId);
    await asB.createQrCode({ merOrderId: billNo, totalAmount: 700, notifyUrl: fx.receiver.url });
    fx.sim.pay(billNo);
    const delivery = await fx.sim.waitForDelivery((d) => d.merOrderId === billNo);
    expect(delivery.state).toBe('delivered');
    expect(verifyNotifySign(delivery.fields, [B.notifyKey]).ok).toBe(true);
    expect(verifyNotifySign(delivery.fields, [DEMO.notifyKey]).ok).toBe(false);

    const asA = opsFor(client(DEMO), DEMO);
    const own = generateOrderId(DEMO.sourceId);
    await asA.createQrCode({ merOrderId: own, totalAmount: 700, notifyUrl: fx.receiver.url });
    fx.sim.pay(own);
    const theirs = await fx.sim.waitForDelivery((d) => d.merOrderId === own);
    expect(verifyNotifySign(theirs.fields, [DEMO.notifyKey]).ok).toBe(true);
    expect(verifyNotifySign(theirs.fields, [B.notifyKey]).ok).toBe(false);
  });
});

describe('POST /_sim/merchants', () => {
  let fx: Fixture;
  beforeAll(async () => {
    fx = await startFixture();
  });
  afterAll(() => fx?.close());

  it('teaches a standalone simulator a merchant, and refuses an incomplete one', async () => {
    const post = (body: unknown) => fetch(`${fx.sim.url}/_sim/merchants`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect((await post({ ...B, appKey: '' })).status).toBe(400);
    const res = await post(B);
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).not.toContain(B.appKey);
    const c = new UmsClient({ baseUrl: fx.sim.url, appId: B.appId, appKey: B.appKey });
    try {
      const billNo = generateOrderId(B.sourceId);
      await new UmsOperations(c, { mid: B.mid, tid: B.tid }).createQrCode({ merOrderId: billNo, totalAmount: 100 });
      expect(fx.sim.order(billNo)?.mid).toBe(B.mid);
    } finally {
      await c.close();
    }
  });
});
