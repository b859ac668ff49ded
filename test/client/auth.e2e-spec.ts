import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { SwitchboardClient, type AuthContext, type ClientEvents, type SwitchboardClientOptions } from '../../lib/client/index.js';
import { startApp, type RunningApp } from '../helpers/nest-app.js';
import { AuthTestGateway, validTokens } from './fixtures/client.gateways.js';
import { SpecServer, sleep, until } from './helpers/spec-server.js';

/**
 * Token auth: `auth()` runs before every (re)connect; a refusal (HTTP 401 at
 * the adapter's handshake, or close 4401 after it) makes the client refresh
 * once and retry at once; a second refusal in a row stops it (state closed,
 * UNAUTHORIZED) instead of looping on a stale token.
 */
describe('SwitchboardClient auth', () => {
  let app: RunningApp;
  const clients: SwitchboardClient[] = [];

  function client(options: Partial<SwitchboardClientOptions<SwitchboardClient>>): SwitchboardClient {
    const created = new SwitchboardClient({ url: app.url('/auth'), reconnect: { delay: 20, maxDelay: 40 }, ...options });
    clients.push(created);
    return created;
  }

  /** An auth function that records its calls and gives `stale` unless refreshing (then `fresh`). */
  function recordingAuth(tokens: { first: string; refreshed: string }): { calls: AuthContext[]; auth: (context: AuthContext) => Promise<string> } {
    const calls: AuthContext[] = [];
    return {
      calls,
      auth: async (context) => {
        calls.push({ ...context });
        await sleep(1);
        return context.refresh ? tokens.refreshed : tokens.first;
      },
    };
  }

  beforeAll(async () => {
    app = await startApp({ providers: [AuthTestGateway] });
  });

  afterAll(() => app.close());

  beforeEach(() => {
    validTokens.clear();
  });

  afterEach(() => {
    clients.splice(0).forEach((created) => created.close());
  });

  it('sends the token as the access_token query parameter by default', async () => {
    validTokens.add('t-query');
    const sb = client({ auth: () => 't-query' });
    await expect(sb.request('whoami')).resolves.toEqual({ data: { token: 't-query' }, protocol: '' });
  });

  it("sends the token as a subprotocol with tokenIn: 'protocol' (the server answers with the marker)", async () => {
    validTokens.add('t-protocol');
    const sb = client({ auth: () => 't-protocol', tokenIn: 'protocol' });
    await expect(sb.request('whoami')).resolves.toEqual({ data: { token: 't-protocol' }, protocol: 'access_token' });
  });

  it('calls auth on every reconnect, not only the first connect', async () => {
    validTokens.add('good');
    const { calls, auth } = recordingAuth({ first: 'good', refreshed: 'good' });
    const sb = client({ auth });
    for (let round = 1; round <= 3; round++) {
      await sb.request('kick');
      await until(() => sb.stats.reconnects === round && sb.state === 'open');
    }
    expect(calls).toEqual([{ refresh: false }, { refresh: false }, { refresh: false }, { refresh: false }]);
    expect(sb.stats.reconnects).toBe(3);
  });

  it('refreshes once on a 401 and retries at once with the new token', async () => {
    validTokens.add('fresh');
    const { calls, auth } = recordingAuth({ first: 'stale', refreshed: 'fresh' });
    const closes: Array<ClientEvents['$close']> = [];
    const sb = client({ auth, reconnect: { delay: 60_000 } }); // a backoff wait would time the test out
    sb.on('$close', (info) => closes.push(info));
    await expect(sb.request('whoami')).resolves.toEqual({ data: { token: 'fresh' }, protocol: '' });
    expect(calls).toEqual([{ refresh: false }, { refresh: true }]);
    expect(closes).toEqual([{ code: 1006, reason: '', status: 401 }]);
  });

  it('stops after a second 401 in a row (state closed, UNAUTHORIZED), without looping', async () => {
    const { calls, auth } = recordingAuth({ first: 'stale', refreshed: 'still-stale' });
    const errors: unknown[] = [];
    const states: string[] = [];
    const sb = client({ auth });
    sb.on('$error', (error) => errors.push(error));
    sb.on('$state', (state) => states.push(state));
    const pending = sb.request('whoami').catch((error: unknown) => error);
    await expect(pending).resolves.toMatchObject({ code: 'UNAUTHORIZED' });
    await sleep(200); // ten backoff windows: no further attempt
    expect(calls).toEqual([{ refresh: false }, { refresh: true }]);
    expect(sb.state).toBe('closed');
    expect(states).toEqual(['reconnecting', 'closed']);
    expect(errors).toEqual([expect.objectContaining({ code: 'UNAUTHORIZED' })]);
    await expect(sb.request('whoami')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('after a token expires mid-session, refreshes again: each refusal gets its one refresh', async () => {
    validTokens.add('t1');
    let next = 1;
    const calls: AuthContext[] = [];
    const sb = client({
      auth: (context) => {
        calls.push({ ...context });
        if (context.refresh) {
          next++;
        }
        return `t${next}`;
      },
    });
    await expect(sb.request('whoami')).resolves.toMatchObject({ data: { token: 't1' } });
    validTokens.clear();
    validTokens.add('t2');
    let drops = 0;
    sb.on('$close', () => drops++);
    await sb.request('kick'); // the next handshake refuses t1
    await until(() => drops >= 1); // (then a 401, a refresh, and the open)
    await expect(sb.request('whoami')).resolves.toMatchObject({ data: { token: 't2' } });
    validTokens.clear();
    validTokens.add('t3');
    await sb.request('kick');
    await until(() => drops >= 3);
    await expect(sb.request('whoami')).resolves.toMatchObject({ data: { token: 't3' } });
    expect(calls).toEqual([{ refresh: false }, { refresh: false }, { refresh: true }, { refresh: false }, { refresh: true }]);
  });

  it('reports a throwing auth as $error and retries with backoff', async () => {
    validTokens.add('ok');
    let attempts = 0;
    const errors: unknown[] = [];
    const sb = client({
      auth: () => {
        if (++attempts < 3) {
          throw new Error('token service down');
        }
        return 'ok';
      },
    });
    sb.on('$error', (error) => errors.push(error));
    await expect(sb.request('whoami')).resolves.toMatchObject({ data: { token: 'ok' } });
    expect(errors).toHaveLength(2);
    expect(String(errors[0])).toContain('token service down');
  });

  describe('close 4401 after the handshake (a spec server)', () => {
    let server: SpecServer;
    let accepted: Set<string>;

    beforeAll(async () => {
      accepted = new Set();
      server = await SpecServer.start({
        recovery: false,
        onConnection: (socket) => {
          const token = new URL(socket.url, 'ws://x').searchParams.get('access_token') ?? '';
          if (!accepted.has(token)) {
            socket.ws.close(4401, 'UNAUTHORIZED');
          }
        },
      });
      server.handle('hello', () => 'hi');
    });

    afterAll(() => server.close());

    it('refreshes once and retries at once', async () => {
      accepted.add('fresh');
      const { calls, auth } = recordingAuth({ first: 'stale', refreshed: 'fresh' });
      const closes: Array<ClientEvents['$close']> = [];
      const sb = client({ url: server.url, auth, reconnect: { delay: 60_000 } }); // a backoff wait would time the test out
      sb.on('$close', (info) => closes.push(info));
      await until(() => calls.length === 2 && sb.state === 'open');
      await expect(sb.request('hello')).resolves.toBe('hi');
      expect(calls).toEqual([{ refresh: false }, { refresh: true }]);
      expect(closes).toEqual([{ code: 4401, reason: 'UNAUTHORIZED' }]);
    });

    it('stops on a second 4401 in a row', async () => {
      const { calls, auth } = recordingAuth({ first: 'stale', refreshed: 'also-stale' });
      const sb = client({ url: server.url, auth });
      const errors: unknown[] = [];
      sb.on('$error', (error) => errors.push(error));
      await until(() => sb.state === 'closed');
      await sleep(150);
      expect(calls).toEqual([{ refresh: false }, { refresh: true }]);
      expect(errors).toEqual([expect.objectContaining({ code: 'UNAUTHORIZED' })]);
      expect(server.connections.filter((socket) => socket.url.includes('also-stale'))).toHaveLength(1);
      await expect(sb.request('hello')).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    });
  });
});
