import type { IncomingHttpHeaders } from 'node:http';
import type { CanActivate, Type } from '@nestjs/common';
import type { Handshake } from './handshake.interface.js';

/** Where the handshake looks for a token (`handshake.token`), in this order. */
export interface TokenSources {
  /**
   * A header; a `Bearer ` prefix is removed.
   * @default 'authorization'
   */
  header?: string | false;
  /**
   * A marker in `Sec-WebSocket-Protocol`, the only header a browser can
   * set: `new WebSocket(url, ['access_token', token])` with `protocol:
   * 'access_token'`. The server answers with the marker as subprotocol.
   */
  protocol?: string;
  /** A cookie name. */
  cookie?: string;
  /** A query-string parameter (tokens in URLs end up in logs: prefer the others). */
  query?: string;
}

/** Runs on the HTTP upgrade request; a refusal is an HTTP status with a JSON body. */
export interface HandshakeAuthOptions {
  /**
   * Allowed `Origin` header values (exact strings or patterns), or a
   * predicate. A request with another origin gets 403. Requests without
   * `Origin` (non-browser clients) pass unless `requireOrigin` is set.
   */
  origins?: ReadonlyArray<string | RegExp> | ((origin: string | undefined) => boolean);
  requireOrigin?: boolean;
  /** Where to find the token. */
  token?: TokenSources;
  /**
   * Nest guards, run on the upgrade request with a `ws` execution context
   * whose client is a {@link HandshakeClient}: classes are resolved through
   * DI (they may inject services), instances are used as given. `false`
   * gives 403; a thrown `UnauthorizedException` 401, `ForbiddenException`
   * 403, and so on.
   */
  guards?: ReadonlyArray<Type<CanActivate> | CanActivate>;
  /**
   * A function, or an injectable class implementing
   * {@link HandshakeAuthenticator}, that returns the principal. Its result
   * becomes `client.data`; `null`, `undefined` or `false` gives 401.
   */
  authenticate?: ((client: HandshakeClient) => unknown) | Type<HandshakeAuthenticator>;
  /**
   * Milliseconds the guards and `authenticate` may take; then 503.
   * @default 10000
   */
  timeout?: number;
}

/** An injectable authenticator class. */
export interface HandshakeAuthenticator {
  authenticate(client: HandshakeClient): unknown;
}

/**
 * What guards and authenticators see as the client during the handshake:
 * the request's facts, the token found, and a `data` object that becomes the
 * socket's `client.data`.
 */
export interface HandshakeClient {
  readonly handshake: Handshake;
  /** All request headers, including the handshake ones. */
  readonly headers: IncomingHttpHeaders;
  readonly cookies: Readonly<Record<string, string>>;
  /** The token from the configured sources, if any. */
  readonly token: string | undefined;
  /** Filled by guards; becomes `client.data` (unless `authenticate` returns a principal). */
  data: Record<string, unknown>;
}
