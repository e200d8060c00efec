/**
 * The simulator's notifications carry every field of UMS's own table of the payment notification
 * (test/fixtures/ums-notification-fields.md, a copy of the seed's table), named exactly as the
 * table names them, and nothing a real UMS would not send: the field set is compared with the
 * table's rows, not with a list written here.
 */
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { createMiniOrder, startFixture, type Fixture } from './support/fixture.js';
import { call, orderId } from './support/raw.js';
import type { Received } from './support/receiver.js';

interface TableRow {
  field: string;
  type: string;
  required: boolean;
}

/** The rows of the seed's table: `| field | type | required | max | meaning |`. */
function seedTable(): TableRow[] {
  const text = readFileSync(new URL('../fixtures/ums-notification-fields.md', import.meta.url), 'utf8');
  const rows: TableRow[] = [];
  for (const line of text.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 6 || !/^[a-zA-Z]+$/.test(cells[1] ?? '') || cells[1] === 'field') continue;
    rows.push({ field: cells[1]!, type: cells[2]!, required: cells[3] === 'yes' });
  }
  return rows;
}

/**
 * Fields the notification carries beyond the table, each named by PROTOCOL.md §4.1's field list
 * (seed ∪ SDK models) or the table's own preamble (fenOrderId, from the documentation's example).
 */
const BEYOND_TABLE = new Set([
  'instMid', 'attachedData', 'orderDesc', 'createTime', 'connectSys', 'notifyId', 'ns', 'fenOrderId',
  'refundAmount', 'refundDesc', 'refundOrderId', 'refundTargetOrderId', 'refundPayTime', 'refundSettleDate', 'refundStatus',
  'secureStatus', 'completeAmount',
]);

let fx: Fixture | undefined;
afterEach(async () => {
  await fx?.close();
  fx = undefined;
});

async function paidNotification(fx: Fixture, create: () => Promise<string>, discount = 0): Promise<Received> {
  const merOrderId = await create();
  const before = fx.receiver.received.length;
  fx.sim.pay(merOrderId, { discount });
  const got = await fx.receiver.waitFor(before + 1);
  return got[before]!;
}

describe('the notification field set', () => {
  const table = seedTable();

  it('reads the seed table (38 rows, 5 of them required)', () => {
    expect(table).toHaveLength(38);
    expect(table.filter((r) => r.required).map((r) => r.field)).toEqual(['msgSrc', 'responseTimestamp', 'mid', 'tid', 'sign']);
  });

  it('covers every row of the table across WeChat, Alipay and UnionPay payments, and sends nothing else', async () => {
    fx = await startFixture();
    const url = fx.receiver.url;
    const wechat = await paidNotification(
      fx,
      async () => (await createMiniOrder(fx!.sim, url, { msgId: 'msg-0001', srcReserve: 'reserve-1', attachedData: 'cart-42' })).merOrderId,
      150,
    );
    const alipay = await paidNotification(fx, async () => {
      const merOrderId = orderId();
      const answer = await call(fx!.sim.url, '/v1/netpay/trade/create', { instMid: 'MINIDEFAULT', merOrderId, totalAmount: 990, userId: '2088102175953034', notifyUrl: url });
      expect(answer.json.errCode).toBe('SUCCESS');
      return merOrderId;
    });
    const unionpay = await paidNotification(fx, async () => {
      const merOrderId = orderId();
      const answer = await call(fx!.sim.url, '/v1/netpay/uac/mini-order', { instMid: 'MINIDEFAULT', merOrderId, totalAmount: 500, notifyUrl: url });
      expect(answer.json.errCode).toBe('SUCCESS');
      return merOrderId;
    });
    const all = [wechat, alipay, unionpay];

    const sent = new Set(all.flatMap((r) => Object.keys(r.fields)));
    const tableNames = table.map((r) => r.field);
    expect(tableNames.filter((name) => !sent.has(name))).toEqual([]);
    for (const r of all) {
      expect(Object.keys(r.fields).filter((name) => !tableNames.includes(name) && !BEYOND_TABLE.has(name))).toEqual([]);
      for (const row of table.filter((t) => t.required)) expect(r.fields[row.field], row.field).toBeTruthy();
      // "number" fields carry whole fen.
      for (const row of table.filter((t) => t.type === 'number')) {
        if (r.fields[row.field] !== undefined) expect(r.fields[row.field], row.field).toMatch(/^\d+$/);
      }
      expect(r.fields.responseTimestamp).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
    }

    // Echoed from the create request; the discount shows as campaign money, not the merchant's.
    expect(wechat.fields).toMatchObject({
      msgId: 'msg-0001',
      srcReserve: 'reserve-1',
      attachedData: 'cart-42',
      msgSrc: 'WWW.TEST.COM',
      subBuyerId: 'oQx9a5bC7dE1fG3hJ5kL7mN9pQr',
      totalAmount: '1250',
      couponAmount: '150',
      yxlmAmount: '150',
      buyerPayAmount: '1100',
      buyerCashPayAmt: '1100',
      receiptAmount: '1250',
      couponMerchantContribute: '0',
      couponOtherContribute: '150',
      billFunds: '零钱:1100|优惠券:150',
    });
    expect(wechat.fields.settleRefId).toBe(wechat.fields.seqId);
    // Only what applies: no campaign fields without a discount, no card outside UnionPay.
    expect(alipay.fields).not.toHaveProperty('yxlmAmount');
    expect(alipay.fields).not.toHaveProperty('bankCardNo');
    expect(alipay.fields).not.toHaveProperty('msgId');
    expect(alipay.fields.buyerUsername).toMatch(/\*\*\*/);
    expect(unionpay.fields).toMatchObject({ targetSys: 'UAC', targetStatus: '00' });
    expect(unionpay.fields.refId).toMatch(/^\d{12}$/);
  });

  it('keeps msgId and srcReserve from the create request on the refund notification too', async () => {
    fx = await startFixture();
    const { merOrderId } = await createMiniOrder(fx.sim, fx.receiver.url, { msgId: 'msg-77', srcReserve: 'r-77' });
    fx.sim.pay(merOrderId);
    await fx.receiver.waitFor(1);
    await call(fx.sim.url, '/v1/netpay/refund', { instMid: 'MINIDEFAULT', merOrderId, refundOrderId: orderId(), refundAmount: 100 });
    const [, refund] = await fx.receiver.waitFor(2);
    expect(refund!.fields).toMatchObject({ status: 'TRADE_REFUND', msgId: 'msg-77', srcReserve: 'r-77', refundAmount: '100', msgSrc: 'WWW.TEST.COM' });
  });
});
