import type { RateLimitOptions } from '../interfaces/switchboard-options.interface.js';
import type { SwitchboardSocket } from '../socket/switchboard-socket.js';

/** The verdict on one message under a token bucket. */
export const enum RateVerdict {
  Accept,
  Refuse,
  /** Refused `closeAfter` times in a row: persistent abuse. */
  Close,
}

/**
 * A token bucket per connection, refilled lazily when a message arrives (no
 * timer). The bucket lives in three numbers on the socket.
 */
export function takeToken(socket: SwitchboardSocket, limit: Required<RateLimitOptions>, now: number): RateVerdict {
  if (socket._tokenTime === 0) {
    socket._tokens = limit.burst;
  } else {
    socket._tokens = Math.min(limit.burst, socket._tokens + ((now - socket._tokenTime) / 1000) * limit.messagesPerSecond);
  }
  socket._tokenTime = now;
  if (socket._tokens >= 1) {
    socket._tokens -= 1;
    socket._refusedInARow = 0;
    return RateVerdict.Accept;
  }
  socket._refusedInARow++;
  return socket._refusedInARow >= limit.closeAfter ? RateVerdict.Close : RateVerdict.Refuse;
}
