/** Counters of one gateway server; cheap increments on the hot path. */
export class GatewayStats {
  connectionsOpened = 0;
  connectionsClosed = 0;
  messagesReceived = 0;
  /** Bytes of the frames received (payloads, as `ws` hands them over). */
  bytesReceived = 0;
  /** Frames written to clients (replies, acks, pushes and broadcast deliveries), and their payload bytes. */
  messagesSent = 0;
  bytesSent = 0;
  /** Frames refused as DECODE_FAILED, INVALID_MESSAGE or UNSUPPORTED_DATA. */
  invalidMessages = 0;
  unknownEvents = 0;
  /** Handlers that threw or rejected (including guard denials). */
  handlerErrors = 0;
  /** Socket-level errors `ws` reported (bad frames, oversized frames). */
  socketErrors = 0;
  /** Broadcasts that reached this gateway (local or from other nodes). */
  broadcasts = 0;
  /** Frames written by broadcasts. */
  deliveries = 0;
  /** Broadcasts the broker refused to take (it threw); the other nodes missed them. */
  publishFailures = 0;
  /** Broadcast recipients skipped because their socket was no longer open. */
  skippedDeliveries = 0;
  /** Server-to-client requests sent, and how they ended. */
  requestsSent = 0;
  requestsTimedOut = 0;
  /** Client acks for requests that had already ended (late or unknown ids). */
  strayAcks = 0;
  /** Connections terminated by the heartbeat (no pong within two intervals). */
  heartbeatTimeouts = 0;
  /** Heartbeat ticks that fired over a quarter interval late (event loop blocked); each postponed its verdict (up to 3 in a row). */
  heartbeatLateTicks = 0;
  /** Messages refused by the rate limit, and connections closed for it (1008). */
  rateLimited = 0;
  rateLimitCloses = 0;
  /** Broadcasts skipped for slow consumers, and slow consumers closed (1013). */
  slowConsumerSkips = 0;
  slowConsumerCloses = 0;
  /** Upgrades refused: connection caps, handshake authentication. */
  upgradesRefused = 0;
  authFailures = 0;
  /** Messages answered SERVER_SHUTTING_DOWN while draining. */
  refusedWhileClosing = 0;
}

/** A point-in-time view of one gateway. */
export interface GatewayStatsSnapshot extends Readonly<GatewayStats> {
  readonly path: string;
  readonly connections: number;
  readonly rooms: number;
}
