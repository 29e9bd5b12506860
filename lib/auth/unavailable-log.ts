import type { Logger } from '@nestjs/common';
import type { FiefAuthFailure } from './fief-auth-failure.js';

const UNAVAILABLE_LOG_INTERVAL_MS = 10_000;

/**
 * The 503 log of the pipeline: while Fief is down every request fails the same way, so one line per
 * interval, with the count of refusals since the previous line.
 */
export class FiefUnavailableLog {
  private lastLog = 0;
  private sinceLog = 0;

  constructor(private readonly logger: Logger) {}

  /** Counts one 503 refusal, and logs when the interval has passed. */
  record(failure: FiefAuthFailure): void {
    const now = Date.now();
    this.sinceLog++;
    if (now - this.lastLog < UNAVAILABLE_LOG_INTERVAL_MS) return;
    const count = this.sinceLog;
    this.sinceLog = 0;
    this.lastLog = now;
    const reason = failure.cause instanceof Error ? `${failure.cause.name}: ${failure.cause.message}` : failure.description;
    this.logger.warn(`Refused ${count} request(s) with 503 since the last report: ${reason}`);
  }
}
