import {
  addCounters,
  compareDestinations,
  compareServices,
  destinationKey,
  serviceKey,
  ZERO_COUNTERS,
  type Counters,
  type DestinationSnapshot,
  type DirectorState,
  type Rates,
  type ServiceSnapshot,
  type Snapshot,
} from './model.js';
import type { ParsedDestination, ParsedIpvsStats, ParsedService, ParsedTable } from './parse.js';

export interface SnapshotInput {
  takenAt: number;
  host: string;
  source: Snapshot['source'];
  /** The table's shape, weights and connections: /proc/net/ip_vs or plain `ipvsadm -Ln`. */
  table: ParsedTable;
  /** `ipvsadm -Ln --stats --exact`. */
  stats?: ParsedTable | null;
  /** `ipvsadm -Ln --rate --exact`. */
  rates?: ParsedTable | null;
  /** /proc/net/ip_vs_stats. */
  ipvsStats?: ParsedIpvsStats | null;
  director: DirectorState;
  expireQuiescentTemplate?: boolean | null;
  warnings?: string[];
  /** Kept by a source across its readings: unchanged servers keep their snapshot objects. */
  reuse?: SnapshotReuse;
}

/**
 * What buildSnapshot made from each parsed server last time, for a source that reads the same
 * table again and again: a server whose parsed lines are the same objects as then (LineReuse
 * shares them while their text does not change) gets the same DestinationSnapshot, and a
 * service whose servers are all the same gets the same sorted list. The results are read-only.
 */
export class SnapshotReuse {
  readonly destinations = new WeakMap<
    ParsedDestination,
    {
      service: string;
      stats: ParsedDestination | undefined;
      rates: ParsedDestination | undefined;
      out: DestinationSnapshot;
    }
  >();
  /** By service key, for the last reading's services: their servers in the table's order, sorted. */
  sorted = new Map<string, { inOrder: DestinationSnapshot[]; sorted: DestinationSnapshot[] }>();
}

function sameList<T>(a: readonly T[], b: readonly T[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function indexServices(table: ParsedTable | null | undefined): Map<string, ParsedService> {
  const out = new Map<string, ParsedService>();
  for (const s of table?.services ?? []) out.set(serviceKey(s), s);
  return out;
}

function indexDestinations<T extends { address: string; port: number }>(
  list: readonly T[] | undefined,
): Map<string, T> {
  const out = new Map<string, T>();
  for (const d of list ?? []) out.set(`${d.address}|${d.port}`, d);
  return out;
}

/** Indexes made for finding servers by address, by list (a stats reading serves two frames). */
const indexes = new WeakMap<readonly object[], Map<string, unknown>>();

/**
 * Finds a server in another reading's list of the same service without an index where it can:
 * at the same position, or at the mirrored one, since /proc/net/ip_vs lists a service's servers
 * newest first and ipvsadm sorts them by address (servers added in address order, as a lab
 * file's are, come out exactly reversed). Else by address and port through an index made on
 * first need and kept with the list.
 */
class DestinationFinder<T extends { address: string; port: number }> {
  private index: Map<string, T> | null = null;
  constructor(private readonly list: readonly T[] | undefined) {}
  find(position: number, address: string, port: number): T | undefined {
    const list = this.list;
    if (!list) return undefined;
    const at = list[position];
    if (at && at.address === address && at.port === port) return at;
    const mirrored = list[list.length - 1 - position];
    if (mirrored && mirrored.address === address && mirrored.port === port) return mirrored;
    if (this.index === null) {
      let index = indexes.get(list) as Map<string, T> | undefined;
      if (!index) {
        index = indexDestinations(list);
        indexes.set(list, index);
      }
      this.index = index;
    }
    return this.index.get(`${address}|${port}`);
  }
}

/** One server of service `key`: the same object as last time when its parsed lines are the same. */
function destinationSnapshot(
  key: string,
  pd: ParsedDestination,
  sd: ParsedDestination | undefined,
  rd: ParsedDestination | undefined,
  reuse: SnapshotReuse | undefined,
): DestinationSnapshot {
  const known = reuse?.destinations.get(pd);
  if (known && known.service === key && known.stats === sd && known.rates === rd) return known.out;
  const d: DestinationSnapshot = {
    key: destinationKey(key, pd),
    address: pd.address,
    port: pd.port,
    family: pd.family,
    forward: pd.forward ?? 'route',
    weight: pd.weight ?? 0,
    activeConns: pd.activeConns ?? 0,
    inactiveConns: pd.inactiveConns ?? 0,
    counters: sd?.counters ?? null,
  };
  if (rd?.rates) d.kernelRates = rd.rates;
  reuse?.destinations.set(pd, { service: key, stats: sd, rates: rd, out: d });
  return d;
}

/**
 * Join the readings of one moment into a snapshot. The table gives the shape (a server that
 * appears only in the stats was added or removed between two reads and waits for the next tick);
 * the stats and rates are matched by service and server address. Loops rather than callbacks,
 * which V8 would compile again after every full GC (see rates.ts, shares).
 */
export function buildSnapshot(input: SnapshotInput): Snapshot {
  const stats = indexServices(input.stats);
  const rates = indexServices(input.rates);
  const reuse = input.reuse;
  // This reading's sorted lists, kept for the next (services that left drop out).
  const sortedNow: SnapshotReuse['sorted'] | null = reuse ? new Map() : null;
  const services: ServiceSnapshot[] = [];
  for (const ps of input.table.services) {
    const key = serviceKey(ps);
    const st = stats.get(key);
    const rt = rates.get(key);
    const statDests = new DestinationFinder(st?.destinations);
    const rateDests = new DestinationFinder(rt?.destinations);
    const inOrder: DestinationSnapshot[] = new Array<DestinationSnapshot>(ps.destinations.length);
    for (let i = 0; i < ps.destinations.length; i++) {
      const pd = ps.destinations[i] as ParsedDestination;
      const sd = statDests.find(i, pd.address, pd.port);
      const rd = rateDests.find(i, pd.address, pd.port);
      inOrder[i] = destinationSnapshot(key, pd, sd, rd, reuse);
    }
    const before = reuse?.sorted.get(key);
    const destinations =
      before && sameList(before.inOrder, inOrder)
        ? before.sorted
        : inOrder.slice().sort(compareDestinations);
    sortedNow?.set(key, { inOrder, sorted: destinations });
    const s: ServiceSnapshot = {
      key,
      protocol: ps.protocol,
      family: ps.family,
      address: ps.address,
      port: ps.port,
      fwmark: ps.fwmark,
      scheduler: ps.scheduler ?? 'wlc',
      persistence: ps.persistence ?? null,
      flags: ps.flags ?? [],
      counters: st?.counters ?? null,
      destinations,
    };
    if (ps.persistenceMask) s.persistenceMask = ps.persistenceMask;
    if (rt?.rates) s.kernelRates = rt.rates;
    services.push(s);
  }
  services.sort(compareServices);
  if (reuse && sortedNow) reuse.sorted = sortedNow;

  let totals: Counters | null = input.ipvsStats?.totals ?? null;
  if (!totals && services.length > 0 && services.every((s) => s.counters)) {
    totals = services.reduce<Counters>((sum, s) => addCounters(sum, s.counters ?? ZERO_COUNTERS), {
      ...ZERO_COUNTERS,
    });
  }
  const kernelTotalRates: Rates | null = input.ipvsStats?.rates ?? null;
  const snapshot: Snapshot = {
    takenAt: input.takenAt,
    host: input.host,
    source: input.source,
    ipvsVersion: input.table.version ?? input.stats?.version ?? null,
    tableSize: input.table.tableSize ?? input.stats?.tableSize ?? null,
    totals,
    kernelTotalRates,
    services,
    director: input.director,
    warnings: input.warnings ?? [],
  };
  if (input.expireQuiescentTemplate !== undefined)
    snapshot.expireQuiescentTemplate = input.expireQuiescentTemplate;
  return snapshot;
}

/**
 * The servers with their health as `healthOf` tells (undefined: as they are): the same list
 * when nothing changes, else a new list with new objects where it changed. Snapshot objects are
 * shared between readings (SnapshotReuse), so they are never written to.
 */
export function withHealth(
  list: DestinationSnapshot[],
  healthOf: (d: DestinationSnapshot) => DestinationSnapshot['health'] | undefined,
): DestinationSnapshot[] {
  let out: DestinationSnapshot[] | null = null;
  for (let i = 0; i < list.length; i++) {
    const d = list[i] as DestinationSnapshot;
    const h = healthOf(d);
    if (h === undefined || d.health === h) continue;
    out ??= list.slice();
    out[i] = { ...d, health: h };
  }
  return out ?? list;
}
