/**
 * Every notification field typed (src/ums/notification-fields.ts): the seed's table row by row,
 * amounts in fen, Beijing times, text verbatim, and tolerance where the seed and published
 * notifications disagree (msgSrc / responseTimestamp absent from the published one).
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NOTIFICATION_FIELD_KINDS, notificationDetails, notificationJson } from '../../src/ums/notification-fields.js';
import { readNotification } from '../../src/ums/notification.js';
import { vectors } from '../support/vectors.js';

function tableRows(): { field: string; type: string }[] {
  const text = readFileSync(new URL('../fixtures/ums-notification-fields.md', import.meta.url), 'utf8');
  return text
    .split('\n')
    .map((line) => line.split('|').map((c) => c.trim()))
    .filter((cells) => cells.length >= 6 && /^[a-zA-Z]+$/.test(cells[1] ?? '') && cells[1] !== 'field')
    .map((cells) => ({ field: cells[1]!, type: cells[2]! }));
}

describe('notification field types', () => {
  it('knows every field of the seed table (but sign), typed as the table says', () => {
    const rows = tableRows().filter((r) => r.field !== 'sign');
    expect(rows.length).toBe(37);
    for (const row of rows) {
      const kind = (NOTIFICATION_FIELD_KINDS as Record<string, string>)[row.field];
      expect(kind, row.field).toBeDefined();
      if (row.type === 'number') expect(kind, row.field).toBe('fen');
      else expect(kind, row.field).not.toBe('fen');
    }
  });

  it('types amounts as fen, times as Beijing instants, and keeps text verbatim', () => {
    const details = notificationDetails({
      totalAmount: '1250',
      couponAmount: '0',
      yxlmAmount: '12.5',
      payTime: '2024-06-18 10:30:15',
      responseTimestamp: '2024-06-18 10:30:16',
      billFunds: '支付宝余额:33|优惠券:55',
      settleDate: '2024-06-18',
      fenOrderId: '24061800012N',
      somethingNew: 'x',
    });
    expect(details.totalAmount).toBe(1250);
    expect(details.couponAmount).toBe(0);
    // An unreadable amount outside what the ledger uses is left out of the typed view, not fatal.
    expect(details.yxlmAmount).toBeUndefined();
    expect(details.payTime?.toISOString()).toBe('2024-06-18T02:30:15.000Z');
    expect(details.responseTimestamp?.toISOString()).toBe('2024-06-18T02:30:16.000Z');
    expect(details.billFunds).toBe('支付宝余额:33|优惠券:55');
    expect(details.settleDate).toBe('2024-06-18');
    expect(details.fenOrderId).toBe('24061800012N');
    expect(details).not.toHaveProperty('somethingNew');

    // The JSON view drops nothing UMS sent (unknown fields and unreadable values keep their text).
    expect(notificationJson({ totalAmount: '1250', yxlmAmount: '12.5', payTime: '2024-06-18 10:30:15', somethingNew: 'x', sign: 'AB' })).toEqual({
      totalAmount: 1250,
      yxlmAmount: '12.5',
      payTime: '2024-06-18T10:30:15+08:00',
      somethingNew: 'x',
    });
  });

  it('accepts the published real notification (NTF-03), which has neither msgSrc nor responseTimestamp', () => {
    const v = vectors.find((x) => x.id.startsWith('NTF-03'))!;
    const body = v.input.formBody as string;
    const fields = Object.fromEntries(new URLSearchParams(body));
    expect(fields).not.toHaveProperty('msgSrc');
    expect(fields).not.toHaveProperty('responseTimestamp');
    const key = v.input.key as string;
    const reading = readNotification({ body, contentType: 'application/x-www-form-urlencoded' }, [key]);
    expect(reading.ok).toBe(true);
    if (reading.ok) {
      expect(reading.notification.details.msgSrc).toBeUndefined();
      expect(reading.notification.details.totalAmount).toBe(reading.notification.totalAmount);
      // Its billFunds is free text ("现金支付0.01元。"), not the table's `source:amount|…` example: kept verbatim.
      expect(reading.notification.details.billFunds).toBe(fields.billFunds);
    }
  });
});
