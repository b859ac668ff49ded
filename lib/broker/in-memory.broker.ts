import type { Broker, BrokerReceiver, BrokerStats } from './broker.interface.js';
import { InMemoryStreamHistory } from './in-memory-stream-history.js';
import type { StreamHistory } from './stream-history.interface.js';

/**
 * The medium several in-process brokers share, as a Redis server is the
 * medium of Redis brokers: a payload published on a channel reaches every
 * other broker subscribed to it.
 */
export class InMemoryBus {
  private readonly brokers = new Set<InMemoryBroker>();
  /** Payloads handed to subscribers, for tests. */
  delivered = 0;
  /** Where the rooms' stream history of every broker on this bus lives (see InMemoryStreamHistory). */
  readonly history = new InMemoryStreamHistory();

  /** @internal */
  add(broker: InMemoryBroker): void {
    this.brokers.add(broker);
  }

  /** @internal */
  remove(broker: InMemoryBroker): void {
    this.brokers.delete(broker);
  }

  /** Brokers attached to this bus. */
  get size(): number {
    return this.brokers.size;
  }

  /** @internal The publisher does not get its own payloads back (nothing to drop, as with NATS' noEcho). */
  publish(origin: InMemoryBroker, channel: string, payload: Buffer): void {
    for (const broker of this.brokers) {
      if (broker === origin) {
        continue;
      }
      try {
        if (broker.receive(channel, payload)) {
          this.delivered++;
        }
      } catch {
        // One node's failure must not reach the publisher or starve the other nodes (a network engine isolates them too).
      }
    }
  }
}

/**
 * The default broker. Alone on its bus, a node has no one to publish to, and
 * the hub, asking `hasPeers()`, does not even encode a payload for others. Give several applications in one process
 * brokers on one {@link InMemoryBus} and they behave as a cluster: each node
 * receives a payload only on the channels it subscribed to, the routing a
 * networked broker performs. Tests use it to check multi-node behaviour
 * without Redis. Delivery is synchronous.
 */
export class InMemoryBroker implements Broker {
  private receiver: BrokerReceiver | undefined;
  private readonly channels = new Set<string>();
  private readonly counters: BrokerStats = { published: 0, publishDropped: 0, publishBuffered: 0, received: 0, subscriptions: 0, reconnects: 0, resubscribeCommands: 0 };

  /** Per-room history and sessions, kept on the bus and shared by its brokers; appends reach the other brokers on the bus. */
  readonly history: StreamHistory;

  constructor(private readonly bus: InMemoryBus = new InMemoryBus()) {
    this.history = bus.history.forNode({
      attached: () => this.receiver !== undefined,
      // Like Redis, the publisher gets its own positioned messages back: its hub delivers them from there,
      // in the room's one order (the bus runs appends one at a time, synchronously).
      publish: (channel, payload) => {
        this.publish(channel, payload);
        if (this.receive(channel, payload)) {
          this.bus.delivered++;
        }
      },
      dropped: () => void this.counters.publishDropped++,
    });
  }

  attach(receive: BrokerReceiver): Promise<void> {
    this.receiver = receive;
    this.bus.add(this);
    return Promise.resolve();
  }

  detach(): Promise<void> {
    this.bus.remove(this);
    this.receiver = undefined;
    this.channels.clear();
    return Promise.resolve();
  }

  subscribe(channels: readonly string[]): Promise<void> {
    for (const channel of channels) {
      this.channels.add(channel);
    }
    return Promise.resolve();
  }

  unsubscribe(channels: readonly string[]): Promise<void> {
    for (const channel of channels) {
      this.channels.delete(channel);
    }
    return Promise.resolve();
  }

  publish(channel: string, payload: Buffer): void {
    if (this.receiver === undefined) {
      this.counters.publishDropped++;
      return;
    }
    this.counters.published++;
    this.bus.publish(this, channel, payload);
  }

  /** Alone on its bus, nobody can receive: the hub skips encoding broadcasts for other nodes. */
  hasPeers(): boolean {
    return this.bus.size > 1;
  }

  stats(): BrokerStats {
    return { ...this.counters, subscriptions: this.channels.size };
  }

  /** The channels this node listens on, for introspection and tests. */
  subscriptions(): string[] {
    return [...this.channels];
  }

  /** @internal Hands a payload from the bus to the hub if this node listens on its channel. */
  receive(channel: string, payload: Buffer): boolean {
    if (this.receiver === undefined || !this.channels.has(channel)) {
      return false;
    }
    this.counters.received++;
    this.receiver(channel, payload);
    return true;
  }
}
