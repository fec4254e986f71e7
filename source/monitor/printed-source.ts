import {
  DEFAULT_HZ,
  formatIpvsadmRate,
  formatIpvsadmStats,
  formatProcIpVs,
  formatProcIpVsStats,
} from './format-ipvsadm.js';
import { ZERO_COUNTERS, type Health, type Rates } from './model.js';
import {
  LineReuse,
  listingReuse,
  parseIpvsadmRate,
  parseIpvsadmStats,
  parseProcIpVs,
  parseProcIpVsStats,
  type ParsedDestination,
} from './parse.js';
import { buildSnapshot, SnapshotReuse, withHealth } from './snapshot.js';
import type { MonitorSource } from './source-types.js';

const NO_RATES: Rates = { cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };

/**
 * Another source (the demo) read the way the real source reads a director: each reading is
 * printed as /proc/net/ip_vs, `ipvsadm -Ln --stats --exact` and /proc/net/ip_vs_stats print it
 * (and `--rate` for the first reading only, as createIpvsSource asks), then parsed and joined by
 * the same code. So a simulated table of a thousand servers costs the monitor per second what a
 * real one of that size costs, parsing included (the ipvsadm processes excepted). What the texts
 * do not carry — the director's VRRP state, health, expire_quiescent_template — is taken from the
 * inner reading, as the real source takes them from elsewhere.
 */
export function printedSource(inner: MonitorSource): MonitorSource {
  let first = true;
  // As the real source parses: only the lines that changed since the last reading.
  const procReuse = new LineReuse<ParsedDestination>();
  const statsReuse = listingReuse();
  const snapshotReuse = new SnapshotReuse();
  // Through a Buffer, as a child process's output arrives: one flat string, not a rope.
  const flat = (text: string) => Buffer.from(text).toString();
  const source: MonitorSource = {
    kind: `${inner.kind} (printed)`,
    async read() {
      const s = await inner.read();
      const wantRate = first;
      first = false;
      const proc = flat(formatProcIpVs(s));
      const stats = flat(formatIpvsadmStats(s, { exact: true }));
      const totals = flat(
        formatProcIpVsStats(s.totals ?? ZERO_COUNTERS, s.kernelTotalRates ?? NO_RATES),
      );
      const rate = wantRate ? flat(formatIpvsadmRate(s, { exact: true })) : null;
      const snapshot = buildSnapshot({
        takenAt: s.takenAt,
        host: s.host,
        source: s.source,
        table: parseProcIpVs(proc, DEFAULT_HZ, procReuse),
        stats: parseIpvsadmStats(stats, statsReuse),
        rates: rate === null ? null : parseIpvsadmRate(rate),
        ipvsStats: parseProcIpVsStats(totals),
        director: s.director,
        ...(s.expireQuiescentTemplate !== undefined
          ? { expireQuiescentTemplate: s.expireQuiescentTemplate }
          : {}),
        warnings: s.warnings,
        reuse: snapshotReuse,
      });
      const health = new Map<string, Health>();
      for (const svc of s.services)
        for (const d of svc.destinations) if (d.health) health.set(d.key, d.health);
      if (health.size > 0) {
        for (const svc of snapshot.services)
          svc.destinations = withHealth(svc.destinations, (d) => health.get(d.key));
      }
      return snapshot;
    },
  };
  if (inner.apply) source.apply = inner.apply.bind(inner);
  return source;
}
