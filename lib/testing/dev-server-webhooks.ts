import { createHmac } from 'node:crypto';
import type { FiefDevWebhook } from './dev-server-types.js';

/** One attempt of a webhook delivery: what was signed and what the receiver answered. */
export interface FiefDevWebhookAttempt {
  /** `X-Fief-Webhook-Timestamp`, unix seconds: fresh for every attempt, as Fief signs each anew. */
  timestamp: number;
  /** `X-Fief-Webhook-Signature`: lowercase hex HMAC-SHA256(secret, `"{timestamp}.{body}"`). */
  signature: string;
  /** The receiver's HTTP status; absent when the request failed (refused, timed out). */
  status?: number;
  /** Why the request failed, when it did. */
  error?: string;
}

/** One event sent to one webhook, with each attempt; see {@link FiefDevServer.webhookDeliveries}. */
export interface FiefDevWebhookDelivery {
  url: string;
  /** Slug of the tenant whose change it tells; absent for the default tenant. */
  tenant?: string;
  /** The event type, e.g. `user.created`. */
  type: string;
  /** The exact body bytes sent, `{"type": …, "data": …}`: a receiver verifies the signature over these. */
  body: string;
  /** The headers of the last attempt, to replay it exactly. */
  headers: Record<string, string>;
  attempts: FiefDevWebhookAttempt[];
  /** True once all attempts are over. */
  settled: boolean;
  /** True when an attempt got a 2xx answer. */
  ok: boolean;
}

/** The `User-Agent` of the deliveries: Fief's product token, with the dev server as its version. */
export const WEBHOOK_USER_AGENT = 'fief-server-webhooks/nestjs-fief-dev-server';

/** Signs `body` as Fief does (`services/webhooks/delivery.py`). */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/**
 * A tenant's webhook sender. Each webhook gets its events in the order they happened (one delivery
 * at a time per URL), redirects are not followed, every attempt has a timeout, and a failed delivery
 * (no answer, or not 2xx) is retried with a fresh timestamp and signature.
 */
export class DevWebhooks {
  /** Every delivery, oldest first, updated as attempts are made. */
  readonly deliveries: FiefDevWebhookDelivery[] = [];
  private readonly queues = new Map<string, Promise<void>>();
  private readonly pending = new Set<Promise<void>>();

  constructor(private readonly settings: { timeout: number; attempts: number; retryDelay: number }) {}

  /** Queues the event for each of `webhooks`; returns at once. */
  send(webhooks: readonly FiefDevWebhook[], type: string, data: unknown, tenant?: string): void {
    const body = JSON.stringify({ type, data });
    for (const webhook of webhooks) {
      const delivery: FiefDevWebhookDelivery = {
        url: webhook.url,
        ...(tenant === undefined ? {} : { tenant }),
        type,
        body,
        headers: {},
        attempts: [],
        settled: false,
        ok: false,
      };
      this.deliveries.push(delivery);
      const previous = this.queues.get(webhook.url) ?? Promise.resolve();
      const done = previous.then(() => this.deliver(webhook.secret, delivery));
      this.queues.set(webhook.url, done);
      this.pending.add(done);
      void done.finally(() => {
        this.pending.delete(done);
        if (this.queues.get(webhook.url) === done) this.queues.delete(webhook.url);
      });
    }
  }

  /** Resolves once every delivery queued so far (and any queued meanwhile) is settled. */
  async flush(): Promise<FiefDevWebhookDelivery[]> {
    while (this.pending.size > 0) await Promise.all([...this.pending]);
    return this.deliveries;
  }

  private async deliver(secret: string, delivery: FiefDevWebhookDelivery): Promise<void> {
    for (let attempt = 0; attempt < this.settings.attempts && !delivery.ok; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, this.settings.retryDelay * 2 ** (attempt - 1)));
      const timestamp = Math.floor(Date.now() / 1000);
      const signature = signWebhook(secret, timestamp, delivery.body);
      const record: FiefDevWebhookAttempt = { timestamp, signature };
      delivery.attempts.push(record);
      delivery.headers = {
        'content-type': 'application/json',
        'user-agent': WEBHOOK_USER_AGENT,
        'x-fief-webhook-timestamp': String(timestamp),
        'x-fief-webhook-signature': signature,
      };
      try {
        const response = await fetch(delivery.url, {
          method: 'POST',
          headers: delivery.headers,
          body: delivery.body,
          redirect: 'manual',
          signal: AbortSignal.timeout(this.settings.timeout),
        });
        await response.body?.cancel();
        record.status = response.status;
        delivery.ok = response.status >= 200 && response.status < 300;
      } catch (error) {
        record.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
    }
    delivery.settled = true;
  }
}
