import type { Socket } from 'node:net';
import { describe, expect, it } from '@jest/globals';
import { HandshakeFacts } from '../../../lib/adapter/handshake-facts.js';
import { NO_PARAMS } from '../../../lib/adapter/route-matcher.js';

/** A TCP socket whose remoteAddress getter counts its reads. */
function tcpSocket(address: string | undefined): Socket & { reads: number } {
  const socket = { reads: 0 };
  Object.defineProperty(socket, 'remoteAddress', {
    get() {
      socket.reads++;
      return address;
    },
  });
  return socket as unknown as Socket & { reads: number };
}

describe('HandshakeFacts', () => {
  it('reads the peer address on first use only, and keeps it', () => {
    const tcp = tcpSocket('10.0.0.7');
    const facts = new HandshakeFacts('/rooms/a', '/rooms/:room', { room: 'a' }, {}, {}, tcp);
    expect(tcp.reads).toBe(0);
    expect(facts.remoteAddress).toBe('10.0.0.7');
    expect(facts.remoteAddress).toBe('10.0.0.7');
    expect(tcp.reads).toBe(1);
  });

  it('caches an unknown address (undefined) as well', () => {
    const tcp = tcpSocket(undefined);
    const facts = new HandshakeFacts('/', '/', NO_PARAMS, {}, {}, tcp);
    expect(facts.remoteAddress).toBeUndefined();
    expect(facts.remoteAddress).toBeUndefined();
    expect(tcp.reads).toBe(1);
  });

  it('toJSON gives the plain facts, without the TCP socket', () => {
    const facts = new HandshakeFacts('/chat', '/chat', NO_PARAMS, { a: '1' }, { host: 'h' }, tcpSocket('::1'));
    const json = JSON.parse(JSON.stringify(facts)) as Record<string, unknown>;
    expect(json).toEqual({ path: '/chat', route: '/chat', params: {}, query: { a: '1' }, headers: { host: 'h' }, remoteAddress: '::1' });
  });
});
