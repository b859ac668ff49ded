import type { ServerResponse } from 'node:http';
import { describe, expect, it, jest } from '@jest/globals';
import { refuseUpgrade, refuseUpgradeRequest } from '../../../lib/adapter/http-refusal.js';
import { CaptureSocket } from '../fakes.js';

const headLines = (socket: CaptureSocket): string[] => socket.text.split('\r\n\r\n')[0].split('\r\n');

describe('refuseUpgrade', () => {
  it('writes a complete HTTP response with a JSON body and a byte-exact Content-Length, then ends', () => {
    const socket = new CaptureSocket();
    refuseUpgrade(socket, 503, 'SERVER_SHUTTING_DOWN', 'Arrêt du serveur', { 'Retry-After': '1' });
    const body = JSON.stringify({ code: 'SERVER_SHUTTING_DOWN', message: 'Arrêt du serveur' });
    expect(socket.text).toBe(
      [
        'HTTP/1.1 503 Service Unavailable',
        'Connection: close',
        'Content-Type: application/json; charset=utf-8',
        `Content-Length: ${Buffer.byteLength(body)}`,
        'Retry-After: 1',
        '',
        body,
      ].join('\r\n'),
    );
    expect(Buffer.byteLength(body)).toBeGreaterThan(body.length); // the é counts twice
    expect(socket.writableEnded).toBe(true);
  });

  it('adds a Bearer challenge to a 401, unless one is given (in any case)', () => {
    const plain = new CaptureSocket();
    refuseUpgrade(plain, 401, 'UNAUTHORIZED', 'no');
    expect(headLines(plain)).toContain('WWW-Authenticate: Bearer realm="websocket"');
    const own = new CaptureSocket();
    refuseUpgrade(own, 401, 'UNAUTHORIZED', 'no', { 'www-authenticate': 'Cookie' });
    expect(headLines(own).filter((line) => /^www-authenticate:/i.test(line))).toEqual(['www-authenticate: Cookie']);
    const forbidden = new CaptureSocket();
    refuseUpgrade(forbidden, 403, 'FORBIDDEN', 'no');
    expect(headLines(forbidden).some((line) => /^www-authenticate:/i.test(line))).toBe(false);
  });

  it('destroys the socket once the response is flushed', async () => {
    const socket = new CaptureSocket();
    refuseUpgrade(socket, 404, 'NOT_FOUND', 'none');
    await new Promise((resolve) => setImmediate(resolve));
    expect(socket.destroyed).toBe(true);
  });

  it('a socket that can no longer be written to is destroyed, nothing written', () => {
    const socket = new CaptureSocket();
    socket.end();
    const before = socket.writes;
    refuseUpgrade(socket, 404, 'NOT_FOUND', 'none');
    expect(socket.destroyed).toBe(true);
    expect(socket.writes).toBe(before);
  });
});

describe('refuseUpgradeRequest', () => {
  it('answers a plain HTTP request on a gateway-only port with UPGRADE_REQUIRED and an Upgrade header', () => {
    const response = { writeHead: jest.fn(), end: jest.fn() };
    refuseUpgradeRequest(response as unknown as ServerResponse, 426, 'This port speaks WebSocket only.');
    const body = JSON.stringify({ code: 'UPGRADE_REQUIRED', message: 'This port speaks WebSocket only.' });
    expect(response.writeHead).toHaveBeenCalledWith(426, {
      'Content-Type': 'application/json; charset=utf-8',
      'Content-Length': Buffer.byteLength(body),
      Upgrade: 'websocket',
      Connection: 'close',
    });
    expect(response.end).toHaveBeenCalledWith(body);
  });
});
