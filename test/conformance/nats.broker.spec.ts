import { afterAll, beforeAll, describe } from '@jest/globals';
import { NatsBroker } from '../../lib/nats/index.js';
import { NatsProcess } from '../helpers/nats-server.js';
import { brokerConformance } from './broker.suite.js';

/** The same contract, on a real nats-server started on free ports and stopped by pid. */
describe('NatsBroker on one nats-server', () => {
  let nats: NatsProcess;
  let prefixes = 0;

  beforeAll(async () => {
    nats = await NatsProcess.start();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  brokerConformance(
    'NatsBroker',
    (n) => {
      const prefix = `sbc${process.pid}_${++prefixes}`;
      return { brokers: Array.from({ length: n }, () => new NatsBroker({ servers: nats.url, prefix })) };
    },
    { settleMs: 50, deliveryTimeoutMs: 5000 },
  );
});
