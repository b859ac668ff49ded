/**
 * The stream history conformance suite: what every {@link StreamHistory}
 * behind a broker (`broker.history`) must do, wherever the history lives
 * (the in-memory bus, a Redis server, a Redis Cluster). Run it with
 * `streamHistoryConformance(name, makeCluster)`; `makeCluster(n)` returns n
 * brokers on one medium, not attached yet; the suite attaches and detaches
 * them itself.
 *
 * The contract, through the Broker and StreamHistory interfaces alone:
 * 1. Appends to one room, from several nodes at once, get offsets 1..n of
 *    one epoch, no gap and no duplicate, each node's in the order it
 *    appended; every other node subscribed to the room's channel receives
 *    each positioned payload (exactly `encodePositioned(position, payload)`)
 *    once, in offset order; the appending node at most once (an engine echo).
 * 2. `readSince` replays exactly the entries after a position, in order;
 *    since = the end is recovered with none; trimmed past `size`, older than
 *    `ttl`, or another epoch: `recovered: false`, with the current end. A
 *    stream idle for ttl is forgotten: the next append starts a new epoch.
 *    Rooms are capped independently.
 * 3. Sessions are saved for a ttl and taken once (across nodes).
 * 4. A read's cost grows with the entries returned: 5 entries of a
 *    10,000-entry stream come fast, with as many engine commands as 5 of a
 *    10-entry stream (when the medium can count its commands).
 * 5. Nothing throws synchronously; an append with no engine reachable
 *    (before attach; when the engine was killed, past the broker's buffer)
 *    rejects with BROKER_UNAVAILABLE, counted in `publishDropped`; none
 *    hangs, and after a restart appends work again (when the medium can be
 *    killed: `options.outage`).
 */
import { ErrorCode, roomChannel, SwitchboardError, type Broker, type BrokerReceiver } from '../../lib/index.js';
import type { HistoryLimits, SessionRecord, StreamHistory, StreamPosition } from '../../lib/broker/stream-history.interface.js';
import { decodePositioned, encodePositioned } from '../../lib/broker/wire-format.js';

export type HistoryBroker = Broker & { readonly history: StreamHistory };

/** n brokers on one medium, not attached yet. */
export interface HistoryCluster {
  readonly brokers: readonly HistoryBroker[];
  /** Called after the suite detached every broker. */
  teardown?(): Promise<void> | void;
  /** Data commands the engine has run so far (Redis: INFO commandstats over every server), for the cost check. */
  engineCommands?(): Promise<number>;
}

/** Brokers on a medium of their own that the test may kill (kill -9) and start again. */
export interface OutageCluster extends HistoryCluster {
  kill(): void;
  restart(): Promise<void>;
  /** The brokers' `maxBuffered`. */
  readonly maxBuffered: number;
  /** The brokers' bound on how long a history operation waits for the engine. */
  readonly waitMs: number;
}

export type MakeHistoryCluster = (n: number) => HistoryCluster | Promise<HistoryCluster>;

export interface StreamHistoryConformanceOptions {
  /** How long a delivery may take. @default 5000 */
  deliveryTimeoutMs?: number;
  /** The crash drill, on a medium of its own (the in-memory bus has none). */
  outage?: () => Promise<OutageCluster>;
}

interface Delivery {
  readonly channel: string;
  readonly payload: Buffer;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const LONG: HistoryLimits = { size: 100_000, ttl: 60_000 };

let rooms = 0;
/** A room channel of its own for each use; the names exercise the engine's spelling (NUL, braces, a lone surrogate). */
function freshChannel(label = 'room'): string {
  return roomChannel('/history', `${label}-${process.pid}-${++rooms}`);
}

/** Settles within `ms`, or says it hung. */
async function settledWithin<T>(promise: Promise<T>, ms: number): Promise<{ value?: T; error?: unknown; hung?: true }> {
  let timer: NodeJS.Timeout | undefined;
  const hung = new Promise<{ hung: true }>((resolve) => {
    timer = setTimeout(() => resolve({ hung: true }), ms);
  });
  try {
    return await Promise.race([promise.then((value) => ({ value }), (error: unknown) => ({ error })), hung]);
  } finally {
    clearTimeout(timer);
  }
}

function isUnavailable(error: unknown): boolean {
  return error instanceof SwitchboardError && error.code === ErrorCode.BROKER_UNAVAILABLE;
}

export function streamHistoryConformance(name: string, makeCluster: MakeHistoryCluster, options: StreamHistoryConformanceOptions = {}): void {
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? 5000;

  async function eventually(done: () => boolean, what: () => string, timeoutMs = deliveryTimeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() >= deadline) {
        throw new Error(`Not within ${timeoutMs} ms: ${what()}`);
      }
      await sleep(5);
    }
  }

  /** A broker with a recording receiver. */
  class Node {
    deliveries: Delivery[] = [];
    constructor(readonly broker: HistoryBroker) {}

    get history(): StreamHistory {
      return this.broker.history;
    }

    async attach(): Promise<void> {
      const receive: BrokerReceiver = (channel, payload) => {
        this.deliveries.push({ channel, payload });
      };
      await this.broker.attach(receive);
    }

    /** The positioned payloads received on a channel, decoded, in arrival order. */
    positioned(channel: string): Array<{ position: StreamPosition; payload: Buffer; raw: Buffer }> {
      return this.deliveries
        .filter((delivery) => delivery.channel === channel)
        .map((delivery) => {
          const decoded = decodePositioned(delivery.payload);
          if (decoded === undefined) {
            throw new Error(`not a positioned payload on ${JSON.stringify(channel)}: ${delivery.payload.toString('hex')}`);
          }
          return { ...decoded, raw: delivery.payload };
        });
    }
  }

  describe(name, () => {
    let current: { cluster: HistoryCluster; nodes: Node[] } | undefined;

    async function setup(n: number): Promise<{ nodes: Node[]; cluster: HistoryCluster }> {
      const cluster = await makeCluster(n);
      const nodes = cluster.brokers.map((broker) => new Node(broker));
      current = { cluster, nodes };
      await Promise.all(nodes.map((node) => node.attach()));
      return { nodes, cluster };
    }

    afterEach(async () => {
      const done = current;
      current = undefined;
      if (done !== undefined) {
        await Promise.all(done.nodes.map((node) => node.broker.detach()));
        await done.cluster.teardown?.();
      }
    });

    it('offsets 1..n of one epoch under concurrent appends from 3 nodes to 2 rooms: no gap, no duplicate, each node in its own order; every other subscribed node receives each positioned payload once, as encodePositioned, in offset order', async () => {
      const { nodes } = await setup(3);
      // Room names the engine has to spell carefully: braces (hash tags), NUL, a lone surrogate.
      const channels = [freshChannel('a{b}c\u0000d'), freshChannel('\ud800lone')];
      await Promise.all(nodes.map((node) => node.broker.subscribe(channels)));
      const perNode = 100;
      const appended = nodes.map((node, n) =>
        Promise.all(
          Array.from({ length: perNode * channels.length }, (_, i) => {
            const channel = channels[i % channels.length];
            const payload = Buffer.from(`n${n}|${i}|\u0000\u00ff`, 'latin1');
            return node.history.append(channel, payload, LONG).then((position) => ({ channel, payload, position, node: n }));
          }),
        ),
      );
      const results = (await Promise.all(appended)).flat();

      for (const channel of channels) {
        const mine = results.filter((result) => result.channel === channel);
        const epochs = new Set(mine.map((result) => result.position.epoch));
        expect(epochs.size).toBe(1);
        const offsets = mine.map((result) => result.position.offset).sort((a, b) => a - b);
        expect(offsets).toEqual(Array.from({ length: perNode * nodes.length }, (_, i) => i + 1));
        for (let n = 0; n < nodes.length; n++) {
          const own = mine.filter((result) => result.node === n).map((result) => result.position.offset);
          expect(own).toEqual([...own].sort((a, b) => a - b));
        }
        const byOffset = new Map(mine.map((result) => [result.position.offset, result]));

        for (let n = 0; n < nodes.length; n++) {
          const others = mine.filter((result) => result.node !== n).length;
          await eventually(
            () => nodes[n].positioned(channel).filter((heard) => byOffset.get(heard.position.offset)?.node !== n).length >= others,
            () => `node ${n} heard ${nodes[n].positioned(channel).length} positioned payloads on ${JSON.stringify(channel)}, expected ${others} from the others`,
          );
          const heard = nodes[n].positioned(channel);
          const counts = new Map<number, number>();
          for (const item of heard) {
            const sent = byOffset.get(item.position.offset);
            expect(sent).toBeDefined();
            expect(item.position.epoch).toBe(sent!.position.epoch);
            expect(item.payload.equals(sent!.payload)).toBe(true);
            expect(item.raw.equals(encodePositioned(sent!.position, sent!.payload))).toBe(true);
            counts.set(item.position.offset, (counts.get(item.position.offset) ?? 0) + 1);
          }
          for (const sent of mine) {
            const count = counts.get(sent.position.offset) ?? 0;
            // Its own append: an echo at most once (Redis PUBLISH echoes, the bus does not); the others' exactly once.
            expect(sent.node === n ? count <= 1 : count === 1).toBe(true);
          }
          const order = heard.map((item) => item.position.offset);
          expect(order).toEqual([...order].sort((a, b) => a - b));
        }

        // Everything is replayable, from any node, with the bytes the appenders gave.
        const read = await nodes[2].history.readSince(channel, { epoch: mine[0].position.epoch, offset: 0 }, LONG);
        expect(read.recovered).toBe(true);
        if (read.recovered) {
          expect(read.entries.map((entry) => entry.offset)).toEqual(offsets);
          for (const entry of read.entries) {
            expect(entry.payload.equals(byOffset.get(entry.offset)!.payload)).toBe(true);
          }
        }
        expect(await nodes[1].history.position(channel)).toEqual({ epoch: mine[0].position.epoch, offset: offsets.length });
      }
    }, 30_000);

    it('replays exactly the entries after a position, in order, from another node; since = the end is recovered with none', async () => {
      const { nodes } = await setup(2);
      const channel = freshChannel();
      const payloads = Array.from({ length: 10 }, (_, i) => Buffer.from(`entry ${i + 1}`));
      const positions: StreamPosition[] = [];
      for (const payload of payloads) {
        positions.push(await nodes[0].history.append(channel, payload, LONG));
      }
      const { epoch } = positions[0];
      expect(positions).toEqual(payloads.map((_, i) => ({ epoch, offset: i + 1 })));

      const after4 = await nodes[1].history.readSince(channel, { epoch, offset: 4 }, LONG);
      expect(after4).toEqual({ recovered: true, position: { epoch, offset: 10 }, entries: payloads.slice(4).map((payload, i) => ({ offset: i + 5, payload })) });
      const all = await nodes[1].history.readSince(channel, { epoch, offset: 0 }, LONG);
      expect(all.recovered && all.entries.map((entry) => entry.payload.toString())).toEqual(payloads.map((payload) => payload.toString()));
      expect(await nodes[1].history.readSince(channel, { epoch, offset: 10 }, LONG)).toEqual({ recovered: true, position: { epoch, offset: 10 }, entries: [] });
      // Past the end is no position of this stream.
      expect(await nodes[1].history.readSince(channel, { epoch, offset: 11 }, LONG)).toEqual({ recovered: false, position: { epoch, offset: 10 } });
    });

    it('a stream never written: position is offset 0 with an epoch, and a read cannot recover anything', async () => {
      const { nodes } = await setup(1);
      const channel = freshChannel();
      const position = await nodes[0].history.position(channel);
      expect(position.offset).toBe(0);
      expect(typeof position.epoch).toBe('string');
      expect(position.epoch.length).toBeGreaterThan(0);
      const read = await nodes[0].history.readSince(channel, position, LONG);
      expect(read.recovered).toBe(false);
      expect(read.position.offset).toBe(0);
    });

    it('trimmed past size: recovered false when an entry after since is gone, true when all are kept', async () => {
      const { nodes } = await setup(2);
      const channel = freshChannel();
      const limits = { size: 5, ttl: 60_000 };
      let epoch = '';
      for (let i = 1; i <= 8; i++) {
        ({ epoch } = await nodes[0].history.append(channel, Buffer.from(`t${i}`), limits));
      }
      // Kept: 4..8.
      const end = { epoch, offset: 8 };
      expect(await nodes[1].history.readSince(channel, { epoch, offset: 0 }, limits)).toEqual({ recovered: false, position: end });
      expect(await nodes[1].history.readSince(channel, { epoch, offset: 2 }, limits)).toEqual({ recovered: false, position: end });
      const kept = await nodes[1].history.readSince(channel, { epoch, offset: 3 }, limits);
      expect(kept.recovered && kept.entries.map((entry) => [entry.offset, entry.payload.toString()])).toEqual([4, 5, 6, 7, 8].map((offset) => [offset, `t${offset}`]));
    });

    it('expired past ttl: entries older than ttl are not replayable, an idle stream is forgotten and its next append starts a new epoch at offset 1', async () => {
      const { nodes } = await setup(2);
      const channel = freshChannel();
      const limits = { size: 100, ttl: 400 };
      const first = await nodes[0].history.append(channel, Buffer.from('old'), limits);
      await sleep(300);
      const second = await nodes[0].history.append(channel, Buffer.from('young'), limits);
      expect(second).toEqual({ epoch: first.epoch, offset: 2 });
      await sleep(200);
      // 'old' is ~500 ms old, 'young' ~200 ms: the stream lives, its first entry is no longer replayable.
      expect(await nodes[1].history.readSince(channel, { epoch: first.epoch, offset: 0 }, limits)).toEqual({ recovered: false, position: second });
      const young = await nodes[1].history.readSince(channel, { epoch: first.epoch, offset: 1 }, limits);
      expect(young.recovered && young.entries.map((entry) => entry.payload.toString())).toEqual(['young']);

      await sleep(500);
      // Idle for longer than ttl: forgotten as a whole.
      const gone = await nodes[1].history.readSince(channel, second, limits);
      expect(gone.recovered).toBe(false);
      expect(gone.position.offset).toBe(0);
      expect((await nodes[1].history.position(channel)).offset).toBe(0);
      const next = await nodes[1].history.append(channel, Buffer.from('new'), limits);
      expect(next.offset).toBe(1);
      expect(next.epoch).not.toBe(first.epoch);
      expect(await nodes[0].history.readSince(channel, second, limits)).toEqual({ recovered: false, position: next });
    });

    it('another epoch: recovered false, with the current end', async () => {
      const { nodes } = await setup(1);
      const channel = freshChannel();
      const end = await nodes[0].history.append(channel, Buffer.from('x'), LONG);
      expect(await nodes[0].history.readSince(channel, { epoch: `${end.epoch}x`, offset: 0 }, LONG)).toEqual({ recovered: false, position: end });
      expect(await nodes[0].history.readSince(channel, { epoch: 'other', offset: 1 }, LONG)).toEqual({ recovered: false, position: end });
    });

    it('caps are per room: a busy room never evicts another room', async () => {
      const { nodes } = await setup(2);
      const quiet = freshChannel('quiet');
      const busy = freshChannel('busy');
      const limits = { size: 5, ttl: 60_000 };
      const quietPositions = await Promise.all([1, 2, 3].map((i) => nodes[0].history.append(quiet, Buffer.from(`q${i}`), limits)));
      await Promise.all(Array.from({ length: 500 }, (_, i) => nodes[i % 2].history.append(busy, Buffer.from(`b${i}`), limits)));
      const read = await nodes[1].history.readSince(quiet, { epoch: quietPositions[0].epoch, offset: 0 }, limits);
      expect(read.recovered && read.entries.map((entry) => entry.payload.toString())).toEqual(['q1', 'q2', 'q3']);
      expect((await nodes[0].history.position(busy)).offset).toBe(500);
    });

    it('sessions: saved for a ttl, overwritten, taken once (by whichever node asks first), gone after the ttl', async () => {
      const { nodes } = await setup(2);
      const id = `sess-${process.pid}-${++rooms}`;
      const record: SessionRecord = { rooms: ['a', 'b\u0000c', '\ud83d\ude00'], socketIds: ['s1', 's2'] };
      await nodes[0].history.saveSession(id, { rooms: ['old'], socketIds: [] }, 60_000);
      await nodes[0].history.saveSession(id, record, 60_000);
      expect(await nodes[1].history.takeSession(id)).toEqual(record);
      expect(await nodes[0].history.takeSession(id)).toBeUndefined();
      expect(await nodes[1].history.takeSession(`${id}-never`)).toBeUndefined();

      await nodes[1].history.saveSession(id, record, 60_000);
      const races = await Promise.all([nodes[0].history.takeSession(id), nodes[1].history.takeSession(id)]);
      expect(races.filter((taken) => taken !== undefined)).toEqual([record]);

      await nodes[0].history.saveSession(id, record, 100);
      await sleep(300);
      expect(await nodes[1].history.takeSession(id)).toBeUndefined();
    });

    it('a read costs what it returns: 5 entries of a 10,000-entry stream come fast, with as many engine commands as 5 of a 10-entry one; historyReads counts reads', async () => {
      const { nodes, cluster } = await setup(2);
      const big = freshChannel('big');
      const small = freshChannel('small');
      const limits = { size: 10_000, ttl: 60_000 };
      const payload = Buffer.alloc(64, 7);
      let bigEnd: StreamPosition | undefined;
      for (let batch = 0; batch < 10; batch++) {
        const positions = await Promise.all(Array.from({ length: 1000 }, () => nodes[0].history.append(big, payload, limits)));
        bigEnd = positions[positions.length - 1];
      }
      let smallEnd: StreamPosition | undefined;
      for (let i = 0; i < 10; i++) {
        smallEnd = await nodes[0].history.append(small, payload, limits);
      }
      expect(bigEnd!.offset).toBe(10_000);

      const reader = nodes[1].history;
      // A first read sets the reader's connections up (it loads the scripts; a cluster connects to its masters
      // lazily); the reads measured come once the engine is quiet.
      await reader.readSince(small, smallEnd!, limits);
      if (cluster.engineCommands !== undefined) {
        let previous = await cluster.engineCommands();
        for (let i = 0; i < 40; i++) {
          await sleep(50);
          const now = await cluster.engineCommands();
          if (now === previous) {
            break;
          }
          previous = now;
        }
      }
      const readsBefore = reader.historyReads;
      /** One read of the last 5 entries: its duration and the engine commands it cost. */
      async function readLastFive(channel: string, end: StreamPosition): Promise<{ ms: number; commands: number | undefined }> {
        const commandsBefore = await cluster.engineCommands?.();
        const started = process.hrtime.bigint();
        const read = await reader.readSince(channel, { epoch: end.epoch, offset: end.offset - 5 }, limits);
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        const commandsAfter = await cluster.engineCommands?.();
        expect(read.recovered && read.entries.map((entry) => entry.offset)).toEqual([1, 2, 3, 4, 5].map((i) => end.offset - 5 + i));
        return { ms, commands: commandsBefore === undefined || commandsAfter === undefined ? undefined : commandsAfter - commandsBefore };
      }
      const smallReads = [];
      const bigReads = [];
      for (let i = 0; i < 3; i++) {
        smallReads.push(await readLastFive(small, smallEnd!));
        bigReads.push(await readLastFive(big, bigEnd!));
      }
      expect(reader.historyReads - readsBefore).toBe(6);
      expect(nodes[0].history.historyReads).toBe(0);
      expect(Math.min(...bigReads.map((read) => read.ms))).toBeLessThan(50);
      if (cluster.engineCommands !== undefined) {
        const counts = new Set([...smallReads, ...bigReads].map((read) => read.commands));
        // The same number for every read, whatever the stream's length (one script: GETs, one XRANGE, TIME), and a handful.
        expect(counts.size).toBe(1);
        expect(smallReads[0].commands).toBeLessThanOrEqual(10);
      }
    }, 60_000);

    it('never throws synchronously; before attach an append rejects with BROKER_UNAVAILABLE, counted in publishDropped', async () => {
      const cluster = await makeCluster(1);
      const node = new Node(cluster.brokers[0]);
      current = { cluster, nodes: [] };
      const channel = freshChannel();
      const droppedBefore = node.broker.stats().publishDropped;
      let appended: Promise<StreamPosition> | undefined;
      expect(() => {
        appended = node.history.append(channel, Buffer.from('too early'), LONG);
      }).not.toThrow();
      const outcome = await settledWithin(appended!, 2000);
      expect(isUnavailable(outcome.error)).toBe(true);
      expect(node.broker.stats().publishDropped).toBe(droppedBefore + 1);
      // Limits that bound nothing are refused (a rejection, not a throw).
      await node.attach();
      current = { cluster, nodes: [node] };
      let bad: Promise<StreamPosition> | undefined;
      expect(() => {
        bad = node.history.append(channel, Buffer.from('x'), { size: 0, ttl: 1000 });
      }).not.toThrow();
      await expect(bad).rejects.toThrow(RangeError);
    });

    if (options.outage !== undefined) {
      const makeOutage = options.outage;
      it('kill -9 of the engine: appends during the outage complete after the restart or reject with BROKER_UNAVAILABLE past the buffer (counted); none hangs or throws, no unhandled rejection; appends work again after', async () => {
        const unhandled: unknown[] = [];
        const onUnhandled = (reason: unknown): void => void unhandled.push(reason);
        process.on('unhandledRejection', onUnhandled);
        const cluster = await makeOutage();
        const nodes = cluster.brokers.map((broker) => new Node(broker));
        current = { cluster, nodes };
        try {
          await Promise.all(nodes.map((node) => node.attach()));
          const channel = freshChannel('drill');
          await Promise.all(nodes.map((node) => node.broker.subscribe([channel])));
          const before = await nodes[0].history.append(channel, Buffer.from('before'), LONG);
          expect(before.offset).toBe(1);

          cluster.kill();
          await sleep(200);
          const droppedBefore = nodes[0].broker.stats().publishDropped;
          const started = Date.now();
          const during: Array<Promise<StreamPosition>> = [];
          const count = cluster.maxBuffered * 4;
          for (let i = 0; i < count; i++) {
            expect(() => during.push(nodes[0].history.append(channel, Buffer.from(`during ${i}`), LONG))).not.toThrow();
          }
          expect(Date.now() - started).toBeLessThan(200);
          expect(nodes[0].broker.stats().publishBuffered).toBeLessThanOrEqual(cluster.maxBuffered);
          const early = await Promise.all(during.map((append) => settledWithin(append, 50)));
          const refusedAtOnce = early.filter((outcome) => isUnavailable(outcome.error)).length;
          expect(refusedAtOnce).toBeGreaterThanOrEqual(count - cluster.maxBuffered);

          await cluster.restart();
          const outcomes = await Promise.all(during.map((append) => settledWithin(append, cluster.waitMs + 5000)));
          expect(outcomes.filter((outcome) => outcome.hung === true)).toEqual([]);
          const failed = outcomes.filter((outcome) => outcome.error !== undefined);
          expect(failed.every((outcome) => isUnavailable(outcome.error))).toBe(true);
          const completed = outcomes.flatMap((outcome) => (outcome.value === undefined ? [] : [outcome.value]));
          expect(completed.length + failed.length).toBe(count);
          expect({ completed: completed.length, failed: failed.length }).toEqual({ completed: cluster.maxBuffered, failed: count - cluster.maxBuffered });
          expect(nodes[0].broker.stats().publishDropped - droppedBefore).toBe(failed.length);
          // kill -9 without persistence lost the stream: what completed after the restart is a new continuity, without gaps.
          if (completed.length > 0) {
            expect(new Set(completed.map((position) => position.epoch)).size).toBe(1);
            expect(completed[0].epoch).not.toBe(before.epoch);
            expect(completed.map((position) => position.offset).sort((a, b) => a - b)).toEqual(completed.map((_, i) => i + 1));
          }
          await eventually(() => nodes[0].broker.stats().publishBuffered === 0, () => 'appends still buffered after the restart', 10_000);

          const after = await nodes[1].history.append(channel, Buffer.from('after'), LONG);
          expect(after.offset).toBe(completed.length + 1);
          // The other node hears appends again once its subscriptions are restored (the broker's job, in the background):
          // append until it does.
          let last = after;
          const deadline = Date.now() + 10_000;
          while (!nodes[0].positioned(channel).some((heard) => heard.payload.toString().startsWith('after'))) {
            expect(Date.now()).toBeLessThan(deadline);
            await sleep(100);
            last = await nodes[1].history.append(channel, Buffer.from(`after ${last.offset + 1}`), LONG);
          }
          expect(last.epoch).toBe(after.epoch);
          expect((await nodes[0].history.readSince(channel, before, LONG)).recovered).toBe(false);
          const replay = await nodes[0].history.readSince(channel, { epoch: after.epoch, offset: after.offset - 1 }, LONG);
          expect(replay.recovered && replay.entries.map((entry) => entry.offset)).toEqual(Array.from({ length: last.offset - after.offset + 1 }, (_, i) => after.offset + i));

          // Killed for good: whatever waits gives up within the broker's bound.
          cluster.kill();
          await sleep(200);
          const stranded = Array.from({ length: 5 }, (_, i) => nodes[0].history.append(channel, Buffer.from(`stranded ${i}`), LONG));
          const reads = [nodes[0].history.readSince(channel, last, LONG), nodes[0].history.position(channel)];
          const giveUps = await Promise.all([...stranded, ...reads].map((operation) => settledWithin(operation as Promise<unknown>, cluster.waitMs + 3000)));
          expect(giveUps.every((outcome) => isUnavailable(outcome.error))).toBe(true);
          await sleep(50);
          expect(unhandled).toEqual([]);
        } finally {
          process.off('unhandledRejection', onUnhandled);
        }
      }, 60_000);
    }
  });
}
