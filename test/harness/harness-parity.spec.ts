import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ConnectedSocket, MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { HandshakeClient, SwitchboardSocket } from '../../lib/index.js';
import { AckError, createGatewayHarness, UpgradeRefusedError, type GatewayHarness, type HarnessTransport } from '../../lib/testing/index.js';
import { RpcGateway, RoomsGateway as ParamsGateway } from '../fixtures/protocol.gateways.js';
import { NewsService, RoomsGateway } from '../fixtures/rooms.gateway.js';
import { SwitchboardModule } from '../../lib/index.js';

@Injectable()
class TokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const client = context.switchToWs().getClient<HandshakeClient>();
    if (client.token !== 'secret') {
      throw new UnauthorizedException('Bad token');
    }
    client.data.user = 'ada';
    return true;
  }
}

@WebSocketGateway({ path: '/private', auth: { guards: [TokenGuard] }, rateLimit: { messagesPerSecond: 2, burst: 2, closeAfter: 3 } })
class PrivateGateway {
  @SubscribeMessage('me')
  me(@ConnectedSocket() client: SwitchboardSocket): unknown {
    return client.data;
  }

  @SubscribeMessage('confirm')
  async confirm(@ConnectedSocket() client: SwitchboardSocket, @MessageBody() question: string): Promise<unknown> {
    return { answer: await client.request('confirm?', question, { timeout: 500 }) };
  }
}

/**
 * The same scenarios over the in-memory transport and over real TCP: the
 * harness must not behave differently from a real connection.
 */
describe.each<HarnessTransport>(['memory', 'tcp'])('gateway harness over %s', (transport) => {
  let harness: GatewayHarness;

  beforeEach(async () => {
    harness = await createGatewayHarness(
      { imports: [SwitchboardModule.forRoot()], providers: [RpcGateway, ParamsGateway, RoomsGateway, NewsService, PrivateGateway, TokenGuard] },
      { transport },
    );
  });

  afterEach(() => harness.close());

  it('resolves a request with its ack data, and rejects an error ack with its code', async () => {
    const client = await harness.connect('/rpc');
    await expect(client.request('add', { a: 2, b: 5 })).resolves.toBe(7);
    const failure = await client.request('ws-object').catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(AckError);
    expect(failure).toMatchObject({ code: 'ROOM_FULL', message: 'The room is full', details: { capacity: 2 } });
    await expect(client.request('guarded')).rejects.toMatchObject({ code: 'FORBIDDEN' });
  });

  it('passes the handshake: path parameters, query and headers', async () => {
    const client = await harness.connect('/rooms/blue%20room?invite=abc', { headers: { 'user-agent': 'harness' } });
    await expect(client.request('where')).resolves.toEqual({
      path: '/rooms/blue%20room',
      route: '/rooms/:room',
      params: { room: 'blue room' },
      query: { invite: 'abc' },
    });
    const rpc = await harness.connect('/rpc', { headers: { 'user-agent': 'harness' } });
    await expect(rpc.request('whoami')).resolves.toMatchObject({ userAgent: 'harness', remoteAddress: '127.0.0.1', path: '/rpc' });
  });

  it('reports refused handshakes with their status and body', async () => {
    const refused = await harness.connect('/private').catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(UpgradeRefusedError);
    expect(refused).toMatchObject({ status: 401, body: { code: 'UNAUTHORIZED', message: 'Bad token' } });
    await expect(harness.connect('/nowhere')).rejects.toMatchObject({ status: 404, body: { code: 'NOT_FOUND' } });
    const client = await harness.connect('/private', { headers: { authorization: 'Bearer secret' } });
    await expect(client.request('me')).resolves.toEqual({ user: 'ada' });
  });

  it('waits for events, asserts silence, and serves several clients for rooms', async () => {
    const ada = await harness.connect('/rooms');
    const bob = await harness.connect('/rooms');
    const eve = await harness.connect('/rooms');
    await ada.request('join', 'lobby');
    await bob.request('join', 'lobby');
    await ada.request('say', { room: 'lobby', text: 'hi' });
    await expect(bob.expectEvent('said')).resolves.toMatchObject({ text: 'hi' });
    await ada.expectNoEvent('said', 50);
    await eve.expectNoEvent(50);
    harness.get(NewsService).publish('lobby', 'extra');
    await expect(ada.expectEvent('news')).resolves.toBe('extra');
    await expect(bob.nextEvent()).resolves.toMatchObject({ event: 'news', data: 'extra' });
  });

  it('times out a wait with a readable error', async () => {
    const client = await harness.connect('/rooms');
    await expect(client.expectEvent('never', { timeout: 50 })).rejects.toThrow(/Waited 50 ms for the event "never"/);
  });

  it('answers server-to-client requests', async () => {
    const client = await harness.connect('/private', { headers: { authorization: 'secret' } });
    client.onRequest('confirm?', (question) => `yes to ${String(question)}`);
    await expect(client.request('confirm', 'deploy')).resolves.toEqual({ answer: 'yes to deploy' });
  });

  it('sees the close code', async () => {
    const client = await harness.connect('/private', { headers: { authorization: 'secret' } });
    for (let i = 0; i < 8; i++) {
      client.send('me');
    }
    await expect(client.expectClose(1008)).resolves.toEqual({ code: 1008, reason: 'RATE_LIMITED' });
  });

  it('closes every client with 1001 when the harness closes', async () => {
    const client = await harness.connect('/rpc');
    const closed = client.expectClose(1001);
    await harness.close();
    await expect(closed).resolves.toMatchObject({ code: 1001 });
    harness = await createGatewayHarness({ providers: [RpcGateway] }, { transport });
  });
});
