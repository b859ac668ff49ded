/**
 * The broker conformance suite: what every {@link Broker} must do, so that
 * rooms, the hub and the adapter never change for scale-out. Run it with
 * `brokerConformance(name, makeCluster)`; `makeCluster(n)` returns n brokers
 * connected to one medium (one InMemoryBus, one Redis, one NATS), not yet
 * attached, and a teardown that releases the medium. The suite attaches the
 * brokers to fake nodes and detaches them itself.
 *
 * The contract, tested through the Broker interface alone:
 * 1. Routing by subscription. A packet published by node A reaches node B
 *    only while B is subscribed to the packet's channel: a packet for exactly
 *    one room and no client ids travels on that room's channel
 *    `(path, room)`; any other packet (several rooms, client ids, everyone,
 *    everyone except some) on the gateway path's channel `(path, undefined)`.
 *    Channel names are opaque strings: dots, wildcards, spaces, braces, `:`
 *    and non-ASCII characters route exactly, never as patterns.
 * 2. A packet never comes back to its publisher, and reaches each subscribed
 *    node once, however many of its channels match.
 * 3. `unsubscribe` stops that channel and no other; the channel can be
 *    subscribed again. Calls come balanced per channel and never repeated
 *    (the hub counts references), without being awaited by the hub, and may
 *    come before `attach` (Nest creates gateways before its init hooks): they
 *    take effect from `attach`.
 * 4. `detach` stops delivery to the node and frees the broker: it publishes
 *    nothing more, keeps no subscription, and can be attached again.
 * 5. Packets keep their bytes (a Buffer), binary and compress flags, path and
 *    targeting exactly.
 * 6. Each publisher's packets on a channel arrive in publish order, for
 *    thousands of packets.
 * 7. `publish` never throws into the caller (nor returns a promise that
 *    rejects): before `attach`, alone, to channels nobody listens on, after
 *    `detach`, and when a receiving node's `deliver` throws.
 *
 * Written for asynchronous brokers too: whatever `attach`, `detach`,
 * `subscribe` and `unsubscribe` return is awaited (a broker resolves once its
 * engine confirmed), deliveries are awaited with a bounded poll, and "does
 * not arrive" is checked once a witness has received what was published
 * after it, plus a settle time.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { BroadcastPacket, Broker, BrokerNode, Targeting } from '../../lib/index.js';
import { SwitchboardModule } from '../../lib/index.js';
import { createGatewayHarness, type GatewayHarness, type GatewayTestClient } from '../../lib/testing/index.js';
import { NewsService, RoomsGateway } from '../fixtures/rooms.gateway.js';

/** n brokers on one medium, not attached yet, and how to release the medium. */
export interface BrokerCluster {
  readonly brokers: readonly Broker[];
  /** Called after the suite detached every broker it attached. */
  teardown?(): Promise<void> | void;
}

export type MakeCluster = (n: number) => BrokerCluster | Promise<BrokerCluster>;

export interface BrokerConformanceOptions {
  /** How long a delivery may take. @default 2000 */
  deliveryTimeoutMs?: number;
  /** How long to wait, after a witness received, before asserting that something did not arrive. @default 20 */
  settleMs?: number;
  /**
   * Titles of tests this broker is known to fail today: they run as
   * `it.failing`, so each stays visible and fails the run once it passes.
   */
  knownGaps?: readonly string[];
}

const PATH = '/conformance';

/** A node as the hub would be one, recording what the broker delivers. */
class FakeNode implements BrokerNode {
  readonly nodeId = randomUUID();
  readonly received: BroadcastPacket[] = [];
  /** When set, `deliver` throws it (after recording the packet). */
  failWith: Error | undefined;

  deliver(packet: BroadcastPacket): void {
    this.received.push(packet);
    if (this.failWith !== undefined) {
      throw this.failWith;
    }
  }

  /** What each received packet says (the suite's frames are text tags). */
  tags(): string[] {
    return this.received.map((packet) => packet.frame.toString('utf8'));
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

/** A packet whose frame is its tag. */
function tagged(tag: string, targeting: Targeting & { path?: string } = {}): BroadcastPacket {
  const { path = PATH, ...rest } = targeting;
  return { path, frame: Buffer.from(tag, 'utf8'), binary: false, compress: false, ...rest };
}

/** Path and targeting of a packet, without the fields it leaves undefined (a serialiser may drop them). */
function addressOf(packet: BroadcastPacket): Record<string, unknown> {
  const address: Record<string, unknown> = {};
  for (const key of ['path', 'rooms', 'clientIds', 'exceptRooms', 'exceptClientIds'] as const) {
    if (packet[key] !== undefined) {
      address[key] = packet[key];
    }
  }
  return address;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function brokerConformance(name: string, makeCluster: MakeCluster, options: BrokerConformanceOptions = {}): void {
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? 2000;
  const settleMs = options.settleMs ?? 20;
  const knownGaps = new Set(options.knownGaps);
  const seen = new Set<string>();

  /** `it`, or `it.failing` for a known gap. */
  function test(title: string, body: () => Promise<void>, timeout?: number): void {
    seen.add(title);
    if (knownGaps.has(title)) {
      it.failing(`known gap: ${title}`, body, timeout);
    } else {
      it(title, body, timeout);
    }
  }

  /** Resolves once `done()` holds; fails with `what()` after the delivery timeout. */
  async function eventually(done: () => boolean, what: () => string): Promise<void> {
    const deadline = Date.now() + deliveryTimeoutMs;
    while (!done()) {
      if (Date.now() >= deadline) {
        throw new Error(`Not within ${deliveryTimeoutMs} ms: ${what()}`);
      }
      await sleep(2);
    }
  }

  /** Lets packets that should not arrive have their chance to. */
  const settle = (): Promise<void> => sleep(settleMs);

  /** One broker of the cluster and the fake node it is attached to. */
  class Member {
    node = new FakeNode();
    attached = false;
    /** Promises publish returned, if any: none may reject. */
    readonly publishResults: Promise<unknown>[] = [];

    constructor(readonly broker: Broker) {}

    async attach(node = new FakeNode()): Promise<void> {
      this.node = node;
      await this.broker.attach(node);
      this.attached = true;
    }

    async detach(): Promise<void> {
      this.attached = false;
      await this.broker.detach(this.node);
    }

    async subscribe(path: string, room?: string): Promise<void> {
      await (this.broker.subscribe(path, room) as unknown);
    }

    async unsubscribe(path: string, room?: string): Promise<void> {
      await (this.broker.unsubscribe(path, room) as unknown);
    }

    /** Publishes, failing the test if publish throws. */
    publish(packet: BroadcastPacket): void {
      let result: unknown;
      try {
        result = this.broker.publish(packet) as unknown;
      } catch (error) {
        throw new Error(`publish threw into its caller: ${(error as Error)?.stack ?? String(error)}`);
      }
      if (isThenable(result)) {
        this.publishResults.push(Promise.resolve(result));
      }
    }

    /** Resolves once the node received `count` packets in all. */
    async received(count: number): Promise<void> {
      await eventually(
        () => this.node.received.length >= count,
        () => `${count} packets delivered, got ${this.node.received.length}: ${JSON.stringify(this.node.tags().slice(-10))}`,
      );
    }
  }

  describe(`broker conformance: ${name}`, () => {
    const clusters: Array<{ cluster: BrokerCluster; members: Member[] }> = [];

    async function cluster(n: number, { attach = true } = {}): Promise<Member[]> {
      const made = await makeCluster(n);
      expect(made.brokers).toHaveLength(n);
      const members = made.brokers.map((broker) => new Member(broker));
      clusters.push({ cluster: made, members });
      if (attach) {
        for (const member of members) {
          await member.attach();
        }
      }
      return members;
    }

    afterEach(async () => {
      const made = clusters.splice(0);
      const failures: unknown[] = [];
      for (const { cluster: medium, members } of made) {
        for (const member of members.filter((candidate) => candidate.attached)) {
          await member.detach().catch((error: unknown) => failures.push(error));
        }
        await Promise.resolve(medium.teardown?.()).catch((error: unknown) => failures.push(error));
      }
      expect(failures).toEqual([]);
      const rejected = (await Promise.allSettled(made.flatMap(({ members }) => members.flatMap((member) => member.publishResults)))).filter(
        (outcome) => outcome.status === 'rejected',
      );
      expect(rejected).toEqual([]);
    });

    afterAll(() => {
      // A known gap whose title changed would silently stop being run.
      expect([...knownGaps].filter((title) => !seen.has(title))).toEqual([]);
    });

    describe('routing', () => {
      test('a packet for one room reaches the nodes subscribed to that room, and no other', async () => {
        const [publisher, member, gatewayOnly, otherRoom, otherPath] = await cluster(5);
        await member.subscribe(PATH, 'r1');
        await gatewayOnly.subscribe(PATH);
        await otherRoom.subscribe(PATH, 'r2');
        await otherPath.subscribe('/other', 'r1');

        publisher.publish(tagged('one room', { rooms: ['r1'] }));
        publisher.publish(tagged('one room, with exceptions', { rooms: ['r1'], exceptRooms: ['r2'], exceptClientIds: ['c9'] }));
        await member.received(2);
        await settle();

        expect(member.node.tags()).toEqual(['one room', 'one room, with exceptions']);
        expect(gatewayOnly.node.tags()).toEqual([]);
        expect(otherRoom.node.tags()).toEqual([]);
        expect(otherPath.node.tags()).toEqual([]);
      });

      test('a packet for everyone, several rooms or client ids travels on the gateway path channel', async () => {
        const [publisher, gateway, roomsOnly, otherPath] = await cluster(4);
        await gateway.subscribe(PATH);
        await roomsOnly.subscribe(PATH, 'r1');
        await roomsOnly.subscribe(PATH, 'r2');
        await otherPath.subscribe('/other');

        const sent = [
          tagged('everyone'),
          tagged('everyone except r1', { exceptRooms: ['r1'] }),
          tagged('several rooms', { rooms: ['r1', 'r2'] }),
          tagged('a client', { clientIds: ['c1'] }),
          tagged('a room and a client', { rooms: ['r1'], clientIds: ['c1'] }),
        ];
        sent.forEach((packet) => publisher.publish(packet));
        await gateway.received(sent.length);
        await settle();

        expect(gateway.node.tags()).toEqual(sent.map((packet) => packet.frame.toString()));
        expect(roomsOnly.node.tags()).toEqual([]);
        expect(otherPath.node.tags()).toEqual([]);
      });

      test('each subscribed node receives a packet once, however many of its channels match', async () => {
        const [publisher, both, some] = await cluster(3);
        for (const room of [undefined, 'r1', 'r2']) {
          await both.subscribe(PATH, room);
        }
        await some.subscribe(PATH);
        await some.subscribe(PATH, 'r1');

        publisher.publish(tagged('r1', { rooms: ['r1'] }));
        publisher.publish(tagged('r1 and r2', { rooms: ['r1', 'r2'] }));
        publisher.publish(tagged('everyone'));
        await both.received(3);
        await some.received(3);
        await settle();

        const expected = ['everyone', 'r1', 'r1 and r2'];
        expect(both.node.tags().sort()).toEqual(expected);
        expect(some.node.tags().sort()).toEqual(expected);
      });

      test('a packet never comes back to its publisher', async () => {
        const [a, b] = await cluster(2);
        for (const member of [a, b]) {
          await member.subscribe(PATH);
          await member.subscribe(PATH, 'r1');
          await member.subscribe(PATH, 'r2');
        }

        a.publish(tagged('from a: r1', { rooms: ['r1'] }));
        a.publish(tagged('from a: r1 and r2', { rooms: ['r1', 'r2'] }));
        a.publish(tagged('from a: everyone'));
        b.publish(tagged('from b: r1', { rooms: ['r1'] }));
        await b.received(3);
        await a.received(1);
        await settle();

        expect(a.node.tags()).toEqual(['from b: r1']);
        expect(b.node.tags().sort()).toEqual(['from a: everyone', 'from a: r1', 'from a: r1 and r2']);
      });

      test('channel names are opaque: dots, wildcards, spaces, braces, separators and non-ASCII route exactly', async () => {
        const [publisher, listener] = await cluster(2);
        const rooms = ['a.b', 'a.*', '*', '>', 'a b', '{slot}', 'x:y', 'ü€😀', '__proto__', 'toString', 'r1'];
        const decoyRooms = ['a.c', 'x', 'a.b.c', 'a', '{slot}x', 'x:y:z', 'ü€', 'valueOf', 'hasOwnProperty', 'r', 'r10'];
        const paths = ['/chat', '/chat.x', '/chat/*', '/c hat', '/ü/😀'];
        // Paths that a channel name made by joining path and room with a separator would confuse with (PATH, 'r1').
        const decoyPaths = ['/chat/x', '/chat/>', '/chatx', '/cha', '/chat/*/y', `${PATH}:r1`, `${PATH}/r1`, `${PATH}.r1`, `${PATH}#r1`, `${PATH} r1`, `${PATH}r1`];
        for (const room of rooms) {
          await listener.subscribe(PATH, room);
        }
        for (const path of paths) {
          await listener.subscribe(path);
        }

        for (const room of [...rooms, ...decoyRooms]) {
          publisher.publish(tagged(`room ${room}`, { rooms: [room] }));
        }
        for (const path of [...paths, ...decoyPaths]) {
          publisher.publish(tagged(`path ${path}`, { path }));
        }
        await listener.received(rooms.length + paths.length);
        await settle();

        expect(listener.node.tags().sort()).toEqual([...rooms.map((room) => `room ${room}`), ...paths.map((path) => `path ${path}`)].sort());
      });
    });

    describe('subscriptions', () => {
      test('unsubscribe stops delivery on that channel and on no other', async () => {
        const [publisher, listener, witness] = await cluster(3);
        for (const member of [listener, witness]) {
          for (const room of [undefined, 'r1', 'r2']) {
            await member.subscribe(PATH, room);
          }
        }

        await listener.unsubscribe(PATH, 'r1');
        publisher.publish(tagged('r1', { rooms: ['r1'] }));
        publisher.publish(tagged('r2', { rooms: ['r2'] }));
        publisher.publish(tagged('everyone'));
        await witness.received(3);
        await listener.received(2);
        await settle();
        expect(listener.node.tags().sort()).toEqual(['everyone', 'r2']);

        await listener.unsubscribe(PATH);
        publisher.publish(tagged('everyone again'));
        publisher.publish(tagged('r2 again', { rooms: ['r2'] }));
        await witness.received(5);
        await listener.received(3);
        await settle();
        expect(listener.node.tags().slice(2)).toEqual(['r2 again']);
      });

      test('a channel can be subscribed again after it was unsubscribed, cycle after cycle', async () => {
        const [publisher, listener, witness] = await cluster(3);
        await witness.subscribe(PATH);
        await witness.subscribe(PATH, 'r1');
        const expected: string[] = [];
        for (let cycle = 0; cycle < 5; cycle++) {
          await listener.subscribe(PATH, 'r1');
          await listener.subscribe(PATH);
          publisher.publish(tagged(`cycle ${cycle}: r1`, { rooms: ['r1'] }));
          publisher.publish(tagged(`cycle ${cycle}: everyone`));
          expected.push(`cycle ${cycle}: everyone`, `cycle ${cycle}: r1`);
          await listener.received(expected.length);

          await listener.unsubscribe(PATH, 'r1');
          await listener.unsubscribe(PATH);
          publisher.publish(tagged(`cycle ${cycle}: r1, unsubscribed`, { rooms: ['r1'] }));
          publisher.publish(tagged(`cycle ${cycle}: everyone, unsubscribed`));
          await witness.received(4 * (cycle + 1));
          await settle();
          expect(listener.node.tags().sort()).toEqual([...expected].sort());
        }
      });

      test('subscriptions made before attach take effect from attach', async () => {
        const [publisher, listener] = await cluster(2, { attach: false });
        await listener.subscribe(PATH);
        await listener.subscribe(PATH, 'r1');
        await publisher.attach();
        await listener.attach();

        publisher.publish(tagged('r1', { rooms: ['r1'] }));
        publisher.publish(tagged('everyone'));
        await listener.received(2);
        expect(listener.node.tags().sort()).toEqual(['everyone', 'r1']);
      });

      test('a thousand channels subscribed and unsubscribed at once, without waiting for each', async () => {
        const [publisher, listener, witness] = await cluster(3);
        const rooms = Array.from({ length: 1000 }, (_, index) => `room-${index}`);
        await Promise.all(rooms.flatMap((room) => [listener.subscribe(PATH, room), witness.subscribe(PATH, room)]));

        rooms.forEach((room) => publisher.publish(tagged(`first ${room}`, { rooms: [room] })));
        await listener.received(rooms.length);

        await Promise.all(rooms.map((room) => listener.unsubscribe(PATH, room)));
        rooms.forEach((room) => publisher.publish(tagged(`second ${room}`, { rooms: [room] })));
        await witness.received(2 * rooms.length);
        await settle();
        expect(listener.node.tags().sort()).toEqual(rooms.map((room) => `first ${room}`).sort());
      });
    });

    describe('detach', () => {
      test('detach stops delivery to the node', async () => {
        const [publisher, leaving, witness] = await cluster(3);
        for (const member of [leaving, witness]) {
          await member.subscribe(PATH);
          await member.subscribe(PATH, 'r1');
        }

        await leaving.detach();
        publisher.publish(tagged('r1', { rooms: ['r1'] }));
        publisher.publish(tagged('everyone'));
        await witness.received(2);
        await settle();
        expect(leaving.node.tags()).toEqual([]);
      });

      test('a detached broker publishes nothing more', async () => {
        const [leaving, listener, other] = await cluster(3);
        for (const member of [listener, other]) {
          await member.subscribe(PATH);
          await member.subscribe(PATH, 'r1');
        }
        leaving.publish(tagged('before detach'));
        await listener.received(1);
        await other.received(1);

        await leaving.detach();
        leaving.publish(tagged('after detach: r1', { rooms: ['r1'] }));
        leaving.publish(tagged('after detach: everyone'));
        // No witness can hear a detached publisher: give the packets time to (wrongly) arrive.
        await sleep(Math.max(settleMs, 50));
        expect(listener.node.tags()).toEqual(['before detach']);
        expect(other.node.tags()).toEqual(['before detach']);
      });

      test('a detached broker keeps no subscription, and attached again delivers to its new node only', async () => {
        const [publisher, returning, witness] = await cluster(3);
        for (const member of [returning, witness]) {
          await member.subscribe(PATH);
          await member.subscribe(PATH, 'r1');
        }
        const firstNode = returning.node;

        await returning.detach();
        await returning.attach();
        publisher.publish(tagged('while unsubscribed: r1', { rooms: ['r1'] }));
        publisher.publish(tagged('while unsubscribed: everyone'));
        await witness.received(2);
        await settle();
        expect(returning.node.tags()).toEqual([]);

        await returning.subscribe(PATH, 'r1');
        publisher.publish(tagged('subscribed again', { rooms: ['r1'] }));
        await returning.received(1);
        await settle();
        expect(returning.node.tags()).toEqual(['subscribed again']);
        expect(firstNode.tags()).toEqual([]);
      });
    });

    describe('packets', () => {
      test('a packet keeps its bytes, binary and compress flags, path and targeting exactly', async () => {
        const [publisher, listener] = await cluster(2);
        await listener.subscribe(PATH);
        await listener.subscribe(PATH, 'r1');
        const allBytes = Buffer.from(Array.from({ length: 256 }, (_, index) => index));
        const sent: BroadcastPacket[] = [
          { path: PATH, frame: Buffer.from('{"event":"héllo","data":"wörld 😀"}'), binary: false, compress: false, rooms: ['r1'] },
          { path: PATH, frame: allBytes, binary: true, compress: true, rooms: ['r1', 'r 2'], exceptRooms: ['x'], exceptClientIds: ['c3'] },
          { path: PATH, frame: Buffer.alloc(0), binary: true, compress: false },
          // A view into a larger buffer: only its own bytes may travel.
          { path: PATH, frame: Buffer.from('xxxx{"view":true}yyyy').subarray(4, 17), binary: false, compress: true, clientIds: ['c1', 'c2'], exceptClientIds: ['c1'] },
          { path: PATH, frame: randomBytes(1 << 20), binary: true, compress: true, rooms: ['r1'], clientIds: ['ü'] },
          { path: PATH, frame: Buffer.from('{"nul":"\u0000"}\n\r\u2028'), binary: false, compress: true, exceptRooms: ['r1', '{slot}'] },
        ];
        for (const [index, packet] of sent.entries()) {
          publisher.publish(packet);
          await listener.received(index + 1);
          const got = listener.node.received[index];
          expect(Buffer.isBuffer(got.frame)).toBe(true);
          expect(got.frame.length).toBe(packet.frame.length);
          expect(got.frame.equals(packet.frame)).toBe(true);
          expect(got.binary).toBe(packet.binary);
          expect(got.compress).toBe(packet.compress);
          expect(addressOf(got)).toStrictEqual(addressOf(packet));
        }
        await settle();
        expect(listener.node.received).toHaveLength(sent.length);
      });

      test("each publisher's packets on a channel arrive in publish order, thousands of them", async () => {
        const [a, c, listener] = await cluster(3);
        await listener.subscribe(PATH);
        await listener.subscribe(PATH, 'r1');
        const perStream = 3000;
        for (let index = 0; index < perStream; index++) {
          a.publish(tagged(`a r1 ${index}`, { rooms: ['r1'] }));
          a.publish(tagged(`a everyone ${index}`));
          c.publish(tagged(`c r1 ${index}`, { rooms: ['r1'] }));
        }
        await listener.received(3 * perStream);
        await settle();

        const tags = listener.node.tags();
        expect(tags).toHaveLength(3 * perStream);
        for (const stream of ['a r1', 'a everyone', 'c r1']) {
          const order = tags.filter((tag) => tag.startsWith(`${stream} `)).map((tag) => Number(tag.slice(stream.length + 1)));
          expect(order).toEqual(Array.from({ length: perStream }, (_, index) => index));
        }
      });
    });

    describe('publish never throws', () => {
      test('before attach, alone, to channels nobody listens on, and after detach', async () => {
        const [lone] = await cluster(1, { attach: false });
        lone.publish(tagged('before attach'));
        await lone.attach();
        lone.publish(tagged('alone'));
        lone.publish(tagged('alone, to a room', { rooms: ['r1'] }));
        await lone.detach();
        lone.publish(tagged('after detach'));

        const [a, b] = await cluster(2);
        await b.subscribe(PATH, 'r1');
        a.publish(tagged('nobody listens', { rooms: ['r2'] }));
        a.publish(tagged('nobody listens', { path: '/nobody' }));
        a.publish(tagged('nobody listens', { rooms: ['r1', 'r2'], clientIds: ['c1'] }));
        await settle();
        expect(b.node.tags()).toEqual([]);
        expect(lone.node.tags()).toEqual([]);
      });

      test("a receiving node whose deliver throws disturbs neither the publisher nor the other nodes", async () => {
        const [publisher, failing, healthy] = await cluster(3);
        for (const member of [failing, healthy]) {
          await member.subscribe(PATH);
          await member.subscribe(PATH, 'r1');
        }
        failing.node.failWith = new Error('deliver failed');

        publisher.publish(tagged('r1', { rooms: ['r1'] }));
        publisher.publish(tagged('everyone'));
        publisher.publish(tagged('r1 again', { rooms: ['r1'] }));
        await healthy.received(3);
        await failing.received(3);
        expect(healthy.node.tags().sort()).toEqual(['everyone', 'r1', 'r1 again']);
      });
    });

    describe('end to end, with SwitchboardHubs and Nest apps on the medium', () => {
      /** Records the calls the real hub makes, passing each through. */
      class RecordingBroker implements Broker {
        readonly calls: Array<{ call: 'subscribe' | 'unsubscribe'; channel: string }> = [];
        constructor(private readonly inner: Broker) {}
        attach(node: BrokerNode): Promise<void> | void {
          return this.inner.attach(node);
        }
        detach(node: BrokerNode): Promise<void> | void {
          return this.inner.detach(node);
        }
        publish(packet: BroadcastPacket): void {
          this.inner.publish(packet);
        }
        subscribe(path: string, room: string | undefined): void {
          this.calls.push({ call: 'subscribe', channel: JSON.stringify([path, room ?? null]) });
          return this.inner.subscribe(path, room);
        }
        unsubscribe(path: string, room: string | undefined): void {
          this.calls.push({ call: 'unsubscribe', channel: JSON.stringify([path, room ?? null]) });
          return this.inner.unsubscribe(path, room);
        }
      }

      test('three apps behave as one server: room, several-rooms, client and everyone broadcasts reach other nodes once', async () => {
        const made = await makeCluster(3);
        const brokers = made.brokers.map((broker) => new RecordingBroker(broker));
        const harnesses: GatewayHarness[] = [];
        try {
          for (const broker of brokers) {
            harnesses.push(
              await createGatewayHarness({ imports: [SwitchboardModule.forRoot({ broker })], providers: [RoomsGateway, NewsService] }, { logger: false }),
            );
          }
          const [nodeA, nodeB, nodeC] = harnesses;
          const connect = async (harness: GatewayHarness, rooms: string[]): Promise<GatewayTestClient & { id: string }> => {
            const client = (await harness.connect('/rooms')) as GatewayTestClient & { id: string };
            client.id = await client.request<string>('whoami');
            if (rooms.length > 0) {
              await client.request('join', rooms);
            }
            return client;
          };
          const onA = await connect(nodeA, []);
          const member = await connect(nodeB, ['shared', 'x', 'y']);
          const bystander = await connect(nodeC, []);
          // An async broker may confirm B's subscriptions after the join was answered.
          const timeout = { timeout: deliveryTimeoutMs };

          nodeA.get(NewsService).publish('shared', 'to a room');
          await expect(member.expectEvent('news', timeout)).resolves.toBe('to a room');

          await onA.request('to-rooms', { rooms: ['x', 'y'], n: 1 });
          await expect(member.expectEvent('multi', timeout)).resolves.toBe(1);

          await onA.request('whisper', { to: member.id, text: 'to a client' });
          await expect(member.expectEvent('whisper', timeout)).resolves.toBe('to a client');

          await onA.request('announce', 'to everyone');
          await expect(member.expectEvent('announce', timeout)).resolves.toBe('to everyone');
          await expect(bystander.expectEvent('announce', timeout)).resolves.toBe('to everyone');
          await expect(onA.expectEvent('announce', timeout)).resolves.toBe('to everyone');

          // Each once, and the bystander got nothing but the announcement.
          await member.expectNoEvent(settleMs + 30);
          await bystander.expectNoEvent(settleMs + 30);
          await onA.expectNoEvent(10);
        } finally {
          for (const harness of harnesses) {
            await harness.close();
          }
          await made.teardown?.();
        }

        // The hubs' side of the seam: per channel, subscribe and unsubscribe alternate, and end balanced.
        for (const broker of brokers) {
          const byChannel = new Map<string, string[]>();
          for (const { call, channel } of broker.calls) {
            byChannel.set(channel, [...(byChannel.get(channel) ?? []), call]);
          }
          expect(byChannel.size).toBeGreaterThan(0);
          for (const [channel, calls] of byChannel) {
            const alternating = calls.map((_, index) => (index % 2 === 0 ? 'subscribe' : 'unsubscribe'));
            expect({ channel, calls }).toEqual({ channel, calls: alternating });
            expect({ channel, balanced: calls.length % 2 === 0 }).toEqual({ channel, balanced: true });
          }
        }
      });
    });
  });
}
