import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { BroadcastOperator, type BroadcastTarget } from '../broadcast/broadcast-operator.js';
import { PreparedFrame } from '../broadcast/prepared-frame.js';
import type { BroadcastPacket, Broker, BrokerNode } from '../broker/broker.interface.js';
import { InMemoryBroker } from '../broker/in-memory.broker.js';
import { ErrorCode } from '../errors/error-codes.js';
import { SwitchboardError } from '../errors/switchboard.error.js';
import type { Codec } from '../interfaces/codec.interface.js';
import { JsonCodec } from '../protocol/json.codec.js';
import type { SwitchboardServer } from '../socket/switchboard-server.js';
import type { SwitchboardSocket } from '../socket/switchboard-socket.js';

const logger = new Logger('SwitchboardHub');

/**
 * The meeting point of one application's gateways and its broker: it knows
 * every gateway server by path, delivers broadcasts to local sockets, hands
 * them to the broker for other nodes, and turns room lifecycle events into
 * broker subscriptions (reference-counted, so a broker sees each channel
 * subscribed once).
 *
 * One per application: `SwitchboardModule` provides it (with the broker of
 * your choice) and the adapter finds it through DI; without the module the
 * adapter makes its own, on an {@link InMemoryBroker}.
 */
export class SwitchboardHub implements BrokerNode {
  readonly nodeId = randomUUID();
  private readonly serversByPath = new Map<string, Set<SwitchboardServer>>();
  private readonly channelRefs = new Map<string, number>();
  private readonly targets = new Map<string, BroadcastTarget>();
  private started: Promise<void> | undefined;
  /** Broker publish failures, counted rather than thrown into the emitting code. */
  publishErrors = 0;

  constructor(readonly broker: Broker = new InMemoryBroker()) {}

  /** Attaches the broker once; safe to call many times. */
  start(): Promise<void> {
    return (this.started ??= Promise.resolve(this.broker.attach(this)));
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
    await this.broker.detach(this);
  }

  /** @internal */
  register(server: SwitchboardServer): void {
    let servers = this.serversByPath.get(server.route);
    if (servers === undefined) {
      servers = new Set();
      this.serversByPath.set(server.route, servers);
    }
    servers.add(server);
    this.retain(server.route, undefined);
  }

  /** @internal */
  unregister(server: SwitchboardServer): void {
    const servers = this.serversByPath.get(server.route);
    if (servers?.delete(server) !== true) {
      return;
    }
    if (servers.size === 0) {
      this.serversByPath.delete(server.route);
    }
    this.release(server.route, undefined);
  }

  /** @internal A room got its first member on this node. */
  roomCreated(path: string, room: string): void {
    this.retain(path, room);
  }

  /** @internal A room lost its last member on this node. */
  roomDeleted(path: string, room: string): void {
    this.release(path, room);
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
  operator(path: string, codec?: Codec): BroadcastOperator {
    return new BroadcastOperator(this.targetFor(path, codec));
  }

  /** Broadcasts from other nodes land here. */
  deliver(packet: BroadcastPacket): void {
    this.deliverLocal(packet);
  }

  private deliverLocal(packet: BroadcastPacket): number {
    const servers = this.serversByPath.get(packet.gateway);
    if (servers === undefined) {
      return 0;
    }
    const prepared = new PreparedFrame(packet);
    let delivered = 0;
    for (const server of servers) {
      delivered += server.deliver(prepared);
    }
    return delivered;
  }

  private targetFor(path: string, codec: Codec | undefined): BroadcastTarget {
    const cached = this.targets.get(path);
    if (cached !== undefined && (codec === undefined || cached.codec === codec)) {
      return cached;
    }
    const target: BroadcastTarget = {
      gateway: path,
      codec: codec ?? this.serversByPath.get(path)?.values().next().value?.behaviour.codec ?? new JsonCodec(),
      publish: (packet, local) => {
        const delivered = this.deliverLocal(packet);
        if (!local) {
          this.publishRemote(packet);
        }
        return delivered;
      },
      select: (packet) => {
        const selected: SwitchboardSocket[] = [];
        for (const server of this.serversByPath.get(path) ?? []) {
          server.forEachRecipient(packet, (socket) => selected.push(socket));
        }
        return selected;
      },
    };
    if (cached === undefined) {
      this.targets.set(path, target);
    }
    return target;
  }

  private publishRemote(packet: BroadcastPacket): void {
    try {
      this.broker.publish(packet);
    } catch (error) {
      this.publishErrors++;
      logger.warn(`The broker could not publish a broadcast to ${packet.gateway}: ${(error as Error).message}`);
    }
  }

  private retain(path: string, room: string | undefined): void {
    const key = room === undefined ? path : `${path}\u0000${room}`;
    const count = this.channelRefs.get(key) ?? 0;
    this.channelRefs.set(key, count + 1);
    if (count === 0) {
      this.broker.subscribe(path, room);
    }
  }

  private release(path: string, room: string | undefined): void {
    const key = room === undefined ? path : `${path}\u0000${room}`;
    const count = this.channelRefs.get(key);
    if (count === undefined) {
      return;
    }
    if (count > 1) {
      this.channelRefs.set(key, count - 1);
    } else {
      this.channelRefs.delete(key);
      this.broker.unsubscribe(path, room);
    }
  }
}

/** Thrown by the broadcaster when it cannot tell which gateway is meant. */
export function gatewayNotFound(message: string): SwitchboardError {
  return new SwitchboardError(ErrorCode.UNKNOWN_GATEWAY, message);
}
