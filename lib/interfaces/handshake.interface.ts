import type { IncomingHttpHeaders } from 'node:http';

/** Path parameters from a pattern path such as `/rooms/:room` (wildcards give arrays). */
export type PathParams = Readonly<Record<string, string | string[]>>;

/** The query string; a key given several times maps to an array. */
export type QueryParams = Readonly<Record<string, string | string[]>>;

/** Facts about the HTTP upgrade request, parsed once when the client connects. */
export interface Handshake {
  /** The path the client asked for, without the query string (`/rooms/42`). */
  readonly path: string;
  /** The gateway path it matched (`/rooms/:room`). */
  readonly route: string;
  readonly params: PathParams;
  readonly query: QueryParams;
  /** The upgrade request's headers, minus those only the handshake used (`connection`, `upgrade`, `sec-websocket-key`, `-version`, `-extensions`). */
  readonly headers: IncomingHttpHeaders;
  /** The peer address as the TCP socket reports it (no proxy headers are trusted). */
  readonly remoteAddress: string | undefined;
}
