import { randomBytes } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { BroadcastOperator, type BroadcastTarget } from '../broadcast/broadcast-operator.js';
import { fanOut, forEachRecipient } from '../broadcast/fan-out.js';
import { PreparedFrame } from '../broadcast/prepared-frame.js';
import type { BroadcastPacket, Broker, BrokerStats } from '../broker/broker.interface.js';
import { clusterChannel, nodeChannel, pathChannel, roomChannel } from '../broker/channel.js';
import { InMemoryBroker } from '../broker/in-memory.broker.js';
import { decodeBroadcast, decodePositioned, encodeBroadcast, PayloadKind } from '../broker/wire-format.js';
import type { HistoryLimits, StreamHistory, StreamPosition } from '../broker/stream-history.interface.js';
import { withPosition } from '../broadcast/positioned-frame.js';
import { RECOVERY_DEFAULTS, type RecoveryOptions, type ResolvedRecoveryOptions } from '../interfaces/recovery.interface.js';
import { ErrorCode } from '../errors/error-codes.js';
import type { MetricsRecorder } from '../interfaces/metrics.interface.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import { Cluster } from '../cluster/cluster.js';
import type { ClusterCallOptions, ClusterNode, ClusterOptions, ServerSideAcks, ServerSideHandler } from '../interfaces/cluster.interface.js';
import type { Codec } from '../interfaces/codec.interface.js';
import { JsonCodec } from '../protocol/json.codec.js';
import { brandClass } from '../utils/brand.js';
import type { RoomLifecycleListener } from '../rooms/room-lifecycle.interface.js';
import type { SwitchboardServer } from '../socket/switchboard-server.js';
import type { SwitchboardSocket } from '../socket/switchboard-socket.js';

const logger = new Logger('SwitchboardHub');

/**
 * The meeting point of one application's gateways and its broker. For each
 * gateway path it keeps the local servers and one broadcast target: a
 * broadcast fans out to the path's local connections, then goes to the
 * broker for the other nodes (unless `local`). Room lifecycle events become
 * broker subscriptions, reference-counted so a broker sees each channel
 * subscribed once.
 *
 * One per application: `SwitchboardModule` provides it (with the broker of
 * your choice) and the adapter finds it through DI; without the module the
 * adapter makes its own, on an {@link InMemoryBroker}.
 */
export class SwitchboardHub {
  /**
   * This node's tag: 8 base64url characters (48 random bits). Every socket
   * id starts with it, so a broadcast to a client id goes to that client's
   * node only, over the node's own channel.
   */
  readonly nodeTagBytes: Buffer = randomBytes(6);
  readonly nodeTag = this.nodeTagBytes.toString('base64url');
  private readonly ownChannel = nodeChannel(this.nodeTag);
  /** How this node's broadcast payloads begin (see encodeBroadcast: the header's first key is the origin). */
  private readonly ownHeaderPrefix = Buffer.from(`{"o":${JSON.stringify(this.nodeTag)},`);
  private readonly serversByPath = new Map<string, Set<SwitchboardServer>>();
  /** Channels this node listens on, with how many rooms or servers need each. */
  private readonly channelRefs = new Map<string, number>();
  /** Subscriptions the broker has not confirmed yet, so that every join waiting on one resolves with it. */
  private readonly pendingSubscriptions = new Map<string, Promise<void>>();
  private readonly targets = new Map<string, BroadcastTarget<SwitchboardSocket>>();
  private readonly counters: ClusterCounters = { published: 0, received: 0, ownEchoes: 0, duplicateCopies: 0, receivedWithoutRecipient: 0, receivedAllExcluded: 0, malformed: 0, publishFailures: 0 };
  private started: Promise<void> | undefined;
  /** Liveness of the other nodes and the cluster-wide operations. */
  private readonly cluster: Cluster;

  /** Connection-state recovery settings; undefined when it is off. */
  readonly recovery: ResolvedRecoveryOptions | undefined;
  private readonly historyLimits: HistoryLimits | undefined;
  /** Told of every positioned room message this node delivers (the recovery's replay cache). */
  private positionedObserver: ((channel: string, position: StreamPosition, payload: Buffer) => void) | undefined;
  /** Told when this node stops listening on a channel (the replay cache forgets the room). */
  private releaseObserver: ((channel: string) => void) | undefined;
  /** Own positioned messages one delivery path (reply or echo) delivered while the other may still come, per room channel. */
  private readonly earlyDeliveries = new Map<string, { awaitingReplies: number; offsets: Set<number> }>();
  /** Per channel, a number that changes each time this node starts listening on it again (see listeningToken). */
  private readonly listenings = new Map<string, number>();
  private listeningSeq = 0;

  constructor(
    readonly broker: Broker = new InMemoryBroker(),
    clusterOptions: ClusterOptions = {},
    recovery?: RecoveryOptions | boolean,
    /** A metrics exporter's hooks (fan-out durations, broker lag, recoveries); counters are read from stats(). */
    readonly metrics?: MetricsRecorder,
  ) {
    this.cluster = new Cluster(broker, this.nodeTag, (path) => this.serversAt(path), clusterOptions);
    this.recovery = resolveRecovery(recovery);
    this.historyLimits = this.recovery === undefined ? undefined : { size: this.recovery.historySize, ttl: this.recovery.historyTtl };
  }

  /** @internal The broker's stream history, when recovery is on and the broker keeps one. */
  get history(): StreamHistory | undefined {
    return this.recovery === undefined ? undefined : this.broker.history;
  }

  /** @internal History limits of every room stream. */
  get limits(): HistoryLimits | undefined {
    return this.historyLimits;
  }

  /** @internal The recovery's replay cache listens to the positioned messages delivered here. */
  observePositioned(observer: (channel: string, position: StreamPosition, payload: Buffer) => void, released: (channel: string) => void): void {
    this.positionedObserver = observer;
    this.releaseObserver = released;
  }

  /**
   * @internal A token for "this node has listened on `channel` without a
   * break since": equal tokens mean every message published on it in between
   * reached this node. Undefined when it does not listen.
   */
  listeningToken(channel: string): number | undefined {
    return this.listenings.get(channel);
  }

  /** Attaches the broker once and listens on this node's own channel and the cluster's; safe to call many times. */
  start(): Promise<void> {
    // The subscriptions are not awaited: with the engine down at startup, the app starts, and they
    // follow when the engine is reachable (as every other one does). Heartbeats begin once both are confirmed.
    return (this.started ??= this.broker.attach((channel, payload) => this.receive(channel, payload)).then(() => {
      const started = this.started;
      void Promise.all([this.retain(this.ownChannel), this.retain(CLUSTER_CHANNEL)]).then(() => {
        if (this.started === started) {
          this.cluster.start();
        }
      });
    }));
  }

  /** Nest lifecycle, when the module provides the hub. */
  onModuleInit(): Promise<void> {
    return this.start();
  }

  /** Nest lifecycle: runs after the gateways have closed. */
  onApplicationShutdown(): Promise<void> {
    return this.stop();
  }

  async stop(): Promise<void> {
    if (this.started === undefined) {
      return;
    }
    await this.started.catch(() => undefined);
    this.started = undefined;
    this.cluster.stop();
    this.channelRefs.delete(this.ownChannel); // Taken again by the next start().
    this.channelRefs.delete(CLUSTER_CHANNEL);
    await this.broker.detach();
  }

  /** Cross-node figures: what this node published and received, and the broker's own counters. */
  stats(): ClusterStats {
    return { nodeTag: this.nodeTag, ...this.counters, channels: this.channelRefs.size, broker: this.broker.stats() };
  }

  /** The nodes alive now, by their heartbeats (this one first). */
  nodes(): ClusterNode[] {
    return this.cluster.nodes();
  }

  /** Calls the `onServerSideEmit(event)` handler of every other node; fire and forget. */
  serverSideEmit(event: string, data?: unknown): void {
    this.cluster.serverSideEmit(event, data);
  }

  /** Calls the `onServerSideEmit(event)` handler of every other live node and collects their results, with the nodes that did not answer in time. */
  serverSideEmitWithAck<T = unknown>(event: string, data?: unknown, options: ClusterCallOptions = {}): Promise<ServerSideAcks<T>> {
    return this.cluster.serverSideEmitWithAck<T>(event, data, options);
  }

  /** Handles `serverSideEmit(event)` from other nodes (one handler per event); returns the function that removes it. */
  onServerSideEmit(event: string, handler: ServerSideHandler): () => void {
    return this.cluster.onServerSideEmit(event, handler);
  }

  /** @internal Where the broadcasts of a gateway path go: its local servers, then the broker. */
  targetFor(path: string, codec?: Codec): BroadcastTarget<SwitchboardSocket> {
    const cached = this.targets.get(path);
    if (cached !== undefined && (codec === undefined || cached.codec === codec)) {
      return cached;
    }
    const target: BroadcastTarget<SwitchboardSocket> = {
      path,
      codec: codec ?? this.serversByPath.get(path)?.values().next().value?.behaviour.codec ?? new JsonCodec(),
      publish: (packet, local) => {
        if (!local && this.historyLimits !== undefined && this.broker.history !== undefined && isOneRoom(packet)) {
          return this.publishPositioned(packet, this.broker.history, this.historyLimits);
        }
        const delivered = this.deliverLocal(packet);
        if (!local) {
          this.publishRemote(packet);
        }
        return delivered;
      },
      select: (targeting) => {
        const selected: SwitchboardSocket[] = [];
        for (const server of this.serversByPath.get(path) ?? []) {
          forEachRecipient(server, targeting, (socket) => selected.push(socket));
        }
        return selected;
      },
      cluster: this.cluster.operationsFor(path),
    };
    if (cached === undefined) {
      this.targets.set(path, target);
    }
    return target;
  }

  /** @internal Rooms of a gateway path drive the broker's subscriptions. */
  lifecycleFor(path: string): RoomLifecycleListener {
    return {
      roomCreated: (room) => this.retain(roomChannel(path, room)),
      roomDeleted: (room) => this.release(roomChannel(path, room)),
      whenSubscribed: (room) => this.pendingSubscriptions.get(roomChannel(path, room)) ?? RESOLVED,
    };
  }

  /** @internal */
  register(server: SwitchboardServer): void {
    let servers = this.serversByPath.get(server.path);
    if (servers === undefined) {
      servers = new Set();
      this.serversByPath.set(server.path, servers);
    }
    servers.add(server);
    void this.retain(pathChannel(server.path));
  }

  /** @internal */
  unregister(server: SwitchboardServer): void {
    const servers = this.serversByPath.get(server.path);
    if (servers?.delete(server) !== true) {
      return;
    }
    if (servers.size === 0) {
      this.serversByPath.delete(server.path);
    }
    this.release(pathChannel(server.path));
  }

  /** Gateway paths served in this process. */
  paths(): string[] {
    return [...this.serversByPath.keys()];
  }

  /** Gateway servers at a path, in this process. */
  serversAt(path: string): readonly SwitchboardServer[] {
    return [...(this.serversByPath.get(path) ?? [])];
  }

  /**
   * A broadcast operator for a gateway path. The path need not be served
   * here: a worker without gateways can still publish to rooms that other
   * nodes serve (with the codec given, JSON by default).
   */
  operator(path: string, codec?: Codec): BroadcastOperator<SwitchboardSocket> {
    return new BroadcastOperator(this.targetFor(path, codec));
  }

  /**
   * A broadcast to one room with recovery on: the history assigns its
   * position, stores it and publishes it to the other nodes in one step;
   * then it is delivered here, with its position. Appends resolve in order,
   * so local deliveries keep the room's order. Returns the local members it
   * is going to (the write follows the append).
   */
  private publishPositioned(packet: BroadcastPacket, history: StreamHistory, limits: HistoryLimits): number {
    const room = packet.rooms![0];
    const channel = roomChannel(packet.path, room);
    const members = this.serversAt(packet.path).reduce((count, server) => count + (server.rooms.membersOf(room)?.size ?? 0), 0);
    let payload: Buffer;
    try {
      payload = encodeBroadcast({ origin: this.nodeTag, channels: [channel], packet });
    } catch (error) {
      this.counters.publishFailures++;
      logger.warn(`A broadcast to ${packet.path} could not be encoded for the history: ${(error as Error).message}`);
      return this.deliverLocal(packet);
    }
    // Local members get the message from the engine's echo, which comes on the room's channel in the order
    // the engine ran every node's appends: one ordered path per room. While the room's subscription is not
    // confirmed yet, the echo may not come, so the append's reply delivers it (the first of the two wins).
    const early = this.pendingSubscriptions.has(channel);
    const twins = early ? this.twinsOf(channel) : undefined;
    if (twins !== undefined) {
      twins.awaitingReplies++;
    }
    history.append(channel, payload, limits).then(
      (position) => {
        this.counters.published++;
        if (twins !== undefined) {
          twins.awaitingReplies--;
          if (!twins.offsets.delete(position.offset)) {
            this.deliverLocal(packet, position, channel, payload);
            remember(twins.offsets, position.offset);
          }
        }
      },
      (error: unknown) => {
        // Past the broker's bounded buffer: the other nodes miss it (counted); local members still get it, unpositioned.
        this.counters.publishFailures++;
        logger.warn(`The broker could not record a broadcast to ${packet.path}: ${(error as Error).message}`);
        this.deliverLocal(packet);
      },
    );
    return members;
  }

  private twinsOf(channel: string): { awaitingReplies: number; offsets: Set<number> } {
    let twins = this.earlyDeliveries.get(channel);
    if (twins === undefined) {
      twins = { awaitingReplies: 0, offsets: new Set() };
      this.earlyDeliveries.set(channel, twins);
    }
    return twins;
  }

  private deliverLocal(packet: BroadcastPacket, position?: StreamPosition, channel?: string, payload?: Buffer): number {
    if (position !== undefined && channel !== undefined && payload !== undefined) {
      this.positionedObserver?.(channel, position, payload);
    }
    const servers = this.serversByPath.get(packet.path);
    if (servers === undefined) {
      return 0;
    }
    // Encoded and framed once for every server and connection of the path.
    const prepared =
      position === undefined
        ? new PreparedFrame(packet)
        : new PreparedFrame({ ...packet, frame: withPosition(packet.frame, packet.rooms![0], position) }, { room: packet.rooms![0], ...position });
    let delivered = 0;
    const started = this.metrics === undefined ? 0 : performance.now();
    for (const server of servers) {
      delivered += fanOut(server, prepared);
    }
    if (started !== 0) {
      this.metrics!.fannedOut(packet.path, packet.rooms?.length === 1 ? packet.rooms[0] : undefined, delivered, (performance.now() - started) / 1000);
    }
    return delivered;
  }

  /**
   * Sends a broadcast to the other nodes, on the channels of exactly the
   * nodes that may have recipients: each targeted room's channel (nodes
   * with a member there listen), the node channel of each targeted client
   * id's node, or, for a broadcast to everyone, the path's channel. One
   * payload, published on each of those channels.
   */
  private publishRemote(packet: BroadcastPacket): void {
    if (this.broker.hasPeers?.() === false) {
      return; // A lone node: no payload to build.
    }
    const channels: string[] = [];
    if (packet.rooms === undefined && packet.clientIds === undefined) {
      channels.push(pathChannel(packet.path));
    } else {
      for (const room of packet.rooms ?? []) {
        channels.push(roomChannel(packet.path, room));
      }
      for (const tag of nodeTagsOf(packet.clientIds)) {
        if (tag !== this.nodeTag) {
          channels.push(nodeChannel(tag));
        }
      }
    }
    if (channels.length === 0) {
      return;
    }
    try {
      const payload = encodeBroadcast({ origin: this.nodeTag, channels, packet });
      for (const channel of channels) {
        this.broker.publish(channel, payload);
      }
      this.counters.published++;
    } catch (error) {
      // A broker must not throw (see Broker); one that does must not throw into the code that broadcast.
      this.counters.publishFailures++;
      for (const server of this.serversByPath.get(packet.path) ?? []) {
        server.stats.publishFailures++;
      }
      logger.warn(`The broker could not publish a broadcast to ${packet.path}: ${(error as Error).message}`);
    }
  }

  /** A payload from another node (or this node's own, echoed by the engine). */
  private receive(channel: string, payload: Buffer): void {
    if (payload[0] === PayloadKind.Control) {
      if (!this.cluster.receive(payload)) {
        this.counters.malformed++;
      }
      return;
    }
    if (payload[0] === PayloadKind.Broadcast && isFrom(payload, this.ownHeaderPrefix)) {
      // Redis echoes every publication to its publisher: recognised by its first bytes, without parsing its header.
      this.counters.ownEchoes++;
      return;
    }
    let position: StreamPosition | undefined;
    if (payload[0] === PayloadKind.Positioned) {
      const positioned = decodePositioned(payload);
      if (positioned === undefined) {
        this.counters.malformed++;
        return;
      }
      position = positioned.position;
      payload = positioned.payload;
    }
    const routed = decodeBroadcast(payload);
    if (routed === undefined) {
      this.counters.malformed++;
      return;
    }
    if (routed.origin === this.nodeTag) {
      if (position === undefined) {
        this.counters.ownEchoes++; // Delivered locally when it was published.
        return;
      }
      // A positioned message of ours: its echo is how local members get it, in the room's order.
      const twins = this.earlyDeliveries.get(channel);
      if (twins?.offsets.delete(position.offset) === true) {
        this.counters.ownEchoes++; // The append's reply delivered it already (see publishPositioned).
        return;
      }
      if (twins !== undefined && twins.awaitingReplies > 0) {
        remember(twins.offsets, position.offset);
      }
      this.deliverLocal(routed.packet, position, channel, payload);
      return;
    }
    // One delivery per node, on the first of the payload's channels this node listens on.
    const first = routed.channels.find((candidate) => candidate === this.ownChannel || this.channelRefs.has(candidate));
    if (first !== channel) {
      this.counters.duplicateCopies++;
      return;
    }
    this.counters.received++;
    if (this.metrics !== undefined && routed.sentAt > 0) {
      this.metrics.brokerLag(Math.max(0, Date.now() - routed.sentAt) / 1000);
    }
    const delivered = position === undefined ? this.deliverLocal(routed.packet) : this.deliverLocal(routed.packet, position, channel, payload);
    if (delivered === 0) {
      // Nobody got it: either this node had no one targeted (a wasted reception, which interest
      // routing avoids but for a leave racing the broadcast), or everyone targeted was excluded.
      if (this.hasTargetsHere(routed.packet)) {
        this.counters.receivedAllExcluded++;
      } else {
        this.counters.receivedWithoutRecipient++;
      }
    }
  }

  /** Whether this node has a member of a targeted room, a targeted client, or (for everyone) the path. */
  private hasTargetsHere(packet: BroadcastPacket): boolean {
    if (packet.rooms === undefined && packet.clientIds === undefined) {
      return this.serversByPath.has(packet.path);
    }
    return (
      (packet.rooms ?? []).some((room) => this.channelRefs.has(roomChannel(packet.path, room))) ||
      (packet.clientIds ?? []).some((id) => id.startsWith(this.nodeTag) && this.serversAt(packet.path).some((server) => server.connectionById(id) !== undefined))
    );
  }

  /** Starts listening on a channel (reference-counted); resolves when the broker confirmed it. */
  private retain(channel: string): Promise<void> {
    const count = this.channelRefs.get(channel) ?? 0;
    this.channelRefs.set(channel, count + 1);
    if (count > 0) {
      return this.pendingSubscriptions.get(channel) ?? RESOLVED;
    }
    this.listenings.set(channel, ++this.listeningSeq);
    const confirmed: Promise<void> = this.broker.subscribe([channel]).then(
      () => this.settleSubscription(channel, confirmed),
      (error: unknown) => {
        // A broker must not reject (see Broker): note it, and let the join go on.
        this.settleSubscription(channel, confirmed);
        logger.warn(`The broker could not subscribe ${channel.replace(/\u0000/g, ' ')}: ${(error as Error).message}`);
      },
    );
    this.pendingSubscriptions.set(channel, confirmed);
    return confirmed;
  }

  private settleSubscription(channel: string, confirmed: Promise<void>): void {
    if (this.pendingSubscriptions.get(channel) === confirmed) {
      this.pendingSubscriptions.delete(channel);
    }
  }

  private release(channel: string): void {
    const count = this.channelRefs.get(channel);
    if (count === undefined) {
      return;
    }
    if (count > 1) {
      this.channelRefs.set(channel, count - 1);
      return;
    }
    this.channelRefs.delete(channel);
    this.pendingSubscriptions.delete(channel);
    this.listenings.delete(channel);
    this.earlyDeliveries.delete(channel);
    this.releaseObserver?.(channel);
    this.broker.unsubscribe([channel]).catch((error: unknown) => {
      logger.warn(`The broker could not unsubscribe ${channel.replace(/\u0000/g, ' ')}: ${(error as Error).message}`);
    });
  }
}

const RESOLVED: Promise<void> = Promise.resolve();
const CLUSTER_CHANNEL = clusterChannel();

/** Whether a broadcast payload's header starts with this prefix (`[kind][u32 length][header...]`). */
function isFrom(payload: Buffer, headerPrefix: Buffer): boolean {
  return payload.length >= 5 + headerPrefix.length && payload.compare(headerPrefix, 0, headerPrefix.length, 5, 5 + headerPrefix.length) === 0;
}

/** Keeps at most 1,024 offsets per room: an early delivery whose echo never comes (published before the subscription took) is forgotten, not kept forever. */
function remember(offsets: Set<number>, offset: number): void {
  offsets.add(offset);
  if (offsets.size > 1024) {
    offsets.delete(offsets.values().next().value as number);
  }
}

/** A broadcast to exactly one room, nobody else: the kind that gets a stream position. */
function isOneRoom(packet: BroadcastPacket): boolean {
  return packet.rooms !== undefined && packet.rooms.length === 1 && packet.clientIds === undefined;
}

function resolveRecovery(recovery: RecoveryOptions | boolean | undefined): ResolvedRecoveryOptions | undefined {
  if (recovery === undefined || recovery === false) {
    return undefined;
  }
  const resolved: ResolvedRecoveryOptions = { ...RECOVERY_DEFAULTS, ...(recovery === true ? {} : recovery) };
  for (const [key, value] of Object.entries(resolved)) {
    if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
      throw new SwitchboardError(ErrorCode.INVALID_OPTION, `recovery.${key} must be a positive integer.`);
    }
  }
  return resolved;
}

// One identity for the ESM and CJS copies (see utils/brand): an adapter of one copy finds the other copy's module hub.
brandClass(SwitchboardHub, 'SwitchboardHub');

/** Length of a node tag and of the random part of a socket id (see createSocketId). */
const NODE_TAG_LENGTH = 8;
const SOCKET_ID_LENGTH = 24;

/** The distinct nodes of some socket ids; ids not made by this library are nobody's (local only). */
function nodeTagsOf(clientIds: readonly string[] | undefined): Set<string> {
  const tags = new Set<string>();
  for (const id of clientIds ?? []) {
    if (id.length === SOCKET_ID_LENGTH) {
      tags.add(id.slice(0, NODE_TAG_LENGTH));
    }
  }
  return tags;
}

interface ClusterCounters {
  /** Broadcasts this node sent to other nodes (each on one or more channels). */
  published: number;
  /** Broadcasts received from other nodes and delivered here. */
  received: number;
  /** This node's own payloads echoed back by the engine (dropped). */
  ownEchoes: number;
  /** Extra copies of one broadcast that arrived on a second listened channel (dropped: one delivery per node). */
  duplicateCopies: number;
  /** Received broadcasts for which this node had no one targeted: wasted receptions (0 with interest routing, but for leaves racing a broadcast). */
  receivedWithoutRecipient: number;
  /** Received broadcasts whose every local target was excluded by `except(...)` (filtered where the members are). */
  receivedAllExcluded: number;
  /** Payloads that could not be read. */
  malformed: number;
  /** Broadcasts the broker threw on. */
  publishFailures: number;
}

/** Cross-node figures of one node. */
export interface ClusterStats extends ClusterCounters {
  readonly nodeTag: string;
  /** Channels this node listens on (rooms with local members, served paths, its own). */
  readonly channels: number;
  readonly broker: BrokerStats;
}
