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
import type { ParsedIpvsStats, ParsedService, ParsedTable } from './parse.js';

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

/**
 * Finds a server in another reading's list of the same service: at the same position when both
 * list the servers in the same order (the usual case, so no index is built), else by address
 * and port through an index made on first need.
 */
class DestinationFinder<T extends { address: string; port: number }> {
  private index: Map<string, T> | null = null;
  constructor(private readonly list: readonly T[] | undefined) {}
  find(position: number, address: string, port: number): T | undefined {
    const list = this.list;
    if (!list) return undefined;
    const at = list[position];
    if (at && at.address === address && at.port === port) return at;
    this.index ??= indexDestinations(list);
    return this.index.get(`${address}|${port}`);
  }
}

/**
 * Join the readings of one moment into a snapshot. The table gives the shape (a server that
 * appears only in the stats was added or removed between two reads and waits for the next tick);
 * the stats and rates are matched by service and server address.
 */
export function buildSnapshot(input: SnapshotInput): Snapshot {
  const stats = indexServices(input.stats);
  const rates = indexServices(input.rates);
  const services: ServiceSnapshot[] = input.table.services.map((ps) => {
    const key = serviceKey(ps);
    const st = stats.get(key);
    const rt = rates.get(key);
    const statDests = new DestinationFinder(st?.destinations);
    const rateDests = new DestinationFinder(rt?.destinations);
    const destinations: DestinationSnapshot[] = ps.destinations.map((pd, i) => {
      const sd = statDests.find(i, pd.address, pd.port);
      const rd = rateDests.find(i, pd.address, pd.port);
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
      return d;
    });
    destinations.sort(compareDestinations);
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
    return s;
  });
  services.sort(compareServices);

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
