/** The GraphQL operations the benches send, and the fields the baselines encode to match them. */

/** Figure 2: one payment by primary key, the scalar fields a checkout page polls. */
export const PAYMENT_QUERY = `query Payment($merOrderId: ID!) {
  payment(merOrderId: $merOrderId) { merOrderId status version channel totalAmount mid tid refundedAmount createdAt updatedAt }
}`;

/** Figure 3: a merchant dashboard watching every change of its mid. */
export const STATUS_SUBSCRIPTION = `subscription Changes($mid: String) {
  paymentStatusChanged(mid: $mid) { status previousStatus source at payment { merOrderId status version totalAmount } }
}`;
