/**
 * The in-memory broker against the broker conformance suite: n brokers on
 * one InMemoryBus. Then what only this broker shows: its subscriptions, the
 * bus's delivery count, and synchronous delivery.
 */
import { InMemoryBroker, InMemoryBus, type BrokerReceiver } from '../../lib/index.js';
import { brokerConformance } from './broker.suite.js';

brokerConformance('InMemoryBroker', (n) => {
  const bus = new InMemoryBus();
  return { brokers: Array.from({ length: n }, () => new InMemoryBroker(bus)) };
});

describe('InMemoryBroker, beyond the contract', () => {
  const recorder = (): BrokerReceiver & { got: Array<[string, string]> } => {
    const got: Array<[string, string]> = [];
    return Object.assign((channel: string, payload: Buffer) => void got.push([channel, payload.toString()]), { got });
  };

  it('lists its channels as given, and none after detach', async () => {
    const broker = new InMemoryBroker();
    await broker.attach(recorder());
    await broker.subscribe(['p', 'r\u0000p\u0000r1', 'q']);
    await broker.unsubscribe(['q']);
    expect(broker.subscriptions().sort()).toEqual(['p', 'r\u0000p\u0000r1']);
    await broker.detach();
    expect(broker.subscriptions()).toEqual([]);
  });

  it('delivers synchronously, inside publish', async () => {
    const bus = new InMemoryBus();
    const [a, b] = [new InMemoryBroker(bus), new InMemoryBroker(bus)];
    const got = recorder();
    await a.attach(recorder());
    await b.attach(got);
    await b.subscribe(['c']);
    a.publish('c', Buffer.from('now'));
    expect(got.got).toEqual([['c', 'now']]);
  });

  it('counts on the bus only the payloads handed to a subscribed broker: nothing is delivered in vain', async () => {
    const bus = new InMemoryBus();
    const brokers = [new InMemoryBroker(bus), new InMemoryBroker(bus), new InMemoryBroker(bus)];
    const receivers = [recorder(), recorder(), recorder()];
    await Promise.all(brokers.map((broker, index) => broker.attach(receivers[index])));
    const [a, b, c] = brokers;
    await b.subscribe(['room']);
    await c.subscribe(['path']);

    a.publish('room', Buffer.from('1'));
    a.publish('path', Buffer.from('2'));
    a.publish('nobody', Buffer.from('3'));
    expect(bus.delivered).toBe(2);
    expect(receivers.map((each) => each.got.length)).toEqual([0, 1, 1]);
  });

  it('never hands a payload back to its publisher (as NATS noEcho), and alone on its bus says it has no peers', async () => {
    const bus = new InMemoryBus();
    const broker = new InMemoryBroker(bus);
    const got = recorder();
    await broker.attach(got);
    expect(broker.hasPeers()).toBe(false);
    await broker.subscribe(['path']);
    broker.publish('path', Buffer.from('own'));
    expect(got.got).toEqual([]);
    expect(bus.delivered).toBe(0);
    const peer = new InMemoryBroker(bus);
    const peerGot = recorder();
    await peer.attach(peerGot);
    await peer.subscribe(['path']);
    expect(broker.hasPeers()).toBe(true);
    broker.publish('path', Buffer.from('to the peer'));
    expect(peerGot.got).toEqual([['path', 'to the peer']]);
    expect(got.got).toEqual([]);
    expect(bus.delivered).toBe(1);
  });
});
