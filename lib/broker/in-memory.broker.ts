import type { BroadcastPacket, Broker, BrokerNode } from './broker.interface.js';
import { channelOf } from './channel.js';

/**
 * The channel a packet travels on: a single room goes to the room's channel
 * (only nodes with members there get it); anything else goes to the
 * gateway's channel (every node serving the gateway filters locally).
 */
function channelOfPacket(packet: BroadcastPacket): string {
  return packet.rooms?.length === 1 && packet.clientIds === undefined ? channelOf(packet.path, packet.rooms[0]) : packet.path;
}

/**
 * The medium several in-process brokers share, as Redis is the medium of
 * Redis brokers: what one broker publishes reaches the others that
 * subscribed to the packet's channel.
 */
export class InMemoryBus {
  private readonly brokers = new Set<InMemoryBroker>();
  /** Packets handed to other nodes, for tests and stats. */
  delivered = 0;

  /** @internal */
  add(broker: InMemoryBroker): void {
    this.brokers.add(broker);
  }

  /** @internal */
  remove(broker: InMemoryBroker): void {
    this.brokers.delete(broker);
  }

  /** @internal */
  publish(origin: InMemoryBroker, packet: BroadcastPacket): void {
    if (this.brokers.size < 2) {
      return;
    }
    const channel = channelOfPacket(packet);
    for (const broker of this.brokers) {
      if (broker !== origin && broker.receive(channel, packet)) {
        this.delivered++;
      }
    }
  }
}

/**
 * The default broker. Alone, a node has no one to publish to and this costs
 * nothing. Give several applications in one process brokers on one
 * {@link InMemoryBus} and they behave as a cluster: each node receives a
 * broadcast only through the channels it subscribed to (rooms it has
 * members in, gateways it serves), the routing a networked broker performs.
 * Tests use it to check multi-node behaviour without Redis.
 */
export class InMemoryBroker implements Broker {
  private node: BrokerNode | undefined;
  private readonly channels = new Set<string>();

  constructor(private readonly bus: InMemoryBus = new InMemoryBus()) {}

  attach(node: BrokerNode): void {
    this.node = node;
    this.bus.add(this);
  }

  detach(): void {
    this.bus.remove(this);
    this.node = undefined;
    this.channels.clear();
  }

  publish(packet: BroadcastPacket): void {
    this.bus.publish(this, packet);
  }

  subscribe(path: string, room: string | undefined): void {
    this.channels.add(channelOf(path, room));
  }

  unsubscribe(path: string, room: string | undefined): void {
    this.channels.delete(channelOf(path, room));
  }

  /** The channels this node listens on, for introspection and tests. */
  subscriptions(): string[] {
    return [...this.channels];
  }

  /** @internal Delivers a packet from the bus if this node listens on its channel. */
  receive(channel: string, packet: BroadcastPacket): boolean {
    if (this.node === undefined || !this.channels.has(channel)) {
      return false;
    }
    this.node.deliver(packet);
    return true;
  }
}
