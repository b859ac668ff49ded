// How steady is the CPU? A fixed JSON parse/stringify loop, timed in short
// windows. On a dedicated machine the windows agree within a few percent; on
// a shared VM they can differ by tens of percent, which is why echo and
// connection rate are measured in interleaved slices. Runs in a server
// process (pinned to the server core), before the measurements.
const SAMPLE = JSON.stringify({ event: 'echo', data: { room: 'lobby', user: 'u-1234', text: 'hello, benchmark', seq: 42 } });

export async function probeCpuSpeed({ windows = 8, windowMs = 200, gapMs = 100 } = {}) {
  const opsPerMs = [];
  for (let window = 0; window < windows; window++) {
    const start = performance.now();
    let ops = 0;
    while (performance.now() - start < windowMs) {
      for (let i = 0; i < 200; i++) {
        JSON.stringify(JSON.parse(SAMPLE));
      }
      ops += 200;
    }
    opsPerMs.push(Math.round(ops / (performance.now() - start)));
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  return { windowMs, opsPerMs };
}
