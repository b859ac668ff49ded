import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { SwitchboardAdapter, type SwitchboardSocket } from '../../lib/index.js';
import type { InboundMessage } from '../../lib/interfaces/envelope.interface.js';
import { createGatewayHarness, type GatewayHarness, type GatewayTestClient } from '../../lib/testing/index.js';
import { ackFor, expectNothing, nextFrame } from '../helpers/harness-client.js';

/**
 * The typed extension points that replace overriding WsAdapter's
 * `bindMessageHandler`: decode a frame into {event, data, id?}, choose the handler.
 */
class TupleAdapter extends SwitchboardAdapter {
  static decodedFor: string[] = [];

  /** Frames are `[event, data, id?]` arrays; `#...` frames are dropped. */
  protected override decodeMessage(frame: Buffer, _isBinary: boolean, client: SwitchboardSocket) {
    TupleAdapter.decodedFor.push(client.id);
    const text = frame.toString();
    if (text.startsWith('#')) {
      return undefined;
    }
    const [event, data, id] = JSON.parse(text) as [string, unknown, string | undefined];
    return { event, data, id };
  }

  /** `v1:` prefixes are an old client's names for the same handlers; anything else unknown goes to `fallback`. */
  protected override routeMessage(message: InboundMessage): string | undefined {
    const event = message.event.startsWith('v1:') ? message.event.slice(3) : message.event;
    return event === 'echo' || event === 'fallback' ? event : 'fallback';
  }
}

@WebSocketGateway({ path: '/tuples' })
class TupleGateway {
  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown): unknown {
    return { event: 'echo', data };
  }

  @SubscribeMessage('fallback')
  fallback(@MessageBody() data: unknown): unknown {
    return { event: 'fallback', data };
  }
}

describe('subclass extension points (decodeMessage, routeMessage)', () => {
  let harness: GatewayHarness;
  let client: GatewayTestClient;

  beforeAll(async () => {
    // The shipped harness builds the subclass (no port): the extension points run in memory.
    harness = await createGatewayHarness({ providers: [TupleGateway] }, { adapterClass: TupleAdapter });
    client = await harness.connect('/tuples');
  });
  afterAll(async () => {
    await client.close();
    await harness.close();
  });

  it('decodes frames with the subclass and hands it the client', async () => {
    client.sendRaw(JSON.stringify(['echo', { n: 1 }]));
    expect(await nextFrame(client, 'echo')).toEqual({ event: 'echo', data: { n: 1 } });
    expect(TupleAdapter.decodedFor.length).toBeGreaterThan(0);
    expect(new Set(TupleAdapter.decodedFor).size).toBe(1);
  });

  it('routes aliases and unknown events to the handler the subclass chooses', async () => {
    client.sendRaw(JSON.stringify(['v1:echo', 'old']));
    expect(await nextFrame(client, 'echo')).toEqual({ event: 'echo', data: 'old' });
    client.sendRaw(JSON.stringify(['whatever', 'caught']));
    expect(await nextFrame(client, 'fallback')).toEqual({ event: 'fallback', data: 'caught' });
  });

  it('keeps the protocol checks on what the decoder returns: one ack per id', async () => {
    client.sendRaw(JSON.stringify(['echo', 'acked', 'r1']));
    expect(await ackFor(client, 'r1')).toEqual({ id: 'r1', status: 'ok', data: { event: 'echo', data: 'acked' } });
    client.sendRaw('#comment');
    client.sendRaw('not json');
    await expectNothing(client, 100);
    client.sendRaw(JSON.stringify([42, 'bad event', 'r2']));
    expect(await ackFor(client, 'r2')).toMatchObject({ id: 'r2', status: 'error', error: { code: 'INVALID_MESSAGE' } });
  });
});
