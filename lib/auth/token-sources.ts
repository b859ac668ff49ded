import type { IncomingHttpHeaders } from 'node:http';
import type { ServerOptions } from 'ws';
import type { QueryParams } from '../interfaces/handshake.interface.js';
import type { TokenSources } from '../interfaces/handshake-auth.interface.js';

const NO_COOKIES: Readonly<Record<string, string>> = Object.freeze(Object.create(null) as Record<string, string>);

/** Parses a `Cookie` header into an object without a prototype; malformed pairs are skipped. */
export function parseCookies(header: string | undefined): Readonly<Record<string, string>> {
  if (header === undefined || header.length === 0) {
    return NO_COOKIES;
  }
  const cookies = Object.create(null) as Record<string, string>;
  for (const pair of header.split(';')) {
    const separator = pair.indexOf('=');
    if (separator <= 0) {
      continue;
    }
    const name = pair.slice(0, separator).trim();
    let value = pair.slice(separator + 1).trim();
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) {
      value = value.slice(1, -1);
    }
    try {
      cookies[name] = decodeURIComponent(value);
    } catch {
      cookies[name] = value;
    }
  }
  return cookies;
}

/** The offered subprotocols, as `ws` reads `Sec-WebSocket-Protocol`. */
export function offeredProtocols(headers: IncomingHttpHeaders): string[] {
  const header = headers['sec-websocket-protocol'];
  return typeof header === 'string' ? header.split(',').map((protocol) => protocol.trim()) : [];
}

/**
 * Finds the token in the configured sources, in a fixed order: header,
 * subprotocol, cookie, query. The header source accepts `Bearer <token>` or
 * the bare token; the subprotocol source reads the entry after the marker.
 */
export function extractToken(sources: TokenSources, headers: IncomingHttpHeaders, cookies: Readonly<Record<string, string>>, query: QueryParams): string | undefined {
  const headerName = sources.header === undefined ? 'authorization' : sources.header;
  if (headerName !== false) {
    const value = headers[headerName.toLowerCase()];
    if (typeof value === 'string' && value.length > 0) {
      return value.replace(/^Bearer\s+/i, '');
    }
  }
  if (sources.protocol !== undefined) {
    const protocols = offeredProtocols(headers);
    const index = protocols.indexOf(sources.protocol);
    if (index !== -1 && index + 1 < protocols.length) {
      return protocols[index + 1];
    }
  }
  if (sources.cookie !== undefined && cookies[sources.cookie] !== undefined) {
    return cookies[sources.cookie];
  }
  if (sources.query !== undefined) {
    const value = query[sources.query];
    if (typeof value === 'string' && value.length > 0) {
      return value;
    }
  }
  return undefined;
}

/**
 * Browsers can only send a token in `Sec-WebSocket-Protocol`, and they
 * refuse the connection unless the server picks one of the offered
 * protocols: with a token marker configured, the marker is picked.
 */
export function withTokenProtocol(marker: string | undefined, handleProtocols: ServerOptions['handleProtocols']): ServerOptions['handleProtocols'] {
  if (marker === undefined) {
    return handleProtocols;
  }
  return (protocols, request) => (protocols.has(marker) ? marker : (handleProtocols?.(protocols, request) ?? false));
}
