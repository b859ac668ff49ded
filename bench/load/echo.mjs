// Echo throughput and round-trip latency. Connections to every server are
// opened once (`echoOpen`); then `echoSlice` drives one server at a time:
// each of its connections is a closed loop keeping `inflight` messages
// outstanding (every reply triggers the next message), first for a warm-up,
// then for the measured window, then it drains. `echoFinish` returns the
// latency percentiles over all kept slices and closes everything.
import { Samples, percentile } from '../lib/stats.mjs';
import { loadClient, runPool, sleep } from './pool.mjs';
import { measuredSlice } from './slice.mjs';

const sessions = new Map();

export async function echoOpen({ targets, clients, inflight, lean }) {
  for (const target of targets) {
    const driver = await loadClient(target.client);
    const connections = await runPool(clients, 50, () => driver.connect(target.port, { lean }));
    const session = {
      inflight,
      phase: 'idle', // 'warmup' -> 'measure' -> 'drain' -> 'idle'
      outstanding: 0,
      replies: 0,
      sliceLatencies: null,
      latencies: new Samples(),
      checked: 0,
      unexpected: 0,
      loops: [],
    };
    session.loops = connections.map((connection) => closedLoop(session, connection));
    sessions.set(target.name, session);
  }
  return { connections: targets.length * clients };
}

/** Wires one connection into its session; returns the function that starts its loop. */
function closedLoop(session, connection) {
  const { inflight } = session;
  // Replies come back in send order on one connection (the handlers are
  // synchronous), so a ring of send times gives each reply its latency.
  const sentAt = new Float64Array(inflight);
  let sent = 0;
  let received = 0;
  const send = (count, now) => {
    for (let i = 0; i < count; i++) {
      sentAt[sent++ % inflight] = now;
    }
    session.outstanding += count;
    connection.send(count);
  };
  // `count` replies arrived in one read; the lean client answers them with one write.
  connection.onReplies((count, payloads) => {
    const now = performance.now();
    session.outstanding -= count;
    if (session.phase === 'measure') {
      for (let i = 0; i < count; i++) {
        session.sliceLatencies.add(now - sentAt[received++ % inflight]);
      }
      session.replies += count;
    } else {
      received += count;
    }
    if (payloads !== undefined) {
      payloads.forEach((payload, index) => {
        session.checked++;
        if (!connection.isExpected(payload, index, count)) {
          session.unexpected++;
        }
      });
    }
    if (session.phase === 'warmup' || session.phase === 'measure') {
      send(count, now);
    }
  });
  return {
    start: () => send(inflight, performance.now()),
    // Replies are validated during warm-ups only: parsing them is not the load generator's job in a window.
    validate: (on) => {
      connection.keepPayloads = on;
    },
    close: () => connection.close(),
  };
}

export async function echoSlice({ name, warmupMs, durationMs, pids, coreOf, foreignLoadPoints, lastAttempt = false }) {
  const session = sessions.get(name);
  session.phase = 'warmup';
  session.loops.forEach((loop) => loop.validate(true));
  session.loops.forEach((loop) => loop.start());
  await sleep(warmupMs);
  session.loops.forEach((loop) => loop.validate(false));

  let result = { warmupOnly: true };
  if (durationMs > 0) {
    session.sliceLatencies = new Samples(1 << 18);
    result = await measuredSlice({ pids, coreOf, foreignLoadPoints }, async () => {
      const before = session.replies;
      session.phase = 'measure';
      await sleep(durationMs);
      session.phase = 'drain';
      return { replies: session.replies - before };
    });
    // A disturbed slice is measured again; on the last attempt it is kept all the same (its rate is), so are its latencies.
    if (result.kept || lastAttempt) {
      session.latencies.addAll(session.sliceLatencies);
    }
    session.sliceLatencies = null;
  }
  session.phase = 'drain';

  // Let the in-flight messages come back, so the next slice starts from zero.
  const deadline = performance.now() + 5000;
  while (session.outstanding > 0 && performance.now() < deadline) {
    await sleep(5);
  }
  session.phase = 'idle';
  return { ...result, missingAfterDrain: session.outstanding };
}

export async function echoFinish() {
  const results = {};
  for (const [name, session] of sessions) {
    const sorted = session.latencies.sorted();
    results[name] = {
      latencyMs: { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? null },
      warmupRepliesChecked: session.checked,
      unexpectedReplies: session.unexpected,
    };
    await Promise.all(session.loops.map((loop) => loop.close()));
  }
  sessions.clear();
  return results;
}
