import type { RateLimitOptions } from '../interfaces/gateway-behaviour.interface.js';
import type { Connection } from '../connection/connection.interface.js';

/** The verdict on one message under a token bucket. */
export const enum RateVerdict {
  Accept,
  Refuse,
  /** Refused `closeAfter` times in a row: persistent abuse. */
  Close,
}


/**
 * A token bucket per connection, refilled lazily when a message arrives (no
 * timer); created on the first message, so gateways without a limit pay nothing.
 */
export function takeToken(socket: Connection, limit: Required<RateLimitOptions>, now: number): RateVerdict {
  const extras = (socket._extras ??= {});
  let bucket = extras.bucket;
  if (bucket === undefined) {
    bucket = extras.bucket = { tokens: limit.burst, time: now, refusedInARow: 0 };
  } else {
    bucket.tokens = Math.min(limit.burst, bucket.tokens + ((now - bucket.time) / 1000) * limit.messagesPerSecond);
    bucket.time = now;
  }
  if (bucket.tokens >= 1) {
    bucket.tokens -= 1;
    bucket.refusedInARow = 0;
    return RateVerdict.Accept;
  }
  bucket.refusedInARow++;
  return bucket.refusedInARow >= limit.closeAfter ? RateVerdict.Close : RateVerdict.Refuse;
}
