import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { Packr } from 'msgpackr';
import { createMessagePackCodec, type Codec } from '../../lib/index.js';
import { createGatewayHarness, type GatewayHarness, type GatewayTestClient } from '../../lib/testing/index.js';
import { ackFor, ackOf, nextFrame } from '../helpers/harness-client.js';

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
  /** The client speaks plain msgpackr, independent of the server's codec. */
  const clientCodec: Codec = { name: 'msgpackr', binary: true, decode: (frame) => packr.unpack(frame), encode: (value) => packr.pack(value) };
  let harness: GatewayHarness;
  let client: GatewayTestClient;

  beforeAll(async () => {
    const codec = await createMessagePackCodec();
    harness = await createGatewayHarness({ providers: [BinaryGateway] }, { adapter: { codec, invalidMessage: 'reply' }, logger: false });
  });

  beforeEach(async () => {
    client = await harness.connect('/bin', { codec: clientCodec });
  });

  afterEach(() => client.close());
  afterAll(() => harness.close());

  it('acks a MessagePack request in a binary MessagePack frame', async () => {
    expect(await ackOf(client, 'echo', { n: 1, list: [1, 'two'] }, 7)).toEqual({ id: 7, status: 'ok', data: { event: 'echo', data: { n: 1, list: [1, 'two'] } } });
    expect(client.messages[0].binary).toBe(true);
  });

  it('carries raw bytes without base64', async () => {
    await expect(client.request('size', new Uint8Array(5000), { id: 's' })).resolves.toBe(5000);
  });

  it('replies to a message without id with the WsResponse, as JSON gateways do', async () => {
    client.send('echo', 'plain');
    expect(await nextFrame(client, 'echo')).toEqual({ event: 'echo', data: 'plain' });
  });

  it('refuses a text frame with UNSUPPORTED_DATA, encoded in MessagePack', async () => {
    client.sendRaw(JSON.stringify({ event: 'echo', data: 1 }));
    await expect(client.expectEvent('exception')).resolves.toMatchObject({ status: 'error', code: 'UNSUPPORTED_DATA' });
  });

  it('answers truncated MessagePack with DECODE_FAILED', async () => {
    client.sendRaw(Buffer.from([0x92, 0x01])); // an array of 2 with only 1 element
    expect((await client.expectEvent<{ code: string }>('exception')).code).toBe('DECODE_FAILED');
  });

  it('keeps __proto__ keys as plain data', async () => {
    // A MessagePack map with the key "__proto__", built by hand: fixmap(1), fixstr(9) "__proto__", fixmap(1) "a" -> 1
    const map = Buffer.concat([Buffer.from([0x81, 0xa9]), Buffer.from('__proto__'), Buffer.from([0x81, 0xa1, 0x61, 0x01])]);
    const frame = Buffer.concat([Buffer.from([0x83, 0xa5]), Buffer.from('event'), Buffer.from([0xa4]), Buffer.from('keys'), Buffer.from([0xa2]), Buffer.from('id'), Buffer.from([0x01, 0xa4]), Buffer.from('data'), map]);
    client.sendRaw(frame);
    const ack = await ackFor(client, 1);
    expect(ack.status).toBe('ok');
    expect(({} as Record<string, unknown>).a).toBeUndefined();
  });
});
