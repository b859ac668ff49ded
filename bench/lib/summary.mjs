// Turns the per-run results into medians, same-run ratios to the scenario's
// baseline (raw ws; SwitchboardAdapter without compression for compression
// memory), and warnings about anything that makes a number less trustworthy.
import { config } from './config.mjs';
import { median, spreadPercent } from './stats.mjs';
import { baselineFor, referencesFor } from './targets.mjs';

/** Every number the report shows. `better` says which direction is good, for the ratio's reading. */
export function metricDefinitions() {
  const metrics = [
    { key: 'echo.rate', scenario: 'echo', unit: 'msg/s', better: 'higher', get: (r) => r.messagesPerSecond },
    { key: 'echo.p50', scenario: 'echo', unit: 'ms', better: 'lower', get: (r) => r.latencyMs.p50 },
    { key: 'echo.p99', scenario: 'echo', unit: 'ms', better: 'lower', get: (r) => r.latencyMs.p99 },
    { key: 'echo.serverMicros', scenario: 'echo', unit: 'µs', better: 'lower', get: (r) => r.serverCpuMicrosPerMessage },
    { key: 'echo.serverCpu', scenario: 'echo', unit: '%', get: (r) => r.cpu.percent.server },
    { key: 'echo.loadCpu', scenario: 'echo', unit: '%', get: (r) => r.cpu.percent.load },
    { key: 'churn.rate', scenario: 'churn', unit: 'conn/s', better: 'higher', get: (r) => r.connectionsPerSecond },
    { key: 'churn.serverMicros', scenario: 'churn', unit: 'µs', better: 'lower', get: (r) => r.serverCpuMicrosPerConnection },
    { key: 'churn.serverCpu', scenario: 'churn', unit: '%', get: (r) => r.cpu.percent.server },
    { key: 'churn.loadCpu', scenario: 'churn', unit: '%', get: (r) => r.cpu.percent.load },
  ];
  config.idle.counts.forEach((count, index) => {
    const point = (r) => r.points[index];
    metrics.push(
      { key: `idle.${count}.heap`, scenario: 'idle', unit: 'B', better: 'lower', get: (r) => point(r).heapUsedPerConnection },
      { key: `idle.${count}.rss`, scenario: 'idle', unit: 'B', better: 'lower', get: (r) => point(r).rssPerConnection },
      { key: `idle.${count}.serverCpu`, scenario: 'idle', unit: '%', get: (r) => point(r).connect.cpu.percent.server },
      { key: `idle.${count}.loadCpu`, scenario: 'idle', unit: '%', get: (r) => point(r).connect.cpu.percent.load },
    );
  });
  config.fanout.sizes.forEach((size, index) => {
    const point = (r) => {
      const found = r.points[index];
      if (found.error) {
        throw new Error(found.error);
      }
      return found;
    };
    metrics.push(
      { key: `fanout.${size}.rate`, scenario: 'fanout', unit: 'deliveries/s', better: 'higher', get: (r) => point(r).deliveriesPerSecond },
      { key: `fanout.${size}.p50`, scenario: 'fanout', unit: 'ms', better: 'lower', get: (r) => point(r).latencyMs.p50 },
      { key: `fanout.${size}.p99`, scenario: 'fanout', unit: 'ms', better: 'lower', get: (r) => point(r).latencyMs.p99 },
      { key: `fanout.${size}.serverMicros`, scenario: 'fanout', unit: 'µs', better: 'lower', get: (r) => point(r).serverCpuMicrosPerDelivery },
      { key: `fanout.${size}.loadMicros`, scenario: 'fanout', unit: 'µs', better: 'lower', get: (r) => point(r).loadCpuMicrosPerDelivery },
      { key: `fanout.${size}.loopShare`, scenario: 'fanout', unit: '', get: (r) => point(r).serverLoopShare },
      { key: `fanout.${size}.serverCpu`, scenario: 'fanout', unit: '%', get: (r) => point(r).cpu.percent.server },
      { key: `fanout.${size}.burstP99Max`, scenario: 'fanout', unit: 'ms', better: 'lower', get: (r) => Math.max(...point(r).spread.burstP99Ms.filter((v) => v !== null)) },
      // The median of the bursts' own p99s: one disturbed burst does not set it.
      { key: `fanout.${size}.burstP99Median`, scenario: 'fanout', unit: 'ms', better: 'lower', get: (r) => median(point(r).spread.burstP99Ms) },
      { key: `fanout.${size}.walkMean`, scenario: 'fanout', unit: 'ms', better: 'lower', get: (r) => point(r).spread.walkMeanMs },
      { key: `fanout.${size}.walkMax`, scenario: 'fanout', unit: 'ms', better: 'lower', get: (r) => point(r).spread.walkMaxMs },
      { key: `fanout.${size}.gcMillis`, scenario: 'fanout', unit: 'ms', noRatio: true, get: (r) => point(r).spread.gcMillis },
      { key: `fanout.${size}.gcMaxPause`, scenario: 'fanout', unit: 'ms', noRatio: true, get: (r) => point(r).spread.gcMaxPauseMs },
      { key: `fanout.${size}.loadCpu`, scenario: 'fanout', unit: '%', get: (r) => point(r).cpu.percent.load },
    );
  });
  config.compression.counts.forEach((count, index) => {
    const point = (r) => r.points[index];
    metrics.push(
      { key: `compression.${count}.heap`, scenario: 'compression', unit: 'B', better: 'lower', get: (r) => point(r).heapUsedPerConnection },
      { key: `compression.${count}.rss`, scenario: 'compression', unit: 'B', better: 'lower', get: (r) => point(r).rssPerConnection },
      // No ratio: without compression, external memory per connection is about zero.
      { key: `compression.${count}.external`, scenario: 'compression', unit: 'B', noRatio: true, get: (r) => point(r).externalPerConnection },
      { key: `compression.${count}.replyWireBytes`, scenario: 'compression', unit: 'B', get: (r) => point(r).connect.wireBytes.received },
      { key: `compression.${count}.serverCpu`, scenario: 'compression', unit: '%', get: (r) => point(r).connect.cpu.percent.server },
      { key: `compression.${count}.loadCpu`, scenario: 'compression', unit: '%', get: (r) => point(r).connect.cpu.percent.load },
    );
  });
  return metrics;
}

/**
 * `runs[i][targetName][scenario]` is one measurement. Ratios pair each
 * target with the scenario's baseline (raw ws) of the same run, then take
 * the median of those ratios, so slow drift of the machine between runs
 * cancels out.
 */
export function summarize(runs, targets) {
  const summary = {};
  for (const target of targets) {
    summary[target.name] = {};
    for (const metric of metricDefinitions()) {
      if (!target.scenarios.includes(metric.scenario)) {
        continue;
      }
      const values = [];
      const ratios = [];
      for (const run of runs) {
        const result = run[target.name]?.[metric.scenario];
        const value = result === undefined || result.error ? null : safeGet(metric, result);
        values.push(value);
        const base = run[baselineFor(metric.scenario)]?.[metric.scenario];
        const baseValue = base === undefined || base.error ? null : safeGet(metric, base);
        ratios.push(value !== null && baseValue && !metric.noRatio ? value / baseValue : null);
      }
      if (values.every((value) => value === null)) {
        continue;
      }
      // Same-run ratios to the scenario's other references, when this target is not one of them.
      const versus = {};
      for (const reference of referencesFor(metric.scenario)) {
        if (reference === target.name || metric.noRatio) {
          continue;
        }
        const referenceRatios = runs.map((run, index) => {
          const result = run[reference]?.[metric.scenario];
          const referenceValue = result === undefined || result.error ? null : safeGet(metric, result);
          return values[index] !== null && referenceValue ? values[index] / referenceValue : null;
        });
        if (referenceRatios.some((value) => value !== null)) {
          versus[reference] = { ratio: median(referenceRatios), ratios: referenceRatios };
        }
      }
      summary[target.name][metric.key] = {
        median: median(values),
        values,
        ratio: median(ratios),
        ratios,
        versus,
        spreadPercent: spreadPercent(values),
      };
    }
  }
  return summary;
}

function safeGet(metric, result) {
  try {
    const value = metric.get(result);
    return Number.isFinite(value) ? value : null;
  } catch {
    return null;
  }
}

/** Plain-language warnings about saturation, other load, failures and variance. */
export function collectWarnings(runs, targets, summary) {
  const warnings = [];
  runs.forEach((run, index) => {
    for (const target of targets) {
      for (const [scenario, result] of Object.entries(run[target.name] ?? {})) {
        const where = `run ${index + 1}, ${target.name}, ${scenario}`;
        if (result.error) {
          warnings.push(`${where}: failed: ${result.error.split('\n')[0]}`);
          continue;
        }
        if (result.quiet && !result.quiet.quiet) {
          warnings.push(`${where}: the cores were still ${result.quiet.busiestPercent}% busy with other work after ${Math.round(result.quiet.waitedMs / 1000)} s of waiting; measured anyway.`);
        }
        if (scenario === 'idle' || scenario === 'compression') {
          for (const point of result.points) {
            if (point.serverSawConnections !== point.connections) {
              warnings.push(`${where}: the server saw ${point.serverSawConnections} connections, expected ${point.connections}.`);
            }
            const deflate = target.gateway?.compression !== undefined;
            if (scenario === 'compression' && point.connect.negotiated !== (deflate ? point.connections : 0)) {
              warnings.push(`${where}: ${point.connect.negotiated} of ${point.connections} connections negotiated permessage-deflate, expected ${deflate ? 'all' : 'none'}.`);
            }
          }
          continue;
        }
        if (scenario === 'fanout') {
          warnings.push(...fanoutWarnings(where, result));
          continue;
        }
        if (result.discardedSlices > 0) {
          warnings.push(`${where}: ${result.discardedSlices} slice(s) were disturbed by other processes and measured again.`);
        }
        if (result.disturbedSlicesKept > 0) {
          warnings.push(`${where}: ${result.disturbedSlicesKept} slice(s) kept although other processes took more than ${config.foreignLoadPoints} points of a core (retries exhausted).`);
        }
        if (result.cpu.percent.load >= 90) {
          const limit = result.cpu.percent.server >= 95 ? 'the server was saturated too, so this is close to its capacity, with thin headroom' : 'this number may be limited by the client, not the server';
          warnings.push(`${where}: the load generator used ${Math.round(result.cpu.percent.load)}% of its core: ${limit}.`);
        }
        if (result.unexpectedReplies > 0) {
          warnings.push(`${where}: ${result.unexpectedReplies} of ${result.warmupRepliesChecked} warm-up replies were not the expected echo.`);
        }
        if (result.repliesMissingAfterDrain > 0) {
          warnings.push(`${where}: ${result.repliesMissingAfterDrain} replies had not arrived 5 s after a slice.`);
        }
        if (result.errors > 0) {
          warnings.push(`${where}: ${result.errors} connect/close cycles failed (first: ${result.firstError}).`);
        }
      }
    }
  });

  for (const [name, metrics] of Object.entries(summary)) {
    for (const key of [
      'echo.rate',
      'churn.rate',
      ...config.idle.counts.map((count) => `idle.${count}.heap`),
      ...config.fanout.sizes.map((size) => `fanout.${size}.rate`),
      ...config.compression.counts.map((count) => `compression.${count}.heap`),
    ]) {
      const spread = metrics[key]?.spreadPercent;
      if (spread !== null && spread !== undefined && spread > 10) {
        warnings.push(`${name} ${key}: runs differ by ${spread.toFixed(0)}% (max - min over median); the same-run ratios are steadier.`);
      }
    }
  }
  return warnings;
}

function fanoutWarnings(where, result) {
  const warnings = [];
  for (const point of result.points) {
    const at = `${where} ${point.members}`;
    if (point.error) {
      warnings.push(`${at}: failed: ${point.error.split('\n')[0]}`);
      continue;
    }
    if (point.quiet && !point.quiet.quiet) {
      warnings.push(`${at}: the cores were still ${point.quiet.busiestPercent}% busy with other work after ${Math.round(point.quiet.waitedMs / 1000)} s of waiting; measured anyway.`);
    }
    if (point.lost > 0 || point.duplicates > 0 || point.invalid > 0) {
      warnings.push(`${at}: of ${point.expected} expected deliveries, ${point.lost} were lost, ${point.duplicates} duplicated and ${point.invalid} were not valid ticks.`);
    }
    if (point.serverCountedShort > 0) {
      warnings.push(`${at}: in ${point.serverCountedShort} burst(s) the server's emit reported fewer deliveries than members × broadcasts.`);
    }
    if (point.discardedSlices > 0) {
      warnings.push(`${at}: ${point.discardedSlices} burst(s) were disturbed by other processes and measured again.`);
    }
    if (point.disturbedSlicesKept > 0) {
      warnings.push(`${at}: ${point.disturbedSlicesKept} burst(s) kept although other processes took more than ${config.foreignLoadPoints} points of a core (retries exhausted).`);
    }
    if (point.cpu.percent.load >= 90) {
      warnings.push(
        `${at}: the load generator used ${Math.round(point.cpu.percent.load)}% of its core during the bursts` +
          (point.serverLoopShare < 0.8
            ? ` and the server's send loop ended after ${Math.round(point.serverLoopShare * 100)}% of the burst time: the receivers, not the server, set this rate.`
            : `; the server still set the pace (its send loop ran ${Math.round(point.serverLoopShare * 100)}% of the burst), but the receivers' queueing adds to the latency.`),
      );
    }
  }
  return warnings;
}
