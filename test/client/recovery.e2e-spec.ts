import { afterEach, describe, expect, it } from '@jest/globals';
import { SwitchboardClient, type PushFrame, type RecoveryResult, type SwitchboardClientOptions } from '../../lib/client/index.js';
import { SpecServer, sleep, until, type SpecServerOptions, type SpecSocket } from './helpers/spec-server.js';

/**
 * Rooms and recovery from the client's side, against a server that speaks
 * /tmp/spec/protocol-recovery.md: `$session`, `$joined`/`$left`, positioned
 * room frames, `$recover` first on a reconnect, the replay before its ack,
 * the per-room answers, request dedup per session. The client must deliver
 * each offset once and in order, tell the app what it could not recover,
 * and re-send in-flight requests (same id) only when a session is resumed.
 */
describe('SwitchboardClient rooms and recovery', () => {
  const servers: SpecServer[] = [];
  const clients: SwitchboardClient[] = [];

  async function start(options: SpecServerOptions = {}): Promise<SpecServer> {
    const server = await SpecServer.start(options);
    server.handle('join', (room, socket) => {
      server.join(socket, room as string);
      return room;
    });
    server.handle('leave', (room, socket) => {
      server.leave(socket, room as string);
      return room;
    });
    server.handle('echo', (data) => data);
    servers.push(server);
    return server;
  }

  function client(server: SpecServer, options: Partial<SwitchboardClientOptions<SwitchboardClient>> = {}): SwitchboardClient {
    const created = new SwitchboardClient({ url: server.url, reconnect: { delay: 20, maxDelay: 40 }, ...options });
    clients.push(created);
    return created;
  }

  /** Every push of an event: its data and frame, in arrival order. */
  function record(sb: SwitchboardClient, event = 'chat'): Array<{ data: unknown; frame: PushFrame }> {
    const seen: Array<{ data: unknown; frame: PushFrame }> = [];
    sb.on(event, (data, frame) => seen.push({ data, frame }));
    return seen;
  }

  function recoveries(sb: SwitchboardClient): RecoveryResult[] {
    const seen: RecoveryResult[] = [];
    sb.on('$recovery', (result) => seen.push(result));
    return seen;
  }

  /** Cuts the client's connection and waits until it is open again (on a new connection). */
  async function cutAndReconnect(server: SpecServer, sb: SwitchboardClient, whileAway: () => void = () => undefined): Promise<SpecSocket> {
    const before = server.connections.length;
    server.dropAll();
    whileAway();
    await until(() => server.connections.length > before && sb.state === 'open', 3000, 'the reconnect');
    return server.last;
  }

  const offsets = (seen: Array<{ frame: PushFrame }>): Array<number | undefined> => seen.map(({ frame }) => frame.offset);

  afterEach(async () => {
    clients.splice(0).forEach((created) => created.close());
    await Promise.all(servers.splice(0).map((server) => server.close()));
  });

  it('keeps the session id, and the rooms the server says it is in, each with its last position', async () => {
    const server = await start();
    const sb = client(server);
    await sb.request('join', 'lobby');
    server.publish('lobby', 'chat', 'one');
    await sb.request('join', 'news');
    await until(() => sb.rooms.size === 2);
    expect(sb.session).toBe(server.last.session!.sid);
    expect([...sb.rooms]).toEqual([
      ['lobby', { epoch: 'e1', offset: 1 }],
      ['news', { epoch: 'e1', offset: 0 }],
    ]);
    await sb.request('leave', 'news');
    expect([...sb.rooms.keys()]).toEqual(['lobby']);
  });

  it('delivers room messages in offset order, with holes, and drops repeats by offset', async () => {
    const server = await start();
    const sb = client(server);
    const seen = record(sb);
    await sb.request('join', 'lobby');
    const socket = server.last;
    const frame = (offset: number) => ({ event: 'chat', data: `m${offset}`, room: 'lobby', epoch: 'e1', offset });
    for (const offset of [1, 2, 5, 5, 3, 6, 1, 9]) {
      socket.send(frame(offset));
    }
    await sb.request('echo', 'sync');
    expect(offsets(seen)).toEqual([1, 2, 5, 6, 9]);
    expect(seen[0]).toEqual({ data: 'm1', frame: frame(1) });
    expect(sb.stats.duplicates).toBe(3);
    expect(sb.rooms.get('lobby')).toEqual({ epoch: 'e1', offset: 9 });
  });

  it('on reconnect sends $recover first, gets the missed messages replayed before the ack, each once, and reports recovered: true', async () => {
    const server = await start();
    const sb = client(server);
    const seen = record(sb);
    const results = recoveries(sb);
    await sb.request('join', 'lobby');
    for (let n = 1; n <= 3; n++) server.publish('lobby', 'chat', n);
    await until(() => seen.length === 3);
    const sid = sb.session;

    const socket = await cutAndReconnect(server, sb, () => {
      for (let n = 4; n <= 10; n++) server.publish('lobby', 'chat', n);
    });
    expect(socket.received[0]).toEqual({ event: '$recover', id: expect.any(Number), data: { sid, rooms: { lobby: { epoch: 'e1', offset: 3 } } } });
    await until(() => results.length === 1);
    expect(seen.map(({ data }) => data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(results).toEqual([{ resumed: true, rooms: { lobby: { recovered: true, epoch: 'e1', offset: 10, replayed: 7 } } }]);
    expect(sb.session).toBe(socket.session!.sid);
    expect(sb.session).not.toBe(sid);

    // Live traffic after the recovery, then a second recovery from the new session.
    server.publish('lobby', 'chat', 11);
    await cutAndReconnect(server, sb, () => server.publish('lobby', 'chat', 12));
    await until(() => results.length === 2);
    expect(seen.map(({ data }) => data)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(results[1].rooms.lobby).toMatchObject({ recovered: true, offset: 12, replayed: 1 });
  });

  it('drops replayed messages it already had (a server that replays too much)', async () => {
    const server = await start();
    server.replayOverlap = 3;
    const sb = client(server);
    const seen = record(sb);
    await sb.request('join', 'lobby');
    for (let n = 1; n <= 5; n++) server.publish('lobby', 'chat', n);
    await until(() => seen.length === 5);
    await cutAndReconnect(server, sb, () => server.publish('lobby', 'chat', 6));
    await sb.request('echo', 'sync');
    expect(offsets(seen)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(sb.stats.duplicates).toBe(3);
  });

  it('reports recovered: false for a room whose stream changed epoch or lost the gap, and takes the new position', async () => {
    const server = await start({ historySize: 2 });
    const sb = client(server);
    const seen = record(sb);
    const results = recoveries(sb);
    await sb.request('join', 'lobby');
    await sb.request('join', 'busy');
    server.publish('lobby', 'chat', 'before');
    await until(() => seen.length === 1);
    await cutAndReconnect(server, sb, () => {
      server.resetStream('lobby');
      server.publish('lobby', 'chat', 'new epoch');
      for (let n = 1; n <= 5; n++) server.publish('busy', 'chat', n); // 3 of 5 trimmed from history
    });
    await until(() => results.length === 1);
    const epoch = server.streams.get('lobby')!.epoch;
    expect(results[0]).toEqual({
      resumed: true,
      rooms: { lobby: { recovered: false, epoch, offset: 1 }, busy: { recovered: false, epoch: 'e1', offset: 5 } },
    });
    expect(sb.rooms.get('lobby')).toEqual({ epoch, offset: 1 });
    server.publish('lobby', 'chat', 'after');
    await sb.request('echo', 'sync');
    expect(seen.map(({ data }) => data)).toEqual(['before', 'after']);
  });

  it('re-sends a request in flight when the connection dropped, with the same id, and the handler runs once', async () => {
    const server = await start();
    let release!: () => void;
    server.handle('charge', async (amount) => {
      await new Promise<void>((resolve) => (release = resolve));
      return { charged: amount };
    });
    const sb = client(server);
    await until(() => sb.state === 'open');
    const first = server.last;
    const charged = sb.request('charge', 42, { timeout: 3000 });
    await until(() => first.received.some((frame) => frame.event === 'charge'));
    const sent = first.received.find((frame) => frame.event === 'charge')!;

    const second = await cutAndReconnect(server, sb);
    await until(() => second.received.some((frame) => frame.event === 'charge'));
    release();
    await expect(charged).resolves.toEqual({ charged: 42 });
    expect(second.received.find((frame) => frame.event === 'charge')).toEqual(sent); // same id, same frame
    expect(server.calls.get('charge')).toBe(1);
  });

  it('sends, on the new connection: $recover, then re-sent requests, then what was queued while away', async () => {
    const server = await start();
    server.handle('hold', () => new Promise(() => undefined)); // never answers
    const sb = client(server);
    await until(() => sb.state === 'open');
    void sb.request('hold', 'in flight', { timeout: 3000 }).catch(() => undefined);
    await until(() => server.last.received.some((frame) => frame.event === 'hold'));
    const off = sb.on('$close', () => {
      // Sent while the client is between connections: queued.
      off();
      sb.emit('note', 'queued emit');
      void sb.request('echo', 'queued request');
    });
    const before = server.connections.length;
    server.dropAll();
    await until(() => server.connections.length > before && sb.state === 'open');
    await until(() => server.last.received.length === 4);
    expect(server.last.received.map((frame) => frame.event ?? frame)).toEqual(['$recover', 'hold', 'note', 'echo']);
  });

  it('without a session (a server without recovery), rejects in-flight requests with DISCONNECTED and never re-sends them', async () => {
    const server = await start({ recovery: false });
    server.handle('hold', () => new Promise(() => undefined));
    const sb = client(server);
    const results = recoveries(sb);
    await until(() => sb.state === 'open');
    const held = sb.request('hold', 'x', { timeout: 3000 }).catch((error: unknown) => error);
    await until(() => server.last.received.length === 1);
    const second = await cutAndReconnect(server, sb);
    await expect(held).resolves.toMatchObject({ code: 'DISCONNECTED' });
    await sb.request('echo', 'sync');
    expect(second.received.map((frame) => frame.event)).toEqual(['echo']); // no $recover, no re-send
    expect(results).toEqual([{ resumed: false, rooms: {} }]);
  });

  it('when the session expired: every room recovered: false, rejoin called for each, in-flight requests DISCONNECTED', async () => {
    const server = await start();
    server.handle('hold', () => new Promise(() => undefined));
    const rejoined: string[] = [];
    const sb = client(server, {
      rejoin: (room, self) => {
        rejoined.push(room);
        void self.request('join', room);
      },
    });
    const results = recoveries(sb);
    await sb.request('join', 'lobby');
    await sb.request('join', 'news');
    server.publish('lobby', 'chat', 'one');
    const held = sb.request('hold', 'x', { timeout: 3000 }).catch((error: unknown) => error);
    await until(() => server.last.received.some((frame) => frame.event === 'hold'));
    await cutAndReconnect(server, sb, () => server.forgetSessions());
    await expect(held).resolves.toMatchObject({ code: 'DISCONNECTED' });
    await until(() => results.length === 1 && sb.rooms.size === 2);
    expect(results[0]).toEqual({
      resumed: false,
      rooms: { lobby: { recovered: false, epoch: 'e1', offset: 1 }, news: { recovered: false, epoch: 'e1', offset: 0 } },
    });
    expect(rejoined).toEqual(['lobby', 'news']);
    expect(server.calls.get('hold')).toBe(1);
    expect(server.last.received.map((frame) => frame.event)).toEqual(['$recover', 'join', 'join']);
  });

  it('treats a $recover error ack (a server without recovery: UNKNOWN_EVENT) as nothing recovered', async () => {
    const server = await start();
    const sb = client(server);
    const results = recoveries(sb);
    await sb.request('join', 'lobby');
    server.recoverAnswer = 'error';
    await cutAndReconnect(server, sb);
    await until(() => results.length === 1);
    expect(results[0]).toEqual({ resumed: false, rooms: { lobby: { recovered: false, epoch: 'e1', offset: 0 } } });
    expect(sb.rooms.size).toBe(0);
  });

  it('when a connection drops before its $recover is answered, resumes the older session next time, not the new empty one', async () => {
    const server = await start();
    const sb = client(server);
    const results = recoveries(sb);
    await sb.request('join', 'lobby');
    const first = sb.session;
    server.recoverAnswer = 'never';
    server.dropAll();
    await until(() => server.connections.length === 2 && server.last.received.length === 1);
    expect(sb.state).toBe('reconnecting'); // recovering: not open until the answer
    server.recoverAnswer = 'spec';
    await cutAndReconnect(server, sb);
    expect((server.last.received[0] as { data: { sid: string } }).data.sid).toBe(first);
    await until(() => results.length === 1);
    expect(results[0]).toEqual({ resumed: true, rooms: { lobby: { recovered: true, epoch: 'e1', offset: 0, replayed: 0 } } });
  });

  it('keeps a room the server joined it to on the new connection before the $recover ack', async () => {
    let n = 0;
    const server = await start({ onConnection: (socket) => server.join(socket, `welcome-${++n}`) });
    const sb = client(server);
    const results = recoveries(sb);
    await until(() => sb.rooms.has('welcome-1'));
    await cutAndReconnect(server, sb);
    await until(() => results.length === 1);
    expect([...sb.rooms.keys()].sort()).toEqual(['welcome-1', 'welcome-2']);
    expect(results[0]).toEqual({ resumed: true, rooms: { 'welcome-1': { recovered: true, epoch: 'e1', offset: 0, replayed: 0 } } });
  });

  it('emits no $recovery on the first connect', async () => {
    const server = await start();
    const sb = client(server);
    const results = recoveries(sb);
    await sb.request('echo', 'x');
    await sleep(20);
    expect(results).toEqual([]);
  });
});
