/**
 * The broker conformance suite (broker seam v2): what every {@link Broker}
 * must do, so that the hub's routing (room, path and node channels, own
 * echoes dropped, one delivery per broadcast) works the same on every
 * medium. Run it with `brokerConformance(name, makeCluster)`;
 * `makeCluster(n)` returns n brokers on one medium (one InMemoryBus, one
 * Redis, one Redis Cluster), not yet attached, and a teardown that releases
 * the medium. The suite attaches the brokers and detaches them itself.
 *
 * A broker moves opaque payloads on named channels. The contract, tested
 * through the Broker interface alone:
 * 1. Routing by subscription. A payload published on a channel reaches
 *    exactly the brokers subscribed to that channel, once each, with the
 *    channel it was published on. The publisher may get its own payload back
 *    (Redis PUBLISH does, and the hub drops it), at most once and only on a
 *    channel it subscribed to: the suite allows it and never requires it.
 *    Channel names are opaque strings: NUL, dots, wildcards, glob
 *    characters, braces, spaces, prototype keys and non-ASCII route
 *    exactly, never as patterns, and so do names that are not well-formed
 *    UTF-16 (a room name can carry a lone surrogate).
 * 2. `subscribe(channels)` resolves once the engine confirmed every channel:
 *    a payload another broker publishes right after it resolves arrives.
 *    `unsubscribe` stops delivery on those channels and no other (from the
 *    moment it resolves); channels can be subscribed again, and the last
 *    call wins. Subscriptions made before `attach` take effect from attach.
 *    A thousand channels fit one call.
 * 3. `detach` stops delivery (the receiver is never called again) and
 *    publishing, and forgets every subscription: attached again, a broker
 *    has none, and delivers to its new receiver only.
 * 4. Payload bytes arrive exactly (a Buffer): empty, 1 MiB, a view into a
 *    larger Buffer, every byte value, NUL, invalid UTF-8.
 * 5. Each publisher's payloads on a channel arrive in publish order (3
 *    publishers x 3,000 payloads on each of 4 channels, right after attach);
 *    across channels no order is promised.
 * 6. `publish` never throws (nor returns anything): before attach, alone,
 *    with no subscriber, after detach, and when a receiver throws; a
 *    throwing receiver disturbs no other broker and not its own broker's
 *    later deliveries.
 * 7. `stats()` counts as documented in BrokerStats.
 * 8. End to end: three Nest apps (SwitchboardModule with the broker, the
 *    gateway harness) behave as one server, and a node without members of a
 *    room gets nothing on that room's channel.
 *
 * Written for asynchronous brokers: whatever `attach`, `detach`,
 * `subscribe` and `unsubscribe` return is awaited, deliveries are awaited
 * with a bounded poll, and "does not arrive" is checked once a witness
 * subscribed to the same channel has received what was published after it,
 * plus a settle time. Besides each test's own assertions, every test ends
 * with checks on everything every receiver got: arguments of the right
 * types, no call after detach, and no payload that was not published by a
 * broker of the test on that very channel, or more copies of it than it was
 * published.
 */
import { randomBytes } from 'node:crypto';
import type { Broker, BrokerReceiver, BrokerStats } from '../../lib/index.js';
import { nodeChannel, pathChannel, roomChannel, SwitchboardModule } from '../../lib/index.js';
import { SwitchboardHub, type ClusterStats } from '../../lib/hub/switchboard-hub.js';
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
   * Tests this broker is known to fail today, by title: they run as
   * `it.failing`, so each stays visible and fails the run once it passes.
   * A gap given as `{ title, skip }` is not run at all (`it.skip`, the
   * reason in its name): for a failure `it.failing` cannot hold, such as an
   * uncaught exception, which Jest charges to the test whatever it expects.
   */
  knownGaps?: ReadonlyArray<string | KnownGap>;
}

export interface KnownGap {
  readonly title: string;
  /** Why the test is not run. */
  readonly skip: string;
}

/** One call of a receiver. */
interface Delivery {
  readonly channel: string;
  readonly payload: Buffer;
}

/** A tagged payload as a receiver got it: who published it, on which channel, and its tag. */
interface Heard {
  readonly from: string;
  readonly channel: string;
  readonly tag: string;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Tagged payloads are `<member id>|<tag>`; anything else is a raw payload of a bytes test. */
const TAGGED = /^(m\d+)\|/;

function parse(delivery: Delivery): Heard | undefined {
  const text = delivery.payload.toString('utf8');
  const match = TAGGED.exec(text);
  return match === null ? undefined : { from: match[1], channel: delivery.channel, tag: text.slice(match[0].length) };
}

const show = (heard: Heard): string => `${heard.from}>${JSON.stringify(heard.channel)}:${heard.tag}`;

let memberCount = 0;

export function brokerConformance(name: string, makeCluster: MakeCluster, options: BrokerConformanceOptions = {}): void {
  const deliveryTimeoutMs = options.deliveryTimeoutMs ?? 2000;
  const settleMs = options.settleMs ?? 20;
  const knownGaps = new Map((options.knownGaps ?? []).map((gap) => (typeof gap === 'string' ? [gap, undefined] : [gap.title, gap.skip])));
  const seen = new Set<string>();

  /**
   * `it`, or `it.failing` (`it.skip`) for a known gap. The checks of every
   * test's deliveries run in the test itself, so that a known gap fails as a
   * whole, and an `afterEach` only cleans up after a test that failed.
   */
  function test(title: string, body: () => Promise<void>, timeout?: number): void {
    seen.add(title);
    const run = async (): Promise<void> => {
      await body();
      await finish(true);
    };
    if (!knownGaps.has(title)) {
      it(title, run, timeout);
    } else if (knownGaps.get(title) === undefined) {
      it.failing(`known gap: ${title}`, run, timeout);
    } else {
      it.skip(`known gap, not run (${knownGaps.get(title)}): ${title}`, run, timeout);
    }
  }

  /** Resolves once `done()` holds; fails with `what()` after the timeout. */
  async function eventually(done: () => boolean, what: () => string, timeoutMs = deliveryTimeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done()) {
      if (Date.now() >= deadline) {
        throw new Error(`Not within ${timeoutMs} ms: ${what()}`);
      }
      await sleep(2);
    }
  }

  /** Lets payloads that should not arrive have their chance to. */
  const settle = (): Promise<void> => sleep(settleMs);

  /** One broker of a cluster, with a recording receiver. */
  class Member {
    readonly id = `m${++memberCount}`;
    /** What the current receiver got (a new list at every attach). */
    deliveries: Delivery[] = [];
    /** The same, parsed once as they arrive (undefined for raw payloads). */
    private parsed: Array<Heard | undefined> = [];
    /** Receiver calls since the first attach, whichever receiver. */
    receiverCalls = 0;
    attached = false;
    /** When set, the receiver throws it (after recording the delivery). */
    failWith: Error | undefined;
    /** Everything this member published, tagged: `channel`, `tag`. */
    readonly published: Array<{ channel: string; tag: string }> = [];
    /** Contract violations seen by the receiver or the publish wrapper; checked after each test. */
    readonly violations: string[] = [];
    private generation = 0;

    constructor(readonly broker: Broker) {}

    async attach(): Promise<void> {
      const generation = ++this.generation;
      const deliveries: Delivery[] = [];
      const parsed: Array<Heard | undefined> = [];
      this.deliveries = deliveries;
      this.parsed = parsed;
      const receive: BrokerReceiver = (channel, payload) => {
        if (typeof channel !== 'string' || !Buffer.isBuffer(payload)) {
          this.violations.push(`receiver called with (${typeof channel}, ${Object.prototype.toString.call(payload)})`);
        }
        if (generation !== this.generation || !this.attached) {
          this.violations.push(`receiver of attach #${generation} called after its detach, on ${JSON.stringify(channel)}`);
        }
        deliveries.push({ channel, payload });
        parsed.push(Buffer.isBuffer(payload) ? parse({ channel, payload }) : undefined);
        this.receiverCalls++;
        if (this.failWith !== undefined) {
          throw this.failWith;
        }
      };
      await this.broker.attach(receive);
      if (generation === this.generation) {
        this.attached = true;
      }
    }

    async detach(): Promise<void> {
      await this.broker.detach();
      this.attached = false;
      this.generation++;
    }

    subscribe(channels: readonly string[]): Promise<void> {
      return this.broker.subscribe(channels);
    }

    unsubscribe(channels: readonly string[]): Promise<void> {
      return this.broker.unsubscribe(channels);
    }

    /** Publishes raw bytes, failing the test if publish throws or returns something. */
    publishRaw(channel: string, payload: Buffer): void {
      let result: unknown;
      try {
        result = this.broker.publish(channel, payload) as unknown;
      } catch (error) {
        throw new Error(`publish threw into its caller: ${(error as Error)?.stack ?? String(error)}`);
      }
      if (result !== undefined) {
        this.violations.push(`publish returned ${Object.prototype.toString.call(result)}`);
        if (typeof (result as { then?: unknown }).then === 'function') {
          (result as Promise<unknown>).then(undefined, (error: unknown) => this.violations.push(`publish returned a promise that rejected: ${String(error)}`));
        }
      }
    }

    /** Publishes `<id>|<tag>` on a channel. */
    publish(channel: string, tag: string): void {
      this.published.push({ channel, tag });
      this.publishRaw(channel, Buffer.from(`${this.id}|${tag}`, 'utf8'));
    }

    /** Tagged payloads of other brokers the current receiver got, in arrival order. */
    heard(channel?: string): Heard[] {
      return this.parsed.filter((heard): heard is Heard => heard !== undefined && heard.from !== this.id && (channel === undefined || heard.channel === channel));
    }

    /** Tags this member heard from others (on one channel, or all). */
    tags(channel?: string): string[] {
      return this.heard(channel).map((heard) => heard.tag);
    }

    /** This member's own payloads that came back to it. */
    echoes(): Heard[] {
      return this.parsed.filter((heard): heard is Heard => heard !== undefined && heard.from === this.id);
    }

    /** Resolves once the current receiver got `count` payloads from others (on one channel, or all). */
    async received(count: number, channel?: string, timeoutMs?: number): Promise<void> {
      await eventually(
        () => this.heard(channel).length >= count,
        () => {
          const heard = this.heard(channel);
          return `${this.id}: ${count} payloads from others${channel === undefined ? '' : ` on ${JSON.stringify(channel)}`}, got ${heard.length}: ${JSON.stringify(heard.slice(-5).map(show))}`;
        },
        timeoutMs,
      );
    }

    /** Own payloads came back only on these channels, and each at most once (checked generally after each test). */
    expectEchoesOnlyOn(channels: readonly string[]): void {
      const allowed = new Set(channels);
      expect(this.echoes().filter((echo) => !allowed.has(echo.channel)).map(show)).toEqual([]);
    }
  }

  const clusters: Array<{ cluster: BrokerCluster; members: Member[] }> = [];

  async function cluster(n: number, { attach = true } = {}): Promise<Member[]> {
    const made = await makeCluster(n);
    expect(made.brokers).toHaveLength(n);
    const members = made.brokers.map((broker) => new Member(broker));
    clusters.push({ cluster: made, members });
    if (attach) {
      await Promise.all(members.map((member) => member.attach()));
    }
    return members;
  }

  /** What every receiver got must have been published, on that channel, by a broker of the test, and not more often. */
  function checkDeliveries(members: readonly Member[]): string[] {
    const problems: string[] = [];
    const publishedCounts = new Map<string, number>();
    for (const member of members) {
      for (const { channel, tag } of member.published) {
        const key = show({ from: member.id, channel, tag });
        publishedCounts.set(key, (publishedCounts.get(key) ?? 0) + 1);
      }
    }
    for (const member of members) {
      problems.push(...member.violations.map((violation) => `${member.id}: ${violation}`));
      const counts = new Map<string, number>();
      for (const heard of [...member.heard(), ...member.echoes()]) {
        const key = show(heard);
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
      for (const [key, count] of counts) {
        const published = publishedCounts.get(key) ?? 0;
        if (count > published) {
          problems.push(`${member.id} got ${key} ${count} time(s); it was published ${published} time(s) on that channel`);
        }
      }
    }
    return problems;
  }

  /** Detaches every broker the test attached and releases the media; with `verify`, fails on what went wrong. */
  async function finish(verify: boolean): Promise<void> {
    const made = clusters.splice(0);
    const failures: unknown[] = [];
    for (const { cluster: medium, members } of made) {
      await Promise.all(members.filter((member) => member.attached).map((member) => member.detach().catch((error: unknown) => failures.push(error))));
      await Promise.resolve(medium.teardown?.()).catch((error: unknown) => failures.push(error));
    }
    if (verify) {
      expect(failures).toEqual([]);
      expect(made.flatMap(({ members }) => checkDeliveries(members))).toEqual([]);
    }
  }

  describe(`broker conformance: ${name}`, () => {
    // After a test that failed (its own checks did not run): release what it left, quietly.
    afterEach(() => finish(false));

    afterAll(() => {
      // A known gap whose title changed would silently stop being run.
      expect([...knownGaps.keys()].filter((title) => !seen.has(title))).toEqual([]);
    });

    describe('routing', () => {
      test('a payload published on a channel reaches exactly the brokers subscribed to it, with that channel', async () => {
        const [publisher, onA, onBoth, onB, none] = await cluster(5);
        await onA.subscribe(['a']);
        await onBoth.subscribe(['a', 'b']);
        await onB.subscribe(['b']);

        publisher.publish('a', 'on a');
        publisher.publish('b', 'on b');
        publisher.publish('nobody', 'on a channel nobody listens on');
        publisher.publish('a', 'on a again');
        await onA.received(2);
        await onBoth.received(3);
        await onB.received(1);
        await settle();

        expect(onA.heard().map(show)).toEqual([`${publisher.id}>"a":on a`, `${publisher.id}>"a":on a again`]);
        expect(onBoth.heard('a').map(show)).toEqual([`${publisher.id}>"a":on a`, `${publisher.id}>"a":on a again`]);
        expect(onBoth.heard('b').map(show)).toEqual([`${publisher.id}>"b":on b`]);
        expect(onBoth.heard()).toHaveLength(3);
        expect(onB.heard().map(show)).toEqual([`${publisher.id}>"b":on b`]);
        expect(none.deliveries).toEqual([]);
        // Not subscribed to anything: the publisher gets nothing, not even its own payloads.
        expect(publisher.deliveries).toEqual([]);
      });

      test('the publisher may get its own payload back, at most once and only on a channel it subscribed to; the others get it either way', async () => {
        const [a, b, c] = await cluster(3);
        await a.subscribe(['shared', 'mine']);
        await b.subscribe(['shared', 'theirs']);
        await c.subscribe(['theirs']);

        a.publish('shared', 'a on shared');
        a.publish('mine', 'a on mine');
        a.publish('theirs', 'a on theirs');
        b.publish('shared', 'b on shared');
        b.publish('theirs', 'b on theirs');
        await b.received(2);
        await a.received(1);
        await c.received(2);
        await settle();

        expect(b.tags().sort()).toEqual(['a on shared', 'a on theirs']);
        expect(a.tags()).toEqual(['b on shared']);
        expect(c.tags().sort()).toEqual(['a on theirs', 'b on theirs']);
        // Allowed, not required: a's payloads on shared and mine, b's on shared and theirs.
        a.expectEchoesOnlyOn(['shared', 'mine']);
        b.expectEchoesOnlyOn(['shared', 'theirs']);
        expect(c.echoes()).toEqual([]);
        for (const member of [a, b]) {
          const echoed = member.echoes().map((echo) => echo.tag);
          expect(new Set(echoed).size).toBe(echoed.length);
        }
      });

      test('a broker subscribed to several channels gets one copy per channel the payload was published on', async () => {
        // The hub publishes one broadcast for rooms x and y on both room channels; a node in both gets two copies and delivers the first.
        const [publisher, both, onlyY] = await cluster(3);
        await both.subscribe(['x', 'y', 'z']);
        await onlyY.subscribe(['y']);

        const payload = Buffer.from(`${publisher.id}|to x and y`);
        for (const channel of ['x', 'y']) {
          publisher.published.push({ channel, tag: 'to x and y' });
          publisher.publishRaw(channel, payload);
        }
        await both.received(2);
        await onlyY.received(1);
        await settle();

        expect(both.heard().map((heard) => heard.channel).sort()).toEqual(['x', 'y']);
        expect(both.tags()).toEqual(['to x and y', 'to x and y']);
        expect(onlyY.heard().map(show)).toEqual([`${publisher.id}>"y":to x and y`]);
      });

      test('channel names are opaque: NUL, dots, spaces, wildcards, glob characters, braces, prototype keys and unicode route exactly, never as patterns', async () => {
        const [publisher, listener, witness] = await cluster(3);
        const names = [
          roomChannel('/chat', 'r1'),
          pathChannel('/chat'),
          nodeChannel('AbC-_x9Z'),
          roomChannel('/chat', 'a\u0000b'),
          '\u0000',
          'a\u0000b',
          'a.b',
          'a.*',
          '*',
          '>',
          'a.>',
          'a b',
          ' ',
          '?',
          '[ab]',
          'a\\b',
          '{slot}',
          '{',
          '}x{',
          'x:y',
          '\r\n',
          'ü€😀',
          '__proto__',
          'constructor',
          'toString',
          'hasOwnProperty',
          'r'.repeat(4096),
        ];
        // Names a pattern, a prefix match, a separator, a case or normalisation mix-up, or a lossy encoding would confuse with the ones above.
        const decoys = [
          roomChannel('/chat', 'r2'),
          roomChannel('/chat', 'r'),
          roomChannel('/chat', 'r1\u0000'),
          roomChannel('/chat/x', 'r1'),
          roomChannel('/chat\u0000r1', ''),
          pathChannel('/chat/'),
          pathChannel('/cha'),
          nodeChannel('abc-_x9z'),
          roomChannel('/chat', 'a'),
          '\u0000\u0000',
          '',
          'a',
          'b',
          'a\u0000',
          '\u0000b',
          'a\u0000c',
          'ab',
          'a.c',
          'a.b.c',
          'a.bc',
          '**',
          'x',
          'a  b',
          '\u00a0',
          'a/b',
          'slot',
          '{slot}x',
          'x:y:z',
          '\n',
          'u\u0308€😀',
          'ü€',
          'Ü€😀',
          'valueOf',
          '__proto__x',
          'R'.repeat(4096),
          'r'.repeat(4095),
        ];
        await listener.subscribe(names);
        await witness.subscribe(decoys);

        for (const channel of [...names, ...decoys]) {
          publisher.publish(channel, `on ${JSON.stringify(channel).slice(0, 40)}`);
        }
        await listener.received(names.length);
        await witness.received(decoys.length);
        await settle();

        // Each on its own channel, once, with the channel given back exactly.
        expect(listener.heard().map((heard) => heard.channel).sort()).toEqual([...names].sort());
        for (const heard of listener.heard()) {
          expect(heard.tag).toBe(`on ${JSON.stringify(heard.channel).slice(0, 40)}`);
        }
        expect(witness.heard().map((heard) => heard.channel).sort()).toEqual([...decoys].sort());
      });

      test('channel names that are not well-formed UTF-16 (lone surrogates, as JSON can carry in a room name) stay distinct and route exactly', async () => {
        const [publisher, listener, witness] = await cluster(3);
        const names = [roomChannel('/chat', '\ud800'), roomChannel('/chat', 'a\udc00b'), roomChannel('/chat', '\udfff\ud800')];
        const decoys = [roomChannel('/chat', '\udbff'), roomChannel('/chat', '\ufffd'), roomChannel('/chat', 'a\ufffdb'), roomChannel('/chat', '\ufffd\ufffd')];
        await listener.subscribe(names);
        await witness.subscribe(decoys);
        for (const [index, channel] of [...names, ...decoys].entries()) {
          publisher.publish(channel, `#${index}`);
        }
        await listener.received(names.length);
        await witness.received(decoys.length);
        await settle();
        expect(listener.heard().map((heard) => heard.channel).sort()).toEqual([...names].sort());
        expect(witness.heard().map((heard) => heard.channel).sort()).toEqual([...decoys].sort());
      });
    });

    describe('subscriptions', () => {
      test('subscribe resolves only once a payload published by another broker will arrive: published right after it resolves, hundreds of times, none is missed', async () => {
        const [publisher, listener] = await cluster(2);
        let expected = 0;
        // One channel per call, publishing as soon as each call resolved.
        for (let index = 0; index < 300; index++) {
          await listener.subscribe([`one-by-one ${index}`]);
          publisher.publish(`one-by-one ${index}`, `one-by-one ${index}`);
          expected++;
        }
        // Many calls in one tick, each publishing when its own promise resolves.
        await Promise.all(
          Array.from({ length: 300 }, (_, index) =>
            listener.subscribe([`same tick ${index}`]).then(() => publisher.publish(`same tick ${index}`, `same tick ${index}`)),
          ),
        );
        expected += 300;
        // Many channels in one call.
        const batch = Array.from({ length: 300 }, (_, index) => `one call ${index}`);
        await listener.subscribe(batch);
        batch.forEach((channel) => publisher.publish(channel, channel));
        expected += batch.length;
        await listener.received(expected);
        // A channel subscribed again right after it was unsubscribed.
        for (let index = 0; index < 50; index++) {
          await listener.unsubscribe([`one-by-one ${index}`]);
          await listener.subscribe([`one-by-one ${index}`]);
          publisher.publish(`one-by-one ${index}`, `again ${index}`);
          expected++;
        }

        await listener.received(expected);
        await settle();
        const tags = listener.tags();
        expect(tags).toHaveLength(expected);
        expect(new Set(tags).size).toBe(expected);
      }, 30_000);

      test('subscribe([]) and unsubscribe([]) resolve; subscribing a subscribed channel or unsubscribing an unknown one changes nothing', async () => {
        const [publisher, listener] = await cluster(2);
        await listener.subscribe([]);
        await listener.unsubscribe([]);
        await listener.subscribe(['c']);
        await listener.subscribe(['c']);
        await listener.subscribe(['c', 'c']);
        await listener.unsubscribe(['never subscribed']);
        expect(listener.broker.stats().subscriptions).toBe(1);

        publisher.publish('c', 'once');
        await listener.received(1);
        await settle();
        expect(listener.tags()).toEqual(['once']);
      });

      test('unsubscribe stops delivery on those channels and on no other, from the moment it resolves', async () => {
        const [publisher, listener, witness] = await cluster(3);
        const channels = ['u1', 'u2', 'u3', 'u4'];
        await listener.subscribe(channels);
        await witness.subscribe(channels);
        channels.forEach((channel) => publisher.publish(channel, `before ${channel}`));
        await listener.received(channels.length);

        await listener.unsubscribe(['u1', 'u3']);
        channels.forEach((channel) => publisher.publish(channel, `after ${channel}`));
        await witness.received(2 * channels.length);
        await listener.received(channels.length + 2);
        await settle();
        expect(listener.heard().slice(channels.length).map((heard) => heard.tag).sort()).toEqual(['after u2', 'after u4']);

        await listener.unsubscribe(['u2']);
        publisher.publish('u2', 'u2 at last');
        publisher.publish('u4', 'u4 at last');
        await witness.received(2 * channels.length + 2);
        await listener.received(channels.length + 3);
        await settle();
        expect(listener.tags().slice(channels.length + 2)).toEqual(['u4 at last']);
      });

      test('a channel can be subscribed again after it was unsubscribed, cycle after cycle, and of calls not awaited the last wins', async () => {
        const [publisher, listener, witness] = await cluster(3);
        await witness.subscribe(['cycled', 'flip-on', 'flip-off']);
        const expected: string[] = [];
        for (let cycle = 0; cycle < 5; cycle++) {
          await listener.subscribe(['cycled']);
          publisher.publish('cycled', `cycle ${cycle}: subscribed`);
          expected.push(`cycle ${cycle}: subscribed`);
          await listener.received(expected.length);

          await listener.unsubscribe(['cycled']);
          publisher.publish('cycled', `cycle ${cycle}: unsubscribed`);
          await witness.received(2 * (cycle + 1), 'cycled');
          await settle();
          expect(listener.tags()).toEqual(expected);
        }

        // As the hub does when rooms empty and fill again within a tick: calls not awaited, in a row.
        const calls: Array<Promise<void>> = [];
        for (let flip = 0; flip < 4; flip++) {
          calls.push(listener.subscribe(['flip-on', 'flip-off']), listener.unsubscribe(['flip-on', 'flip-off']));
        }
        const lastSubscribe = listener.subscribe(['flip-on']);
        calls.push(listener.unsubscribe(['flip-off']));
        await lastSubscribe;
        await Promise.all(calls);
        publisher.publish('flip-on', 'flip-on');
        publisher.publish('flip-off', 'flip-off');
        await witness.received(1, 'flip-off');
        await witness.received(1, 'flip-on');
        await listener.received(1, 'flip-on');
        await settle();
        expect(listener.tags('flip-on')).toEqual(['flip-on']);
        expect(listener.tags('flip-off')).toEqual([]);
        expect(listener.broker.stats().subscriptions).toBe(1);
      });

      test('subscriptions made before attach take effect from attach', async () => {
        // Nest creates the gateways (the hub subscribes their path channels) before the module's init hook attaches the broker.
        const [publisher, listener] = await cluster(2, { attach: false });
        const early = listener.subscribe(['early 1', 'early 2']);
        await Promise.all([publisher.attach(), listener.attach(), early]);

        publisher.publish('early 1', 'early 1');
        publisher.publish('early 2', 'early 2');
        await listener.received(2);
        expect(listener.tags().sort()).toEqual(['early 1', 'early 2']);
      });

      test('a thousand channels subscribed in one call, then unsubscribed in one call', async () => {
        const [publisher, listener, witness] = await cluster(3);
        const channels = Array.from({ length: 1000 }, (_, index) => roomChannel('/rooms', `room-${index}`));
        await listener.subscribe(channels);
        await witness.subscribe(channels);
        expect(listener.broker.stats().subscriptions).toBe(1000);

        channels.forEach((channel, index) => publisher.publish(channel, `first ${index}`));
        await listener.received(channels.length);
        expect(listener.heard().map((heard) => heard.channel).sort()).toEqual([...channels].sort());

        await listener.unsubscribe(channels);
        expect(listener.broker.stats().subscriptions).toBe(0);
        channels.forEach((channel, index) => publisher.publish(channel, `second ${index}`));
        await witness.received(2 * channels.length);
        await settle();
        expect(listener.heard()).toHaveLength(channels.length);
      }, 30_000);
    });

    describe('detach', () => {
      test('detach stops delivery: the receiver is never called again', async () => {
        const [publisher, leaving, witness] = await cluster(3);
        await leaving.subscribe(['d1', 'd2']);
        await witness.subscribe(['d1', 'd2']);
        publisher.publish('d1', 'before');
        await leaving.received(1);

        const before = leaving.deliveries;
        await leaving.detach();
        publisher.publish('d1', 'after, d1');
        publisher.publish('d2', 'after, d2');
        await witness.received(3);
        await settle();
        expect(before.map(parse).map((heard) => heard?.tag)).toEqual(['before']);
        expect(leaving.broker.stats().subscriptions).toBe(0);
      });

      test('a detached broker publishes nothing more, and publish after detach does not throw', async () => {
        const [leaving, listener, other] = await cluster(3);
        for (const member of [listener, other]) {
          await member.subscribe(['p']);
        }
        leaving.publish('p', 'before detach');
        await listener.received(1);
        await other.received(1);

        await leaving.detach();
        for (let index = 0; index < 10; index++) {
          leaving.publish('p', `after detach ${index}`);
        }
        // No witness can hear a detached publisher: give the payloads time to (wrongly) arrive.
        await sleep(Math.max(settleMs, 50));
        expect(listener.tags()).toEqual(['before detach']);
        expect(other.tags()).toEqual(['before detach']);
      });

      test('attached again, a broker has no leftover subscription and delivers to its new receiver only', async () => {
        const [publisher, returning, witness] = await cluster(3);
        await returning.subscribe(['old 1', 'old 2', 'both']);
        await witness.subscribe(['old 1', 'old 2', 'both', 'new']);
        const firstDeliveries = returning.deliveries;

        await returning.detach();
        await returning.attach();
        expect(returning.broker.stats().subscriptions).toBe(0);
        publisher.publish('old 1', 'old 1 while unsubscribed');
        publisher.publish('old 2', 'old 2 while unsubscribed');
        publisher.publish('both', 'both while unsubscribed');
        await witness.received(3);
        await settle();
        expect(returning.deliveries).toEqual([]);

        await returning.subscribe(['both', 'new']);
        publisher.publish('both', 'both again');
        publisher.publish('new', 'new');
        publisher.publish('old 1', 'old 1 again');
        await returning.received(2);
        await witness.received(6);
        await settle();
        expect(returning.tags().sort()).toEqual(['both again', 'new']);
        expect(firstDeliveries).toEqual([]);
        // And it publishes again.
        returning.publish('new', 'from the returned broker');
        await witness.received(1, 'new');
      });
    });

    describe('payloads', () => {
      test('payload bytes arrive exactly: empty, 1 MiB, a view into a larger Buffer, every byte value, NUL, invalid UTF-8', async () => {
        const [publisher, listener] = await cluster(2);
        await listener.subscribe(['bytes']);
        const larger = randomBytes(64 * 1024);
        const sent: Array<[string, Buffer]> = [
          ['empty', Buffer.alloc(0)],
          ['one NUL', Buffer.from([0])],
          ['every byte value', Buffer.from(Array.from({ length: 256 }, (_, index) => index))],
          ['1 MiB random', randomBytes(1 << 20)],
          ['a view into a larger Buffer', larger.subarray(1000, 1100)],
          ['a one-byte view at the end', larger.subarray(larger.length - 1)],
          ['a small string Buffer (from the shared pool)', Buffer.from('{"event":"héllo","data":"wörld 😀"}')],
          ['invalid UTF-8', Buffer.from([0xff, 0xfe, 0x80, 0xc3, 0x28, 0xed, 0xa0, 0x80, 0xf8])],
          ['a RESP reply lookalike', Buffer.from('*3\r\n$7\r\nmessage\r\n$2\r\nsb\r\n$0\r\n\r\n')],
          ['64 KiB of NUL', Buffer.alloc(64 * 1024)],
        ];
        // One at a time (order is the next test's subject), each awaited before the next is published.
        for (const [index, [what, payload]] of sent.entries()) {
          publisher.publishRaw('bytes', payload);
          await eventually(
            () => listener.deliveries.length > index,
            () => `the payload "${what}" (#${index}): ${listener.deliveries.length} payload(s) so far`,
            Math.max(deliveryTimeoutMs, 5000),
          );
        }
        await settle();

        expect(listener.deliveries).toHaveLength(sent.length);
        // Checked once all arrived: a broker that reused a received buffer for the next one would show here.
        listener.deliveries.forEach((delivery, index) => {
          const [what, payload] = sent[index];
          expect({ what, isBuffer: Buffer.isBuffer(delivery.payload), length: delivery.payload.length, channel: delivery.channel }).toEqual({
            what,
            isBuffer: true,
            length: payload.length,
            channel: 'bytes',
          });
          expect({ what, equal: Buffer.compare(delivery.payload, payload) === 0 }).toEqual({ what, equal: true });
        });
      });

      test("3 publishers x 3,000 payloads on each of four channels, right after attach: each publisher's payloads arrive in order per channel", async () => {
        const [a, b, c, listener] = await cluster(4);
        // Four room channels, so that on a sharded engine they live on several shards (a Redis Cluster of 3 masters: all three).
        const channels = [1, 2, 3, 4].map((room) => roomChannel('/order', `room ${room}`));
        await listener.subscribe(channels);
        await c.subscribe(channels); // A publisher that listens too.
        const perStream = 3000;
        for (let index = 0; index < perStream; index++) {
          for (const publisher of [a, b, c]) {
            for (const channel of channels) {
              publisher.publish(channel, String(index));
            }
          }
        }
        const total = 3 * channels.length * perStream;
        await listener.received(total, undefined, Math.max(deliveryTimeoutMs, 30_000));
        await c.received(2 * channels.length * perStream, undefined, Math.max(deliveryTimeoutMs, 30_000));
        await settle();

        const inOrder = Array.from({ length: perStream }, (_, index) => String(index));
        for (const [receiver, publishers] of [
          [listener, [a, b, c]],
          [c, [a, b]],
        ] as const) {
          expect(receiver.heard()).toHaveLength(publishers.length * channels.length * perStream);
          for (const publisher of publishers) {
            for (const channel of channels) {
              const stream = receiver
                .heard(channel)
                .filter((heard) => heard.from === publisher.id)
                .map((heard) => heard.tag);
              const name = `${publisher.id} on ${JSON.stringify(channel)} at ${receiver.id}`;
              const firstOutOfOrder = stream.findIndex((tag, index) => tag !== inOrder[index]);
              expect({ stream: name, length: stream.length, firstOutOfOrder, around: firstOutOfOrder === -1 ? [] : stream.slice(Math.max(0, firstOutOfOrder - 2), firstOutOfOrder + 8) }).toEqual({
                stream: name,
                length: perStream,
                firstOutOfOrder: -1,
                around: [],
              });
            }
          }
        }
      }, 90_000);
    });

    describe('publish never throws', () => {
      test('before attach, alone, with no subscriber, and after detach', async () => {
        const [lone] = await cluster(1, { attach: false });
        lone.publish('c', 'before attach');
        await lone.attach();
        lone.publish('c', 'alone');
        await lone.subscribe(['c']);
        lone.publish('c', 'alone, subscribed');
        await lone.detach();
        lone.publish('c', 'after detach');
        await lone.attach();
        lone.publish('c', 'attached again');
        await lone.detach();

        const [a, b] = await cluster(2);
        await b.subscribe(['somebody']);
        a.publish('nobody', 'nobody listens');
        a.publish('', 'the empty channel');
        a.publish('somebody', 'somebody listens');
        await b.received(1);
        await settle();
        expect(b.tags()).toEqual(['somebody listens']);
        lone.expectEchoesOnlyOn(['c']);
        expect(lone.echoes().map((echo) => echo.tag).filter((tag) => tag !== 'alone, subscribed')).toEqual([]);
      });

      test('a receiver that throws disturbs neither the publisher, nor the other brokers, nor its own later deliveries', async () => {
        const [publisher, failing, healthy] = await cluster(3);
        await failing.subscribe(['t1', 't2']);
        await healthy.subscribe(['t1', 't2']);
        await publisher.subscribe(['t1']); // Its own payload may come back to a throwing receiver, in its own call stack.
        for (const member of [publisher, failing]) {
          member.failWith = new Error(`the receiver of ${member.id} failed`);
        }

        publisher.publish('t1', 'first');
        publisher.publish('t2', 'second');
        publisher.publish('t1', 'third');
        await healthy.received(3);
        await failing.received(3);
        // Order holds per channel (across channels it is not promised).
        for (const member of [healthy, failing]) {
          expect([member.tags('t1'), member.tags('t2')]).toEqual([['first', 'third'], ['second']]);
        }

        // The failing broker still works, as receiver and publisher.
        failing.failWith = undefined;
        publisher.publish('t2', 'fourth');
        failing.publish('t1', 'from the failing one');
        await failing.received(4);
        await healthy.received(5);
        await publisher.received(1);
        await settle();
        expect([failing.tags('t1'), failing.tags('t2')]).toEqual([['first', 'third'], ['second', 'fourth']]);
        expect([healthy.tags('t1'), healthy.tags('t2')]).toEqual([['first', 'third', 'from the failing one'], ['second', 'fourth']]);
        expect(publisher.tags()).toEqual(['from the failing one']);
      });
    });

    describe('stats', () => {
      test('stats() counts as documented: published, dropped before attach, received as the receiver was called, subscriptions now, no reconnect on a healthy link', async () => {
        const [publisher, listener] = await cluster(2, { attach: false });
        const numbers = (stats: BrokerStats): void => {
          for (const key of ['published', 'publishDropped', 'publishBuffered', 'received', 'subscriptions', 'reconnects', 'resubscribeCommands'] as const) {
            expect({ key, value: Number.isInteger(stats[key]) && stats[key] >= 0 }).toEqual({ key, value: true });
          }
        };
        const fresh = publisher.broker.stats();
        numbers(fresh);
        expect(fresh).toEqual({ published: 0, publishDropped: 0, publishBuffered: 0, received: 0, subscriptions: 0, reconnects: 0, resubscribeCommands: 0 });
        // A copy, not a live view.
        fresh.published = 99;
        expect(publisher.broker.stats().published).toBe(0);

        // Before attach nothing is handed to the engine: the payload is dropped or buffered, and counted as such.
        publisher.publish('s1', 'before attach');
        const early = publisher.broker.stats();
        expect(early.published).toBe(0);
        expect(early.publishDropped + early.publishBuffered).toBe(1);

        await Promise.all([publisher.attach(), listener.attach()]);
        await eventually(
          () => publisher.broker.stats().publishBuffered === 0,
          () => `publishBuffered back to 0, is ${publisher.broker.stats().publishBuffered}`,
        );
        const attached = publisher.broker.stats();
        await listener.subscribe(['s1', 's2', 's3']);
        await listener.subscribe(['s1']);
        expect(listener.broker.stats().subscriptions).toBe(3);

        for (let index = 0; index < 5; index++) {
          publisher.publish('s1', `s1 ${index}`);
        }
        publisher.publish('s2', 's2');
        publisher.publish('nobody', 'nobody');
        await listener.received(6);
        await settle();
        const after = publisher.broker.stats();
        numbers(after);
        // One per publish call (one payload on one channel), whoever listens.
        expect(after.published - attached.published).toBe(7);
        expect(after.publishDropped).toBe(attached.publishDropped);
        expect(after.publishBuffered).toBe(0);
        expect(after.received).toBe(publisher.receiverCalls);
        expect(listener.broker.stats().received).toBe(listener.receiverCalls);
        expect(listener.receiverCalls).toBe(6);

        await listener.unsubscribe(['s3', 'never subscribed']);
        expect(listener.broker.stats().subscriptions).toBe(2);
        publisher.publish('s3', 's3 unsubscribed');
        publisher.publish('s1', 's1 last');
        await listener.received(7);
        await settle();
        expect(listener.broker.stats().received).toBe(listener.receiverCalls);

        await listener.detach();
        expect(listener.broker.stats().subscriptions).toBe(0);
        await listener.attach();
        expect(listener.broker.stats().subscriptions).toBe(0);
        // Nothing was lost on these links: a deliberate detach and attach is not a reconnect.
        for (const member of [publisher, listener]) {
          const stats = member.broker.stats();
          numbers(stats);
          expect({ member: member.id, reconnects: stats.reconnects, resubscribeCommands: stats.resubscribeCommands }).toEqual({ member: member.id, reconnects: 0, resubscribeCommands: 0 });
        }
      });
    });

    describe('end to end, with Nest apps and their SwitchboardHubs on the medium', () => {
      /** Passes every call through, recording the channels the hub (un)subscribes and the broadcasts the broker hands the hub (cluster heartbeats aside). */
      class RecordingBroker implements Broker {
        readonly calls: Array<{ call: 'subscribe' | 'unsubscribe'; channel: string }> = [];
        readonly received: string[] = [];
        constructor(private readonly inner: Broker) {}
        attach(receive: BrokerReceiver): Promise<void> {
          return this.inner.attach((channel, payload) => {
            if (payload[0] !== 2) { // PayloadKind.Control: heartbeats and cluster calls
              this.received.push(channel);
            }
            receive(channel, payload);
          });
        }
        detach(): Promise<void> {
          return this.inner.detach();
        }
        subscribe(channels: readonly string[]): Promise<void> {
          channels.forEach((channel) => this.calls.push({ call: 'subscribe', channel }));
          return this.inner.subscribe(channels);
        }
        unsubscribe(channels: readonly string[]): Promise<void> {
          channels.forEach((channel) => this.calls.push({ call: 'unsubscribe', channel }));
          return this.inner.unsubscribe(channels);
        }
        publish(channel: string, payload: Buffer): void {
          this.inner.publish(channel, payload);
        }
        stats(): BrokerStats {
          return this.inner.stats();
        }
      }

      test('three apps behave as one server: room, two-room, client and everyone broadcasts reach a member on another node once; nodes without members of a room get nothing on its channel', async () => {
        const made = await makeCluster(3);
        const brokers = made.brokers.map((broker) => new RecordingBroker(broker));
        const harnesses: GatewayHarness[] = [];
        const timeout = { timeout: deliveryTimeoutMs };
        const PATH = '/rooms';
        try {
          for (const broker of brokers) {
            harnesses.push(await createGatewayHarness({ imports: [SwitchboardModule.forRoot({ broker })], providers: [RoomsGateway, NewsService] }, { logger: false }));
          }
          const [nodeA, nodeB, nodeC] = harnesses;
          const hubs = harnesses.map((harness) => harness.get(SwitchboardHub));
          const [recA, recB, recC] = brokers;
          const connect = async (harness: GatewayHarness, rooms: string[]): Promise<GatewayTestClient & { id: string }> => {
            const client = (await harness.connect(PATH)) as GatewayTestClient & { id: string };
            client.id = await client.request<string>('whoami');
            if (rooms.length > 0) {
              await client.request('join', rooms);
            }
            return client;
          };
          const onA = await connect(nodeA, []);
          const member = await connect(nodeB, ['shared', 'x', 'y']);
          const bystander = await connect(nodeC, []);
          const elsewhere = await connect(nodeC, ['other']);
          const before: ClusterStats[] = hubs.map((hub) => hub.stats());

          nodeA.get(NewsService).publish('shared', 'to a room');
          await expect(member.expectEvent('news', timeout)).resolves.toBe('to a room');

          await onA.request('to-rooms', { rooms: ['x', 'y'], n: 1 });
          await expect(member.expectEvent('multi', timeout)).resolves.toBe(1);

          await onA.request('whisper', { to: member.id, text: 'to a client' });
          await expect(member.expectEvent('whisper', timeout)).resolves.toBe('to a client');

          await onA.request('announce', 'to everyone');
          for (const client of [member, bystander, elsewhere, onA]) {
            await expect(client.expectEvent('announce', timeout)).resolves.toBe('to everyone');
          }

          // Each once, and the others got nothing but the announcement.
          await member.expectNoEvent(settleMs + 50);
          await bystander.expectNoEvent(10);
          await elsewhere.expectNoEvent(10);
          await onA.expectNoEvent(10);

          const after = hubs.map((hub) => hub.stats());
          const delta = (index: number, key: 'received' | 'duplicateCopies' | 'receivedWithoutRecipient' | 'receivedAllExcluded' | 'malformed' | 'publishFailures'): number => after[index][key] - before[index][key];
          // No node received a broadcast it had nobody for.
          expect([0, 1, 2].map((index) => after[index].receivedWithoutRecipient)).toEqual([0, 0, 0]);
          expect([0, 1, 2].map((index) => delta(index, 'malformed') + delta(index, 'publishFailures') + delta(index, 'receivedAllExcluded'))).toEqual([0, 0, 0]);
          // B delivered each of the four broadcasts once; the two-room one came twice (x and y) and one copy was dropped.
          expect(delta(1, 'received')).toBe(4);
          expect(delta(1, 'duplicateCopies')).toBe(1);
          // C only the announcement; A nothing (it published everything).
          expect(delta(2, 'received')).toBe(1);
          expect(delta(0, 'received')).toBe(0);

          // The byte level: the room channels reached B only; A and C never subscribed them and got nothing on them.
          const roomChannels = ['shared', 'x', 'y'].map((room) => roomChannel(PATH, room));
          for (const recording of [recA, recC]) {
            expect(recording.received.filter((channel) => roomChannels.includes(channel) || channel === nodeChannel(hubs[1].nodeTag))).toEqual([]);
            expect(recording.calls.filter(({ channel }) => roomChannels.includes(channel))).toEqual([]);
          }
          expect(recB.received.filter((channel) => roomChannels.includes(channel)).sort()).toEqual([...roomChannels].sort());
          expect(recB.received.filter((channel) => channel === nodeChannel(hubs[1].nodeTag))).toEqual([nodeChannel(hubs[1].nodeTag)]);
          expect(recC.calls.map(({ channel }) => channel)).toContain(roomChannel(PATH, 'other'));
        } finally {
          for (const harness of harnesses) {
            await harness.close();
          }
          await made.teardown?.();
        }

        // The hubs' side of the seam: per channel, subscribe and unsubscribe alternate, starting with subscribe (reference-counted).
        for (const broker of brokers) {
          const byChannel = new Map<string, string[]>();
          for (const { call, channel } of broker.calls) {
            byChannel.set(channel, [...(byChannel.get(channel) ?? []), call]);
          }
          expect(byChannel.size).toBeGreaterThan(0);
          for (const [channel, calls] of byChannel) {
            const alternating = calls.map((_, index) => (index % 2 === 0 ? 'subscribe' : 'unsubscribe'));
            expect({ channel, calls }).toEqual({ channel, calls: alternating });
          }
        }
      });
    });
  });
}
