import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ConnectedSocket, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import WebSocket from 'ws';
import type { HandshakeAuthenticator, HandshakeClient, SwitchboardSocket } from '../../lib/index.js';
import { rawUpgrade } from '../helpers/http-upgrade.js';
import { RecordingLogger, startApp, type RunningApp } from '../helpers/nest-app.js';
import { maskedTextFrame, RawPeer } from '../helpers/raw-peer.js';
import { TestClient } from '../helpers/ws-client.js';
import { waitUntil } from './drop-in.suite.js';

/** An injected service: proves the guard and the authenticator get DI. */
@Injectable()
class TokenService {
  readonly users: Record<string, { name: string; role: string }> = {
    'good-token': { name: 'ada', role: 'admin' },
    'reader-token': { name: 'bob', role: 'reader' },
  };
  verify(token: string | undefined): { name: string; role: string } | undefined {
    return token === undefined ? undefined : this.users[token];
  }
}

/** A guard that works at the handshake: it fills client.data. */
@Injectable()
class TokenGuard implements CanActivate {
  constructor(private readonly tokens: TokenService) {}
  canActivate(context: ExecutionContext): boolean {
    const client = context.switchToWs().getClient<HandshakeClient>();
    const user = this.tokens.verify(client.token);
    if (user === undefined) {
      throw new UnauthorizedException('Bad or missing token');
    }
    client.data.user = user;
    return true;
  }
}

/** Not registered as a provider: instantiated with DI from the root module. */
@Injectable()
class AdminsOnly implements CanActivate {
  constructor(private readonly tokens: TokenService) {}
  canActivate(context: ExecutionContext): boolean {
    const user = context.switchToWs().getClient<HandshakeClient>().data.user as { name: string; role: string };
    return this.tokens.users['good-token'].name === user.name && user.role === 'admin';
  }
}

@Injectable()
class SessionAuthenticator implements HandshakeAuthenticator {
  constructor(private readonly tokens: TokenService) {}
  async authenticate(client: HandshakeClient): Promise<unknown> {
    await new Promise((resolve) => setTimeout(resolve, 5));
    return this.tokens.verify(client.token);
  }
}

@Injectable()
class CrashingGuard implements CanActivate {
  canActivate(): boolean {
    throw new Error('guard bug: undefined is not a function');
  }
}

const whoami = { whoami: (client: SwitchboardSocket) => ({ data: client.data, protocol: client.protocol }) };

@WebSocketGateway({ path: '/guarded', auth: { guards: [TokenGuard] } })
class GuardedGateway {
  @SubscribeMessage('whoami')
  me(@ConnectedSocket() client: SwitchboardSocket): unknown {
    return whoami.whoami(client);
  }
}

@WebSocketGateway({ path: '/admins', auth: { guards: [TokenGuard, AdminsOnly] } })
class AdminGateway {}

@WebSocketGateway({ path: '/session', auth: { authenticate: SessionAuthenticator, token: { cookie: 'sid', query: 'token', protocol: 'access_token' } } })
class SessionGateway {
  @SubscribeMessage('whoami')
  me(@ConnectedSocket() client: SwitchboardSocket): unknown {
    return whoami.whoami(client);
  }
}

@WebSocketGateway({
  path: '/slow-auth',
  auth: {
    authenticate: async (client: HandshakeClient) => {
      await new Promise((resolve) => setTimeout(resolve, 150));
      return client.token === 'ok' ? { name: 'late' } : undefined;
    },
    token: { query: 'token' },
  },
})
class SlowAuthGateway {
  static seen: unknown[] = [];
  @SubscribeMessage('first')
  first(@ConnectedSocket() client: SwitchboardSocket): void {
    SlowAuthGateway.seen.push(client.data);
  }
}

@WebSocketGateway({ path: '/hangs', auth: { authenticate: () => new Promise(() => undefined), timeout: 100 } })
class HangingGateway {}

@WebSocketGateway({ path: '/crash', auth: { guards: [CrashingGuard] } })
class CrashGateway {}

@WebSocketGateway({ path: '/origins', auth: { origins: ['https://app.example', /^https:\/\/[a-z]+\.example\.org$/], requireOrigin: true } })
class OriginGateway {}

describe('handshake authentication', () => {
  let running: RunningApp;
  let logger: RecordingLogger;

  beforeAll(async () => {
    logger = new RecordingLogger();
    running = await startApp({
      providers: [TokenService, TokenGuard, SessionAuthenticator, GuardedGateway, AdminGateway, SessionGateway, SlowAuthGateway, HangingGateway, CrashGateway, OriginGateway],
      logger,
    });
  });
  afterAll(() => running.close());

  it('runs an injectable guard on the upgrade: 401 with a JSON body without a valid token', async () => {
    const missing = await rawUpgrade(running.port, '/guarded');
    expect(missing.status).toBe(401);
    expect(JSON.parse(missing.body)).toEqual({ code: 'UNAUTHORIZED', message: 'Bad or missing token' });
    const wrong = await rawUpgrade(running.port, '/guarded', { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
  });

  it('accepts a valid bearer token and makes what the guard stored client.data', async () => {
    const client = await TestClient.connect(running.url('/guarded'), { headers: { authorization: 'Bearer good-token' } });
    expect((await client.request('whoami', null)).data.data).toEqual({ user: { name: 'ada', role: 'admin' } });
    await client.close();
  });

  it('answers 403 when a guard returns false', async () => {
    const refused = await rawUpgrade(running.port, '/admins', { authorization: 'reader-token' });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body)).toEqual({ code: 'FORBIDDEN', message: 'Forbidden resource' });
    expect((await rawUpgrade(running.port, '/admins', { authorization: 'good-token' })).status).toBe(101);
  });

  it('uses an injectable authenticator whose result becomes client.data', async () => {
    const client = await TestClient.connect(running.url('/session'), { headers: { cookie: 'theme=dark; sid=reader-token' } });
    expect((await client.request('whoami', null)).data.data).toEqual({ name: 'bob', role: 'reader' });
    await client.close();
    expect((await rawUpgrade(running.port, '/session', { cookie: 'sid=forged' })).status).toBe(401);
  });

  it('reads the token from the query string', async () => {
    const client = await TestClient.connect(running.url('/session?token=good-token'));
    expect((await client.request('whoami', null)).data.data).toEqual({ name: 'ada', role: 'admin' });
    await client.close();
  });

  it('reads the token from Sec-WebSocket-Protocol, as browsers must send it, and answers with the marker', async () => {
    const socket = new WebSocket(running.url('/session'), ['access_token', 'good-token']);
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    expect(socket.protocol).toBe('access_token');
    const client = new TestClient(socket);
    expect((await client.request('whoami', null)).data).toEqual({ data: { name: 'ada', role: 'admin' }, protocol: 'access_token' });
    await client.close();
  });

  it('never dispatches a message before authentication has finished', async () => {
    SlowAuthGateway.seen = [];
    // The first frame rides in the same TCP write as the upgrade request.
    const { peer, response } = await RawPeer.open(running.port, '/slow-auth?token=ok', '', maskedTextFrame('{"event":"first"}'));
    expect(response).toContain('101');
    await waitUntil(() => SlowAuthGateway.seen.length === 1);
    expect(SlowAuthGateway.seen[0]).toEqual({ name: 'late' });
    peer.destroy();
  });

  it('answers 503 AUTH_TIMEOUT when authentication hangs', async () => {
    const answer = await rawUpgrade(running.port, '/hangs');
    expect(answer.status).toBe(503);
    expect(JSON.parse(answer.body).code).toBe('AUTH_TIMEOUT');
  });

  it('answers 500 and logs once when a guard crashes', async () => {
    const before = logger.errors().length;
    const answer = await rawUpgrade(running.port, '/crash');
    expect(answer.status).toBe(500);
    expect(JSON.parse(answer.body)).toEqual({ code: 'INTERNAL', message: 'Internal server error' });
    expect(logger.errors().length).toBe(before + 1);
    expect(answer.body).not.toContain('undefined is not a function');
  });

  it('enforces an origin allow-list', async () => {
    expect((await rawUpgrade(running.port, '/origins', { origin: 'https://app.example' })).status).toBe(101);
    expect((await rawUpgrade(running.port, '/origins', { origin: 'https://eu.example.org' })).status).toBe(101);
    const foreign = await rawUpgrade(running.port, '/origins', { origin: 'https://evil.example' });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body).code).toBe('FORBIDDEN');
    expect((await rawUpgrade(running.port, '/origins')).status).toBe(403);
  });
});
