import { describe, expect, it } from '@jest/globals';
import { retainedHeaders } from '../../../lib/adapter/handshake-headers.js';

describe('retainedHeaders', () => {
  it('drops the headers only the handshake used and keeps the rest, values untouched', () => {
    const cookies = ['a=1', 'b=2'];
    const kept = retainedHeaders({
      host: 'example.org',
      connection: 'Upgrade',
      upgrade: 'websocket',
      'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
      'sec-websocket-version': '13',
      'sec-websocket-extensions': 'permessage-deflate',
      'sec-websocket-protocol': 'access_token, t',
      authorization: 'Bearer t',
      'set-cookie': cookies,
      origin: 'https://example.org',
    });
    expect(kept).toEqual({
      host: 'example.org',
      'sec-websocket-protocol': 'access_token, t', // the chosen subprotocol stays readable
      authorization: 'Bearer t',
      'set-cookie': cookies,
      origin: 'https://example.org',
    });
    expect(kept['set-cookie']).toBe(cookies);
  });

  it('returns a new object (the request keeps its own)', () => {
    const headers = { host: 'h', upgrade: 'websocket' };
    const kept = retainedHeaders(headers);
    expect(kept).not.toBe(headers);
    expect(headers).toEqual({ host: 'h', upgrade: 'websocket' });
  });
});
