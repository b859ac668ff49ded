/**
 * What the hot path tells a metrics exporter, only while one is installed
 * (`SwitchboardModule.forRoot({ metrics })`): durations and labelled events
 * that counters cannot carry. Everything countable (connections, messages,
 * bytes, rate-limited messages, slow-consumer skips, heartbeat timeouts,
 * broker reconnects...) is read from the gateway and hub counters when the
 * exporter is scraped, so it costs nothing per message.
 *
 * Labels stay bounded: gateway paths and handler event names (both fixed by
 * the code), close codes, outcomes; never a socket id; a room only through
 * the exporter's allow-list or template.
 */
export interface MetricsRecorder {
  /** A connection closed with this WebSocket close code. */
  connectionClosed(path: string, code: number): void;
  /** A handler finished (its answer, if any, written): seconds since its message was read. */
  handlerFinished(path: string, event: string, seconds: number, failed: boolean): void;
  /** A local fan-out of one broadcast: how many connections it was written to, and how long that took. */
  fannedOut(path: string, room: string | undefined, deliveries: number, seconds: number): void;
  /** A broadcast from another node arrived: seconds since the other node published it (clocks permitting). */
  brokerLag(seconds: number): void;
  /** A `$recover`: per room, recovered or not, and how many messages were replayed. */
  recovery(path: string, recovered: boolean, replayed: number): void;
}
