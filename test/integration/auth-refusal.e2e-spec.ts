import { ForbiddenException, Injectable, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { WebSocketGateway } from '@nestjs/websockets';
import type { HandshakeClient } from '../../lib/index.js';
import { rawUpgrade } from '../helpers/http-upgrade.js';
import { startApp, type RunningApp } from '../helpers/nest-app.js';

/** 401 without a token, 403 for a token without the right. */
@Injectable()
class TokenGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const { token } = context.switchToWs().getClient<HandshakeClient>();
    if (token === undefined) {
      throw new UnauthorizedException('Missing token');
    }
    if (token !== 'admin') {
      throw new ForbiddenException('Admins only');
    }
    return true;
  }
}

@WebSocketGateway({ path: '/guarded', auth: { guards: [TokenGuard] } })
class GuardedGateway {}

@WebSocketGateway({ path: '/denied', auth: { guards: [{ canActivate: () => false }] } })
class DeniedGateway {}

@WebSocketGateway({ path: '/cookie', auth: { authenticate: (client: HandshakeClient) => (client.token === 'sid-ok' ? { user: 1 } : null), token: { cookie: 'sid' } } })
class CookieGateway {}

@WebSocketGateway({ path: '/origins', auth: { origins: ['https://app.example'] } })
class OriginGateway {}

describe('handshake refusals: WWW-Authenticate', () => {
  let running: RunningApp;

  beforeAll(async () => {
    running = await startApp({ providers: [TokenGuard, GuardedGateway, DeniedGateway, CookieGateway, OriginGateway] });
  });
  afterAll(() => running.close());

  it('a 401 from a guard carries a Bearer challenge and the JSON body', async () => {
    const refused = await rawUpgrade(running.port, '/guarded');
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="websocket"');
    expect(JSON.parse(refused.body)).toEqual({ code: 'UNAUTHORIZED', message: 'Missing token' });
  });

  it('a 401 from an authenticator (token from a cookie) carries the challenge too', async () => {
    const refused = await rawUpgrade(running.port, '/cookie', { cookie: 'sid=forged' });
    expect(refused.status).toBe(401);
    expect(refused.headers['www-authenticate']).toBe('Bearer realm="websocket"');
    expect(JSON.parse(refused.body).code).toBe('UNAUTHORIZED');
    expect((await rawUpgrade(running.port, '/cookie', { cookie: 'sid=sid-ok' })).status).toBe(101);
  });

  it('a 403 has no challenge: a thrown ForbiddenException, a guard returning false, a refused origin', async () => {
    const forbidden = await rawUpgrade(running.port, '/guarded', { authorization: 'Bearer reader' });
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers['www-authenticate']).toBeUndefined();
    const denied = await rawUpgrade(running.port, '/denied');
    expect(denied.status).toBe(403);
    expect(denied.headers['www-authenticate']).toBeUndefined();
    const origin = await rawUpgrade(running.port, '/origins', { origin: 'https://evil.example' });
    expect(origin.status).toBe(403);
    expect(origin.headers['www-authenticate']).toBeUndefined();
  });

  it('other refusals have no challenge (404)', async () => {
    const missing = await rawUpgrade(running.port, '/nowhere');
    expect(missing.status).toBe(404);
    expect(missing.headers['www-authenticate']).toBeUndefined();
  });

  it('an accepted token upgrades', async () => {
    expect((await rawUpgrade(running.port, '/guarded', { authorization: 'Bearer admin' })).status).toBe(101);
  });
});
