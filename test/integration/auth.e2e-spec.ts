import { Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { ConnectedSocket, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import type { HandshakeAuthenticator, HandshakeClient, SwitchboardSocket } from '../../lib/index.js';
import { createGatewayHarness, type GatewayHarness } from '../../lib/testing/index.js';
import { expectUpgraded, refusalOf } from '../helpers/harness-client.js';
import { RecordingLogger, startApp, type RunningApp } from '../helpers/nest-app.js';
import { maskedTextFrame, RawPeer } from '../helpers/raw-peer.js';
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
  let harness: GatewayHarness;
  let logger: RecordingLogger;

  beforeAll(async () => {
    logger = new RecordingLogger();
    harness = await createGatewayHarness(
      { providers: [TokenService, TokenGuard, SessionAuthenticator, GuardedGateway, AdminGateway, SessionGateway, HangingGateway, CrashGateway, OriginGateway] },
      { logger },
    );
  });
  afterAll(() => harness.close());

  it('runs an injectable guard on the upgrade: 401 with a JSON body without a valid token', async () => {
    const missing = await refusalOf(harness.connect('/guarded'));
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ code: 'UNAUTHORIZED', message: 'Bad or missing token' });
    const wrong = await refusalOf(harness.connect('/guarded', { headers: { authorization: 'Bearer nope' } }));
    expect(wrong.status).toBe(401);
  });

  it('accepts a valid bearer token and makes what the guard stored client.data', async () => {
    const client = await harness.connect('/guarded', { headers: { authorization: 'Bearer good-token' } });
    expect((await client.request<{ data: unknown }>('whoami', null)).data).toEqual({ user: { name: 'ada', role: 'admin' } });
    await client.close();
  });

  it('answers 403 when a guard returns false', async () => {
    const refused = await refusalOf(harness.connect('/admins', { headers: { authorization: 'reader-token' } }));
    expect(refused.status).toBe(403);
    expect(refused.body).toEqual({ code: 'FORBIDDEN', message: 'Forbidden resource' });
    await expectUpgraded(harness.connect('/admins', { headers: { authorization: 'good-token' } }));
  });

  it('uses an injectable authenticator whose result becomes client.data', async () => {
    const client = await harness.connect('/session', { headers: { cookie: 'theme=dark; sid=reader-token' } });
    expect((await client.request<{ data: unknown }>('whoami', null)).data).toEqual({ name: 'bob', role: 'reader' });
    await client.close();
    expect((await refusalOf(harness.connect('/session', { headers: { cookie: 'sid=forged' } }))).status).toBe(401);
  });

  it('reads the token from the query string', async () => {
    const client = await harness.connect('/session?token=good-token');
    expect((await client.request<{ data: unknown }>('whoami', null)).data).toEqual({ name: 'ada', role: 'admin' });
    await client.close();
  });

  it('reads the token from Sec-WebSocket-Protocol, as browsers must send it, and answers with the marker', async () => {
    const client = await harness.connect('/session', { protocols: ['access_token', 'good-token'] });
    expect(client.socket.protocol).toBe('access_token');
    await expect(client.request('whoami', null)).resolves.toEqual({ data: { name: 'ada', role: 'admin' }, protocol: 'access_token' });
    await client.close();
  });

  it('answers 503 AUTH_TIMEOUT when authentication hangs', async () => {
    const answer = await refusalOf(harness.connect('/hangs'));
    expect(answer.status).toBe(503);
    expect(answer.body.code).toBe('AUTH_TIMEOUT');
  });

  it('answers 500 and logs once when a guard crashes', async () => {
    const before = logger.errors().length;
    const answer = await refusalOf(harness.connect('/crash'));
    expect(answer.status).toBe(500);
    expect(answer.body).toEqual({ code: 'INTERNAL', message: 'Internal server error' });
    expect(logger.errors().length).toBe(before + 1);
    expect(JSON.stringify(answer.body)).not.toContain('undefined is not a function');
  });

  it('enforces an origin allow-list', async () => {
    await expectUpgraded(harness.connect('/origins', { headers: { origin: 'https://app.example' } }));
    await expectUpgraded(harness.connect('/origins', { headers: { origin: 'https://eu.example.org' } }));
    const foreign = await refusalOf(harness.connect('/origins', { headers: { origin: 'https://evil.example' } }));
    expect(foreign.status).toBe(403);
    expect(foreign.body.code).toBe('FORBIDDEN');
    expect((await refusalOf(harness.connect('/origins'))).status).toBe(403);
  });
});

/** A raw TCP peer, whose first frame rides in the same TCP write as the upgrade request. */
describe('handshake authentication: a frame sent with the upgrade request', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ providers: [SlowAuthGateway], logger: new RecordingLogger() });
  });
  afterAll(() => running.close());

  it('never dispatches a message before authentication has finished', async () => {
    SlowAuthGateway.seen = [];
    // The first frame rides in the same TCP write as the upgrade request.
    const { peer, response } = await RawPeer.open(running.port, '/slow-auth?token=ok', '', maskedTextFrame('{"event":"first"}'));
    expect(response).toContain('101');
    await waitUntil(() => SlowAuthGateway.seen.length === 1);
    expect(SlowAuthGateway.seen[0]).toEqual({ name: 'late' });
    peer.destroy();
  });
});
