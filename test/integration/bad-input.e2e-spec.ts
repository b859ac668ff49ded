import { connect as connectTcp } from 'node:net';
import { MessageBody, SubscribeMessage, WebSocketGateway, type OnGatewayDisconnect } from '@nestjs/websockets';
import WebSocket from 'ws';
import { JsonCodec } from '../../lib/index.js';
import { createGatewayHarness, type GatewayHarness, type GatewayTestClient } from '../../lib/testing/index.js';
import { RpcGateway } from '../fixtures/protocol.gateways.js';
import { ackFor, expectNothing, nextFrame } from '../helpers/harness-client.js';
import { RecordingLogger, startApp, type RunningApp } from '../helpers/nest-app.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitUntil } from './drop-in.suite.js';

function gatewayWith(path: string, options: Record<string, unknown>) {
  @WebSocketGateway({ path, ...options })
  class PolicyGateway implements OnGatewayDisconnect {
    static disconnects = 0;
    handleDisconnect(): void {
      PolicyGateway.disconnects++;
    }
    @SubscribeMessage('echo')
    echo(@MessageBody() data: unknown): unknown {
      return { event: 'echo', data };
    }
  }
  return PolicyGateway;
}

const ReplyGateway = gatewayWith('/reply', { invalidMessage: 'reply', unknownEvent: 'reply' });
const IgnoreGateway = gatewayWith('/ignore', {});
const CloseGateway = gatewayWith('/close', { invalidMessage: 'close' });
const CloseStrictGateway = gatewayWith('/close-strict', { invalidMessage: 'close', codec: new JsonCodec({ acceptBinary: false }) });
const ShallowGateway = gatewayWith('/shallow', { maxDepth: 3, invalidMessage: 'reply' });
const StrictGateway = gatewayWith('/strict', { invalidMessage: 'reply', codec: new JsonCodec({ acceptBinary: false }) });
const SmallGateway = gatewayWith('/small', { maxPayload: 1024 });

const GATEWAYS = [RpcGateway, ReplyGateway, IgnoreGateway, CloseGateway, CloseStrictGateway, StrictGateway, SmallGateway, ShallowGateway];

describe('bad input gets a documented answer, never a crash', () => {
  let harness: GatewayHarness;
  let logger: RecordingLogger;

  function connect(path: string): Promise<GatewayTestClient> {
    return harness.connect(path);
  }

  beforeEach(async () => {
    logger = new RecordingLogger();
    harness = await createGatewayHarness({ providers: GATEWAYS }, { logger });
  });

  afterEach(async () => {
    await harness.close();
    // Nothing a client sends is a server bug: nothing reaches the error log.
    expect(logger.errors()).toEqual([]);
  });

  describe("policy 'reply' (opt-in)", () => {
    it.each([
      ['malformed JSON', 'DECODE_FAILED', '{"event": "echo", '],
      ['a bare string', 'INVALID_MESSAGE', '"hello"'],
      ['a number', 'INVALID_MESSAGE', '42'],
      ['null', 'INVALID_MESSAGE', 'null'],
      ['an array', 'INVALID_MESSAGE', '[{"event":"echo"}]'],
      ['a missing event', 'INVALID_MESSAGE', '{"data": 1}'],
      ['a numeric event', 'INVALID_MESSAGE', '{"event": 7}'],
      ['an empty event', 'INVALID_MESSAGE', '{"event": ""}'],
      ['an object id', 'INVALID_MESSAGE', '{"event": "echo", "id": {"a": 1}}'],
      ['a boolean id', 'INVALID_MESSAGE', '{"event": "echo", "id": true}'],
      ['an id of 200 characters', 'INVALID_MESSAGE', JSON.stringify({ event: 'echo', id: 'x'.repeat(200) })],
      ['an unknown event', 'UNKNOWN_EVENT', '{"event": "nope"}'],
    ])('answers %s with an exception event coded %s and stays open', async (_label, code, frame) => {
      const client = await connect('/reply');
      client.sendRaw(frame);
      const exception = await nextFrame(client, 'exception');
      expect(exception).toEqual({ event: 'exception', data: { status: 'error', code, message: expect.any(String) } });
      client.send('echo', 'after');
      await expect(client.expectEvent('echo')).resolves.toBe('after');
    });

    it('answers a frame without an event but with an id with an error ack', async () => {
      const client = await connect('/rpc');
      client.sendRaw({ id: 'no-event', data: 1 });
      expect(await ackFor(client, 'no-event')).toMatchObject({ status: 'error', error: { code: 'INVALID_MESSAGE' } });
    });

    it('answers a binary frame with UNSUPPORTED_DATA when the JSON codec refuses binary', async () => {
      const client = await connect('/strict');
      client.sendRaw(Buffer.from(JSON.stringify({ event: 'echo', data: 1 })), { binary: true });
      expect((await client.expectEvent<{ code: string }>('exception')).code).toBe('UNSUPPORTED_DATA');
    });

    it('reads JSON in binary frames by default, as platform-ws does', async () => {
      const client = await connect('/ignore');
      client.sendRaw(Buffer.from(JSON.stringify({ event: 'echo', data: 'bin' })), { binary: true });
      await expect(client.expectEvent('echo')).resolves.toBe('bin');
    });

    it('never echoes the client input back in protocol errors', async () => {
      const client = await connect('/reply');
      client.sendRaw('{"event": "<script>alert(1)</script>-unknown"}');
      const exception = await nextFrame(client, 'exception');
      expect(JSON.stringify(exception)).not.toContain('script');
    });
  });

  describe('prototype names and keys', () => {
    it.each(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'])(
      'treats %s as an unknown event',
      async (event) => {
        const client = await connect('/rpc');
        await expect(client.request(event, {}, { id: event })).rejects.toMatchObject({ code: 'UNKNOWN_EVENT' });
      },
    );

    it('passes __proto__ and constructor keys through as plain data without polluting prototypes', async () => {
      const client = await connect('/rpc');
      RpcGateway.seen = [];
      client.sendRaw('{"event": "record", "id": 1, "data": {"__proto__": {"polluted": true}, "constructor": {"prototype": {"polluted": true}}}}');
      expect(await ackFor(client, 1)).toMatchObject({ status: 'ok', data: 'recorded' });
      const seen = RpcGateway.seen[0] as Record<string, unknown>;
      expect(Object.keys(seen)).toEqual(['__proto__', 'constructor']);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect((Object.prototype as unknown as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('parses __proto__ in the query string as a plain key', async () => {
      const client = await connect('/rpc?__proto__=x&constructor=y');
      const reply = await client.request<{ query: unknown }>('whoami', null);
      expect(reply.query).toEqual(JSON.parse('{"__proto__": "x", "constructor": "y"}'));
      expect(({} as Record<string, unknown>).x).toBeUndefined();
    });
  });

  describe("policy 'ignore' (default)", () => {
    it('drops malformed frames and unknown events silently, but still acks an id', async () => {
      const client = await connect('/ignore');
      client.sendRaw('not json');
      client.sendRaw('[1,2]');
      client.send('nope');
      await expectNothing(client, 100);
      await expect(client.request('nope', undefined, { id: 'still-acked' })).rejects.toMatchObject({ code: 'UNKNOWN_EVENT' });
    });
  });

  describe("policy 'close'", () => {
    it('closes with 1007 on malformed JSON', async () => {
      const client = await connect('/close');
      client.sendRaw('{oops');
      expect(await client.expectClose()).toEqual({ code: 1007, reason: 'DECODE_FAILED' });
    });

    it('closes with 1007 on a message that is not protocol v1', async () => {
      const client = await connect('/close');
      client.sendRaw('[]');
      expect(await client.expectClose()).toEqual({ code: 1007, reason: 'INVALID_MESSAGE' });
    });

    it('acks a message with an id before closing', async () => {
      const client = await connect('/close');
      client.sendRaw('{"id": 5, "data": "no event"}');
      expect(await ackFor(client, 5)).toMatchObject({ status: 'error', error: { code: 'INVALID_MESSAGE' } });
      expect(await client.expectClose()).toEqual({ code: 1007, reason: 'INVALID_MESSAGE' });
    });

    it('closes with 1003 on a binary frame to a JSON gateway that refuses binary', async () => {
      const client = await connect('/close-strict');
      client.sendRaw(Buffer.from([1, 2, 3]), { binary: true });
      expect(await client.expectClose()).toEqual({ code: 1003, reason: 'UNSUPPORTED_DATA' });
    });
  });

  describe('nesting depth', () => {
    const nested = (depth: number): string => '['.repeat(depth) + ']'.repeat(depth);

    it('refuses a message nested 10,000 levels deep with an INVALID_MESSAGE ack and no error log', async () => {
      // Echoed back, such a message would overflow the stack in the encoder.
      const client = await connect('/ignore');
      for (let i = 0; i < 20; i++) {
        client.sendRaw(`{"event": "echo", "id": ${i}, "data": ${nested(10_000)}}`);
      }
      for (let i = 0; i < 20; i++) {
        expect(await ackFor(client, i)).toMatchObject({ status: 'error', error: { code: 'INVALID_MESSAGE', message: expect.stringContaining('64') } });
      }
      await expect(client.request('echo', 'after', { id: 'after' })).resolves.toMatchObject({ event: 'echo', data: 'after' });
    });

    it('drops a deep message without an id silently by default', async () => {
      const client = await connect('/ignore');
      client.sendRaw(`{"event": "echo", "data": ${nested(10_000)}}`);
      await expectNothing(client, 150);
    });

    it('accepts nesting up to maxDepth and refuses one level more', async () => {
      const client = await connect('/shallow');
      // The envelope is level 1: data two levels deeper is level 3.
      client.send('echo', { a: { b: 'padding to pass the size gate' } });
      await expect(client.expectEvent('echo')).resolves.toEqual({ a: { b: 'padding to pass the size gate' } });
      client.send('echo', { a: { b: { c: 'padding to pass the size gate' } } });
      await expect(client.expectEvent('exception')).resolves.toMatchObject({ code: 'INVALID_MESSAGE' });
    });
  });

  describe('frames and transport', () => {
    it('closes a frame over maxPayload (1 MiB by default) with 1009 and keeps other clients served', async () => {
      const bystander = await connect('/reply');
      const client = await connect('/reply');
      client.send('echo', 'x'.repeat(1024 * 1024));
      expect(await client.expectClose()).toEqual({ code: 1009, reason: 'MESSAGE_TOO_BIG' });
      bystander.send('echo', 'fine');
      await expect(bystander.expectEvent('echo')).resolves.toBe('fine');
    });

    it('accepts a frame just under 1 MiB', async () => {
      const client = await connect('/reply');
      const data = 'y'.repeat(1024 * 1024 - 100);
      client.send('echo', data);
      expect(await client.expectEvent('echo')).toHaveLength(data.length);
    });

    it('honours a per-gateway maxPayload', async () => {
      const client = await connect('/small');
      client.send('echo', 'z'.repeat(2000));
      expect((await client.expectClose()).code).toBe(1009);
    });

    it('survives invalid UTF-8 in a text frame (ws closes with 1007)', async () => {
      const client = await connect('/reply');
      // A text frame whose payload is not UTF-8 (the ws client masks it and does not check it).
      client.sendRaw(Buffer.from([0xff, 0xfe, 0xfd]), { binary: false });
      expect(await client.expectClose()).toEqual({ code: 1007, reason: 'DECODE_FAILED' });
    });

    it('answers a flood of 5,000 requests, each exactly once and in order', async () => {
      const client = await connect('/rpc');
      const count = 5000;
      for (let i = 0; i < count; i++) {
        client.sendRaw({ event: 'add', data: { a: i, b: 0 }, id: i });
      }
      await waitUntil(() => client.messages.length >= count, 10000);
      const ids = client.messages.map((message) => (message.raw as { id: unknown }).id);
      expect(ids).toEqual(Array.from({ length: count }, (_, i) => i));
    });
  });
});

/** Peers that only TCP has: a raw socket that vanishes mid-frame, a ws client whose TCP socket stops reading. */
describe('bad input over TCP', () => {
  let running: RunningApp;
  let logger: RecordingLogger;
  const clients: TestClient[] = [];

  async function connect(path: string): Promise<TestClient> {
    const client = await TestClient.connect(running.url(path));
    clients.push(client);
    return client;
  }

  beforeEach(async () => {
    logger = new RecordingLogger();
    running = await startApp({ providers: GATEWAYS, logger });
  });

  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.close()));
    await running.close();
    // Nothing a client sends is a server bug: nothing reaches the error log.
    expect(logger.errors()).toEqual([]);
  });

  it('cleans up after a client that vanishes in the middle of a frame', async () => {
    const Gateway = ReplyGateway as unknown as { disconnects: number };
    const before = Gateway.disconnects;
    const raw = connectTcp(running.port, '127.0.0.1');
    await new Promise((resolve) => raw.once('connect', resolve));
    raw.write(
      'GET /reply HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await new Promise((resolve) => raw.once('data', resolve)); // 101 Switching Protocols
    // Header of a masked 1000-byte text frame, then only 10 bytes of it.
    raw.write(Buffer.from([0x81, 0x80 | 126, 0x03, 0xe8, 1, 2, 3, 4, ...Buffer.alloc(10)]));
    raw.destroy();
    await waitUntil(() => Gateway.disconnects === before + 1);
    const client = await connect('/reply');
    client.send({ event: 'echo', data: 'ok' });
    expect((await client.event('echo')).data).toBe('ok');
  });

  it('closes a client that pauses reading without affecting the server', async () => {
    const slow = new WebSocket(running.url('/reply'));
    await new Promise((resolve) => slow.once('open', resolve));
    (slow as unknown as { _socket: import('node:net').Socket })._socket.pause();
    for (let i = 0; i < 200; i++) {
      slow.send(JSON.stringify({ event: 'echo', data: 'x'.repeat(10000) }));
    }
    const client = await connect('/reply');
    client.send({ event: 'echo', data: 'responsive' });
    expect((await client.event('echo')).data).toBe('responsive');
    slow.terminate();
  });
});
