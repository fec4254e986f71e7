import { BoundedMemo } from './memo.js';
/**
 * The monitor's snapshot model: one reading of the IPVS table (services → real servers) with the
 * kernel's cumulative counters. Rates are not here: they need two snapshots (see rates.ts).
 */

export type ServiceProtocol = 'tcp' | 'udp' | 'sctp' | 'fwmark';
/** IPVS forwarding methods as the kernel names them: Masq (NAT), Route (DR), Tunnel (TUN), Local. */
export type ForwardMethod = 'masq' | 'route' | 'tunnel' | 'local';
export type AddressFamily = 'inet' | 'inet6';
export type Health = 'up' | 'down';
export type VrrpState = 'MASTER' | 'BACKUP' | 'none' | 'unknown';

/** Cumulative since the service/server was added or last zeroed (`ipvsadm -Z`). */
export interface Counters {
  conns: number;
  inPkts: number;
  outPkts: number;
  inBytes: number;
  outBytes: number;
}

/** Per second. */
export interface Rates {
  cps: number;
  inPps: number;
  outPps: number;
  inBps: number;
  outBps: number;
}

export interface DestinationSnapshot {
  /** Unique in a snapshot: the service key, '>', and the server's host:port. */
  key: string;
  /** Without brackets; IPv6 in RFC 5952 form so /proc and ipvsadm readings agree. */
  address: string;
  port: number;
  family: AddressFamily;
  forward: ForwardMethod;
  weight: number;
  activeConns: number;
  inactiveConns: number;
  /** Null when the counters could not be read (ipvsadm missing or not root). */
  counters: Counters | null;
  /** The kernel's own 2-second estimator (`ipvsadm --rate`), when it was read. */
  kernelRates?: Rates | null;
  /** Known only when something checks the server (keepalived in the demo, a TCP probe). */
  health?: Health | null;
}

export interface ServiceSnapshot {
  /** "tcp:192.168.91.148:80", "udp:[2001:db8::1]:53", "fwmark:10", "fwmark6:10". */
  key: string;
  protocol: ServiceProtocol;
  family: AddressFamily;
  /** The VIP without brackets; '' for fwmark services. */
  address: string;
  /** 0 for fwmark services. */
  port: number;
  fwmark: number | null;
  scheduler: string;
  /** Persistence timeout in seconds, null when the service is not persistent. */
  persistence: number | null;
  /** Persistence granularity when it is not a single client address (e.g. 255.255.255.0). */
  persistenceMask?: string | null;
  /** Other flags as ipvsadm prints them: "ops", "sh-port", "pe sip". */
  flags: string[];
  counters: Counters | null;
  kernelRates?: Rates | null;
  destinations: DestinationSnapshot[];
}

export interface DirectorState {
  /** MASTER when keepalived runs and holds a VIP, BACKUP when it runs without one, none without it. */
  vrrp: VrrpState;
  keepalived: boolean;
  /** Service VIPs found on this host's interfaces. */
  vipsPresent: string[];
}

export interface Snapshot {
  /** Milliseconds since the epoch, on the source's clock. */
  takenAt: number;
  /**
   * When the traffic counters in this snapshot were read, if earlier than takenAt: the real
   * source re-reads them only as often as the kernel updates them (COUNTER_PERIOD_MS).
   */
  countersAt?: number;
  // A snapshot whose `services` array is the previous snapshot's own (the same object) is that
  // reading again, re-dated: the real source returns one when nothing changed, and the screen
  // then redraws only what shows the time.
  host: string;
  source: 'ipvs' | 'demo' | 'fixture';
  /** Who read the servers' counters: the netlink helper or ipvsadm (real source only). */
  countersFrom?: 'netlink' | 'ipvsadm';
  /** Why the netlink helper gave way to ipvsadm, when it did (its error). */
  countersHandover?: string;
  /** "1.2.1" from the "IP Virtual Server version" line. */
  ipvsVersion?: string | null;
  tableSize?: number | null;
  /** /proc/net/ip_vs_stats (all IPVS traffic), else the sum of the services; null when unknown. */
  totals: Counters | null;
  kernelTotalRates?: Rates | null;
  services: ServiceSnapshot[];
  director: DirectorState;
  /** net.ipv4.vs.expire_quiescent_template; draining a persistent service needs it on. */
  expireQuiescentTemplate?: boolean | null;
  /** Things the user should know about this reading (e.g. "ipvsadm needs root"). */
  warnings: string[];
}

export const ZERO_COUNTERS: Readonly<Counters> = Object.freeze({
  conns: 0,
  inPkts: 0,
  outPkts: 0,
  inBytes: 0,
  outBytes: 0,
});

export const COUNTER_FIELDS = ['conns', 'inPkts', 'outPkts', 'inBytes', 'outBytes'] as const;
export const RATE_FIELDS = ['cps', 'inPps', 'outPps', 'inBps', 'outBps'] as const;

export function addCounters(a: Counters, b: Counters): Counters {
  return {
    conns: a.conns + b.conns,
    inPkts: a.inPkts + b.inPkts,
    outPkts: a.outPkts + b.outPkts,
    inBytes: a.inBytes + b.inBytes,
    outBytes: a.outBytes + b.outBytes,
  };
}

export function addRates(a: Rates, b: Rates): Rates {
  return {
    cps: a.cps + b.cps,
    inPps: a.inPps + b.inPps,
    outPps: a.outPps + b.outPps,
    inBps: a.inBps + b.inBps,
    outBps: a.outBps + b.outBps,
  };
}

/** "192.168.91.146:80" or "[2001:db8::10]:80", as ipvsadm takes and prints them. */
export function hostPort(address: string, port: number, family: AddressFamily): string {
  return family === 'inet6' ? `[${address}]:${port}` : `${address}:${port}`;
}

export function serviceKey(s: {
  protocol: ServiceProtocol;
  family: AddressFamily;
  address: string;
  port: number;
  fwmark: number | null;
}): string {
  if (s.protocol === 'fwmark')
    return `${s.family === 'inet6' ? 'fwmark6' : 'fwmark'}:${s.fwmark ?? 0}`;
  return `${s.protocol}:${hostPort(s.address, s.port, s.family)}`;
}

export function destinationKey(
  service: string,
  d: { address: string; port: number; family: AddressFamily },
): string {
  return `${service}>${hostPort(d.address, d.port, d.family)}`;
}

/** "TCP 192.168.91.148:80", "FWM 10", "FWM 10 IPv6": how people read them in ipvsadm. */
export function serviceLabel(s: ServiceSnapshot): string {
  if (s.protocol === 'fwmark') return `FWM ${s.fwmark ?? 0}${s.family === 'inet6' ? ' IPv6' : ''}`;
  return `${s.protocol.toUpperCase()} ${hostPort(s.address, s.port, s.family)}`;
}

export function forwardName(f: ForwardMethod): string {
  return f === 'masq' ? 'Masq' : f === 'route' ? 'Route' : f === 'tunnel' ? 'Tunnel' : 'Local';
}

/** The mode names the seed notes use: NAT, DR, TUN. */
export function forwardMode(f: ForwardMethod): string {
  return f === 'masq' ? 'NAT' : f === 'route' ? 'DR' : f === 'tunnel' ? 'TUN' : 'local';
}

/**
 * DR and TUN replies go from the real server straight to the client, so the director counts no
 * outgoing packets for them: the screen explains the zeros instead of letting them look broken.
 */
export function hasBypassReplies(
  services: readonly { destinations: readonly { forward: ForwardMethod }[] }[],
): boolean {
  return services.some((s) =>
    s.destinations.some((d) => d.forward === 'route' || d.forward === 'tunnel'),
  );
}

/** Numeric, family-aware address order (IPv4 before IPv6), the way ipvsadm sorts its listing. */
export function compareAddresses(a: string, b: string): number {
  if (a === b) return 0;
  const ka = addressSortKey(a);
  const kb = addressSortKey(b);
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** Sort keys by address, each worked out once: a director's addresses repeat every reading. */
const sortKeys = new BoundedMemo<string>(50_000);

function addressSortKey(address: string): string {
  return sortKeys.get(address, computeSortKey);
}

function computeSortKey(address: string): string {
  if (!address.includes(':')) {
    return `4${address
      .split('.')
      .map((p) => p.padStart(3, '0'))
      .join('.')}`;
  }
  // Expand "::" so that groups compare numerically.
  const [head = '', tail = ''] = address.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = address.includes('::')
    ? [...h, ...Array(8 - h.length - t.length).fill('0'), ...t]
    : h;
  return `6${groups.map((g) => g.padStart(4, '0')).join(':')}`;
}

const PROTOCOL_ORDER: Record<ServiceProtocol, number> = { tcp: 0, udp: 1, sctp: 2, fwmark: 3 };

/** ipvsadm's order (libipvs ipvs_cmp_services): fwmark, family, protocol, address, port. */
export function compareServices(a: ServiceSnapshot, b: ServiceSnapshot): number {
  return (
    (a.fwmark ?? 0) - (b.fwmark ?? 0) ||
    (a.family === b.family ? 0 : a.family === 'inet' ? -1 : 1) ||
    PROTOCOL_ORDER[a.protocol] - PROTOCOL_ORDER[b.protocol] ||
    compareAddresses(a.address, b.address) ||
    a.port - b.port
  );
}

export function compareDestinations(a: DestinationSnapshot, b: DestinationSnapshot): number {
  return compareAddresses(a.address, b.address) || a.port - b.port;
}
