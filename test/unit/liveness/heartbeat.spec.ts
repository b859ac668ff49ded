import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import { Logger } from '@nestjs/common';
import { Heartbeat } from '../../../lib/liveness/heartbeat.js';
import { GatewayStats } from '../../../lib/stats/gateway-stats.js';
import type { SwitchboardSocket } from '../../../lib/socket/switchboard-socket.js';

const INTERVAL = 1000;
const GRACE = INTERVAL / 10;

/** Fake timers run a setImmediate queued inside a timer 1 ms later: times here are exact to a few ms. */
function expectAbout(actual: number, expected: number): void {
  expect(actual).toBeGreaterThanOrEqual(expected);
  expect(actual).toBeLessThanOrEqual(expected + 5);
}

/**
 * What the heartbeat touches of a socket: its state, the TCP socket's
 * `bytesRead`, its baseline, `ping()` and `terminate()`. `bytesRead` moves
 * only when the test says the loop read something (`read()`), as a real
 * socket's does only when the loop polls.
 */
class FakePeer {
  readyState: number = 1;
  _bytesSeen = -1;
  readonly _socket = { bytesRead: 180 }; // the upgrade request
  pings = 0;
  terminated = false;

  ping(): void {
    this.pings++;
  }

  terminate(): void {
    this.terminated = true;
    this.readyState = 3;
  }

  /** The loop read a pong (6 bytes, masked) from this peer. */
  read(): void {
    this._socket.bytesRead += 6;
  }
}

describe('Heartbeat', () => {
  let peers: FakePeer[];
  let stats: GatewayStats;
  let heartbeat: Heartbeat;
  /** Time the fake clock does not see: how much longer than scheduled the loop took to fire the timer. */
  let lag: number;
  let debug: ReturnType<typeof jest.spyOn>;

  const clock = (): number => jest.now() + lag;
  /** Runs the heartbeat's next step: its timer (timers phase) or its pending verdict (check phase, after the poll). */
  const step = (): void => {
    jest.advanceTimersToNextTimer();
  };
  /** The loop was blocked until `ms` after the timer was due: it fires that late. */
  const fireLate = (ms: number): void => {
    lag += ms;
    step();
  };
  /** A tick on time, then its verdict. */
  const beat = (): void => {
    step();
    step();
  };

  beforeEach(() => {
    jest.useFakeTimers({ now: 0, doNotFake: ['nextTick', 'queueMicrotask'] });
    debug = jest.spyOn(Logger.prototype, 'debug').mockImplementation(() => undefined);
    lag = 0;
    peers = [];
    stats = new GatewayStats();
    heartbeat = new Heartbeat(INTERVAL, () => peers as unknown as SwitchboardSocket[], stats, clock);
  });

  afterEach(() => {
    heartbeat.stop();
    debug.mockRestore();
    jest.useRealTimers();
  });

  it('terminates a silent peer at the second verdict (two intervals) and keeps one that answers', () => {
    const alive = new FakePeer();
    const silent = new FakePeer();
    peers.push(alive, silent);
    heartbeat.start();
    beat(); // first sight of both: a baseline and a ping each
    expect([alive.pings, silent.pings]).toEqual([1, 1]);
    alive.read();
    beat();
    expectAbout(clock(), 2 * INTERVAL);
    expect(silent.terminated).toBe(true);
    expect(alive.terminated).toBe(false);
    expect(alive.pings).toBe(2);
    expect(stats).toMatchObject({ heartbeatTimeouts: 1, heartbeatLateTicks: 0 });
  });

  it('judges after the poll, not in the timer callback: a pong read right after the tick counts', () => {
    const alive = new FakePeer();
    peers.push(alive);
    heartbeat.start();
    beat();
    step(); // the timer fires; the pong is in the kernel, unread
    expect(alive.terminated).toBe(false);
    alive.read(); // the poll phase that follows the timers phase reads it
    step(); // the verdict, in the check phase
    expect(alive.terminated).toBe(false);
    expect(alive.pings).toBe(2);
    expect(stats.heartbeatTimeouts).toBe(0);
  });

  it('judges no one on a late tick, and judges after a grace against the same baseline', () => {
    const alive = new FakePeer();
    const silent = new FakePeer();
    peers.push(alive, silent);
    heartbeat.start();
    beat(); // baseline at 1000, pings
    // A handler blocks the loop for 1.5 s right after: the tick due at 2000 fires at 2500.
    fireLate(500);
    expect([alive.terminated, silent.terminated]).toEqual([false, false]);
    // No verdict and no extra work on a late tick: nothing pinged, nothing scanned.
    expect([alive.pings, silent.pings]).toEqual([1, 1]);
    expect(stats).toMatchObject({ heartbeatTimeouts: 0, heartbeatLateTicks: 1 });
    expect(debug).toHaveBeenCalledWith(expect.stringMatching(/Heartbeat tick 500 ms late .*postponed by 100 ms/));
    alive.read(); // the pong that waited in the kernel during the block
    step(); // the grace timer, on time
    step(); // the verdict
    expect(alive.terminated).toBe(false);
    expect(silent.terminated).toBe(true);
    // Silent since 0, blocked from 1000 to 2500: terminated after 1.1 s of normal time.
    expectAbout(clock() - 1500, INTERVAL + GRACE);
    expect(stats).toMatchObject({ heartbeatTimeouts: 1, heartbeatLateTicks: 1 });
  });

  it('terminates a silent peer within two intervals of normal time (plus the grace) when a late tick was its first sight', () => {
    heartbeat.start();
    beat(); // a verdict at 1000, with no peers yet
    const silent = new FakePeer(); // connects right after it
    const slow = new FakePeer(); // answers each ping, but only after 900 ms
    peers.push(silent, slow);
    // Blocked from 2000, just as the tick was due, to 3500: it fires 1500 ms late.
    fireLate(1500);
    expect(silent.pings).toBe(0); // not seen yet: its first baseline is the grace verdict's
    step();
    step(); // the grace verdict at 3500: first sight, baseline, ping
    expect([silent.pings, slow.pings]).toEqual([1, 1]);
    expect(silent.terminated).toBe(false);
    // The late tick gave no one a shortened window: a new peer still has a full interval.
    jest.advanceTimersByTime(900);
    slow.read();
    beat();
    expect(slow.terminated).toBe(false);
    expect(silent.terminated).toBe(true);
    // Alive from 1000; blocked 1.5 s; terminated at 4600: two intervals of normal time, plus the grace.
    expectAbout(clock() - 1000 - 1500, 2 * INTERVAL + GRACE);
  });

  it('postpones at most three late ticks in a row, so a server that is always late still sheds dead peers', () => {
    const alive = new FakePeer();
    const silent = new FakePeer();
    peers.push(alive, silent);
    heartbeat.start();
    beat();
    for (let late = 1; late <= 3; late++) {
      fireLate(400);
      expect(silent.terminated).toBe(false);
      alive.read();
      expect(stats.heartbeatLateTicks).toBe(late);
    }
    fireLate(400); // the fourth in a row judges anyway, still after the poll
    expect(silent.terminated).toBe(false);
    step();
    expect(silent.terminated).toBe(true);
    expect(alive.terminated).toBe(false);
    expect(debug).toHaveBeenLastCalledWith(expect.stringMatching(/4 in a row: judging peers anyway/));
    // The count starts again after a verdict: the next late tick is postponed.
    alive.read();
    fireLate(400);
    expect(alive.pings).toBe(2);
    expect(stats.heartbeatLateTicks).toBe(5);
  });

  it('takes a tick less than a quarter of an interval late for jitter, and judges on it', () => {
    const alive = new FakePeer();
    peers.push(alive);
    heartbeat.start();
    beat();
    alive.read();
    fireLate(INTERVAL / 4 - 10);
    step();
    expect(alive.pings).toBe(2);
    expect(stats.heartbeatLateTicks).toBe(0);
  });

  it('skips sockets that are not open', () => {
    const closing = new FakePeer();
    closing.readyState = 2;
    peers.push(closing);
    heartbeat.start();
    beat();
    beat();
    expect(closing).toMatchObject({ pings: 0, terminated: false });
  });

  it('leaves nothing scheduled once stopped, also between a tick and its verdict', () => {
    const silent = new FakePeer();
    peers.push(silent);
    heartbeat.start();
    heartbeat.start(); // a second start is a no-op
    expect(jest.getTimerCount()).toBe(1);
    beat();
    step(); // the tick: its verdict is pending
    heartbeat.stop();
    expect(jest.getTimerCount()).toBe(0);
    jest.advanceTimersByTime(10 * INTERVAL);
    expect(silent).toMatchObject({ pings: 1, terminated: false });
    // And it can start again.
    heartbeat.start();
    expect(jest.getTimerCount()).toBe(1);
  });

  it('never starts with an interval of 0', () => {
    const off = new Heartbeat(0, () => [], stats, clock);
    off.start();
    expect(jest.getTimerCount()).toBe(0);
  });
});
