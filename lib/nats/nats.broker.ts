import { Logger } from '@nestjs/common';
import { createHash } from 'node:crypto';
import type { ConnectionOptions, NatsConnection, NatsError, Msg, Status, Subscription } from 'nats';
import type { Broker, BrokerReceiver, BrokerStats } from '../broker/broker.interface.js';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import { loadOptionalPackage } from '../internals/optional-package.js';

const logger = new Logger('NatsBroker');

/**
 * Options of {@link NatsBroker}: the `nats` package's connection options
 * (servers, credentials, TLS, timeouts, ping interval...) plus the broker's
 * own. The broker sets `noEcho: true`, `reconnect: true`,
 * `maxReconnectAttempts: -1` and `waitOnFirstConnect: false` itself (it runs
 * its own first-connect loop), so those are not options.
 */
export interface NatsBrokerOptions extends Omit<ConnectionOptions, 'noEcho' | 'reconnect' | 'maxReconnectAttempts' | 'waitOnFirstConnect'> {
  /** NATS server URL(s). @default 'nats://127.0.0.1:4222' */
  servers?: string | string[];
  /**
   * First token(s) of every subject, so several apps can share a NATS account: a valid subject
   * without wildcards (`sb`, `myapp.sb`). @default 'sb'
   */
  prefix?: string;
  /**
   * Payloads kept while NATS is unreachable, published when it is back; past this the oldest are
   * dropped and counted in `publishDropped`. Memory is bounded by this count times the payload size.
   * @default 10000
   */
  maxBuffered?: number;
}

/** What the last resubscription after a reconnect took, for introspection and tests. */
export interface NatsResubscription {
  /** Subscriptions nats.js sent again (one SUB line each, all in one write). */
  subscriptions: number;
  /** From the 'reconnect' status event to the server's PONG that follows the SUB lines. */
  confirmedInMs: number;
}

/** The part of the `nats` package this broker uses. */
interface NatsModule {
  connect(options: ConnectionOptions): Promise<NatsConnection>;
}

/** How long `attach` waits for NATS before the application starts without it. */
const ATTACH_TIMEOUT_MS = 5000;

/**
 * Subjects longer than this are replaced by a hash of the channel: NATS
 * refuses protocol lines over `max_control_line` (4 KB by default) and
 * closes the connection, which a resubscription would then repeat forever.
 */
const MAX_SUBJECT_LENGTH = 1024;

/** Marks a hashed subject token; base64url never produces it, so the two forms cannot collide. */
const HASHED = '~';

/**
 * The NATS subject of a hub channel: `${prefix}.${base64url(channel)}`.
 * Channel names hold NUL and arbitrary room text, which NATS tokens may not
 * ('.', '*', '>', whitespace, NUL); base64url uses none of them, is
 * unambiguous and is reversed by {@link channelOfSubject}. A channel whose
 * subject would pass {@link MAX_SUBJECT_LENGTH} becomes
 * `${prefix}.~${base64url(sha256(channel))}` (a subscriber knows its own
 * channels, so it needs no reversal).
 */
export function natsSubject(prefix: string, channel: string): string {
  // A name that is not well-formed UTF-16 (a lone surrogate) has no UTF-8 form: it is encoded from
  // UTF-16 under its own marker ('!' is in neither base64url nor the hashed form).
  const token = LONE_SURROGATE.test(channel)
    ? `${UTF16}${Buffer.from(channel, 'utf16le').toString('base64url')}`
    : Buffer.from(channel, 'utf8').toString('base64url');
  if (token.length > 0 && prefix.length + 1 + token.length <= MAX_SUBJECT_LENGTH) {
    return `${prefix}.${token}`;
  }
  return `${prefix}.${HASHED}${createHash('sha256').update(channel, 'utf8').digest('base64url')}`;
}

/** The hub channel of a subject made by {@link natsSubject}; undefined for another prefix or a hashed subject. */
export function channelOfSubject(prefix: string, subject: string): string | undefined {
  if (!subject.startsWith(`${prefix}.`)) {
    return undefined;
  }
  const token = subject.slice(prefix.length + 1);
  if (token.startsWith(UTF16) && /^[A-Za-z0-9_-]+$/.test(token.slice(1))) {
    return Buffer.from(token.slice(1), 'base64url').toString('utf16le');
  }
  if (token.length === 0 || token.startsWith(HASHED) || !/^[A-Za-z0-9_-]+$/.test(token)) {
    return undefined;
  }
  return Buffer.from(token, 'base64url').toString('utf8');
}

/** Marks a subject token encoded from UTF-16. */
const UTF16 = '!';

/** A UTF-16 surrogate without its pair: such a string has no UTF-8 form. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** A valid NATS subject without wildcards: dot-separated non-empty tokens free of whitespace, NUL, '*' and '>'. */
const VALID_PREFIX = /^[^\s.*>\u0000]+(\.[^\s.*>\u0000]+)*$/;

/**
 * The NATS broker: one subject per hub channel, so a node receives a room's
 * traffic only while it has a member there. One connection, through the
 * `nats` package, an optional peer loaded when the broker attaches
 * (`MISSING_PACKAGE` when it is not installed).
 *
 * What it promises, beyond nats.js:
 * - `subscribe` resolves once the server has registered the subscriptions:
 *   the SUB lines are followed by a PING, and the server answers PONG only
 *   after processing what came before (no join race). A connection lost
 *   before the PONG is retried on the next connection.
 * - Subscriptions survive reconnects: nats.js sends every SUB again (one
 *   write) before it reports 'reconnect'; the broker confirms them with a
 *   PING round trip and counts the reconnect. A connection nats.js gives up
 *   on (closed) is replaced, and the broker subscribes everything again.
 * - `publish` never throws or blocks. nats.js discards what is queued on a
 *   dead connection at each reconnect attempt (nats.js 2.x has no reconnect
 *   buffer), so while disconnected the broker keeps payloads itself, at most
 *   `maxBuffered` (oldest dropped and counted), and publishes them on
 *   reconnect. Payloads written to the socket in the instant before the
 *   client notices the loss are lost uncounted, as with any TCP client.
 * - Every status event is handled and every error caught: an outage never
 *   crashes the process. `noEcho` is on, so a node never receives its own
 *   publications.
 */
export class NatsBroker implements Broker {
  private readonly prefix: string;
  private readonly maxBuffered: number;
  private readonly connectOptions: ConnectionOptions;
  private nc: NatsConnection | undefined;
  /** Whether `nc` is connected now, as its status events tell. */
  private connected = false;
  private receiver: BrokerReceiver | undefined;
  /** Bumped on every (re)connection: joins waiting for one retry their confirmation. */
  private epoch = 0;
  private wakers: Array<() => void> = [];
  /** Every channel this node wants, by subject; what a new connection subscribes. */
  private readonly wanted = new Map<string, string>();
  /** The subscriptions of the current connection, by subject. */
  private readonly subs = new Map<string, Subscription>();
  /** Joins of one synchronous run share one confirmation round trip. */
  private batch: Promise<void> | undefined;
  /** Payloads waiting for a connection: a bounded FIFO, `buffered[bufferHead..]`. */
  private buffered: Array<[string, Buffer]> = [];
  private bufferHead = 0;
  private nats: NatsModule | undefined;
  /** Bumped by attach and detach, so that a connect loop of an earlier attach gives up. */
  private generation = 0;
  private readonly counters: BrokerStats = { published: 0, publishDropped: 0, publishBuffered: 0, received: 0, subscriptions: 0, reconnects: 0, resubscribeCommands: 0 };
  private everConnected = false;
  private outageLogged = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private last: NatsResubscription | undefined;

  constructor(options: NatsBrokerOptions = {}) {
    const { prefix = 'sb', maxBuffered = 10_000, ...connection } = options;
    if (!VALID_PREFIX.test(prefix)) {
      throw new SwitchboardError(ErrorCode.INVALID_OPTION, `NatsBroker: prefix ${JSON.stringify(prefix)} is not a valid NATS subject without wildcards.`);
    }
    if (!Number.isInteger(maxBuffered) || maxBuffered < 0) {
      throw new SwitchboardError(ErrorCode.INVALID_OPTION, `NatsBroker: maxBuffered must be a non-negative integer, got ${String(maxBuffered)}.`);
    }
    this.prefix = prefix;
    this.maxBuffered = maxBuffered;
    this.connectOptions = {
      servers: 'nats://127.0.0.1:4222',
      name: 'nestjs-switchboard',
      // Back quickly after an outage (nats.js' default waits 2 s), with jitter so nodes do not reconnect in step.
      reconnectTimeWait: 250,
      reconnectJitter: 100,
      // A dead peer without a TCP reset (power loss, partition) is noticed within about 30 s instead of 4 min.
      pingInterval: 10_000,
      maxPingOut: 3,
      ...connection,
      noEcho: true,
      reconnect: true,
      maxReconnectAttempts: -1,
      waitOnFirstConnect: false,
    };
  }

  async attach(receive: BrokerReceiver): Promise<void> {
    const nats = await loadOptionalPackage<NatsModule>('nats', 'the NATS broker (nestjs-switchboard/nats)', () => import('nats'));
    this.nats = nats;
    this.receiver = receive;
    this.generation++;
    const connected = this.whenConnected();
    void this.connectLoop(nats);
    // Start without NATS rather than hang the bootstrap: broadcasts wait in the buffer, subscriptions follow on connect.
    const ok = await Promise.race([connected.then(() => true), delay(ATTACH_TIMEOUT_MS).then(() => false)]);
    if (!ok && this.receiver !== undefined) {
      logger.warn(`NATS is not reachable yet; going on, and connecting in the background`);
    }
  }

  async detach(): Promise<void> {
    this.receiver = undefined;
    this.everConnected = false;
    this.generation++;
    this.wanted.clear();
    this.subs.clear();
    this.buffered = [];
    this.bufferHead = 0;
    this.connected = false;
    clearTimeout(this.retryTimer);
    this.wake();
    const nc = this.nc;
    this.nc = undefined;
    if (nc !== undefined && !nc.isClosed()) {
      await nc.close().catch(() => undefined);
    }
  }

  subscribe(channels: readonly string[]): Promise<void> {
    // Subscriptions made before attach (Nest builds gateways before the hub starts) are kept and made on connect.
    if (channels.length === 0) {
      return Promise.resolve();
    }
    for (const channel of channels) {
      const subject = natsSubject(this.prefix, channel);
      if (this.wanted.has(subject)) {
        continue;
      }
      this.wanted.set(subject, channel);
      if (this.nc !== undefined) {
        this.open(this.nc, subject, channel);
      }
    }
    return this.confirmSoon();
  }

  unsubscribe(channels: readonly string[]): Promise<void> {
    for (const channel of channels) {
      const subject = natsSubject(this.prefix, channel);
      this.wanted.delete(subject);
      const sub = this.subs.get(subject);
      this.subs.delete(subject);
      try {
        sub?.unsubscribe(); // On a dead connection the UNSUB is dropped, and nats.js will not send the SUB again.
      } catch (error) {
        logger.debug(`Unsubscribe failed: ${(error as Error).message}`);
      }
    }
    return Promise.resolve();
  }

  publish(channel: string, payload: Buffer): void {
    if (this.receiver === undefined) {
      this.counters.publishDropped++;
      return;
    }
    const subject = natsSubject(this.prefix, channel);
    const nc = this.nc;
    if (nc === undefined || !this.connected || nc.isClosed()) {
      this.buffer(subject, payload);
      return;
    }
    this.send(nc, subject, payload);
  }

  stats(): BrokerStats {
    return { ...this.counters, publishBuffered: this.buffered.length - this.bufferHead, subscriptions: this.wanted.size };
  }

  /** The last resubscription after a reconnect: how many and how long until the server confirmed them. */
  lastResubscribe(): NatsResubscription | undefined {
    return this.last === undefined ? undefined : { ...this.last };
  }

  /** Connects until it succeeds or the broker detaches; nats.js reconnects by itself after that. */
  private async connectLoop(nats: NatsModule): Promise<void> {
    const generation = this.generation;
    while (this.receiver !== undefined && this.generation === generation) {
      let nc: NatsConnection;
      try {
        nc = await nats.connect(this.connectOptions);
      } catch (error) {
        if (this.generation !== generation) {
          return;
        }
        this.noteOutage(`cannot connect: ${(error as Error).message}`);
        const wait = (this.connectOptions.reconnectTimeWait ?? 250) + Math.floor(Math.random() * ((this.connectOptions.reconnectJitter ?? 100) + 1));
        await new Promise<void>((resolve) => {
          this.retryTimer = setTimeout(resolve, wait);
          this.retryTimer.unref();
          this.wakers.push(resolve); // detach ends the wait
        });
        continue;
      }
      if (this.receiver === undefined || this.generation !== generation) {
        await nc.close().catch(() => undefined);
        return;
      }
      this.adopt(nc);
      return;
    }
  }

  /** A new connection (the first, or one replacing a connection nats.js closed): subscribe everything on it. */
  private adopt(nc: NatsConnection): void {
    this.nc = nc;
    this.connected = true;
    this.outageLogged = false;
    this.subs.clear();
    for (const [subject, channel] of this.wanted) {
      this.open(nc, subject, channel);
    }
    if (this.everConnected) {
      this.counters.reconnects++;
      this.counters.resubscribeCommands += this.wanted.size;
      this.verifyResubscription(nc, this.wanted.size);
    }
    this.everConnected = true;
    void this.watchStatus(nc);
    nc.closed().then(
      (error) => this.onClosed(nc, error ?? undefined),
      (error: unknown) => this.onClosed(nc, error as Error),
    );
    this.epoch++;
    this.wake();
    this.flushBuffered();
  }

  private async watchStatus(nc: NatsConnection): Promise<void> {
    try {
      for await (const status of nc.status()) {
        if (this.nc !== nc) {
          return;
        }
        this.onStatus(nc, status);
      }
    } catch (error) {
      logger.debug(`NATS status stream ended: ${(error as Error).message}`);
    }
  }

  private onStatus(nc: NatsConnection, status: Status): void {
    switch (status.type as string) {
      case 'disconnect':
        this.connected = false;
        this.noteOutage(`disconnected from ${String(status.data)}`);
        break;
      case 'reconnect': {
        // nats.js has written every SUB again before telling us; confirm them and release what waited.
        this.connected = true;
        this.outageLogged = false;
        this.counters.reconnects++;
        this.counters.resubscribeCommands += this.subs.size;
        // Channels the server refused earlier (nats.js forgot them) are tried again.
        let retried = 0;
        if (this.subs.size < this.wanted.size) {
          for (const [subject, channel] of this.wanted) {
            if (!this.subs.has(subject)) {
              this.open(nc, subject, channel);
              retried++;
            }
          }
          this.counters.resubscribeCommands += retried;
        }
        logger.log(`Reconnected to NATS at ${String(status.data)}; ${this.subs.size} subscriptions restored`);
        this.verifyResubscription(nc, this.subs.size);
        this.epoch++;
        this.wake();
        this.flushBuffered();
        break;
      }
      case 'error':
        logger.warn(`NATS reported an error: ${String(status.data)}`);
        break;
      case 'ldm':
        logger.log(`NATS server ${String(status.data)} is entering lame duck mode; nats.js will move to another server`);
        break;
      default:
        // 'update' (cluster servers changed), 'reconnecting', 'pingTimer', 'staleConnection': nothing to do.
        break;
    }
  }

  /** nats.js gave up on a connection (or it was closed without detach): start a new one. */
  private onClosed(nc: NatsConnection, error: Error | undefined): void {
    if (this.nc !== nc) {
      return; // Detached, or already replaced.
    }
    this.nc = undefined;
    this.connected = false;
    this.subs.clear();
    if (this.receiver === undefined) {
      return;
    }
    logger.warn(`The NATS connection closed${error !== undefined ? `: ${error.message}` : ''}; opening a new one`);
    if (this.nats !== undefined) {
      void this.connectLoop(this.nats);
    }
  }

  /** Subscribes one subject on a connection; messages go to the hub under their channel name. */
  private open(nc: NatsConnection, subject: string, channel: string): void {
    let sub: Subscription;
    try {
      sub = nc.subscribe(subject, {
        callback: (error: NatsError | null, msg: Msg) => {
          if (error !== null) {
            // The server refused it (permissions): drop this copy; a new connection tries again.
            logger.warn(`NATS refused the subscription to ${subject}: ${error.message}`);
            if (this.subs.get(subject) === sub) {
              this.subs.delete(subject);
            }
            return;
          }
          this.onMessage(subject, channel, msg);
        },
      });
    } catch (error) {
      // Closed connection: the channel stays wanted and is subscribed on the next connection.
      logger.debug(`Subscribe to ${subject} deferred: ${(error as Error).message}`);
      return;
    }
    this.subs.set(subject, sub);
  }

  private onMessage(subject: string, channel: string, msg: Msg): void {
    const receiver = this.receiver;
    if (receiver === undefined || !this.wanted.has(subject)) {
      return; // Unsubscribed meanwhile.
    }
    this.counters.received++;
    const data = msg.data;
    const payload = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    try {
      receiver(channel, payload);
    } catch (error) {
      // A throw here would reach nats.js' parser and break the connection.
      logger.error(`The hub failed on a NATS message: ${(error as Error).message}`);
    }
  }

  /** One PING round trip for every subscription made since the last one started. */
  private confirmSoon(): Promise<void> {
    if (this.batch === undefined) {
      this.batch = new Promise<void>((resolve) => {
        queueMicrotask(() => {
          // SUB lines of the joins so far are in nats.js' outbound buffer, ahead of the PING confirm() adds.
          this.batch = undefined;
          resolve(this.confirm());
        });
      });
    }
    return this.batch;
  }

  /**
   * Resolves when the server has answered a PING sent after the pending SUB
   * lines, on the connection they were sent on. Never rejects: a lost
   * connection means the SUBs go again on the next one, and so does the PING.
   */
  private async confirm(): Promise<void> {
    while (this.receiver !== undefined) {
      const nc = this.nc;
      const epoch = this.epoch;
      if (nc !== undefined && this.connected && !nc.isClosed()) {
        try {
          await nc.flush();
          return;
        } catch {
          // Disconnected before the PONG: wait for the next connection.
        }
      }
      if (this.epoch === epoch) {
        await new Promise<void>((resolve) => this.wakers.push(resolve));
      }
    }
  }

  /** Resolves on the first connection (or detach). */
  private async whenConnected(): Promise<void> {
    while (this.receiver !== undefined && this.nc === undefined) {
      await new Promise<void>((resolve) => this.wakers.push(resolve));
    }
  }

  private wake(): void {
    const wakers = this.wakers;
    this.wakers = [];
    wakers.forEach((resolve) => resolve());
  }

  private verifyResubscription(nc: NatsConnection, subscriptions: number): void {
    const started = performance.now();
    nc.flush().then(
      () => {
        this.last = { subscriptions, confirmedInMs: Math.round((performance.now() - started) * 10) / 10 };
        logger.debug(`NATS confirmed ${subscriptions} resubscriptions in ${this.last.confirmedInMs} ms`);
      },
      () => undefined, // Lost again before the PONG: the next reconnect verifies.
    );
  }

  private noteOutage(message: string): void {
    if (!this.outageLogged) {
      this.outageLogged = true;
      logger.warn(`NATS ${message}; reconnecting (broadcasts to other nodes are buffered up to ${this.maxBuffered})`);
    } else {
      logger.debug(`NATS ${message}`);
    }
  }

  private send(nc: NatsConnection, subject: string, payload: Buffer): void {
    try {
      nc.publish(subject, payload);
      this.counters.published++;
    } catch (error) {
      // Closed connection, or a payload over the server's max_payload: counted, never thrown.
      this.counters.publishDropped++;
      const message = `NATS publish to ${subject} dropped: ${(error as Error).message}`;
      if ((error as { code?: unknown }).code === 'MAX_PAYLOAD_EXCEEDED') {
        logger.warn(`${message} (raise the server's max_payload for broadcasts this big)`);
      } else {
        logger.debug(message);
      }
    }
  }

  private buffer(subject: string, payload: Buffer): void {
    if (this.maxBuffered === 0) {
      this.counters.publishDropped++;
      return;
    }
    if (this.buffered.length - this.bufferHead >= this.maxBuffered) {
      this.buffered[this.bufferHead++] = undefined as unknown as [string, Buffer]; // the oldest goes
      this.counters.publishDropped++;
      if (this.bufferHead >= 1024 && this.bufferHead * 2 >= this.buffered.length) {
        this.buffered = this.buffered.slice(this.bufferHead);
        this.bufferHead = 0;
      }
    }
    this.buffered.push([subject, payload]);
  }

  private flushBuffered(): void {
    const nc = this.nc;
    if (nc === undefined || this.buffered.length === this.bufferHead) {
      return;
    }
    const waiting = this.buffered;
    const head = this.bufferHead;
    this.buffered = [];
    this.bufferHead = 0;
    for (let i = head; i < waiting.length; i++) {
      this.send(nc, waiting[i][0], waiting[i][1]);
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
