// Echo throughput and round-trip latency: `clients` connections, each a
// closed loop keeping `inflight` messages outstanding (every reply triggers
// the next message). Everything is counted only inside the measured window,
// which starts after the warm-up (JIT, socket buffers, GC heap sizing settle).
import { cpuWindow } from '../lib/cpu.mjs';
import { percentile, Samples } from '../lib/stats.mjs';
import { loadClient, runPool, sleep } from './pool.mjs';

export async function runEcho({ client, lean, port, serverPid, clients, inflight, warmupMs, durationMs }) {
  const driver = await loadClient(client);
  const connections = await runPool(clients, 50, () => driver.connect(port, { lean }));

  const latencies = new Samples();
  let phase = 'warmup'; // -> 'measure' -> 'drain'
  let replies = 0;
  let unexpected = 0;
  let checked = 0;
  let outstanding = 0;

  for (const connection of connections) {
    // Replies come back in send order on one connection (the handlers are
    // synchronous), so a ring of send times gives each reply its latency.
    const sentAt = new Float64Array(inflight);
    let sent = 0;
    let received = 0;
    const send = (count, now) => {
      for (let i = 0; i < count; i++) {
        sentAt[sent++ % inflight] = now;
      }
      connection.send(count);
    };
    // `count` replies arrived in one read; the lean client then answers them with one write.
    connection.onReplies((count, payloads) => {
      const now = performance.now();
      if (phase === 'measure') {
        for (let i = 0; i < count; i++) {
          latencies.add(now - sentAt[received++ % inflight]);
        }
        replies += count;
      } else {
        received += count;
      }
      if (payloads !== undefined) {
        payloads.forEach((payload, index) => {
          checked++;
          if (!connection.isExpected(payload, index, count)) {
            unexpected++;
          }
        });
      }
      if (phase === 'drain') {
        outstanding -= count;
      } else {
        send(count, now);
      }
    });
    connection.keepPayloads = true; // Validated during the warm-up only: parsing replies is not the load generator's job in the window.
    send(inflight, performance.now());
  }

  await sleep(warmupMs);
  for (const connection of connections) {
    connection.keepPayloads = false;
  }
  phase = 'measure';
  const cpu = cpuWindow({ server: serverPid, load: process.pid });
  await sleep(durationMs);
  const window = cpu.stop();
  phase = 'drain';
  const measuredReplies = replies;
  outstanding = clients * inflight;

  // Let the last replies come back before closing, so no close races a send.
  const drainDeadline = performance.now() + 5000;
  while (outstanding > 0 && performance.now() < drainDeadline) {
    await sleep(10);
  }
  await Promise.all(connections.map((connection) => connection.close()));

  const sorted = latencies.sorted();
  return {
    messagesPerSecond: measuredReplies / window.seconds,
    replies: measuredReplies,
    latencyMs: { p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? null },
    /** Server CPU time per reply: meaningful even when the load generator is the limit. */
    serverCpuMicrosPerMessage: measuredReplies > 0 ? ((window.percent.server / 100) * window.seconds * 1e6) / measuredReplies : null,
    warmupRepliesChecked: checked,
    unexpectedReplies: unexpected,
    repliesMissingAfterDrain: outstanding,
    cpu: window,
  };
}
