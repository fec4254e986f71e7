import {
  addRates,
  type Counters,
  type DestinationSnapshot,
  type Rates,
  type ServiceSnapshot,
  type Snapshot,
} from './model.js';

/**
 * Per-second rates from two snapshots' cumulative counters. Counter deltas are exact for the
 * interval, unlike the kernel's `--rate` estimator (a 2-second moving average), which is only the
 * fallback: for the first reading and after a reset.
 */

export interface RatedDestination extends DestinationSnapshot {
  rates: Rates | null;
  /** The counters went backwards since the last reading: zeroed (`ipvsadm -Z`) or re-added. */
  reset: boolean;
  /** Fraction (0..1) of the service's new connections, or of its connections when none are new. */
  share: number;
}

export interface RatedService extends Omit<ServiceSnapshot, 'destinations'> {
  rates: Rates | null;
  reset: boolean;
  destinations: RatedDestination[];
}

export interface RatedSnapshot extends Omit<Snapshot, 'services'> {
  services: RatedService[];
  totalRates: Rates | null;
  /** Milliseconds since the previous snapshot, null for the first. */
  intervalMs: number | null;
}

const WRAP_32 = 2 ** 32;
/** How close to 2^32 a counter must have been to read a decrease as a wrap rather than a reset. */
const WRAP_WINDOW = 2 ** 28;
/**
 * ipvsadm 1.27 (EL7) reads struct ip_vs_stats_user, whose conns and packet counters are 32-bit:
 * a busy director wraps them within hours. Bytes are 64-bit everywhere.
 */
const WRAPS_AT_32_BITS = new Set<keyof Counters>(['conns', 'inPkts', 'outPkts']);

function fieldDelta(field: keyof Counters, prev: number, next: number): number | null {
  if (next >= prev) return next - prev;
  if (WRAPS_AT_32_BITS.has(field) && prev < WRAP_32 && prev >= WRAP_32 - WRAP_WINDOW) {
    return next + WRAP_32 - prev;
  }
  return null;
}

export function counterRates(
  prev: Counters | null | undefined,
  next: Counters | null | undefined,
  dtSeconds: number,
  fallback: Rates | null = null,
): { rates: Rates | null; reset: boolean } {
  if (!prev || !next || !(dtSeconds > 0)) return { rates: fallback, reset: false };
  const conns = fieldDelta('conns', prev.conns, next.conns);
  const inPkts = fieldDelta('inPkts', prev.inPkts, next.inPkts);
  const outPkts = fieldDelta('outPkts', prev.outPkts, next.outPkts);
  const inBytes = fieldDelta('inBytes', prev.inBytes, next.inBytes);
  const outBytes = fieldDelta('outBytes', prev.outBytes, next.outBytes);
  if (
    conns === null ||
    inPkts === null ||
    outPkts === null ||
    inBytes === null ||
    outBytes === null
  ) {
    return { rates: fallback, reset: true };
  }
  return {
    rates: {
      cps: conns / dtSeconds,
      inPps: inPkts / dtSeconds,
      outPps: outPkts / dtSeconds,
      inBps: inBytes / dtSeconds,
      outBps: outBytes / dtSeconds,
    },
    reset: false,
  };
}

function shares(destinations: RatedDestination[]): void {
  const cps = destinations.reduce((n, d) => n + (d.rates?.cps ?? 0), 0);
  if (cps > 0) {
    for (const d of destinations) d.share = (d.rates?.cps ?? 0) / cps;
    return;
  }
  const conns = destinations.reduce((n, d) => n + d.activeConns + d.inactiveConns, 0);
  for (const d of destinations) d.share = conns > 0 ? (d.activeConns + d.inactiveConns) / conns : 0;
}

export function computeRates(prev: Snapshot | null, next: Snapshot): RatedSnapshot {
  const dtMs = prev ? next.takenAt - prev.takenAt : null;
  const dt = dtMs === null ? 0 : dtMs / 1000;
  const prevServices = new Map(prev?.services.map((s) => [s.key, s]) ?? []);
  const services: RatedService[] = next.services.map((s) => {
    const ps = prevServices.get(s.key);
    const prevDests = new Map(ps?.destinations.map((d) => [d.key, d]) ?? []);
    const destinations: RatedDestination[] = s.destinations.map((d) => {
      const r = counterRates(prevDests.get(d.key)?.counters, d.counters, dt, d.kernelRates ?? null);
      return { ...d, rates: r.rates, reset: r.reset, share: 0 };
    });
    shares(destinations);
    const r = counterRates(ps?.counters, s.counters, dt, s.kernelRates ?? null);
    let rates = r.rates;
    // Without service counters (not root), the servers' kernel rates still add up.
    if (!rates && destinations.length > 0 && destinations.every((d) => d.rates)) {
      rates = destinations.reduce<Rates>((sum, d) => addRates(sum, d.rates as Rates), {
        cps: 0,
        inPps: 0,
        outPps: 0,
        inBps: 0,
        outBps: 0,
      });
    }
    return { ...s, destinations, rates, reset: r.reset };
  });
  let totalRates = counterRates(prev?.totals, next.totals, dt, next.kernelTotalRates ?? null).rates;
  if (!totalRates && services.length > 0 && services.every((s) => s.rates)) {
    totalRates = services.reduce<Rates>((sum, s) => addRates(sum, s.rates as Rates), {
      cps: 0,
      inPps: 0,
      outPps: 0,
      inBps: 0,
      outBps: 0,
    });
  }
  return { ...next, services, totalRates, intervalMs: dtMs };
}

/**
 * Sparkline samples: one map per reading (oldest first, at most HISTORY_LENGTH), from destination,
 * service and TOTAL_KEY keys to the metric. A frame per reading rather than an array per key, so a
 * reading of a thousand servers allocates one map instead of copying a thousand arrays.
 */
export interface History {
  readonly frames: readonly ReadonlyMap<string, number>[];
}

export const EMPTY_HISTORY: History = { frames: [] };
export const HISTORY_LENGTH = 60;
export const TOTAL_KEY = '*';

/** The value a sparkline follows: new connections per second. */
export type HistoryMetric = (rates: Rates) => number;
const cpsMetric: HistoryMetric = (r) => r.cps;

/** Add one reading. An entry without rates is NaN: it keeps its place but draws nothing. */
export function pushHistory(
  history: History,
  rated: RatedSnapshot,
  length: number = HISTORY_LENGTH,
  metric: HistoryMetric = cpsMetric,
): History {
  const frame = new Map<string, number>();
  for (const s of rated.services) {
    frame.set(s.key, s.rates ? metric(s.rates) : Number.NaN);
    for (const d of s.destinations) frame.set(d.key, d.rates ? metric(d.rates) : Number.NaN);
  }
  frame.set(TOTAL_KEY, rated.totalRates ? metric(rated.totalRates) : Number.NaN);
  const kept =
    history.frames.length >= length
      ? history.frames.slice(history.frames.length - length + 1)
      : history.frames.slice();
  kept.push(frame);
  return { frames: kept };
}

/** A key's samples, oldest first; none when the key is not in the latest reading (it left). */
export function historyOf(history: History, key: string): number[] {
  const last = history.frames[history.frames.length - 1];
  if (!last?.has(key)) return [];
  const out: number[] = [];
  for (const frame of history.frames) {
    const v = frame.get(key);
    if (v !== undefined && !Number.isNaN(v)) out.push(v);
  }
  return out;
}
