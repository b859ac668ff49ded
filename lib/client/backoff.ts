import { RECONNECT_DEFAULTS, type ReconnectOptions } from './client-options.js';

/**
 * The reconnect schedule: full-jitter exponential backoff. Retry n waits a
 * uniformly random time in [0, min(maxDelay, delay · 2^n)): the whole window
 * is random, so clients that a server restart dropped together come back
 * spread out instead of in waves. These are pure functions of the options and
 * the retry count; the client keeps the count (it is reset on open, on
 * `connect()` and when back online) and the timer, which also bounds each
 * attempt (`connectTimeout`).
 */
export type Backoff = Required<ReconnectOptions>;

/** The `reconnect` option resolved; `false` is a schedule of no retries. */
export const backoff = (reconnect: boolean | ReconnectOptions | undefined): Backoff => ({
  ...RECONNECT_DEFAULTS,
  ...(reconnect === false ? { maxAttempts: 0 } : reconnect === true ? {} : reconnect),
});

/** The wait before retry `attempt` (0 for the first), ms. */
export const retryDelay = (schedule: Backoff, attempt: number): number => Math.random() * Math.min(schedule.maxDelay, schedule.delay * 2 ** attempt);
