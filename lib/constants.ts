/**
 * WebSocket close codes the adapter sends (RFC 6455 section 7.4.1 plus the
 * IANA registry). Applications may use 4000-4999 for their own codes.
 */
export const CloseCode = {
  /** The purpose of the connection was fulfilled. */
  NORMAL: 1000,
  /** The server is shutting down (`app.close()`). */
  GOING_AWAY: 1001,
  /** The peer broke the WebSocket protocol (a bad opcode, an unmasked frame); sent by `ws`. */
  PROTOCOL_ERROR: 1002,
  /** A frame of a kind the codec cannot read (binary to a text codec, text to a binary codec). */
  UNSUPPORTED_DATA: 1003,
  /** A frame the codec could not decode, or that is not a protocol v1 message. */
  INVALID_PAYLOAD: 1007,
  /** A policy was violated: rate limit, expired authentication. */
  POLICY_VIOLATION: 1008,
  /** A frame larger than `maxPayload`. */
  MESSAGE_TOO_BIG: 1009,
  /** The server met an unexpected condition. */
  INTERNAL_ERROR: 1011,
  /** The server is restarting; clients should reconnect (configurable instead of 1001). */
  SERVICE_RESTART: 1012,
  /** The server cannot serve this client right now; try again later. */
  TRY_AGAIN_LATER: 1013,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** The event name Nest uses to push errors to clients; kept for drop-in compatibility. */
export const EXCEPTION_EVENT = 'exception';

/** Ids longer than this are not echoed back; they are treated as invalid messages. */
export const MAX_MESSAGE_ID_LENGTH = 128;
