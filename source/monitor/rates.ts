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

/** A counter's rates over one window, and whether it went backwards (zeroed or wrapped). */
interface CounterRates {
  rates: Rates | null;
  reset: boolean;
}

const NO_RATES: Rates = Object.freeze({ cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 });

/** The rates of a counter that did not move: one shared, frozen object (see computeRates). */
const AT_REST: { rates: Rates; reset: boolean } = Object.freeze({ rates: NO_RATES, reset: false });

export function counterRates(
  prev: Counters | null | undefined,
  next: Counters | null | undefined,
  dtSeconds: number,
  fallback: Rates | null = null,
): CounterRates {
  if (!prev || !next || !(dtSeconds > 0)) return { rates: fallback, reset: false };
  // The same counters object (a line that did not change) or the same numbers: nothing moved.
  if (
    prev === next ||
    (prev.conns === next.conns &&
      prev.inPkts === next.inPkts &&
      prev.outPkts === next.outPkts &&
      prev.inBytes === next.inBytes &&
      prev.outBytes === next.outBytes)
  )
    return AT_REST;
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

/**
 * Each server's share of its service's new connections, or of its connections when none are new.
 * Loops, not callbacks, here and below: a callback made anew on every call (as `.map((d) => …)`
 * inside a function is) loses its optimized code at the next full GC, when the last closure that
 * held it is gone, and V8 compiles it again: measured natively, such callbacks were most of the
 * monitor's steady TurboFan work (the same functions compiled five to eight times a minute).
 */
function shares(
  destinations: readonly DestinationSnapshot[],
  rates: readonly { rates: Rates | null }[],
): number[] {
  const n = destinations.length;
  const out = new Array<number>(n);
  let cps = 0;
  for (const r of rates) cps += r.rates?.cps ?? 0;
  if (cps > 0) {
    for (let i = 0; i < n; i++) out[i] = (rates[i]?.rates?.cps ?? 0) / cps;
    return out;
  }
  let conns = 0;
  for (const d of destinations) conns += d.activeConns + d.inactiveConns;
  for (let i = 0; i < n; i++) {
    const d = destinations[i] as DestinationSnapshot;
    out[i] = conns > 0 ? (d.activeConns + d.inactiveConns) / conns : 0;
  }
  return out;
}

/**
 * Finds an entry of the previous reading by key: at the same position when the table did not
 * change shape (the usual case, so no index is built), else through an index made on first need.
 */
class KeyFinder<T extends { key: string }> {
  private index: Map<string, T> | null = null;
  constructor(private readonly list: readonly T[] | undefined) {}
  find(position: number, key: string): T | undefined {
    const list = this.list;
    if (!list) return undefined;
    const at = list[position];
    if (at?.key === key) return at;
    if (!this.index) {
      this.index = new Map();
      for (const x of list) this.index.set(x.key, x);
    }
    return this.index.get(key);
  }
}

/**
 * The destination with its rates. Written out field by field: `{ ...d, rates, … }` takes V8's
 * slow path (about 4 µs an object, most of a reading's cost for a thousand servers).
 */
function ratedDestination(
  d: DestinationSnapshot,
  r: { rates: Rates | null; reset: boolean },
  share: number,
): RatedDestination {
  const known = ratedAtRest.get(d);
  // A server whose snapshot is the one rated last time (SnapshotReuse), rated the same again.
  if (known && known.rates === r.rates && known.reset === r.reset && known.share === share)
    return known;
  const out: RatedDestination = {
    key: d.key,
    address: d.address,
    port: d.port,
    family: d.family,
    forward: d.forward,
    weight: d.weight,
    activeConns: d.activeConns,
    inactiveConns: d.inactiveConns,
    counters: d.counters,
    rates: r.rates,
    reset: r.reset,
    share,
  };
  if ('kernelRates' in d) out.kernelRates = d.kernelRates;
  if ('health' in d) out.health = d.health;
  // Kept only for rates that are shared objects (at rest, the kernel's, none): moving ones are new.
  if (r.rates === AT_REST.rates || r.rates === null || r.rates === d.kernelRates)
    ratedAtRest.set(d, out);
  return out;
}

/**
 * The last rated form of each server snapshot whose rates were a shared object: an idle server
 * of a busy table is the same snapshot reading after reading, and gets the same rated object.
 * Read-only, as all snapshots.
 */
const ratedAtRest = new WeakMap<DestinationSnapshot, RatedDestination>();

function ratedService(
  s: ServiceSnapshot,
  destinations: RatedDestination[],
  rates: Rates | null,
  reset: boolean,
): RatedService {
  const out: RatedService = {
    key: s.key,
    protocol: s.protocol,
    family: s.family,
    address: s.address,
    port: s.port,
    fwmark: s.fwmark,
    scheduler: s.scheduler,
    persistence: s.persistence,
    flags: s.flags,
    counters: s.counters,
    destinations,
    rates,
    reset,
  };
  if ('persistenceMask' in s) out.persistenceMask = s.persistenceMask;
  if ('kernelRates' in s) out.kernelRates = s.kernelRates;
  return out;
}

/**
 * How often the kernel updates the counters that ipvsadm and netlink report: IPVS adds up its
 * per-CPU counters in the rate estimator, every 2 seconds (measured on kernel 6.1: a reading
 * every ~1.2 s saw conns 10, 10, 15, 20, 20, 26, 26, 30, 30…). Deltas over a shorter window
 * are 0 or double by turns, so the real source reads counters no more often than this.
 */
export const COUNTER_PERIOD_MS = 2000;

/** When a snapshot's counters were read. */
export function countersTime(s: Snapshot): number {
  return s.countersAt ?? s.takenAt;
}

/**
 * The reading to measure `next`'s rates against. `latest` is the reading before `next`: when
 * `next` brings new counters, `latest` is the base; when it repeats `latest`'s counters (read
 * between two counter readings), the base stays the one `latest` was measured against, so the
 * rates stay those of the last counter window instead of dropping to nothing.
 */
export function rateBase(
  base: Snapshot | null,
  latest: Snapshot | null,
  next: Snapshot,
): Snapshot | null {
  if (!latest) return null;
  return countersTime(latest) !== countersTime(next) ? latest : base;
}

const hasRates = (x: { rates: Rates | null }) => x.rates !== null;

/**
 * The last rating of each service's servers, by service key: the same list measured against the
 * same earlier list over the same interval rates the same, so it is not rated again. That is
 * every service whose servers did not change in a reading between two counter readings (the
 * rate base and the counters' time stay the same; SnapshotReuse keeps the lists). Only the last
 * call's entries are kept: a map from each list to its rating would hold every earlier list
 * through its `prev` (measured: 166 MB peak instead of ~115 after 60 s of the 100 x 10 demo).
 * Read-only.
 */
interface RatedList {
  list: readonly DestinationSnapshot[];
  prev: readonly DestinationSnapshot[] | undefined;
  dtMs: number | null;
  out: RatedDestination[];
}
let ratedLists = new Map<string, RatedList>();

function rateDestinations(
  known: RatedList | undefined,
  list: readonly DestinationSnapshot[],
  prevList: readonly DestinationSnapshot[] | undefined,
  dtMs: number | null,
): RatedList {
  if (known && known.list === list && known.prev === prevList && known.dtMs === dtMs) return known;
  const dt = dtMs === null ? 0 : dtMs / 1000;
  const prevDests = new KeyFinder(prevList);
  const n = list.length;
  const destRates = new Array<CounterRates>(n);
  for (let di = 0; di < n; di++) {
    const d = list[di] as DestinationSnapshot;
    destRates[di] = counterRates(
      prevDests.find(di, d.key)?.counters,
      d.counters,
      dt,
      d.kernelRates ?? null,
    );
  }
  const share = shares(list, destRates);
  const out = new Array<RatedDestination>(n);
  for (let di = 0; di < n; di++)
    out[di] = ratedDestination(
      list[di] as DestinationSnapshot,
      destRates[di] ?? AT_REST,
      share[di] ?? 0,
    );
  return { list, prev: prevList, dtMs, out };
}

/** Rates of `next` against `prev` (see rateBase), over the time between their counter readings. */
export function computeRates(prev: Snapshot | null, next: Snapshot): RatedSnapshot {
  const dtMs = prev ? countersTime(next) - countersTime(prev) : null;
  const dt = dtMs === null ? 0 : dtMs / 1000;
  const prevServices = new KeyFinder(prev?.services);
  const services: RatedService[] = new Array<RatedService>(next.services.length);
  const known = ratedLists;
  const rated = new Map<string, RatedList>();
  for (let si = 0; si < next.services.length; si++) {
    const s = next.services[si] as ServiceSnapshot;
    const ps = prevServices.find(si, s.key);
    const entry = rateDestinations(known.get(s.key), s.destinations, ps?.destinations, dtMs);
    rated.set(s.key, entry);
    const destinations = entry.out;
    const r = counterRates(ps?.counters, s.counters, dt, s.kernelRates ?? null);
    let rates = r.rates;
    // Without service counters (not root), the servers' kernel rates still add up.
    if (!rates && destinations.length > 0 && destinations.every(hasRates)) {
      let sum = NO_RATES;
      for (const d of destinations) sum = addRates(sum, d.rates as Rates);
      rates = sum;
    }
    services[si] = ratedService(s, destinations, rates, r.reset);
  }
  ratedLists = rated;
  let totalRates = counterRates(prev?.totals, next.totals, dt, next.kernelTotalRates ?? null).rates;
  if (!totalRates && services.length > 0 && services.every(hasRates)) {
    let sum = NO_RATES;
    for (const s of services) sum = addRates(sum, s.rates as Rates);
    totalRates = sum;
  }
  return { ...next, services, totalRates, intervalMs: dtMs };
}

/**
 * Sparkline samples: one frame per reading (oldest first, at most HISTORY_LENGTH), each a column
 * of numbers in typed arrays, with `columns` saying which key is in which column. The columns are
 * shared by a history and the ones pushed from it, and only ever added to (a frame made before a
 * key was added is shorter, so the key is simply not in it); when many keys have left the table
 * they are dropped into a fresh set of columns. So a reading of a thousand servers costs two
 * small typed arrays, not a map or an array per key, and nothing is copied per sample.
 */
export interface History {
  readonly frames: readonly HistoryFrame[];
  /** Key → column; null until the first reading. Appended to by pushHistory (see above). */
  readonly columns: Map<string, number> | null;
}

export interface HistoryFrame {
  /** The metric by column; NaN for a key in the reading without rates. */
  readonly values: Float64Array;
  /** 1 for the columns whose key was in the reading. */
  readonly present: Uint8Array;
}

export const EMPTY_HISTORY: History = { frames: [], columns: null };
export const HISTORY_LENGTH = 60;
export const TOTAL_KEY = '*';

/** The value a sparkline follows: new connections per second. */
export type HistoryMetric = (rates: Rates) => number;
const cpsMetric: HistoryMetric = (r) => r.cps;

/** Fresh columns for only the keys still in some frame, and the frames moved into them. */
function compactColumns(
  columns: ReadonlyMap<string, number>,
  frames: readonly HistoryFrame[],
): { columns: Map<string, number>; frames: HistoryFrame[] } {
  const moves: [from: number, to: number][] = [];
  const next = new Map<string, number>();
  for (const [key, from] of columns) {
    if (!frames.some((f) => f.present[from] === 1)) continue;
    moves.push([from, next.size]);
    next.set(key, next.size);
  }
  const moved = frames.map((f) => {
    const values = new Float64Array(next.size);
    const present = new Uint8Array(next.size);
    for (const [from, to] of moves) {
      if (f.present[from] !== 1) continue;
      values[to] = f.values[from] ?? Number.NaN;
      present[to] = 1;
    }
    return { values, present };
  });
  return { columns: next, frames: moved };
}

function addColumn(columns: Map<string, number>, key: string): void {
  if (!columns.has(key)) columns.set(key, columns.size);
}

function putSample(
  frame: HistoryFrame,
  columns: ReadonlyMap<string, number>,
  key: string,
  rates: Rates | null,
  metric: HistoryMetric,
): void {
  const i = columns.get(key) ?? 0;
  frame.values[i] = rates ? metric(rates) : Number.NaN;
  frame.present[i] = 1;
}

/** Add one reading. An entry without rates is NaN: it keeps its place but draws nothing. */
export function pushHistory(
  history: History,
  rated: RatedSnapshot,
  length: number = HISTORY_LENGTH,
  metric: HistoryMetric = cpsMetric,
): History {
  let frames = history.frames.slice(Math.max(0, history.frames.length - length + 1));
  let columns = history.columns ?? new Map<string, number>();
  let keys = 1;
  for (const s of rated.services) keys += 1 + s.destinations.length;
  // Keys that left the table keep their columns until there are many of them.
  if (columns.size > 2 * keys + 1024) ({ columns, frames } = compactColumns(columns, frames));
  // Every key of the reading gets a column (a key seen twice keeps its last sample), then each
  // its sample: NaN for an entry without rates, which keeps its place but draws nothing.
  for (const s of rated.services) {
    addColumn(columns, s.key);
    for (const d of s.destinations) addColumn(columns, d.key);
  }
  addColumn(columns, TOTAL_KEY);
  const frame = { values: new Float64Array(columns.size), present: new Uint8Array(columns.size) };
  for (const s of rated.services) {
    putSample(frame, columns, s.key, s.rates, metric);
    for (const d of s.destinations) putSample(frame, columns, d.key, d.rates, metric);
  }
  putSample(frame, columns, TOTAL_KEY, rated.totalRates, metric);
  frames.push(frame);
  return { frames, columns };
}

/**
 * The last sample again (its arrays shared: frames are never written after they are pushed), for
 * a reading whose rates are those of the last one; at most `length` frames are kept.
 */
export function repeatHistory(history: History, length: number = HISTORY_LENGTH): History {
  const lastFrame = history.frames.at(-1);
  if (!lastFrame) return history;
  const frames = history.frames.slice(Math.max(0, history.frames.length - length + 1));
  frames.push(lastFrame);
  return { frames, columns: history.columns };
}

const atRest = (r: Rates | null) =>
  r !== null && r.cps === 0 && r.inPps === 0 && r.outPps === 0 && r.inBps === 0 && r.outBps === 0;

/** Every service, server and the totals has rates, all zero: nothing moved in the last period. */
export function ratesAtRest(rated: RatedSnapshot): boolean {
  if (!atRest(rated.totalRates)) return false;
  for (const s of rated.services) {
    if (!atRest(s.rates)) return false;
    for (const d of s.destinations) if (!atRest(d.rates)) return false;
  }
  return true;
}

/** A key's samples, oldest first; none when the key is not in the latest reading (it left). */
export function historyOf(history: History, key: string): number[] {
  const last = history.frames[history.frames.length - 1];
  const i = history.columns?.get(key);
  if (!last || i === undefined || last.present[i] !== 1) return [];
  const out: number[] = [];
  for (const frame of history.frames) {
    if (frame.present[i] !== 1) continue;
    const v = frame.values[i] ?? Number.NaN;
    if (!Number.isNaN(v)) out.push(v);
  }
  return out;
}
