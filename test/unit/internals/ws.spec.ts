import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import * as ws from 'ws';
import { WebSocket, WebSocketServer } from 'ws';
import { afterEach, describe, expect, it } from '@jest/globals';
import { closeFrameReceived, frameOf, negotiatedDeflate, SENDER_IDLE, senderOf, setReadyState, tcpSocketOf } from '../../../lib/internals/ws.js';
import { createMemorySocketPair, MemorySocket } from '../../../lib/testing/memory-duplex.js';

/**
 * The private surface of `ws` the library relies on (lib/internals/ws.ts),
 * pinned against the installed `ws`: when a release moves one of these, this
 * file fails, by name, before any broadcast or heartbeat silently changes.
 * The connection runs over in-memory sockets: no port.
 */

interface Pair {
  server: WebSocket;
  client: WebSocket;
}

const open: Array<{ http: Server; wss: WebSocketServer; pair: Pair }> = [];

async function connectedPair(perMessageDeflate: boolean | object = false): Promise<Pair> {
  const http = createServer();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate });
  const serverSide = new Promise<WebSocket>((resolve) => {
    http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => wss.handleUpgrade(request, socket, head, resolve));
  });
  const client = new WebSocket('ws://memory/pin', {
    perMessageDeflate,
    createConnection: (() => {
      const { client: clientEnd, server: serverEnd } = createMemorySocketPair();
      http.emit('connection', serverEnd);
      return clientEnd;
    }) as never,
  });
  const [server] = await Promise.all([serverSide, new Promise((resolve, reject) => client.once('open', resolve).once('error', reject))]);
  const pair = { server, client };
  open.push({ http, wss, pair });
  return pair;
}

const nextMessage = (socket: WebSocket): Promise<{ data: Buffer; isBinary: boolean }> =>
  new Promise((resolve) => socket.once('message', (data: Buffer, isBinary: boolean) => resolve({ data, isBinary })));

afterEach(async () => {
  for (const { wss, pair } of open.splice(0)) {
    pair.client.terminate();
    pair.server.terminate();
    await new Promise((resolve) => wss.close(resolve));
  }
});

describe('ws: Sender.frame (pre-framed broadcasts)', () => {
  it('exists as a static function of the exported Sender, and frameOf is it', () => {
    const Sender = (ws as unknown as { Sender?: { frame?: unknown } }).Sender;
    expect(typeof Sender).toBe('function');
    expect(typeof Sender!.frame).toBe('function');
    expect(frameOf).toBe(Sender!.frame);
  });

  it('frames an unmasked text and binary payload as [header, payload], the payload not copied', () => {
    const payload = Buffer.from('hi');
    const text = frameOf!(payload, { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false });
    expect(text).toHaveLength(2);
    expect([...text[0]]).toEqual([0x81, 0x02]);
    expect(text[1]).toBe(payload);
    const binary = frameOf!(Buffer.alloc(300), { fin: true, rsv1: false, opcode: 2, mask: false, readOnly: false });
    expect([...binary[0]]).toEqual([0x82, 0x7e, 0x01, 0x2c]);
  });
});

describe('ws: a connected server-side WebSocket', () => {
  it('_socket is the TCP socket, whose bytesRead grows with what the peer sent (the heartbeat reads it)', async () => {
    const { server, client } = await connectedPair();
    const tcp = tcpSocketOf(server);
    expect(tcp).toBeInstanceOf(MemorySocket);
    const before = tcp!.bytesRead;
    expect(typeof before).toBe('number');
    const message = nextMessage(server);
    client.send('ping me');
    await message;
    expect(tcp!.bytesRead).toBe(before + 2 + 4 + 7); // header, mask, payload
  });

  it('_sender is idle (_state 0), at a message boundary (_firstFragment), with a sendFrame that writes a frame as is', async () => {
    const { server, client } = await connectedPair();
    const sender = senderOf(server);
    expect(sender).toBeDefined();
    expect(sender!._state).toBe(SENDER_IDLE);
    expect(SENDER_IDLE).toBe(0);
    expect(sender!._firstFragment).toBe(true);
    expect(typeof sender!.sendFrame).toBe('function');
    const received = nextMessage(client);
    sender!.sendFrame!(frameOf!(Buffer.from('pre-framed'), { fin: true, rsv1: false, opcode: 1, mask: false, readOnly: false }));
    const { data, isBinary } = await received;
    expect(data.toString()).toBe('pre-framed');
    expect(isBinary).toBe(false);
  });

  it('_sender._firstFragment turns false inside a fragmented message and back at its end', async () => {
    const { server } = await connectedPair();
    server.send('part 1', { fin: false });
    expect(senderOf(server)!._firstFragment).toBe(false);
    server.send('part 2', { fin: true });
    expect(senderOf(server)!._firstFragment).toBe(true);
  });

  it('_sender._state leaves idle while a compressed message is being deflated', async () => {
    const { server, client } = await connectedPair({ threshold: 0 });
    const received = nextMessage(client);
    server.send('x'.repeat(2000), { compress: true });
    expect(senderOf(server)!._state).not.toBe(SENDER_IDLE);
    expect((await received).data.toString()).toBe('x'.repeat(2000));
    expect(senderOf(server)!._state).toBe(SENDER_IDLE);
  });

  it('_extensions names permessage-deflate when it was negotiated, and not otherwise', async () => {
    const plain = await connectedPair(false);
    expect(negotiatedDeflate(plain.server)).toBe(false);
    const deflating = await connectedPair(true);
    expect(negotiatedDeflate(deflating.server)).toBe(true);
    expect(deflating.server.extensions).toContain('permessage-deflate');
  });

  it('_closeFrameReceived flips when the peer close frame is read', async () => {
    const { server, client } = await connectedPair();
    expect(closeFrameReceived(server)).toBe(false);
    const closed = new Promise<number>((resolve) => server.once('close', resolve));
    client.close(1000, 'bye');
    // The frame arrives on the next ticks; ws answers it and emits close later.
    await new Promise((resolve) => setImmediate(resolve));
    expect(closeFrameReceived(server)).toBe(true);
    expect(await closed).toBe(1000);
  });

  it('a socket built without a network has none of it', () => {
    const bare = new WebSocket(null as unknown as string, undefined, { autoPong: true }); // as the mock socket builds it
    expect(tcpSocketOf(bare) ?? undefined).toBeUndefined();
    expect(senderOf(bare) ?? undefined).toBeUndefined();
    expect(closeFrameReceived(bare)).toBe(false);
    expect(negotiatedDeflate(bare)).toBe(false);
  });

  it('_readyState is what readyState reports (the mock socket sets it)', () => {
    const bare = new WebSocket(null as unknown as string, undefined, { autoPong: true }); // as the mock socket builds it
    expect(bare.readyState).toBe(WebSocket.CONNECTING);
    setReadyState(bare, WebSocket.OPEN);
    expect(bare.readyState).toBe(WebSocket.OPEN);
    setReadyState(bare, WebSocket.CLOSED);
    expect(bare.readyState).toBe(WebSocket.CLOSED);
  });
});
