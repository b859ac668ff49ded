import { Logger } from '@nestjs/common';
import type { Cluster, ClusterNode, ClusterOptions, Redis, RedisOptions } from 'ioredis';
import type { Broker, BrokerReceiver, BrokerStats } from '../broker/broker.interface.js';
import { loadOptionalPackage } from '../internals/optional-package.js';
import { RedisStreamHistory } from './redis-stream-history.js';

const logger = new Logger('RedisBroker');

/** Options of {@link RedisBroker}. */
export interface RedisBrokerOptions {
  /** Standalone Redis: a URL (`redis://127.0.0.1:6379`) or ioredis options. @default 'redis://127.0.0.1:6379' */
  redis?: string | RedisOptions;
  /** Redis Cluster: seed nodes and ioredis cluster options. Uses sharded pub/sub (SSUBSCRIBE/SPUBLISH, Redis 7). */
  cluster?: { nodes: ClusterNode[]; options?: ClusterOptions };
  /**
   * `classic` (PUBLISH/SUBSCRIBE, Redis 6 and 7) or `sharded` (SPUBLISH/SSUBSCRIBE, Redis 7; a channel lives
   * on one shard). @default 'sharded' with `cluster`, 'classic' otherwise
   */
  pubsub?: 'classic' | 'sharded';
  /** Prefix of every Redis channel name, so several apps can share a Redis. @default 'sb:' */
  prefix?: string;
  /**
   * Payloads kept while Redis is unreachable, published when it is back; past this the oldest are
   * dropped and counted in `publishDropped`. Memory is bounded by this count times the payload size.
   * @default 10000
   */
  maxBuffered?: number;
  /** Channels per SUBSCRIBE command (joins in one tick and resubscriptions after a reconnect are batched). @default 512 */
  subscribeBatch?: number;
  /**
   * How long a history operation (`broker.history`: append, read, session) may wait for Redis, queued
   * while it is unreachable and then in flight, before it rejects with `BROKER_UNAVAILABLE`. @default 10000
   */
  historyWaitMs?: number;
}

/** The part of `ioredis` this broker uses. */
interface IoRedisModule {
  Redis: typeof Redis;
  Cluster: typeof Cluster;
}
type Client = Redis | Cluster;

/** A UTF-16 surrogate without its pair: such a string has no UTF-8 form. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** How long `attach` waits for Redis before the application starts without it. */
const ATTACH_TIMEOUT_MS = 5000;

/** Sharded channels are spread over this many hash-tag partitions, so that a batch of them fits one slot. */
const PARTITIONS = 16;

/** Reconnect quickly: subscriptions are restored on the first successful attempt. */
function retryStrategy(times: number): number {
  return Math.min(50 * 2 ** Math.min(times, 4), 500) + Math.floor(Math.random() * 100);
}

/**
 * The Redis broker: per-channel pub/sub, so a node receives a room's traffic
 * only while it has a member there. Two connections (one publishes, one
 * subscribes), through ioredis, an optional peer loaded when the broker
 * attaches (`MISSING_PACKAGE` when it is not installed).
 *
 * What it promises, beyond ioredis: `subscribe` resolves when Redis has
 * confirmed the channels (no join race); subscriptions are this broker's own
 * list, restored in batches after every reconnect (ioredis' own
 * resubscription is off) and never lost; `publish` never throws or blocks,
 * and buffers at most `maxBuffered` payloads while Redis is down; every
 * client has an error listener, so a Redis outage never crashes the process.
 */
export class RedisBroker implements Broker {
  private readonly options: Required<Pick<RedisBrokerOptions, 'prefix' | 'maxBuffered' | 'subscribeBatch'>> & RedisBrokerOptions;
  private readonly sharded: boolean;
  private publisher: Client | undefined;
  private subscriber: Client | undefined;
  private receiver: BrokerReceiver | undefined;
  /** Every channel this node wants, by Redis key; what is restored after a reconnect. */
  private readonly wanted = new Map<string, string>();
  /** Keys to subscribe at the next flush, with the joins waiting for them. */
  private readonly toSubscribe = new Map<string, Array<() => void>>();
  private readonly toUnsubscribe = new Set<string>();
  private flushScheduled = false;
  private subscriberReady = false;
  private everReady = false;
  /** Payloads waiting for the publisher to be ready (a bounded FIFO). */
  private buffered: Array<[string, Buffer]> = [];
  private readonly counters: BrokerStats = { published: 0, publishDropped: 0, publishBuffered: 0, received: 0, subscriptions: 0, reconnects: 0, resubscribeCommands: 0 };
  private outageLogged = false;
  /** Per-room history and sessions in Redis (see RedisStreamHistory): appends share this broker's connection, buffer bound and counters. */
  readonly history: RedisStreamHistory;

  constructor(options: RedisBrokerOptions = {}) {
    this.options = { prefix: 'sb:', maxBuffered: 10_000, subscribeBatch: 512, ...options };
    this.sharded = (options.pubsub ?? (options.cluster !== undefined ? 'sharded' : 'classic')) === 'sharded';
    this.history = new RedisStreamHistory({
      prefix: this.options.prefix,
      sharded: this.sharded,
      maxBuffered: this.options.maxBuffered,
      waitMs: options.historyWaitMs ?? 10_000,
      client: () => this.publisher,
      channelKey: (channel) => this.keyOf(channel),
      redisName,
      partitionTag,
      brokerBuffered: () => this.buffered.length,
      counters: this.counters,
    });
  }

  async attach(receive: BrokerReceiver): Promise<void> {
    const ioredis = await loadOptionalPackage<IoRedisModule>('ioredis', 'the Redis broker (nestjs-switchboard/redis)', () => import('ioredis'));
    this.receiver = receive;
    this.publisher = this.connect(ioredis, 'publisher');
    this.subscriber = this.connect(ioredis, 'subscriber');
    const onMessage = (channel: Buffer, message: Buffer): void => this.onMessage(channel, message);
    this.subscriber.on(this.sharded ? 'smessageBuffer' : 'messageBuffer', onMessage);
    const subscriber = this.subscriber;
    this.publisher.on('ready', () => this.flushBuffered());
    // A client of an earlier attach may still emit: only the current one counts.
    subscriber.on('ready', () => subscriber === this.subscriber && this.onSubscriberReady());
    subscriber.on('close', () => {
      if (subscriber === this.subscriber) {
        this.subscriberReady = false;
      }
    });
    // Start without Redis rather than hang the bootstrap: broadcasts wait in the buffer, subscriptions follow on connect.
    const connected = await Promise.race([
      Promise.all([once(this.publisher, 'ready'), once(this.subscriber, 'ready')]).then(() => true),
      delay(ATTACH_TIMEOUT_MS).then(() => false),
    ]);
    if (!connected) {
      logger.warn(`Redis is not reachable yet; going on, and connecting in the background`);
    }
  }

  async detach(): Promise<void> {
    this.receiver = undefined;
    this.everReady = false;
    this.subscriberReady = false;
    this.wanted.clear();
    this.toSubscribe.clear();
    this.toUnsubscribe.clear();
    this.buffered = [];
    this.history.abandon();
    const clients = [this.publisher, this.subscriber].filter((client): client is Client => client !== undefined);
    this.publisher = this.subscriber = undefined;
    await Promise.all(clients.map((client) => client.quit().catch(() => client.disconnect())));
  }

  subscribe(channels: readonly string[]): Promise<void> {
    if (channels.length === 0) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      let waiting = channels.length;
      const done = (): void => {
        if (--waiting === 0) {
          resolve();
        }
      };
      for (const channel of channels) {
        const key = this.keyOf(channel);
        this.wanted.set(key, channel);
        this.toUnsubscribe.delete(key);
        const waiters = this.toSubscribe.get(key);
        if (waiters === undefined) {
          this.toSubscribe.set(key, [done]);
        } else {
          waiters.push(done);
        }
      }
      this.scheduleFlush();
    });
  }

  unsubscribe(channels: readonly string[]): Promise<void> {
    for (const channel of channels) {
      const key = this.keyOf(channel);
      this.wanted.delete(key);
      const waiters = this.toSubscribe.get(key);
      if (waiters !== undefined) {
        // Nobody waits on a room that emptied before it was confirmed.
        this.toSubscribe.delete(key);
        waiters.forEach((resolve) => resolve());
      }
      this.toUnsubscribe.add(key);
    }
    this.scheduleFlush();
    return Promise.resolve();
  }

  publish(channel: string, payload: Buffer): void {
    const publisher = this.publisher;
    if (publisher === undefined) {
      this.counters.publishDropped++;
      return;
    }
    const key = this.keyOf(channel);
    if (publisher.status !== 'ready') {
      this.buffer(key, payload);
      return;
    }
    this.send(publisher, key, payload);
  }

  stats(): BrokerStats {
    return { ...this.counters, publishBuffered: this.buffered.length + this.history.buffered, subscriptions: this.wanted.size };
  }

  /** The Redis channel of a hub channel: prefixed, and for sharded pub/sub tagged with its partition's hash slot. */
  private keyOf(channel: string): string {
    const name = redisName(channel);
    if (!this.sharded) {
      return `${this.options.prefix}${name}`;
    }
    return `${this.options.prefix}${partitionTag(name)}${name}`;
  }

  private connect(ioredis: IoRedisModule, role: string): Client {
    const common = { retryStrategy, enableOfflineQueue: role === 'subscriber', autoResubscribe: false, maxRetriesPerRequest: 1, lazyConnect: false };
    let client: Client;
    if (this.options.cluster !== undefined) {
      client = new ioredis.Cluster(this.options.cluster.nodes, {
        ...this.options.cluster.options,
        clusterRetryStrategy: retryStrategy,
        // A cluster connects to each master lazily; its queue keeps one channel's payloads in order
        // while a master's connection is being made (the broker only sends while the cluster is ready).
        enableOfflineQueue: true,
        shardedSubscribers: role === 'subscriber',
        redisOptions: { ...this.options.cluster.options?.redisOptions, autoResubscribe: false, maxRetriesPerRequest: 1 },
      });
    } else if (typeof this.options.redis === 'string' || this.options.redis === undefined) {
      client = new ioredis.Redis(this.options.redis ?? 'redis://127.0.0.1:6379', common);
    } else {
      client = new ioredis.Redis({ ...this.options.redis, ...common });
    }
    // Without a listener, an 'error' event would crash the process on the first outage.
    client.on('error', (error: Error) => this.onClientError(role, error));
    return client;
  }

  private onClientError(role: string, error: Error): void {
    if (!this.outageLogged) {
      this.outageLogged = true;
      logger.warn(`Redis ${role}: ${error.message}; reconnecting (broadcasts to other nodes are buffered up to ${this.options.maxBuffered})`);
    } else {
      logger.debug(`Redis ${role}: ${error.message}`);
    }
  }

  private onMessage(channel: Buffer, message: Buffer): void {
    const key = channel.toString();
    const hubChannel = this.wanted.get(key);
    if (hubChannel === undefined || this.receiver === undefined) {
      return; // Unsubscribed meanwhile.
    }
    this.counters.received++;
    try {
      this.receiver(hubChannel, message);
    } catch (error) {
      // Thrown inside ioredis' event: it would be an uncaught exception, and cost the rest of the read.
      logger.warn(`A receiver threw on a Redis message: ${(error as Error).message}`);
    }
  }

  /** First connect or a reconnect: (re)subscribe every wanted channel, in batches. */
  private onSubscriberReady(): void {
    this.subscriberReady = true;
    this.outageLogged = false;
    if (this.everReady) {
      this.counters.reconnects++;
      for (const key of this.wanted.keys()) {
        if (!this.toSubscribe.has(key)) {
          this.toSubscribe.set(key, []);
        }
      }
      this.counters.resubscribeCommands += this.flushSubscriptions();
    } else {
      this.everReady = true;
      this.flushSubscriptions();
    }
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) {
      return;
    }
    this.flushScheduled = true;
    // Joins of one tick (a client joining many rooms, a burst of connections) go out as one command.
    setImmediate(() => {
      this.flushScheduled = false;
      this.flushSubscriptions();
    });
  }

  /** Sends the pending (un)subscriptions in batches; returns the subscribe commands sent. */
  private flushSubscriptions(): number {
    const subscriber = this.subscriber;
    if (subscriber === undefined || !this.subscriberReady) {
      return 0; // Sent by onSubscriberReady once connected.
    }
    if (this.toUnsubscribe.size > 0) {
      const keys = [...this.toUnsubscribe];
      this.toUnsubscribe.clear();
      for (const batch of this.batches(keys)) {
        const command = this.sharded ? subscriber.sunsubscribe(...batch) : subscriber.unsubscribe(...batch);
        command.catch((error: Error) => logger.debug(`Unsubscribe failed: ${error.message}`));
      }
    }
    if (this.toSubscribe.size === 0) {
      return 0;
    }
    const pending = new Map(this.toSubscribe);
    this.toSubscribe.clear();
    let commands = 0;
    for (const batch of this.batches([...pending.keys()])) {
      commands++;
      const command = this.sharded ? subscriber.ssubscribe(...batch) : subscriber.subscribe(...batch);
      command.then(
        () => {
          for (const key of batch) {
            pending.get(key)?.forEach((resolve) => resolve());
          }
        },
        (error: Error) => {
          // Not confirmed: kept for the next flush (the next reconnect at the latest).
          logger.debug(`Subscribe failed, will retry: ${error.message}`);
          for (const key of batch) {
            if (this.wanted.has(key)) {
              const waiters = this.toSubscribe.get(key) ?? [];
              this.toSubscribe.set(key, [...waiters, ...(pending.get(key) ?? [])]);
            }
          }
        },
      );
    }
    return commands;
  }

  /**
   * Batches of at most `subscribeBatch` keys. Sharded keys are grouped by
   * partition first: one SSUBSCRIBE may only name channels of one hash slot.
   */
  private batches(keys: readonly string[]): string[][] {
    const size = this.options.subscribeBatch;
    const groups = new Map<string, string[]>();
    for (const key of keys) {
      const group = this.sharded ? key.slice(0, key.indexOf('}') + 1) : '';
      const list = groups.get(group);
      if (list === undefined) {
        groups.set(group, [key]);
      } else {
        list.push(key);
      }
    }
    const batches: string[][] = [];
    for (const list of groups.values()) {
      for (let i = 0; i < list.length; i += size) {
        batches.push(list.slice(i, i + size));
      }
    }
    return batches;
  }

  private send(publisher: Client, key: string, payload: Buffer): void {
    const command = this.sharded ? publisher.spublish(key, payload) : publisher.publish(key, payload);
    this.counters.published++;
    command.catch(() => {
      // The connection dropped with the command in flight: the payload may be lost; say so.
      this.counters.publishDropped++;
    });
  }

  private buffer(key: string, payload: Buffer): void {
    // One bound for both: history appends waiting for Redis take room in this buffer too.
    if (this.buffered.length + this.history.buffered >= this.options.maxBuffered) {
      this.counters.publishDropped++;
      if (this.buffered.length === 0) {
        return; // Full of appends, which are never dropped once they were accepted (each rejects on its own deadline).
      }
      this.buffered.shift();
    }
    this.buffered.push([key, payload]);
  }

  private flushBuffered(): void {
    const publisher = this.publisher;
    if (publisher === undefined || this.buffered.length === 0) {
      return;
    }
    const waiting = this.buffered;
    this.buffered = [];
    for (const [key, payload] of waiting) {
      this.send(publisher, key, payload);
    }
  }
}

/**
 * @internal The Redis spelling of a hub channel (shared with the stream history's keys).
 * Redis names are bytes: a name that is not well-formed UTF-16 (a lone surrogate) would be
 * mangled into U+FFFD by UTF-8 and collide. Such names travel base64url-encoded, under a
 * marker no hub channel starts with (they all start with r, p or n and a NUL).
 */
function redisName(channel: string): string {
  return !LONE_SURROGATE.test(channel) ? channel : `x\u0000${Buffer.from(channel, 'utf16le').toString('base64url')}`;
}

/** @internal The hash tag of a Redis-spelled name's partition: its sharded channel and its history keys share this slot. */
function partitionTag(name: string): string {
  return `{${partitionOf(name)}}`;
}

/** FNV-1a of the channel name, into one of the partitions. */
function partitionOf(channel: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < channel.length; i++) {
    hash ^= channel.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) % PARTITIONS;
}

function once(client: Client, event: 'ready'): Promise<void> {
  return new Promise((resolve) => {
    if (client.status === 'ready') {
      resolve();
      return;
    }
    client.once(event, () => resolve());
  });
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
