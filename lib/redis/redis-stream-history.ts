import { createHash } from 'node:crypto';
import { Logger } from '@nestjs/common';
import type { Cluster, Redis } from 'ioredis';
import { checkLimits, randomEpoch } from '../broker/in-memory-stream-history.js';
import type { HistoryEntry, HistoryLimits, HistoryRead, SessionRecord, StreamHistory, StreamPosition } from '../broker/stream-history.interface.js';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';

const logger = new Logger('RedisStreamHistory');

type Client = Redis | Cluster;

/** @internal What {@link RedisStreamHistory} needs from its RedisBroker (handed over by the broker, so this file does not import it: no cycle). */
export interface RedisHistoryLink {
  /** The broker's key prefix (`sb:`): every history and session key starts with it. */
  readonly prefix: string;
  /** SPUBLISH (sharded pub/sub) or PUBLISH (classic), as the broker publishes. */
  readonly sharded: boolean;
  /** The broker's buffer bound: operations wait for Redis only while the broker's buffer and theirs together hold fewer. */
  readonly maxBuffered: number;
  /** How long an operation may wait for Redis (queued, then in flight) before it rejects with BROKER_UNAVAILABLE. */
  readonly waitMs: number;
  /** The broker's publishing connection, undefined while detached. */
  client(): Client | undefined;
  /** The broker's Redis channel of a hub channel (where the positioned payload is published). */
  channelKey(channel: string): string;
  /** The Redis spelling of a hub channel (lone surrogates encoded), as in the channel's name. */
  redisName(channel: string): string;
  /** The hash tag (`{n}`) of the partition of a Redis-spelled name, the one the broker's sharded channel carries. */
  partitionTag(name: string): string;
  /** Payloads waiting in the broker's own buffer now. */
  brokerBuffered(): number;
  /** The broker's counters: appends count in `published` and `publishDropped` like publishes. */
  readonly counters: { published: number; publishDropped: number };
}

/**
 * The append, atomic in Redis, so two nodes appending to one room at once get
 * offsets n and n+1 and everyone hears them with exactly those positions.
 * KEYS: epoch, offset, stream. ARGV: candidate epoch, size, ttl (ms), PUBLISH
 * or SPUBLISH, channel, payload. Returns `{epoch, offset}`.
 *
 * - Offset 1 means a new stream (never written, expired as a whole, or its
 *   offset key lost): the candidate becomes the epoch and any leftover
 *   entries go, so an offset is never reused within an epoch. Otherwise
 *   `SET NX` keeps the existing epoch (and only replaces one lost alone).
 * - The entry id is `<offset>-0`, so `XRANGE <since+1>-0 +` is the replay.
 *   `MAXLEN ~ size` trims whole stream nodes: at least `size` entries are
 *   kept, at most about `size` + 100 (stream-node-max-entries); the read
 *   script never replays more than `size`, so what is replayable is exactly
 *   what an exact cap would keep, and the append costs a fifth as much in
 *   Redis (exact trimming measured 12.8 us of a 55 us script, `~` 2 us of 22).
 *   `t` is Redis' own clock, so the ttl check on read does not depend on
 *   node clocks.
 * - PEXPIRE on all three keys: an idle stream disappears as a whole `ttl`
 *   after its last append (its next append starts a new epoch).
 * - The published bytes are wire-format.ts' encodePositioned:
 *   `[0x03][epoch length][epoch][offset in decimal][0x00][payload]`.
 */
const APPEND_SCRIPT = `
local offset = redis.call('INCR', KEYS[2])
if offset == 1 then
  redis.call('SET', KEYS[1], ARGV[1])
  redis.call('DEL', KEYS[3])
else
  redis.call('SET', KEYS[1], ARGV[1], 'NX')
end
local epoch = redis.call('GET', KEYS[1])
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local id = string.format('%d', offset)
redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[2], id .. '-0', 't', string.format('%d', now), 'p', ARGV[6])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('PEXPIRE', KEYS[3], ARGV[3])
redis.call(ARGV[4], ARGV[5], string.char(3, #epoch) .. epoch .. id .. string.char(0) .. ARGV[6])
return {epoch, offset}
`;

/**
 * The replay, one script: the epoch, the end, and one XRANGE from the entry
 * after `since` (COUNT = exactly what is missing), so its cost grows with the
 * entries returned, never with the history kept. KEYS: epoch, offset, stream.
 * ARGV: since's epoch, since's offset, size, ttl (ms).
 * Returns `{epoch | nil, end, 1 | 0, payloads...}`: 1 with every payload
 * after since (offsets since+1..end, checked contiguous here); 0 when that
 * cannot be told completely.
 */
const READ_SCRIPT = `
local epoch = redis.call('GET', KEYS[1])
if not epoch then
  return {false, 0, 0}
end
local last = tonumber(redis.call('GET', KEYS[2]) or '0')
local since = tonumber(ARGV[2])
if epoch ~= ARGV[1] or since > last then
  return {epoch, last, 0}
end
if since == last then
  return {epoch, last, 1}
end
local missing = last - since
if missing > tonumber(ARGV[3]) then
  return {epoch, last, 0}
end
local from = string.format('%d', since + 1) .. '-0'
local rows = redis.call('XRANGE', KEYS[3], from, '+', 'COUNT', missing)
if #rows ~= missing or rows[1][1] ~= from then
  return {epoch, last, 0}
end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[4])
local reply = {epoch, last, 1}
for i = 1, missing do
  local fields = rows[i][2]
  if now - tonumber(fields[2]) >= ttl then
    return {epoch, last, 0}
  end
  reply[i + 3] = fields[4]
end
return reply
`;

interface Script {
  readonly source: string;
  readonly sha: string;
}

function script(source: string): Script {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

const APPEND = script(APPEND_SCRIPT);
const READ = script(READ_SCRIPT);

/** How often waiting and in-flight operations are checked against their deadline (at most). */
const DEADLINE_CHECK_MS = 250;

/** One operation waiting for Redis or in flight: it settles exactly once (reply, failure or deadline). */
interface Operation {
  readonly append: boolean;
  readonly deadline: number;
  readonly send: (client: Client) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: SwitchboardError) => void;
  settled: boolean;
}

/**
 * The stream history of RedisBroker (`broker.history`), kept in Redis
 * where every node reaches it. Keys, under the broker's prefix, per room
 * channel (its Redis spelling `name`, and its partition's hash tag `{n}`,
 * the same tag as the broker's sharded channel, so the keys and the shard
 * channel are in one slot and the append script may SPUBLISH on a cluster):
 *
 * - `<prefix>hist:{n}:epoch:<name>`: the epoch (string)
 * - `<prefix>hist:{n}:offset:<name>`: the last offset (integer)
 * - `<prefix>hist:{n}:stream:<name>`: the entries (a Redis stream, ids `<offset>-0`, fields `t` (append time, ms) and `p` (payload))
 * - `<prefix>sess:<sessionId>`: a session (JSON, PX ttl)
 *
 * The keys always carry the tag (standalone too), so one layout serves every mode.
 *
 * While Redis is unreachable (or before the first connect), operations wait
 * in a FIFO that shares the broker's `maxBuffered` bound with its own
 * payload buffer; past the bound, and past `waitMs` queued or in flight,
 * they reject with BROKER_UNAVAILABLE (appends counted in `publishDropped`,
 * waiting appends in `publishBuffered`). Nothing hangs, nothing throws
 * synchronously. An append that timed out in flight may still have been
 * applied by Redis.
 *
 * Memory: in Redis, per room about `size` + 100 entries at most (MAXLEN ~),
 * all three keys gone `ttl` after the room's last append, a session `ttl`
 * after it was saved. In this process: at most `maxBuffered` operations
 * waiting, and in flight what the callers issue, each given up after `waitMs`.
 */
export class RedisStreamHistory implements StreamHistory {
  private reads = 0;
  /** Operations waiting for the connection to be ready, oldest first (so their deadlines are in order). */
  private waiting: Operation[] = [];
  private waitingAppends = 0;
  /** Operations sent, in the order sent (so their deadlines are in order too). */
  private readonly inFlight = new Set<Operation>();
  /** Connections that already have this history's 'ready' listener. */
  private readonly listening = new WeakSet<Client>();
  private timer: NodeJS.Timeout | undefined;

  /** @internal Made by RedisBroker. */
  constructor(private readonly link: RedisHistoryLink) {}

  get historyReads(): number {
    return this.reads;
  }

  /** Appends waiting for Redis now (the broker adds them to `publishBuffered`). */
  get buffered(): number {
    return this.waitingAppends;
  }

  append(channel: string, payload: Buffer, limits: HistoryLimits): Promise<StreamPosition> {
    try {
      checkLimits(limits);
      const keys = this.keys(channel);
      const args = [randomEpoch(), String(limits.size), String(Math.ceil(limits.ttl)), this.link.sharded ? 'SPUBLISH' : 'PUBLISH', this.link.channelKey(channel), payload];
      return this.submit(true, async (client) => {
        const reply = await evaluate(client, APPEND, keys, args);
        if (!Array.isArray(reply) || !Buffer.isBuffer(reply[0]) || typeof reply[1] !== 'number') {
          throw new Error('unexpected reply from the append script');
        }
        return { epoch: reply[0].toString('latin1'), offset: reply[1] };
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  position(channel: string): Promise<StreamPosition> {
    try {
      const keys = this.keys(channel);
      return this.submit(false, async (client) => {
        // The two keys carry one hash tag: one slot, so one MGET on a cluster too.
        const [epoch, offset] = await client.mget(keys[0], keys[1]);
        return epoch === null || offset === null ? { epoch: randomEpoch(), offset: 0 } : { epoch, offset: Number(offset) };
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  readSince(channel: string, since: StreamPosition, limits: HistoryLimits): Promise<HistoryRead> {
    this.reads++;
    try {
      checkLimits(limits);
      if (!Number.isSafeInteger(since.offset) || since.offset < 0 || typeof since.epoch !== 'string') {
        // Not a position this history gave: nothing can be told after it.
        return this.position(channel).then((position) => ({ recovered: false, position }));
      }
      const keys = this.keys(channel);
      const args = [since.epoch, String(since.offset), String(limits.size), String(Math.ceil(limits.ttl))];
      return this.submit(false, async (client) => parseRead(await evaluate(client, READ, keys, args), since.offset));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  saveSession(sessionId: string, record: SessionRecord, ttl: number): Promise<void> {
    try {
      const json = JSON.stringify({ rooms: record.rooms, socketIds: record.socketIds });
      const key = this.sessionKey(sessionId);
      return this.submit(false, async (client) => {
        await client.set(key, json, 'PX', Math.max(1, Math.ceil(ttl)));
      });
    } catch (error) {
      return Promise.reject(error);
    }
  }

  takeSession(sessionId: string): Promise<SessionRecord | undefined> {
    try {
      const key = this.sessionKey(sessionId);
      // GETDEL (Redis 6.2): of two nodes taking one session at once, one gets it.
      return this.submit(false, async (client) => parseSession(await client.getdel(key)));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** @internal The broker detached: what still waits for a connection will never get this one. */
  abandon(): void {
    const waiting = this.takeWaiting(this.waiting.length);
    for (const operation of waiting) {
      this.fail(operation, 'the Redis broker was detached');
    }
  }

  /** The keys of a channel's stream: epoch, offset, stream (one hash tag, one slot). */
  private keys(channel: string): [string, string, string] {
    const name = this.link.redisName(channel);
    const base = `${this.link.prefix}hist:${this.link.partitionTag(name)}:`;
    return [`${base}epoch:${name}`, `${base}offset:${name}`, `${base}stream:${name}`];
  }

  private sessionKey(sessionId: string): string {
    return `${this.link.prefix}sess:${sessionId}`;
  }

  /** Runs an operation now, or queues it (bounded) until the connection is ready. Never throws. */
  private submit<T>(append: boolean, send: (client: Client) => Promise<T>): Promise<T> {
    const client = this.link.client();
    if (client === undefined) {
      if (append) {
        this.link.counters.publishDropped++;
      }
      return Promise.reject(unavailable('the Redis broker is not attached'));
    }
    this.listen(client);
    return new Promise<T>((resolve, reject) => {
      const operation: Operation = { append, deadline: Date.now() + this.link.waitMs, send, resolve: resolve as (value: unknown) => void, reject, settled: false };
      // Behind anything already waiting, so one node's appends to a room reach Redis in order.
      if (client.status === 'ready' && this.waiting.length === 0) {
        this.start(client, operation);
      } else if (this.waiting.length + this.link.brokerBuffered() >= this.link.maxBuffered) {
        this.fail(operation, `Redis is unreachable and the broker's buffer (${this.link.maxBuffered}) is full`);
        return;
      } else {
        this.waiting.push(operation);
        this.waitingAppends += append ? 1 : 0;
      }
      this.watchDeadlines();
    });
  }

  private start(client: Client, operation: Operation): void {
    this.inFlight.add(operation);
    if (operation.append) {
      this.link.counters.published++;
    }
    let sent: Promise<unknown>;
    try {
      sent = operation.send(client);
    } catch (error) {
      sent = Promise.reject(error);
    }
    sent.then(
      (value) => {
        this.inFlight.delete(operation);
        if (!operation.settled) {
          operation.settled = true;
          operation.resolve(value);
        }
      },
      (error: Error) => {
        this.inFlight.delete(operation);
        if (error.name === 'ReplyError' && !error.message.startsWith('CLUSTERDOWN') && !error.message.startsWith('LOADING')) {
          // Redis answered with an error that is no outage: worth a warning, it is a bug or a misconfiguration.
          logger.warn(`Redis refused a history operation: ${error.message}`);
        }
        this.fail(operation, `Redis did not complete the operation: ${error.message}`, error);
      },
    );
  }

  private fail(operation: Operation, reason: string, cause?: Error): void {
    if (operation.settled) {
      return;
    }
    operation.settled = true;
    if (operation.append) {
      this.link.counters.publishDropped++;
    }
    operation.reject(unavailable(reason, cause));
  }

  /**
   * At the first sight of a connection the broker made: load the scripts now if it is ready, and on
   * every (re)connect, then send what waits. Loading ahead keeps one node's appends in order: had
   * Redis lost the scripts (a restart), a burst of EVALSHAs would all fail NOSCRIPT and fall back to
   * EVAL one by one, and an append sent meanwhile could overtake them.
   */
  private listen(client: Client): void {
    if (this.listening.has(client)) {
      return;
    }
    this.listening.add(client);
    if (client.status === 'ready') {
      loadScripts(client);
    }
    client.on('ready', () => {
      if (client !== this.link.client()) {
        return; // A connection of an earlier attach.
      }
      loadScripts(client);
      for (const operation of this.takeWaiting(this.waiting.length)) {
        if (!operation.settled) {
          this.start(client, operation);
        }
      }
    });
  }

  /** Removes the oldest `count` waiting operations and returns them. */
  private takeWaiting(count: number): Operation[] {
    const taken = count === this.waiting.length ? this.waiting : this.waiting.slice(0, count);
    this.waiting = count === this.waiting.length ? [] : this.waiting.slice(count);
    for (const operation of taken) {
      this.waitingAppends -= operation.append ? 1 : 0;
    }
    return taken;
  }

  /** One timer, only while something is outstanding: deadlines are in order in both lists, so each check stops at the first one not due. */
  private watchDeadlines(): void {
    if (this.timer !== undefined) {
      return;
    }
    this.timer = setInterval(() => {
      const now = Date.now();
      let due = 0;
      while (due < this.waiting.length && this.waiting[due].deadline <= now) {
        due++;
      }
      for (const operation of this.takeWaiting(due)) {
        this.fail(operation, `Redis stayed unreachable for ${this.link.waitMs} ms`);
      }
      for (const operation of this.inFlight) {
        if (operation.deadline > now) {
          break;
        }
        this.inFlight.delete(operation);
        this.fail(operation, `Redis did not answer within ${this.link.waitMs} ms (the operation may still be applied)`);
      }
      if (this.waiting.length === 0 && this.inFlight.size === 0) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    }, Math.max(1, Math.min(DEADLINE_CHECK_MS, Math.floor(this.link.waitMs / 4))));
    // Outstanding operations must not keep a process alive that is otherwise done.
    this.timer.unref();
  }
}

function unavailable(reason: string, cause?: Error): SwitchboardError {
  return new SwitchboardError(ErrorCode.BROKER_UNAVAILABLE, `Stream history: ${reason}`, cause === undefined ? undefined : { cause: cause.message });
}

/** SCRIPT LOAD on the server (standalone) or on every master (cluster); a failure leaves the EVAL fallback to cope. */
function loadScripts(client: Client): void {
  const servers = 'nodes' in client ? client.nodes('master') : [client];
  for (const server of servers) {
    for (const { source } of [APPEND, READ]) {
      server.script('LOAD', source).catch((error: Error) => logger.debug(`SCRIPT LOAD failed (EVAL will be used): ${error.message}`));
    }
  }
}

/** EVALSHA, and EVAL when Redis does not have the script (first use, or after a restart or a failover). */
async function evaluate(client: Client, { sha, source }: Script, keys: readonly string[], args: ReadonlyArray<string | Buffer>): Promise<unknown> {
  try {
    return await client.callBuffer('EVALSHA', sha, keys.length, ...keys, ...args);
  } catch (error) {
    if (!(error instanceof Error) || !error.message.startsWith('NOSCRIPT')) {
      throw error;
    }
    return client.callBuffer('EVAL', source, keys.length, ...keys, ...args);
  }
}

function parseRead(reply: unknown, since: number): HistoryRead {
  if (!Array.isArray(reply) || typeof reply[1] !== 'number' || typeof reply[2] !== 'number') {
    throw new Error('unexpected reply from the read script');
  }
  const [epoch, end, recovered] = reply as [unknown, number, number];
  if (!Buffer.isBuffer(epoch)) {
    // The stream does not exist (never written, or expired): a fresh epoch, not stored.
    return { recovered: false, position: { epoch: randomEpoch(), offset: 0 } };
  }
  const position = { epoch: epoch.toString('latin1'), offset: end };
  if (recovered !== 1) {
    return { recovered: false, position };
  }
  const entries: HistoryEntry[] = [];
  for (let i = 3; i < reply.length; i++) {
    const payload: unknown = reply[i];
    if (!Buffer.isBuffer(payload)) {
      throw new Error('unexpected entry in the read script reply');
    }
    entries.push({ offset: since + i - 2, payload });
  }
  return { recovered: true, position, entries };
}

function parseSession(json: string | null): SessionRecord | undefined {
  if (json === null) {
    return undefined;
  }
  try {
    const value = JSON.parse(json) as { rooms?: unknown; socketIds?: unknown };
    const strings = (list: unknown): list is string[] => Array.isArray(list) && list.every((item) => typeof item === 'string');
    return strings(value.rooms) && strings(value.socketIds) ? { rooms: value.rooms, socketIds: value.socketIds } : undefined;
  } catch {
    return undefined; // Not ours (another writer under the prefix): no session.
  }
}
