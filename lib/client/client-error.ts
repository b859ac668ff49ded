/**
 * The codes the client itself gives (server codes arrive in error acks as the
 * server sent them). Each is in the server's table, `ERROR_CODES`
 * (test/client/codes.spec.ts checks); the client does not import that table,
 * to keep the browser bundle small.
 */
export const ClientErrorCode = {
  /** No ack within the request's `timeout`. */
  REQUEST_TIMEOUT: 'REQUEST_TIMEOUT',
  /** The connection dropped while the request was in flight, and it could not be re-sent safely. */
  DISCONNECTED: 'DISCONNECTED',
  /** The offline queue was full (see `dropPolicy`). */
  QUEUE_FULL: 'QUEUE_FULL',
  /** The request's `signal` aborted it. */
  ABORTED: 'ABORTED',
  /** `client.close()` was called. */
  CLIENT_CLOSED: 'CLIENT_CLOSED',
  /** The server refused the token twice in a row (HTTP 401 or close 4401), even after `auth({ refresh: true })`. */
  UNAUTHORIZED: 'UNAUTHORIZED',
  /** An `onRequest` handler threw something without a string `code`. */
  INTERNAL: 'INTERNAL',
  /** The server asked for an event no `onRequest` handler answers. */
  UNKNOWN_EVENT: 'UNKNOWN_EVENT',
} as const;

export type ClientErrorCode = (typeof ClientErrorCode)[keyof typeof ClientErrorCode];

/**
 * What a failed `request()` rejects with: `code` is the server's code from the
 * error ack (`VALIDATION_FAILED`, `FORBIDDEN`, an app's own `ROOM_FULL`...) or
 * one of {@link ClientErrorCode}; `details` is the ack's `details`.
 */
export class SwitchboardClientError extends Error {
  override readonly name = 'SwitchboardClientError';

  constructor(
    readonly code: ClientErrorCode | (string & {}),
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}
