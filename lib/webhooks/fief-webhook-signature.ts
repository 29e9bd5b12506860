import { createHmac, timingSafeEqual } from 'node:crypto';

const SIGNATURE_FORMAT = /^[0-9a-f]{64}$/i;

/**
 * Fief's signature of a delivery: lowercase hex HMAC-SHA256 of `"{timestamp}.{body}"` under the
 * webhook's secret (fief-dev/fief `services/webhooks/delivery.py`). Handy to test your own handler.
 *
 * @example
 * const timestamp = Math.floor(Date.now() / 1000);
 * await request(app.getHttpServer()).post('/webhooks/fief').set('content-type', 'application/json')
 *   .set('x-fief-webhook-timestamp', String(timestamp))
 *   .set('x-fief-webhook-signature', signFiefWebhook(secret, timestamp, body)).send(body);
 */
export function signFiefWebhook(secret: string, timestamp: number | string, body: string | Uint8Array): string {
  return createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest('hex');
}

/**
 * Whether `signature` is Fief's signature of `body` at `timestamp` under one of `secrets`.
 * Compared in constant time on equal-length digests; every secret is tried, so the time taken does
 * not tell which one matched.
 */
export function isValidFiefWebhookSignature(secrets: readonly string[], timestamp: string, signature: string, body: Uint8Array): boolean {
  if (!SIGNATURE_FORMAT.test(signature)) return false;
  const given = Buffer.from(signature, 'hex');
  let valid = false;
  for (const secret of secrets) {
    const expected = createHmac('sha256', secret).update(`${timestamp}.`).update(body).digest();
    if (expected.length === given.length && timingSafeEqual(expected, given)) valid = true;
  }
  return valid;
}
