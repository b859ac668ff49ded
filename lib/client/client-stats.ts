/**
 * What `client.stats` reports. The counters are one plain object that the
 * client hands to the parts that count (the queue, the room positions, the
 * listeners), so each increments its own fields in place and `stats` is one
 * copy of it; nothing is summed at read time.
 */
export interface ClientStats {
  /** Connections opened after the first. */
  reconnects: number;
  /** Messages put in the offline queue. */
  queued: number;
  /** Messages a full queue dropped. */
  dropped: number;
  /** Queued emits older than `queueTtl`, dropped unsent. */
  expired: number;
  /** Room messages dropped because their offset was not past the room's last one. */
  duplicates: number;
  /** Frames that were not JSON objects of the protocol (binary, malformed, unknown `$` events). */
  invalidFrames: number;
  /** Acks for no request in flight. */
  strayAcks: number;
  /** Listeners and hooks that threw. */
  listenerErrors: number;
  /** Now in the queue / waiting for an ack. */
  queueLength: number;
  pending: number;
}

/** The counted part of {@link ClientStats} (the last two are read off the queue and the requests). */
export type ClientCounters = Omit<ClientStats, 'queueLength' | 'pending'>;
