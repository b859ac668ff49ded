import { jest } from '@jest/globals';
import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway, WebSocketServer } from '@nestjs/websockets';
import { createMessagePackCodec, type SwitchboardServer, type SwitchboardSocket } from '../../lib/index.js';
import { createGatewayHarness, createMockSocket, MockSocket } from '../../lib/testing/index.js';
import { RpcGateway } from '../fixtures/protocol.gateways.js';

@WebSocketGateway({ path: '/beat', heartbeatInterval: 1000 })
class BeatGateway {
  static disconnects = 0;
  handleDisconnect(): void {
    BeatGateway.disconnects++;
  }
}

@WebSocketGateway({ path: '/ask', heartbeatInterval: 0 })
class AskGateway {
  @SubscribeMessage('ask')
  async ask(@ConnectedSocket() client: SwitchboardSocket): Promise<unknown> {
    try {
      return await client.request('anyone?', null, { timeout: 5000 });
    } catch (error) {
      return { failed: (error as { code: string }).code };
    }
  }
}

@WebSocketGateway(9911, { path: '/own-port' })
class OwnPortGateway {
  @SubscribeMessage('ping')
  ping(): string {
    return 'pong';
  }
}

@Injectable()
class PriceService {
  priceOf(_item: string): number {
    return 1;
  }
}

@WebSocketGateway({ path: '/prices' })
class PricesGateway {
  constructor(private readonly prices: PriceService) {}
  @SubscribeMessage('price')
  price(@MessageBody() item: string): number {
    return this.prices.priceOf(item);
  }
}

/** A gateway method unit-tested with the mock socket. */
@WebSocketGateway({ path: '/lobby' })
class LobbyGateway {
  @WebSocketServer() server!: SwitchboardServer;

  @SubscribeMessage('enter')
  enter(@ConnectedSocket() client: SwitchboardSocket<{ nick: string }>, @MessageBody() room: string): string[] {
    client.join(room);
    client.to(room).emit('entered', { nick: client.data.nick });
    client.sendEvent('welcome', { room, params: client.params });
    if (room === 'closed') {
      client.close(4000, 'ROOM_CLOSED');
    }
    return [...client.rooms];
  }

  async confirm(client: SwitchboardSocket): Promise<unknown> {
    return client.request('sure?', 'really');
  }
}

describe('harness with fake timers', () => {
  afterEach(() => {
    jest.useRealTimers();
  });

  it('tests the heartbeat without waiting: a peer that stops answering is terminated after two intervals', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    BeatGateway.disconnects = 0;
    const harness = await createGatewayHarness({ providers: [BeatGateway] });
    const alive = await harness.connect('/beat');
    const silent = await harness.connect('/beat', { autoPong: false });
    const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    jest.advanceTimersByTime(1000);
    await settle();
    jest.advanceTimersByTime(1000);
    await settle();
    await expect(silent.expectClose(1006)).resolves.toMatchObject({ code: 1006 });
    expect(alive.readyState).toBe(1);
    expect(BeatGateway.disconnects).toBe(1);
    await harness.close();
  });

  it('tests a server request timeout without waiting', async () => {
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const harness = await createGatewayHarness({ providers: [AskGateway] });
    const client = await harness.connect('/ask');
    const answer = client.request('ask', null, { timeout: 60_000 });
    await expect(client.expectEvent('anyone?')).resolves.toBeNull();
    jest.advanceTimersByTime(5000);
    await expect(answer).resolves.toEqual({ failed: 'REQUEST_TIMEOUT' });
    await harness.close();
  });
});

describe('harness targets and codecs', () => {
  it('reaches a gateway with its own port without binding it', async () => {
    const harness = await createGatewayHarness({ providers: [OwnPortGateway] });
    const client = await harness.connect('/own-port', { port: 9911 });
    await expect(client.request('ping')).resolves.toBe('pong');
    await harness.close();
  });

  it('takes a TestingModule with overridden providers', async () => {
    const moduleRef = await Test.createTestingModule({ providers: [PricesGateway, PriceService] })
      .overrideProvider(PriceService)
      .useValue({ priceOf: () => 99 })
      .compile();
    const harness = await createGatewayHarness(moduleRef);
    const client = await harness.connect('/prices');
    await expect(client.request('price', 'apple')).resolves.toBe(99);
    await harness.close();
  });

  it('speaks MessagePack when the adapter does', async () => {
    const codec = await createMessagePackCodec();
    const harness = await createGatewayHarness({ providers: [RpcGateway] }, { adapter: { codec } });
    const client = await harness.connect('/rpc', { codec });
    await expect(client.request('add', { a: 20, b: 22 })).resolves.toBe(42);
    expect(client.messages[0].binary).toBe(true);
    await harness.close();
  });
});

describe('mock socket for unit tests', () => {
  it('records joins, broadcasts, sends and closes of one gateway method', () => {
    const gateway = new LobbyGateway();
    const client = createMockSocket({ id: 'c1', data: { nick: 'ada' }, params: { floor: '2' } });
    expect(client).toBeInstanceOf(MockSocket);
    expect(gateway.enter(client, 'lobby')).toEqual(['lobby']);
    expect(client.joined).toEqual(['lobby']);
    expect(client.broadcasts).toEqual([{ event: 'entered', data: { nick: 'ada' }, rooms: ['lobby'], exceptClientIds: ['c1'], compress: false }]);
    expect(client.events()).toEqual([{ event: 'welcome', data: { room: 'lobby', params: { floor: '2' } } }]);
    gateway.enter(client, 'closed');
    expect(client.closedWith).toEqual({ code: 4000, reason: 'ROOM_CLOSED' });
    expect(client.readyState).toBe(3);
    client.leave('lobby');
    expect(client.left).toEqual(['lobby']);
    expect([...client.rooms]).toEqual(['closed']);
  });

  it('answers client.request from a registered answer', async () => {
    const client = createMockSocket().answerRequest('sure?', (question) => `yes, ${String(question)}`);
    await expect(new LobbyGateway().confirm(client)).resolves.toBe('yes, really');
    await expect(createMockSocket().request('unknown')).rejects.toMatchObject({ code: 'REQUEST_TIMEOUT' });
  });
});
