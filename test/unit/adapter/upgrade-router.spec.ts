import { createServer, type IncomingMessage, type Server } from 'node:http';
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { UpgradeRouter, type AcceptSocket } from '../../../lib/adapter/upgrade-router.js';
import type { AuthOutcome, HandshakeAuth } from '../../../lib/auth/handshake-auth.js';
import { ErrorCode } from '../../../lib/errors/error-codes.js';
import { SwitchboardError } from '../../../lib/errors/switchboard.error.js';
import type { Handshake } from '../../../lib/interfaces/handshake.interface.js';
import { ConnectionSlots } from '../../../lib/limits/connection-slots.js';
import type { SwitchboardServer } from '../../../lib/socket/switchboard-server.js';
import { GatewayStats } from '../../../lib/stats/gateway-stats.js';
import { CaptureSocket, thrownBy } from '../fakes.js';

/** What the router reads of a gateway server: path, closing, stats, slots, handleUpgrade, emit. */
interface FakeServer {
  path: string;
  closing: boolean;
  stats: GatewayStats;
  slots: ConnectionSlots;
  client: object;
  handleUpgrade: jest.Mock<(request: IncomingMessage, socket: unknown, head: Buffer, done: (client: object) => void) => void>;
  emit: jest.Mock<(event: string, ...args: unknown[]) => boolean>;
}

function fakeServer(path: string, caps: { total?: number; perIp?: number } = {}): FakeServer & SwitchboardServer {
  const server: FakeServer = {
    path,
    closing: false,
    stats: new GatewayStats(),
    slots: new ConnectionSlots(caps.total ?? 0, caps.perIp ?? 0),
    client: { id: `client of ${path}` },
    handleUpgrade: jest.fn((_request, _socket, _head, done) => done(server.client)),
    emit: jest.fn(() => true),
  };
  return server as FakeServer & SwitchboardServer;
}

function upgradeRequest(url: string, remoteAddress = '10.0.0.1', headers: Record<string, string> = {}): IncomingMessage {
  return {
    url,
    headers: { host: 'example.org', connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-key': 'k', 'sec-websocket-version': '13', ...headers },
    socket: { remoteAddress },
  } as unknown as IncomingMessage;
}

/** Status line and JSON body of an HTTP refusal written to the socket. */
function refusalOf(socket: CaptureSocket): { status: number; headers: string[]; body: { code: string; message: string } } | undefined {
  const text = socket.text;
  if (text === '') {
    return undefined;
  }
  const [head, body] = text.split('\r\n\r\n');
  const [statusLine, ...headers] = head.split('\r\n');
  return { status: Number(statusLine.split(' ')[1]), headers, body: JSON.parse(body) as { code: string; message: string } };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('UpgradeRouter', () => {
  let http: Server;
  let accepted: Array<{ client: object; server: SwitchboardServer; handshake: Handshake; data: object | undefined }>;
  let accept: AcceptSocket;
  let routers: UpgradeRouter[];

  const routerOn = (ownsServer: boolean): UpgradeRouter => {
    const router = new UpgradeRouter(http, ownsServer, accept);
    routers.push(router);
    return router;
  };
  const upgrade = (url: string, remoteAddress?: string, headers?: Record<string, string>): CaptureSocket => {
    const socket = new CaptureSocket();
    http.emit('upgrade', upgradeRequest(url, remoteAddress, headers), socket, Buffer.alloc(0));
    return socket;
  };

  beforeEach(() => {
    http = createServer(); // never listens
    accepted = [];
    accept = (client, server, handshake, data) => {
      accepted.push({ client, server, handshake, data });
    };
    routers = [];
  });

  afterEach(() => {
    for (const router of routers) {
      router.detach();
    }
  });

  describe('routing', () => {
    it('a static path: handed to its server, which emits connection; the handshake facts are set', () => {
      const router = routerOn(false);
      const chat = fakeServer('/chat');
      const other = fakeServer('/other');
      router.add(chat, undefined);
      router.add(other, undefined);
      const socket = upgrade('/chat?token=abc&tag=a&tag=b', '10.1.2.3', { 'x-trace': 't1' });
      expect(socket.text).toBe('');
      expect(chat.handleUpgrade).toHaveBeenCalledTimes(1);
      expect(other.handleUpgrade).not.toHaveBeenCalled();
      expect(accepted).toHaveLength(1);
      const [{ client, server, handshake, data }] = accepted;
      expect(client).toBe(chat.client);
      expect(server).toBe(chat);
      expect(data).toBeUndefined();
      expect(handshake.path).toBe('/chat');
      expect(handshake.route).toBe('/chat');
      expect(Object.keys(handshake.params)).toEqual([]);
      expect({ ...handshake.query }).toEqual({ token: 'abc', tag: ['a', 'b'] });
      expect(handshake.headers).toEqual({ host: 'example.org', 'x-trace': 't1' }); // handshake-only headers dropped
      expect(handshake.remoteAddress).toBe('10.1.2.3');
      expect(chat.emit).toHaveBeenCalledWith('connection', chat.client, expect.objectContaining({ url: '/chat?token=abc&tag=a&tag=b' }));
    });

    it('normalises the request path before the static lookup (trailing and repeated slashes)', () => {
      const router = routerOn(false);
      const chat = fakeServer('chat/'); // a gateway path as declared, normalised on add
      router.add(chat, undefined);
      upgrade('/chat/');
      upgrade('//chat');
      expect(chat.handleUpgrade).toHaveBeenCalledTimes(2);
      expect(accepted.map(({ handshake }) => [handshake.path, handshake.route])).toEqual([
        ['/chat/', '/chat'],
        ['//chat', '/chat'],
      ]);
    });

    it('a request target in absolute form (ws://host/path) routes by its path', () => {
      const router = routerOn(false);
      const chat = fakeServer('/chat');
      router.add(chat, undefined);
      upgrade('ws://example.org/chat?x=1');
      expect(chat.handleUpgrade).toHaveBeenCalledTimes(1);
      expect(accepted[0].handshake.path).toBe('/chat');
    });

    it('a pattern path: its params, decoded; a static path wins over a pattern that also matches', () => {
      const router = routerOn(false);
      const rooms = fakeServer('/rooms/:room');
      const lobby = fakeServer('/rooms/lobby');
      const files = fakeServer('/files/*rest');
      router.add(rooms, undefined);
      router.add(lobby, undefined);
      router.add(files, undefined);
      upgrade('/rooms/caf%C3%A9?x=1');
      upgrade('/rooms/lobby');
      upgrade('/files/a/b/c.txt');
      expect(accepted.map(({ server }) => server)).toEqual([rooms, lobby, files]);
      expect(accepted[0].handshake).toMatchObject({ path: '/rooms/caf%C3%A9', route: '/rooms/:room', params: { room: 'café' } });
      expect({ ...accepted[2].handshake.params }).toEqual({ rest: ['a', 'b', 'c.txt'] });
    });

    it('pattern paths are tried in the order they were added', () => {
      const router = routerOn(false);
      const first = fakeServer('/:a/:b');
      const second = fakeServer('/x/:b');
      router.add(first, undefined);
      router.add(second, undefined);
      upgrade('/x/y');
      expect(accepted[0].server).toBe(first);
    });

    it('refuses two gateways on one path (static or pattern) with DUPLICATE_PATH', () => {
      const router = routerOn(false);
      router.add(fakeServer('/chat'), undefined);
      router.add(fakeServer('/rooms/:room'), undefined);
      for (const path of ['/chat', '/chat/', '/rooms/:room']) {
        const thrown = thrownBy(() => router.add(fakeServer(path), undefined));
        expect(thrown).toBeInstanceOf(SwitchboardError);
        expect((thrown as SwitchboardError).code).toBe(ErrorCode.DUPLICATE_PATH);
      }
    });

    it('remove() takes a gateway off (static and pattern); detach() takes the listener off the HTTP server', () => {
      const router = routerOn(true);
      const chat = fakeServer('/chat');
      const rooms = fakeServer('/rooms/:room');
      router.add(chat, undefined);
      router.add(rooms, undefined);
      router.remove(chat);
      router.remove(rooms);
      expect(refusalOf(upgrade('/chat'))?.status).toBe(404);
      expect(refusalOf(upgrade('/rooms/a'))?.status).toBe(404);
      expect(http.listenerCount('upgrade')).toBe(1);
      router.detach();
      expect(http.listenerCount('upgrade')).toBe(0);
    });
  });

  describe('refusals', () => {
    it('404 NOT_FOUND with a JSON body for an unknown path, then the socket is closed', async () => {
      routerOn(false).add(fakeServer('/chat'), undefined);
      const socket = upgrade('/nowhere');
      const refusal = refusalOf(socket)!;
      expect(refusal.status).toBe(404);
      expect(refusal.body).toEqual({ code: ErrorCode.NOT_FOUND, message: expect.any(String) });
      expect(refusal.headers).toEqual(expect.arrayContaining(['Connection: close', 'Content-Type: application/json; charset=utf-8']));
      expect(socket.text.startsWith('HTTP/1.1 404 Not Found\r\n')).toBe(true);
      await tick();
      expect(socket.destroyed).toBe(true);
    });

    it('400 BAD_REQUEST for a malformed percent-encoding in a pattern path', () => {
      const router = routerOn(false);
      const rooms = fakeServer('/rooms/:room');
      router.add(rooms, undefined);
      const refusal = refusalOf(upgrade('/rooms/%E0%A4%A'))!;
      expect(refusal.status).toBe(400);
      expect(refusal.body.code).toBe(ErrorCode.BAD_REQUEST);
      expect(rooms.handleUpgrade).not.toHaveBeenCalled();
    });

    it('503 SERVER_SHUTTING_DOWN with Retry-After while the gateway closes', () => {
      const router = routerOn(false);
      const chat = fakeServer('/chat');
      router.add(chat, undefined);
      chat.closing = true;
      const refusal = refusalOf(upgrade('/chat'))!;
      expect(refusal.status).toBe(503);
      expect(refusal.body.code).toBe(ErrorCode.SERVER_SHUTTING_DOWN);
      expect(refusal.headers).toContain('Retry-After: 1');
      expect(chat.stats.upgradesRefused).toBe(1);
      expect(chat.handleUpgrade).not.toHaveBeenCalled();
    });

    it('503 TOO_MANY_CONNECTIONS when the gateway is full; a slot comes back when a socket closes', async () => {
      const router = routerOn(false);
      const chat = fakeServer('/chat', { total: 1 });
      router.add(chat, undefined);
      const first = upgrade('/chat', '10.0.0.1');
      expect(chat.handleUpgrade).toHaveBeenCalledTimes(1);
      const refusal = refusalOf(upgrade('/chat', '10.0.0.2'))!;
      expect(refusal.status).toBe(503);
      expect(refusal.body.code).toBe(ErrorCode.TOO_MANY_CONNECTIONS);
      expect(refusal.headers).toContain('Retry-After: 5');
      expect(chat.stats.upgradesRefused).toBe(1);
      first.destroy();
      await tick();
      upgrade('/chat', '10.0.0.2');
      expect(chat.handleUpgrade).toHaveBeenCalledTimes(2);
    });

    it('429 RATE_LIMITED past the per-address cap, other addresses still admitted', () => {
      const router = routerOn(false);
      const chat = fakeServer('/chat', { perIp: 1 });
      router.add(chat, undefined);
      upgrade('/chat', '10.0.0.1');
      const refusal = refusalOf(upgrade('/chat', '10.0.0.1'))!;
      expect(refusal.status).toBe(429);
      expect(refusal.body.code).toBe(ErrorCode.RATE_LIMITED);
      upgrade('/chat', '10.0.0.2');
      expect(chat.handleUpgrade).toHaveBeenCalledTimes(2);
      expect(chat.stats.upgradesRefused).toBe(1);
    });

    it('a socket that is no longer writable is destroyed instead of answered', () => {
      routerOn(true);
      const socket = new CaptureSocket();
      socket.end();
      http.emit('upgrade', upgradeRequest('/nowhere'), socket, Buffer.alloc(0));
      expect(socket.destroyed).toBe(true);
    });
  });

  describe('a shared HTTP server', () => {
    it('leaves an unknown path alone when another upgrade listener may own it', () => {
      const router = routerOn(false);
      router.add(fakeServer('/chat'), undefined);
      const graphql = jest.fn();
      http.on('upgrade', graphql);
      const socket = upgrade('/graphql');
      expect(graphql).toHaveBeenCalledTimes(1);
      expect(socket.text).toBe('');
      expect(socket.destroyed).toBe(false);
      expect(socket.writable).toBe(true);
    });

    it('answers 404 when it is the only upgrade listener', () => {
      routerOn(false).add(fakeServer('/chat'), undefined);
      expect(refusalOf(upgrade('/graphql'))?.status).toBe(404);
    });

    it('answers 404 on a server it owns (a gateway port), whoever else listens', () => {
      routerOn(true).add(fakeServer('/chat'), undefined);
      http.on('upgrade', () => undefined);
      expect(refusalOf(upgrade('/graphql'))?.status).toBe(404);
    });

    it('still routes its own paths when another listener is there', () => {
      const router = routerOn(false);
      const chat = fakeServer('/chat');
      router.add(chat, undefined);
      http.on('upgrade', () => undefined);
      upgrade('/chat');
      expect(chat.handleUpgrade).toHaveBeenCalledTimes(1);
    });
  });

  describe('handshake authentication', () => {
    const authWith = (outcome: AuthOutcome | Promise<never>): HandshakeAuth & { run: jest.Mock } =>
      ({ run: jest.fn(() => (outcome instanceof Promise ? outcome : Promise.resolve(outcome))) }) as unknown as HandshakeAuth & { run: jest.Mock };

    it('accepted: upgrades with the principal as data', async () => {
      const router = routerOn(false);
      const chat = fakeServer('/chat');
      const principal = { user: 'ada' };
      const auth = authWith({ accepted: true, data: principal });
      router.add(chat, auth);
      upgrade('/chat?token=t');
      expect(chat.handleUpgrade).not.toHaveBeenCalled(); // not before the verdict
      expect(auth.run).toHaveBeenCalledWith(expect.objectContaining({ url: '/chat?token=t' }), expect.objectContaining({ path: '/chat', query: { token: 't' } }));
      await tick();
      expect(chat.handleUpgrade).toHaveBeenCalledTimes(1);
      expect(accepted[0].data).toBe(principal);
    });

    it('refused: the status, code and message of the outcome; 401 carries a Bearer challenge', async () => {
      const router = routerOn(false);
      const chat = fakeServer('/chat');
      router.add(chat, authWith({ accepted: false, status: 401, code: ErrorCode.UNAUTHORIZED, message: 'no token' }));
      const socket = upgrade('/chat');
      await tick();
      const refusal = refusalOf(socket)!;
      expect(refusal.status).toBe(401);
      expect(refusal.body).toEqual({ code: ErrorCode.UNAUTHORIZED, message: 'no token' });
      expect(refusal.headers).toContain('WWW-Authenticate: Bearer realm="websocket"');
      expect(chat.stats.authFailures).toBe(1);
      expect(chat.handleUpgrade).not.toHaveBeenCalled();
    });

    it('accepted, but the gateway began closing meanwhile: the socket is destroyed, not upgraded', async () => {
      const router = routerOn(false);
      const chat = fakeServer('/chat');
      router.add(chat, authWith({ accepted: true, data: undefined }));
      const socket = upgrade('/chat');
      chat.closing = true;
      await tick();
      expect(socket.destroyed).toBe(true);
      expect(chat.handleUpgrade).not.toHaveBeenCalled();
    });

    it('a socket error while authenticating does not escape (no unhandled error event)', async () => {
      const router = routerOn(false);
      const chat = fakeServer('/chat');
      let settle!: (outcome: AuthOutcome) => void;
      router.add(chat, { run: () => new Promise<AuthOutcome>((resolve) => (settle = resolve)) } as unknown as HandshakeAuth);
      const socket = upgrade('/chat');
      expect(() => socket.emit('error', new Error('ECONNRESET'))).not.toThrow();
      settle({ accepted: false, status: 401, code: ErrorCode.UNAUTHORIZED, message: 'late' });
      await tick();
      expect(socket.listenerCount('error')).toBe(0); // its guard is taken off again
    });
  });
});
