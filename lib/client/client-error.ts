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
 * The process-wide marker of {@link SwitchboardClientError}. The client ships
 * as an ESM build, a CJS build and a browser bundle, and an app can load two
 * of them (an ESM app with a CJS helper; a page with the bundle and an app
 * build). `Symbol.for` gives each copy the same symbol, so each copy knows the
 * others' errors. The server's `SwitchboardError` does the same through
 * lib/utils/brand.ts, which the client may not import (no server code in the
 * browser bundle); this is that mechanism, copied for one class.
 */
const BRAND = Symbol.for('nestjs-switchboard.SwitchboardClientError');

/**
 * What a failed `request()` rejects with: `code` is the server's code from the
 * error ack (`VALIDATION_FAILED`, `FORBIDDEN`, an app's own `ROOM_FULL`...) or
 * one of {@link ClientErrorCode}; `details` is the ack's `details`.
 * `instanceof` is true for the errors of any copy of the client.
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

  /** @internal The marker, on the prototype: no own property for equality checks or JSON to see; internal, so the copies' declarations stay one type. */
  get [BRAND](): true {
    return true;
  }

  /** By the marker, for this class (a primitive has none); a subclass keeps the ordinary prototype check, since no other copy has it. */
  static override [Symbol.hasInstance](value: unknown): boolean {
    return this === SwitchboardClientError ? (value as { [BRAND]?: unknown } | undefined)?.[BRAND] === true : super[Symbol.hasInstance](value);
  }
}

/** Shorthand for the many places that make one. */
export const clientError = (code: string, message: string, details?: unknown): SwitchboardClientError => new SwitchboardClientError(code, message, details);
