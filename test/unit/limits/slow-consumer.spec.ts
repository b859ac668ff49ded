import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import type { BackpressureOptions } from '../../../lib/interfaces/gateway-behaviour.interface.js';
import { refuseBroadcastToSlowConsumer, refuseReplyToSlowConsumer } from '../../../lib/limits/slow-consumer.js';
import { fakeContext, type FakeContext } from '../fake-context.js';
import { CLOSING, fakeConnection } from '../fakes.js';

const HIGH = 100;
const CLOSE_AT = 1000;
const CLOSE_TIMEOUT = 50;

describe('slow consumers', () => {
  let debug: ReturnType<typeof jest.spyOn>;

  beforeEach(() => {
    jest.useFakeTimers();
    debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
  });

  afterEach(() => {
    debug.mockRestore();
    jest.useRealTimers();
  });

  function slowConnection(policy: BackpressureOptions['policy'], bufferedAmount: number) {
    const context: FakeContext = fakeContext({ closeTimeout: CLOSE_TIMEOUT, backpressure: { highWaterMark: HIGH, closeAt: CLOSE_AT, policy } });
    const connection = fakeConnection({ bufferedAmount, _server: context });
    return { connection, stats: context.stats };
  }

  describe('refuseBroadcastToSlowConsumer', () => {
    it('"skip" below closeAt: refuses, counts a skip, closes nothing', () => {
      const { connection, stats } = slowConnection('skip', CLOSE_AT - 1);
      expect(refuseBroadcastToSlowConsumer(connection)).toBe(true);
      expect(connection.close).not.toHaveBeenCalled();
      expect(stats).toMatchObject({ slowConsumerSkips: 1, slowConsumerCloses: 0 });
    });

    it('"skip" at closeAt: refuses and closes with 1013 SLOW_CONSUMER', () => {
      const { connection, stats } = slowConnection('skip', CLOSE_AT);
      expect(refuseBroadcastToSlowConsumer(connection)).toBe(true);
      expect(connection.close).toHaveBeenCalledWith(1013, 'SLOW_CONSUMER');
      expect(stats).toMatchObject({ slowConsumerSkips: 0, slowConsumerCloses: 1 });
    });

    it('"close" below closeAt: refuses and closes', () => {
      const { connection, stats } = slowConnection('close', HIGH);
      expect(refuseBroadcastToSlowConsumer(connection)).toBe(true);
      expect(connection.close).toHaveBeenCalledWith(1013, 'SLOW_CONSUMER');
      expect(stats).toMatchObject({ slowConsumerSkips: 0, slowConsumerCloses: 1 });
    });
  });

  describe('refuseReplyToSlowConsumer', () => {
    it('"skip" below closeAt: the reply is still written, nothing is closed or counted', () => {
      const { connection, stats } = slowConnection('skip', CLOSE_AT - 1);
      expect(refuseReplyToSlowConsumer(connection)).toBe(false);
      expect(connection.close).not.toHaveBeenCalled();
      expect(stats).toMatchObject({ slowConsumerSkips: 0, slowConsumerCloses: 0 });
    });

    it('"close" below closeAt: the reply is still written (its ack is awaited), and the client is closed', () => {
      const { connection, stats } = slowConnection('close', HIGH);
      expect(refuseReplyToSlowConsumer(connection)).toBe(false);
      expect(connection.close).toHaveBeenCalledWith(1013, 'SLOW_CONSUMER');
      expect(stats.slowConsumerCloses).toBe(1);
    });

    it.each(['skip', 'close'] as const)('"%s" at closeAt: the reply is refused and the client closed', (policy) => {
      const { connection, stats } = slowConnection(policy, CLOSE_AT);
      expect(refuseReplyToSlowConsumer(connection)).toBe(true);
      expect(connection.close).toHaveBeenCalledWith(1013, 'SLOW_CONSUMER');
      expect(stats.slowConsumerCloses).toBe(1);
    });
  });

  describe('the close', () => {
    it('happens once: a socket already closing is neither closed nor counted again', () => {
      const { connection, stats } = slowConnection('close', CLOSE_AT);
      refuseBroadcastToSlowConsumer(connection);
      refuseBroadcastToSlowConsumer(connection);
      refuseReplyToSlowConsumer(connection);
      expect(connection.readyState).toBe(CLOSING);
      expect(connection.close).toHaveBeenCalledTimes(1);
      expect(stats.slowConsumerCloses).toBe(1);
      jest.advanceTimersByTime(CLOSE_TIMEOUT);
      expect(connection.terminate).toHaveBeenCalledTimes(1);
    });

    it('does not close a connection whose close is already pending (deferred behind its handlers)', () => {
      const { connection, stats } = slowConnection('close', CLOSE_AT);
      connection._extras = { pendingClose: { code: 1000, reason: undefined, timer: setTimeout(() => undefined, 1) } };
      expect(refuseReplyToSlowConsumer(connection)).toBe(true);
      expect(connection.close).not.toHaveBeenCalled();
      expect(stats.slowConsumerCloses).toBe(0);
    });

    it('terminates the socket closeTimeout later (a client that does not read may never get the close frame)', () => {
      const { connection } = slowConnection('close', CLOSE_AT);
      refuseBroadcastToSlowConsumer(connection);
      jest.advanceTimersByTime(CLOSE_TIMEOUT - 1);
      expect(connection.terminate).not.toHaveBeenCalled();
      jest.advanceTimersByTime(1);
      expect(connection.terminate).toHaveBeenCalledTimes(1);
    });

    it('logs at debug level with the buffered bytes and the code', () => {
      const { connection } = slowConnection('close', 4242);
      refuseBroadcastToSlowConsumer(connection);
      expect(debug).toHaveBeenCalledWith(expect.stringMatching(new RegExp(`Client ${connection.id}: 4242 bytes unread, closing \\(SLOW_CONSUMER\\)`)));
    });
  });
});
