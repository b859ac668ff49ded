/**
 * The in-memory broker against the broker conformance suite: n brokers on
 * one InMemoryBus. Then what only this broker shows: its subscriptions and
 * the bus's delivery count.
 */
import { InMemoryBroker, InMemoryBus, type BroadcastPacket, type BrokerNode } from '../../lib/index.js';
import { brokerConformance } from './broker.suite.js';

brokerConformance(
  'InMemoryBroker',
  (n) => {
    const bus = new InMemoryBus();
    return { brokers: Array.from({ length: n }, () => new InMemoryBroker(bus)) };
  },
  {
    knownGaps: [
      // InMemoryBroker#detach leaves the bus but its publish still goes to the bus,
      // which delivers to every other broker (once at least two remain).
      'a detached broker publishes nothing more',
      // InMemoryBus#publish calls each receiver's deliver in the publisher's call
      // stack: a throw there reaches the publisher and skips the remaining nodes.
      'a receiving node whose deliver throws disturbs neither the publisher nor the other nodes',
    ],
  },
);

describe('InMemoryBroker, beyond the contract', () => {
  const node = (): BrokerNode & { received: BroadcastPacket[] } => {
    const received: BroadcastPacket[] = [];
    return { nodeId: `node-${Math.random()}`, received, deliver: (packet) => received.push(packet) };
  };
  const packet = (targeting: Partial<BroadcastPacket> = {}): BroadcastPacket => ({ path: '/p', frame: Buffer.from('x'), binary: false, compress: false, ...targeting });

  it('lists its channels as the hub spells them, and none after detach', () => {
    const broker = new InMemoryBroker();
    broker.attach(node());
    broker.subscribe('/p', undefined);
    broker.subscribe('/p', 'r1');
    broker.subscribe('/q', 'r1');
    broker.unsubscribe('/q', 'r1');
    expect(broker.subscriptions().sort()).toEqual(['/p', '/p\u0000r1']);
    broker.detach();
    expect(broker.subscriptions()).toEqual([]);
  });

  it('counts on the bus only the packets handed to a subscribed node: nothing is delivered in vain', () => {
    const bus = new InMemoryBus();
    const [a, b, c] = [new InMemoryBroker(bus), new InMemoryBroker(bus), new InMemoryBroker(bus)];
    const nodes = [node(), node(), node()];
    [a, b, c].forEach((broker, index) => broker.attach(nodes[index]));
    b.subscribe('/p', 'r1');
    c.subscribe('/p', undefined);

    a.publish(packet({ rooms: ['r1'] }));
    a.publish(packet());
    a.publish(packet({ rooms: ['nobody'] }));
    expect(bus.delivered).toBe(2);
    expect(nodes.map((each) => each.received.length)).toEqual([0, 1, 1]);
  });

  it('costs nothing alone: a single broker on its own bus delivers nowhere', () => {
    const bus = new InMemoryBus();
    const broker = new InMemoryBroker(bus);
    broker.attach(node());
    broker.subscribe('/p', undefined);
    broker.publish(packet());
    expect(bus.delivered).toBe(0);
  });
});
