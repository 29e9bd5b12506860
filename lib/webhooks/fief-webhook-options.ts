import type { InjectionToken, Provider } from '@nestjs/common';
import { FiefError } from '../client/errors.js';

/**
 * The `webhooks` option of `FiefModule`: how deliveries from Fief are verified by
 * `FiefWebhookGuard`. The app must be created with `NestFactory.create(AppModule, { rawBody: true })`.
 *
 * @example
 * FiefModule.forRoot({ ...fief, webhooks: { secret: [process.env.FIEF_WEBHOOK_SECRET!, process.env.FIEF_WEBHOOK_SECRET_OLD!] } })
 */
export interface FiefWebhookOptions {
  /** The webhook's secret from Fief's admin; several during a rotation (any one may match). */
  secret: string | string[];
  /** Largest accepted gap between the delivery's timestamp and our clock, in seconds. @default 300 */
  tolerance?: number;
  /** Largest accepted body, in bytes; a larger one is answered 413 (the platform's body limit applies first). @default 262144 */
  maxBodyBytes?: number;
}

/** {@link FiefWebhookOptions} checked, with every default applied. */
export interface ResolvedFiefWebhookOptions {
  secrets: string[];
  tolerance: number;
  maxBodyBytes: number;
}

/** Injection token of the {@link ResolvedFiefWebhookOptions}, `null` when `webhooks` is not configured. */
export const FIEF_WEBHOOK_OPTIONS = Symbol('FIEF:WEBHOOK_OPTIONS');

/**
 * Checks the `webhooks` option and applies the defaults; `null` when absent.
 *
 * @throws FiefError listing every mistake, at start-up.
 */
export function resolveFiefWebhookOptions(options: FiefWebhookOptions | undefined): ResolvedFiefWebhookOptions | null {
  if (options === undefined) return null;
  const mistakes: string[] = [];
  if (typeof options !== 'object' || options === null) {
    throw new FiefError('Invalid FiefModule options:\n - webhooks must be an object: { secret, tolerance?, maxBodyBytes? }.');
  }
  const secrets = Array.isArray(options.secret) ? options.secret : [options.secret];
  if (secrets.length === 0 || secrets.some((secret) => typeof secret !== 'string' || secret === '')) {
    mistakes.push("webhooks.secret must be the webhook's secret from Fief (a non-empty string), or a non-empty list of them.");
  }
  const tolerance = options.tolerance ?? 300;
  if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance <= 0) {
    mistakes.push('webhooks.tolerance must be a positive number of seconds.');
  }
  const maxBodyBytes = options.maxBodyBytes ?? 256 * 1024;
  if (!Number.isInteger(maxBodyBytes) || maxBodyBytes <= 0) mistakes.push('webhooks.maxBodyBytes must be a positive integer.');
  if (mistakes.length) throw new FiefError(`Invalid FiefModule options:\n - ${mistakes.join('\n - ')}`);
  return { secrets: [...secrets], tolerance, maxBodyBytes };
}

/** The `FIEF_WEBHOOK_OPTIONS` provider of a host module whose options (under `optionsToken`) may carry `webhooks`. */
export function createFiefWebhookOptionsProvider(optionsToken: InjectionToken): Provider<ResolvedFiefWebhookOptions | null> {
  return {
    provide: FIEF_WEBHOOK_OPTIONS,
    inject: [optionsToken],
    useFactory: (options: { webhooks?: FiefWebhookOptions } | undefined) => resolveFiefWebhookOptions(options?.webhooks),
  };
}
