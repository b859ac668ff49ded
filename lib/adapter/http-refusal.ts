import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ErrorCode } from '../errors/error-codes.js';

/**
 * HTTP requires a challenge on every 401 (RFC 9110 §15.5.2). Handshake tokens
 * are bearer tokens whatever their source (header, subprotocol, cookie,
 * query); `Bearer` also never makes a browser show a login dialog, as
 * `Basic` would. The JSON body still says why.
 */
const BEARER_CHALLENGE = 'Bearer realm="websocket"';

/**
 * Answers an upgrade request with a real HTTP status and a JSON body
 * `{ code, message }`, then closes the TCP connection. A refused client sees
 * why (404, 503, 401...), where `@nestjs/platform-ws` destroys the socket.
 */
export function refuseUpgrade(socket: Duplex, status: number, code: string, message: string, headers: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const body = JSON.stringify({ code, message });
  const lines = [
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}`,
    'Connection: close',
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...Object.entries(headers).map(([name, value]) => `${name}: ${value}`),
  ];
  if (status === 401 && !Object.keys(headers).some((name) => name.toLowerCase() === 'www-authenticate')) {
    lines.push(`WWW-Authenticate: ${BEARER_CHALLENGE}`);
  }
  socket.once('finish', () => socket.destroy());
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

/** The same JSON refusal for a plain HTTP request on a gateway-only port. */
export function refuseUpgradeRequest(response: ServerResponse, status: number, message: string): void {
  const body = JSON.stringify({ code: ErrorCode.UPGRADE_REQUIRED, message });
  response.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(body),
    Upgrade: 'websocket',
    Connection: 'close',
  });
  response.end(body);
}
