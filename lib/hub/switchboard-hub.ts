import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import { BroadcastOperator, type BroadcastTarget } from '../broadcast/broadcast-operator.js';
import { fanOut, forEachRecipient } from '../broadcast/fan-out.js';
import { PreparedFrame } from '../broadcast/prepared-frame.js';
import type { BroadcastPacket, Broker, BrokerNode } from '../broker/broker.interface.js';
import { channelOf } from '../broker/channel.js';
import { InMemoryBroker } from '../broker/in-memory.broker.js';
import type { Codec } from '../interfaces/codec.interface.js';
import { JsonCodec } from '../protocol/json.codec.js';
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
export class SwitchboardHub implements BrokerNode {
  readonly nodeId = randomUUID();
  private readonly serversByPath = new Map<string, Set<SwitchboardServer>>();
  private readonly channelRefs = new Map<string, number>();
  private readonly targets = new Map<string, BroadcastTarget<SwitchboardSocket>>();
  private started: Promise<void> | undefined;

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
    };
    if (cached === undefined) {
      this.targets.set(path, target);
    }
    return target;
  }

  /** @internal Rooms of a gateway path drive the broker's subscriptions. */
  lifecycleFor(path: string): RoomLifecycleListener {
    return {
      roomCreated: (room) => this.retain(path, room),
      roomDeleted: (room) => this.release(path, room),
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
    this.retain(server.path, undefined);
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
    this.release(server.path, undefined);
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

  /** BrokerNode: broadcasts from other nodes land here. */
  deliver(packet: BroadcastPacket): void {
    this.deliverLocal(packet);
  }

  private deliverLocal(packet: BroadcastPacket): number {
    const servers = this.serversByPath.get(packet.path);
    if (servers === undefined) {
      return 0;
    }
    // Encoded and framed once for every server and connection of the path.
    const prepared = new PreparedFrame(packet);
    let delivered = 0;
    for (const server of servers) {
      delivered += fanOut(server, prepared);
    }
    return delivered;
  }

  /** A broker that throws must not throw into the code that broadcast: counted and logged. */
  private publishRemote(packet: BroadcastPacket): void {
    try {
      this.broker.publish(packet);
    } catch (error) {
      for (const server of this.serversByPath.get(packet.path) ?? []) {
        server.stats.publishFailures++;
      }
      logger.warn(`The broker could not publish a broadcast to ${packet.path}: ${(error as Error).message}`);
    }
  }

  private retain(path: string, room: string | undefined): void {
    const key = channelOf(path, room);
    const count = this.channelRefs.get(key) ?? 0;
    this.channelRefs.set(key, count + 1);
    if (count === 0) {
      this.broker.subscribe(path, room);
    }
  }

  private release(path: string, room: string | undefined): void {
    const key = channelOf(path, room);
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
