import { CloseCode } from '../constants.js';

/**
 * Stable string codes. They appear in error acks (`error.code`), in `exception`
 * events (`data.code`), on thrown {@link SwitchboardError}s and in logs. A code,
 * once published, keeps its meaning.
 */
export const ErrorCode = {
  // Protocol: the client sent something the server cannot read.
  DECODE_FAILED: 'DECODE_FAILED',
  INVALID_MESSAGE: 'INVALID_MESSAGE',
  UNSUPPORTED_DATA: 'UNSUPPORTED_DATA',
  UNKNOWN_EVENT: 'UNKNOWN_EVENT',
  MESSAGE_TOO_BIG: 'MESSAGE_TOO_BIG',
  PROTOCOL_ERROR: 'PROTOCOL_ERROR',
  // Handler outcomes.
  BAD_REQUEST: 'BAD_REQUEST',
  UNAUTHORIZED: 'UNAUTHORIZED',
  FORBIDDEN: 'FORBIDDEN',
  NOT_FOUND: 'NOT_FOUND',
  CONFLICT: 'CONFLICT',
  VALIDATION_FAILED: 'VALIDATION_FAILED',
  RATE_LIMITED: 'RATE_LIMITED',
  INTERNAL: 'INTERNAL',
  // Server-to-client requests and broadcasting.
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  REQUEST_REJECTED: 'REQUEST_REJECTED',
  DISCONNECTED: 'DISCONNECTED',
  INVALID_ROOM: 'INVALID_ROOM',
  UNKNOWN_GATEWAY: 'UNKNOWN_GATEWAY',
  // Connection lifecycle.
  SERVER_SHUTTING_DOWN: 'SERVER_SHUTTING_DOWN',
  SERVER_RESTARTING: 'SERVER_RESTARTING',
  SERVER_NOT_READY: 'SERVER_NOT_READY',
  SLOW_CONSUMER: 'SLOW_CONSUMER',
  TOO_MANY_CONNECTIONS: 'TOO_MANY_CONNECTIONS',
  AUTH_TIMEOUT: 'AUTH_TIMEOUT',
  UPGRADE_REQUIRED: 'UPGRADE_REQUIRED',
  // Setup: thrown at bootstrap, never sent to clients.
  INVALID_OPTION: 'INVALID_OPTION',
  INVALID_PATH: 'INVALID_PATH',
  DUPLICATE_PATH: 'DUPLICATE_PATH',
  LISTEN_FAILED: 'LISTEN_FAILED',
  MISSING_PACKAGE: 'MISSING_PACKAGE',
  BROKER_UNAVAILABLE: 'BROKER_UNAVAILABLE',
  NODE_TIMEOUT: 'NODE_TIMEOUT',
  QUEUE_FULL: 'QUEUE_FULL',
  ABORTED: 'ABORTED',
  CLIENT_CLOSED: 'CLIENT_CLOSED',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Where a code shows up. */
export type ErrorCodeKind = 'protocol' | 'handler' | 'request' | 'connection' | 'setup' | 'cluster' | 'client';

export interface ErrorCodeInfo {
  readonly code: ErrorCode;
  readonly kind: ErrorCodeKind;
  /** The close code used when the answer is (or may be, by policy) a close. */
  readonly closeCode?: CloseCode;
  /** The HTTP status used when the answer is a refused handshake. */
  readonly httpStatus?: number;
  readonly description: string;
}

/**
 * The one table of error and close codes. The README prints it; tests check
 * that every code is listed here exactly once.
 */
export const ERROR_CODES: readonly ErrorCodeInfo[] = [
  {
    code: ErrorCode.DECODE_FAILED,
    kind: 'protocol',
    closeCode: CloseCode.INVALID_PAYLOAD,
    description: 'The frame could not be decoded by the codec (malformed JSON, invalid MessagePack).',
  },
  {
    code: ErrorCode.INVALID_MESSAGE,
    kind: 'protocol',
    closeCode: CloseCode.INVALID_PAYLOAD,
    description:
      'The frame decoded, but is not a protocol v1 message: not an object, no string `event`, an `id` that is neither a string nor a finite number, or nesting deeper than `maxDepth`.',
  },
  {
    code: ErrorCode.UNSUPPORTED_DATA,
    kind: 'protocol',
    closeCode: CloseCode.UNSUPPORTED_DATA,
    description: 'A binary frame sent to a text codec (JSON), or a text frame sent to a binary codec.',
  },
  {
    code: ErrorCode.UNKNOWN_EVENT,
    kind: 'protocol',
    description: 'No `@SubscribeMessage` handler matches the event.',
  },
  {
    code: ErrorCode.MESSAGE_TOO_BIG,
    kind: 'protocol',
    closeCode: CloseCode.MESSAGE_TOO_BIG,
    description: 'A frame larger than `maxPayload`; the connection is closed.',
  },
  {
    code: ErrorCode.PROTOCOL_ERROR,
    kind: 'protocol',
    closeCode: CloseCode.PROTOCOL_ERROR,
    description: 'The peer broke the WebSocket protocol (bad opcode, unmasked frame, bad close code); `ws` closes the connection.',
  },
  {
    code: ErrorCode.BAD_REQUEST,
    kind: 'handler',
    httpStatus: 400,
    description:
      'The handler threw a `WsException` (or a 400 `HttpException`) without a code of its own; also an upgrade with a malformed path.',
  },
  { code: ErrorCode.UNAUTHORIZED, kind: 'handler', httpStatus: 401, description: 'A 401 `HttpException`; also a refused handshake.' },
  {
    code: ErrorCode.FORBIDDEN,
    kind: 'handler',
    httpStatus: 403,
    description: 'A guard denied the message, or a 403 `HttpException`; also a refused handshake.',
  },
  { code: ErrorCode.NOT_FOUND, kind: 'handler', httpStatus: 404, description: 'A 404 `HttpException`; also an upgrade to an unknown path.' },
  { code: ErrorCode.CONFLICT, kind: 'handler', description: 'A 409 `HttpException`.' },
  {
    code: ErrorCode.VALIDATION_FAILED,
    kind: 'handler',
    description: 'A validation pipe rejected the message body; `details` lists the problems.',
  },
  {
    code: ErrorCode.RATE_LIMITED,
    kind: 'handler',
    closeCode: CloseCode.POLICY_VIOLATION,
    httpStatus: 429,
    description:
      'A 429 `HttpException`, or a message over the rate limit (answered; persistent abuse is closed with 1008); also an upgrade over `maxConnectionsPerIp`.',
  },
  {
    code: ErrorCode.INTERNAL,
    kind: 'handler',
    closeCode: CloseCode.INTERNAL_ERROR,
    httpStatus: 500,
    description: 'Any other error. The client gets a generic message; the server logs the error with its stack. A handshake guard that crashes gives HTTP 500.',
  },
  {
    code: ErrorCode.REQUEST_TIMEOUT,
    kind: 'request',
    description: '`client.request()` got no ack within its timeout.',
  },
  {
    code: ErrorCode.REQUEST_REJECTED,
    kind: 'request',
    description: "The client acked a `client.request()` with `status: \"error\"`; the client's error body is in `details`.",
  },
  {
    code: ErrorCode.DISCONNECTED,
    kind: 'request',
    description: 'The client closed (or was not open) before it acked a `client.request()`.',
  },
  { code: ErrorCode.INVALID_ROOM, kind: 'request', description: 'A room name that is not a non-empty string (thrown by `join`, `leave`, `to`).' },
  {
    code: ErrorCode.UNKNOWN_GATEWAY,
    kind: 'setup',
    description: 'The broadcaster was asked for a gateway it cannot find, or could not choose between several.',
  },
  {
    code: ErrorCode.SERVER_SHUTTING_DOWN,
    kind: 'connection',
    closeCode: CloseCode.GOING_AWAY,
    httpStatus: 503,
    description: 'The server is closing: clients get close 1001, new upgrades get HTTP 503.',
  },
  {
    code: ErrorCode.SERVER_RESTARTING,
    kind: 'connection',
    closeCode: CloseCode.SERVICE_RESTART,
    description: 'The server is closing with `shutdownCloseCode: 1012`: clients should reconnect soon.',
  },
  {
    code: ErrorCode.SERVER_NOT_READY,
    kind: 'connection',
    closeCode: CloseCode.TRY_AGAIN_LATER,
    description: 'The client connected while the application was still starting (Nest `closeClient`).',
  },
  {
    code: ErrorCode.SLOW_CONSUMER,
    kind: 'connection',
    closeCode: CloseCode.TRY_AGAIN_LATER,
    description: 'The client did not read fast enough: its buffered bytes passed the backpressure limit.',
  },
  {
    code: ErrorCode.TOO_MANY_CONNECTIONS,
    kind: 'connection',
    httpStatus: 503,
    description: 'An upgrade over the gateway\'s `maxConnections`.',
  },
  {
    code: ErrorCode.AUTH_TIMEOUT,
    kind: 'connection',
    httpStatus: 503,
    description: 'Handshake authentication did not finish within `auth.timeout`.',
  },
  {
    code: ErrorCode.UPGRADE_REQUIRED,
    kind: 'connection',
    httpStatus: 426,
    description: 'A plain HTTP request to a port that only serves gateways.',
  },
  { code: ErrorCode.INVALID_OPTION, kind: 'setup', description: 'An adapter or gateway option has a wrong type or value.' },
  { code: ErrorCode.INVALID_PATH, kind: 'setup', description: 'A gateway `path` could not be compiled.' },
  {
    code: ErrorCode.DUPLICATE_PATH,
    kind: 'setup',
    description: 'Two gateways on one port claim the same path (after trailing-slash normalisation).',
  },
  { code: ErrorCode.LISTEN_FAILED, kind: 'setup', description: 'A gateway port could not be bound (for example EADDRINUSE).' },
  { code: ErrorCode.MISSING_PACKAGE, kind: 'setup', description: 'An optional peer dependency is not installed (msgpackr for the MessagePack codec, ioredis for the Redis broker, nats for the NATS broker); the message says what to install.' },
  {
    code: ErrorCode.BROKER_UNAVAILABLE,
    kind: 'cluster',
    description: 'The broker could not take a message while its engine was unreachable and its bounded buffer was full (counted in `publishDropped`).',
  },
  {
    code: ErrorCode.NODE_TIMEOUT,
    kind: 'cluster',
    description: 'A node did not answer a cluster-wide operation in time; it is listed in `missingNodes` of the answer.',
  },
  {
    code: ErrorCode.QUEUE_FULL,
    kind: 'client',
    description: "The client's offline queue was full: the message was dropped (by the `dropPolicy`) and counted.",
  },
  { code: ErrorCode.ABORTED, kind: 'client', description: "A client request's `signal` aborted it before its ack came." },
  { code: ErrorCode.CLIENT_CLOSED, kind: 'client', description: 'The client was closed by the application (`client.close()`) before the request was answered.' },
];

/**
 * The reason sent with a close code when the closer gave none: `ws` closes
 * with 1002, 1007 and 1009 by itself, and every close the library initiates
 * carries its stable code, so a client can tell the causes apart.
 */
export const DEFAULT_CLOSE_REASONS: ReadonlyMap<number, ErrorCode> = new Map<number, ErrorCode>([
  [CloseCode.GOING_AWAY, ErrorCode.SERVER_SHUTTING_DOWN],
  [CloseCode.PROTOCOL_ERROR, ErrorCode.PROTOCOL_ERROR],
  [CloseCode.INVALID_PAYLOAD, ErrorCode.DECODE_FAILED],
  [CloseCode.MESSAGE_TOO_BIG, ErrorCode.MESSAGE_TOO_BIG],
  [CloseCode.INTERNAL_ERROR, ErrorCode.INTERNAL],
  [CloseCode.SERVICE_RESTART, ErrorCode.SERVER_RESTARTING],
]);
