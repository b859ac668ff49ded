import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Packr } from 'msgpackr';
import { createMessagePackCodec, SwitchboardAdapter } from '../../lib/index.js';
import { startApp, type RunningApp } from '../helpers/nest-app.js';
import { TestClient } from '../helpers/ws-client.js';

@WebSocketGateway({ path: '/bin' })
class BinaryGateway {
  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown): unknown {
    return { event: 'echo', data };
  }

  @SubscribeMessage('size')
  size(@MessageBody() data: Uint8Array): number {
    return data.byteLength;
  }

  @SubscribeMessage('keys')
  keys(@MessageBody() data: Record<string, unknown>): string[] {
    return Object.keys(data);
  }
}

describe('MessagePack codec end to end', () => {
  const packr = new Packr({ useRecords: false });
  let running: RunningApp;
  let client: TestClient;

  beforeAll(async () => {
    const codec = await createMessagePackCodec();
    running = await startApp({ providers: [BinaryGateway], adapter: (app) => new SwitchboardAdapter(app, { codec, invalidMessage: 'reply' }) });
  });

  beforeEach(async () => {
    client = await TestClient.connect(running.url('/bin'), { decode: (data) => packr.unpack(data) });
  });

  afterEach(() => client.close());
  afterAll(() => running.close());

  function send(value: unknown): void {
    client.socket.send(packr.pack(value), { binary: true });
  }

  it('acks a MessagePack request in a binary MessagePack frame', async () => {
    send({ event: 'echo', data: { n: 1, list: [1, 'two'] }, id: 7 });
    expect(await client.ack(7)).toEqual({ id: 7, status: 'ok', data: { event: 'echo', data: { n: 1, list: [1, 'two'] } } });
    expect(client.rawFrames[0].isBinary).toBe(true);
  });

  it('carries raw bytes without base64', async () => {
    send({ event: 'size', data: new Uint8Array(5000), id: 's' });
    expect((await client.ack('s')).data).toBe(5000);
  });

  it('replies to a message without id with the WsResponse, as JSON gateways do', async () => {
    send({ event: 'echo', data: 'plain' });
    expect(await client.event('echo')).toEqual({ event: 'echo', data: 'plain' });
  });

  it('refuses a text frame with UNSUPPORTED_DATA, encoded in MessagePack', async () => {
    client.socket.send(JSON.stringify({ event: 'echo', data: 1 }));
    const exception = await client.event('exception');
    expect(exception.data).toMatchObject({ status: 'error', code: 'UNSUPPORTED_DATA' });
  });

  it('answers truncated MessagePack with DECODE_FAILED', async () => {
    client.socket.send(Buffer.from([0x92, 0x01]), { binary: true }); // an array of 2 with only 1 element
    expect((await client.event('exception')).data.code).toBe('DECODE_FAILED');
  });

  it('keeps __proto__ keys as plain data', async () => {
    // A MessagePack map with the key "__proto__", built by hand: fixmap(1), fixstr(9) "__proto__", fixmap(1) "a" -> 1
    const map = Buffer.concat([Buffer.from([0x81, 0xa9]), Buffer.from('__proto__'), Buffer.from([0x81, 0xa1, 0x61, 0x01])]);
    const frame = Buffer.concat([Buffer.from([0x83, 0xa5]), Buffer.from('event'), Buffer.from([0xa4]), Buffer.from('keys'), Buffer.from([0xa2]), Buffer.from('id'), Buffer.from([0x01, 0xa4]), Buffer.from('data'), map]);
    client.socket.send(frame, { binary: true });
    const ack = await client.ack(1);
    expect(ack.status).toBe('ok');
    expect(({} as Record<string, unknown>).a).toBeUndefined();
  });
});
