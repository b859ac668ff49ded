/** Counters of one gateway server; cheap increments on the hot path. */
export class GatewayStats {
  connectionsOpened = 0;
  connectionsClosed = 0;
  messagesReceived = 0;
  /** Frames refused as DECODE_FAILED, INVALID_MESSAGE or UNSUPPORTED_DATA. */
  invalidMessages = 0;
  unknownEvents = 0;
  /** Handlers that threw or rejected (including guard denials). */
  handlerErrors = 0;
  /** Socket-level errors `ws` reported (bad frames, oversized frames). */
  socketErrors = 0;
}
