import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { SwitchboardClient, type SwitchboardClientOptions } from '../../lib/client/index.js';
import { SpecServer, sleep, until } from './helpers/spec-server.js';

/**
 * The offline queue: bounded in count (`maxQueued`) and in age (`queueTtl`,
 * emits), with a drop policy and counters. The client queues until it
 * connects (`autoConnect: false`, then `connect()`); what reaches the server
 * is read from the server's side.
 */
describe('SwitchboardClient offline queue', () => {
  let server: SpecServer;
  const clients: SwitchboardClient[] = [];

  function offline(options: Partial<SwitchboardClientOptions<SwitchboardClient>> = {}): SwitchboardClient {
    const created = new SwitchboardClient({ url: server.url, autoConnect: false, ...options });
    clients.push(created);
    return created;
  }

  /** The events and data the newest connection received, `$` frames left out. */
  function arrived(): unknown[] {
    return server.last.received.filter((frame) => !String(frame.event).startsWith('$')).map((frame) => frame.data);
  }

  async function connectAndSettle(sb: SwitchboardClient, expected: number): Promise<void> {
    sb.connect();
    await until(() => sb.state === 'open' && server.last.received.length >= expected);
    await sleep(20);
  }

  beforeAll(async () => {
    server = await SpecServer.start({ recovery: false });
    server.handle('echo', (data) => data);
  });

  afterAll(() => server.close());

  afterEach(() => {
    clients.splice(0).forEach((created) => created.close());
  });

  it("drops the oldest when full (dropPolicy 'oldest', the default), in order, counted", async () => {
    const sb = offline({ maxQueued: 3 });
    expect([1, 2, 3, 4, 5].map((n) => sb.emit('note', n))).toEqual([true, true, true, true, true]);
    expect(sb.stats).toMatchObject({ queued: 5, dropped: 2, queueLength: 3 });
    await connectAndSettle(sb, 3);
    expect(arrived()).toEqual([3, 4, 5]);
    expect(sb.stats.queueLength).toBe(0);
  });

  it("drops the new message when full (dropPolicy 'newest'): emit returns false", async () => {
    const sb = offline({ maxQueued: 3, dropPolicy: 'newest' });
    expect([1, 2, 3, 4, 5].map((n) => sb.emit('note', n))).toEqual([true, true, true, false, false]);
    expect(sb.stats).toMatchObject({ queued: 3, dropped: 2 });
    await connectAndSettle(sb, 3);
    expect(arrived()).toEqual([1, 2, 3]);
  });

  it('rejects a request the full queue drops with QUEUE_FULL, and never sends it', async () => {
    const oldest = offline({ maxQueued: 2 });
    const first = oldest.request('echo', 'first').catch((error: unknown) => error);
    const kept = [oldest.request('echo', 'second'), oldest.request('echo', 'third')];
    await expect(first).resolves.toMatchObject({ code: 'QUEUE_FULL' });
    await connectAndSettle(oldest, 2);
    await expect(Promise.all(kept)).resolves.toEqual(['second', 'third']);
    expect(arrived()).toEqual(['second', 'third']);

    const newest = offline({ maxQueued: 1, dropPolicy: 'newest' });
    const accepted = newest.request('echo', 'accepted');
    await expect(newest.request('echo', 'refused')).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    newest.connect();
    await expect(accepted).resolves.toBe('accepted');
    expect(arrived()).toEqual(['accepted']);
  });

  it('drops emits older than queueTtl unsent, counted as expired', async () => {
    const sb = offline({ queueTtl: 80 });
    sb.emit('note', 'stale');
    await sleep(120);
    sb.emit('note', 'fresh');
    await connectAndSettle(sb, 1);
    expect(arrived()).toEqual(['fresh']);
    expect(sb.stats).toMatchObject({ queued: 2, expired: 1, dropped: 0 });
  });

  it('makes room in a full queue by dropping expired emits first', async () => {
    const sb = offline({ maxQueued: 2, queueTtl: 50 });
    sb.emit('note', 'a');
    sb.emit('note', 'b');
    await sleep(80);
    expect(sb.emit('note', 'c')).toBe(true);
    expect(sb.stats).toMatchObject({ expired: 2, dropped: 0, queueLength: 1 });
    await connectAndSettle(sb, 1);
    expect(arrived()).toEqual(['c']);
  });

  it('queues nothing with maxQueued: 0', async () => {
    const sb = offline({ maxQueued: 0 });
    expect(sb.emit('note', 'x')).toBe(false);
    await expect(sb.request('echo', 'y')).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    expect(sb.stats).toMatchObject({ queued: 0, dropped: 2, queueLength: 0 });
  });

  it('stays bounded under a flood while offline', async () => {
    const sb = offline({ maxQueued: 50 });
    const requests = Array.from({ length: 500 }, (_, i) => sb.request('echo', i, { timeout: 2000 }).catch((error: { code: string }) => error.code));
    for (let i = 0; i < 5000; i++) {
      sb.emit('note', i);
    }
    expect(sb.stats.queueLength).toBe(50);
    expect(sb.stats.pending).toBe(0); // every request was pushed out by later messages
    expect(new Set(await Promise.all(requests))).toEqual(new Set(['QUEUE_FULL']));
    await connectAndSettle(sb, 50);
    expect(arrived()).toEqual(Array.from({ length: 50 }, (_, i) => 4950 + i));
  });
});
