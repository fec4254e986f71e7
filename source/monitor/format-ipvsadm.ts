import ipaddr from 'ipaddr.js';
import {
  forwardName,
  hostPort,
  type Counters,
  type Rates,
  type ServiceSnapshot,
  type Snapshot,
} from './model.js';

/**
 * The inverse of parse.ts: print a snapshot the way ipvsadm 1.27–1.31 and the kernel print it
 * (same printf widths as ipvsadm.c print_title/print_service_entry/print_largenum and ip_vs_ctl.c
 * ip_vs_info_seq_show/ip_vs_stats_show). Used to build large tables for the benchmark and for
 * round-trip tests; recorded outputs in test/fixtures/ipvsadm/ are checked against it.
 */

export interface ListingOptions {
  /** Rounded K/M/G/T numbers, as without --exact. */
  exact?: boolean;
  version?: string;
  tableSize?: number;
  /** /proc/net/ip_vs prints the persistence timeout in jiffies: the kernel's HZ (default 250). */
  hz?: number;
}

const VERSION = '1.2.1';
/** Debian's and Ubuntu's kernels (EL's use 1000). */
export const DEFAULT_HZ = 250;
const SIZE = 4096;

/** print_largenum: exact digits right-aligned in 9 (or len+1), otherwise rounded with a suffix. */
export function largenum(i: number, exact: boolean): string {
  const n = Math.max(0, Math.floor(i));
  if (exact) {
    const s = String(n);
    return s.padStart(s.length <= 8 ? 9 : s.length + 1);
  }
  if (n < 1e8) return String(n).padStart(9);
  if (n < 1e9) return `${String(Math.floor(n / 1e3)).padStart(8)}K`;
  if (n < 1e11) return `${String(Math.floor(n / 1e6)).padStart(8)}M`;
  if (n < 1e14) return `${String(Math.floor(n / 1e9)).padStart(8)}G`;
  return `${String(Math.floor(n / 1e12)).padStart(8)}T`;
}

function versionLine(o: ListingOptions): string {
  return `IP Virtual Server version ${o.version ?? VERSION} (size=${o.tableSize ?? SIZE})\n`;
}

/** svc_name: "%-4s %s" (1.27: "%s  %s" with TCP/UDP, the same text), cut at 33 for IPv4. */
function svcName(s: ServiceSnapshot): string {
  if (s.protocol === 'fwmark') return `FWM  ${s.fwmark ?? 0}${s.family === 'inet6' ? ' IPv6' : ''}`;
  const name = `${s.protocol.toUpperCase().padEnd(4)} ${hostPort(s.address, s.port, s.family)}`;
  return s.family === 'inet6' ? name : name.slice(0, 33);
}

function destName(d: { address: string; port: number; family: 'inet' | 'inet6' }): string {
  const name = hostPort(d.address, d.port, d.family);
  return d.family === 'inet6' ? name : name.slice(0, 28);
}

function counterColumns(c: Counters | null | undefined, exact: boolean): string {
  const v = c ?? { conns: 0, inPkts: 0, outPkts: 0, inBytes: 0, outBytes: 0 };
  return [v.conns, v.inPkts, v.outPkts, v.inBytes, v.outBytes]
    .map((n) => largenum(n, exact))
    .join('');
}

function title(kind: 'stats' | 'rate'): string {
  const cols =
    kind === 'stats'
      ? ['Conns', 'InPkts', 'OutPkts', 'InBytes', 'OutBytes']
      : ['CPS', 'InPPS', 'OutPPS', 'InBPS', 'OutBPS'];
  return `${'Prot LocalAddress:Port'.padEnd(33)} ${cols.map((c) => c.padStart(8)).join(' ')}\n  -> RemoteAddress:Port\n`;
}

/** `ipvsadm -Ln`. */
export function formatIpvsadmList(
  snapshot: Pick<Snapshot, 'services'>,
  o: ListingOptions = {},
): string {
  let out = versionLine(o);
  out += 'Prot LocalAddress:Port Scheduler Flags\n';
  out += '  -> RemoteAddress:Port           Forward Weight ActiveConn InActConn\n';
  for (const s of snapshot.services) {
    out += `${svcName(s)} ${s.scheduler}`;
    const schedFlags = s.flags.filter((f) => f !== 'ops' && !f.startsWith('pe '));
    if (schedFlags.length > 0) out += ` (${schedFlags.join(',')})`;
    if (s.persistence !== null) {
      out += ` persistent ${s.persistence}`;
      if (s.persistenceMask) out += ` mask ${s.persistenceMask}`;
      const pe = s.flags.find((f) => f.startsWith('pe '));
      if (pe) out += ` ${pe}`;
    }
    if (s.flags.includes('ops')) out += ' ops';
    out += '\n';
    for (const d of s.destinations) {
      out += `  -> ${destName(d).padEnd(28)} ${forwardName(d.forward).padEnd(7)} ${String(d.weight).padEnd(6)} ${String(Math.round(d.activeConns)).padEnd(10)} ${String(Math.round(d.inactiveConns)).padEnd(10)}\n`;
    }
  }
  return out;
}

/** `ipvsadm -Ln --stats [--exact]`. */
export function formatIpvsadmStats(
  snapshot: Pick<Snapshot, 'services'>,
  o: ListingOptions = {},
): string {
  const exact = o.exact ?? true;
  let out = versionLine(o) + title('stats');
  for (const s of snapshot.services) {
    out += `${svcName(s).padEnd(33)}${counterColumns(s.counters, exact)}\n`;
    for (const d of s.destinations)
      out += `  -> ${destName(d).padEnd(28)}${counterColumns(d.counters, exact)}\n`;
  }
  return out;
}

const noRates: Rates = { cps: 0, inPps: 0, outPps: 0, inBps: 0, outBps: 0 };

/** `ipvsadm -Ln --rate [--exact]`, from each entry's kernelRates. */
export function formatIpvsadmRate(
  snapshot: Pick<Snapshot, 'services'>,
  o: ListingOptions = {},
): string {
  const exact = o.exact ?? true;
  let out = versionLine(o) + title('rate');
  const int = (n: number) => Math.max(0, Math.round(n));
  for (const s of snapshot.services) {
    const r = s.kernelRates ?? noRates;
    out += `${svcName(s).padEnd(33)}${[r.cps, r.inPps, r.outPps, r.inBps, r.outBps].map((n) => largenum(int(n), exact)).join('')}\n`;
    for (const d of s.destinations) {
      const dr = d.kernelRates ?? noRates;
      // The server's CPS and PPS are printed with %8llu (never rounded), the byte rates with print_largenum.
      out += `  -> ${destName(d).padEnd(28)} ${[dr.cps, dr.inPps, dr.outPps].map((n) => String(int(n)).padStart(8)).join(' ')}${largenum(int(dr.inBps), exact)}${largenum(int(dr.outBps), exact)}\n`;
    }
  }
  return out;
}

const hex = (n: number, width: number) =>
  Math.max(0, Math.floor(n)).toString(16).toUpperCase().padStart(width, '0');

function hexIpv4(address: string): string {
  return ipaddr.IPv4.parse(address)
    .octets.map((o) => o.toString(16).toUpperCase().padStart(2, '0'))
    .join('');
}

/** %pI6: eight zero-padded lowercase groups. */
function fullIpv6(address: string): string {
  return ipaddr.IPv6.parse(address)
    .parts.map((p) => p.toString(16).padStart(4, '0'))
    .join(':');
}

function procAddress(address: string, port: number, family: 'inet' | 'inet6'): string {
  return family === 'inet6'
    ? `[${fullIpv6(address)}]:${hex(port, 4)}`
    : `${hexIpv4(address)}:${hex(port, 4)}`;
}

/** /proc/net/ip_vs (ip_vs_info_seq_show). */
export function formatProcIpVs(
  snapshot: Pick<Snapshot, 'services'>,
  o: ListingOptions = {},
): string {
  let out = versionLine(o);
  out += 'Prot LocalAddress:Port Scheduler Flags\n';
  out += '  -> RemoteAddress:Port Forward Weight ActiveConn InActConn\n';
  for (const s of snapshot.services) {
    const ops = s.flags.includes('ops') ? 'ops ' : '';
    if (s.protocol === 'fwmark') out += `FWM  ${hex(s.fwmark ?? 0, 8)} ${s.scheduler} ${ops}`;
    else if (s.family === 'inet6')
      out += `${s.protocol.toUpperCase()}  ${procAddress(s.address, s.port, s.family)} ${s.scheduler} `;
    else
      out += `${s.protocol.toUpperCase()}  ${procAddress(s.address, s.port, s.family)} ${s.scheduler} ${ops} `;
    if (s.persistence !== null) {
      // The mask goes through ntohl(); an IPv6 service stores a prefix length there (128), which a
      // little-endian host prints as 80000000.
      const mask =
        s.family === 'inet6'
          ? '80000000'
          : s.persistenceMask
            ? hexIpv4(s.persistenceMask)
            : 'FFFFFFFF';
      out += `persistent ${s.persistence * (o.hz ?? DEFAULT_HZ)} ${mask}\n`;
    } else {
      out += '\n';
    }
    for (const d of s.destinations) {
      out += `  -> ${procAddress(d.address, d.port, d.family)}      ${forwardName(d.forward).padEnd(7)} ${String(d.weight).padEnd(6)} ${String(Math.round(d.activeConns)).padEnd(10)} ${String(Math.round(d.inactiveConns)).padEnd(10)}\n`;
    }
  }
  return out;
}

/** /proc/net/ip_vs_stats (ip_vs_stats_show): everything in hex. */
export function formatProcIpVsStats(totals: Counters, rates: Rates): string {
  const int = (n: number) => Math.max(0, Math.round(n));
  return (
    '   Total Incoming Outgoing         Incoming         Outgoing\n' +
    '   Conns  Packets  Packets            Bytes            Bytes\n' +
    `${hex(totals.conns, 0).padStart(8)} ${hex(totals.inPkts, 0).padStart(8)} ${hex(totals.outPkts, 0).padStart(8)} ${hex(totals.inBytes, 0).padStart(16)} ${hex(totals.outBytes, 0).padStart(16)}\n\n` +
    ' Conns/s   Pkts/s   Pkts/s          Bytes/s          Bytes/s\n' +
    `${hex(int(rates.cps), 0).padStart(8)} ${hex(int(rates.inPps), 0).padStart(8)} ${hex(int(rates.outPps), 0).padStart(8)} ${hex(int(rates.inBps), 0).padStart(16)} ${hex(int(rates.outBps), 0).padStart(16)}\n`
  );
}
