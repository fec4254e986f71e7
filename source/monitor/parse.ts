import ipaddr from 'ipaddr.js';
import type { AddressFamily, Counters, ForwardMethod, Rates, ServiceProtocol } from './model.js';
import { BoundedMemo } from './memo.js';

/**
 * Pure parsers for what a director prints about IPVS. Formats come from the sources that print
 * them: the kernel's ip_vs_ctl.c (/proc/net/ip_vs, /proc/net/ip_vs_stats) and ipvsadm.c
 * (print_title, print_service_entry, print_largenum), versions 1.27 (EL7) to 1.31 (Debian 12, EL9).
 * Recorded outputs live in test/fixtures/ipvsadm/. Columns are split on whitespace rather than
 * cut at fixed offsets, because IPv6 names overflow ipvsadm's %-33s/%-28s columns.
 */

/**
 * Module-level, not an arrow written where it is used: one made per line would lose its
 * optimized code at every full GC and be compiled again (see rates.ts, shares).
 */
const notInteger = (n: number) => !Number.isInteger(n);

export interface ParsedDestination {
  address: string;
  port: number;
  family: AddressFamily;
  forward?: ForwardMethod;
  weight?: number;
  activeConns?: number;
  inactiveConns?: number;
  counters?: Counters;
  rates?: Rates;
}

export interface ParsedService {
  protocol: ServiceProtocol;
  family: AddressFamily;
  address: string;
  port: number;
  fwmark: number | null;
  scheduler?: string;
  persistence?: number | null;
  /** /proc/net/ip_vs only: the timeout as the kernel prints it there, in jiffies (seconds × HZ). */
  persistenceJiffies?: number;
  persistenceMask?: string | null;
  flags?: string[];
  counters?: Counters;
  rates?: Rates;
  destinations: ParsedDestination[];
}

export type ListingKind = 'list' | 'stats' | 'rate' | 'proc';

export interface ParsedTable {
  kind: ListingKind;
  /** "1.2.1" from "IP Virtual Server version 1.2.1 (size=4096)". */
  version: string | null;
  /** The connection hash table size. */
  tableSize: number | null;
  services: ParsedService[];
  /** True when a number was printed rounded (K/M/G/T: ipvsadm without --exact). */
  approximate: boolean;
  /** Lines that matched nothing known; empty for well-formed input. */
  unparsed: string[];
}

export interface ParsedIpvsStats {
  totals: Counters;
  rates: Rates;
}

const FORWARD_NAMES: Record<string, ForwardMethod> = {
  Masq: 'masq',
  Route: 'route',
  Tunnel: 'tunnel',
  Local: 'local',
};

const PROTOCOL_NAMES: Record<string, ServiceProtocol> = { TCP: 'tcp', UDP: 'udp', SCTP: 'sctp' };

const VERSION_LINE = /^IP Virtual Server version (\d+\.\d+\.\d+) \(size=(\d+)\)/;

/** RFC 5952 text (what glibc's inet_ntop prints), so "/proc" and ipvsadm keys agree. */
export function canonicalIpv6(text: string): string {
  return ipaddr.IPv6.parse(text).toRFC5952String();
}

/** "C0A85B94" (ntohl'd, as /proc/net/ip_vs prints it) -> "192.168.91.148". */
export function hexToIpv4(hex: string): string {
  const n = Number.parseInt(hex, 16);
  if (!/^[0-9A-Fa-f]{1,8}$/.test(hex) || Number.isNaN(n))
    throw new Error(`not a hex IPv4 address: ${hex}`);
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const DOTTED_QUAD = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/**
 * "A.B.C.D" with each part 0-255 in plain decimal: what ipaddr.js's isValidFourPartDecimal
 * accepts (a test checks the two agree), as ipvsadm prints addresses. Checked here because the
 * first reading meets each of a thousand servers' addresses once in cold code, where ipaddr's
 * general parser makes an object, closures and two pattern matches a call (in a TCG guest the
 * whole host:port step, hex addresses and memo included, took ~0.56 s of the first reading).
 */
export function isDottedQuad(host: string): boolean {
  const m = DOTTED_QUAD.exec(host);
  return (
    m !== null &&
    Number(m[1]) <= 255 &&
    Number(m[2]) <= 255 &&
    Number(m[3]) <= 255 &&
    Number(m[4]) <= 255
  );
}

/**
 * Split "host:port" as ipvsadm prints it ("10.0.0.1:80", "[2001:db8::1]:80") or as the kernel
 * does ("0A000001:0050", "[2001:0db8:…:0001]:0050" with a hex port).
 */
export function splitHostPort(
  text: string,
  hex: boolean,
): { address: string; port: number; family: AddressFamily } | null {
  let host: string;
  let portText: string;
  let family: AddressFamily;
  if (text.startsWith('[')) {
    const end = text.indexOf(']:');
    if (end < 0) return null;
    host = text.slice(1, end);
    portText = text.slice(end + 2);
    family = 'inet6';
  } else {
    const colon = text.lastIndexOf(':');
    if (colon < 0) return null;
    host = text.slice(0, colon);
    portText = text.slice(colon + 1);
    family = 'inet';
  }
  const port = hex ? Number.parseInt(portText, 16) : Number(portText);
  if (!/^[0-9A-Fa-f]+$/.test(portText) || !Number.isInteger(port) || port < 0 || port > 65535)
    return null;
  try {
    if (family === 'inet6') return { address: canonicalIpv6(host), port, family };
    if (hex) return { address: hexToIpv4(host), port, family };
    if (!isDottedQuad(host)) return null;
    return { address: host, port, family };
  } catch {
    return null;
  }
}

type HostPort = { address: string; port: number; family: AddressFamily };

/**
 * splitHostPort, remembered (a director prints the same names every second). The results are
 * shared, so callers copy their fields rather than change them.
 */
const hexHostPorts = new BoundedMemo<Readonly<HostPort> | null>(50_000);
const textHostPorts = new BoundedMemo<Readonly<HostPort> | null>(50_000);

// Module-level, not arrows made in hostPortOf: a callback made on every call loses its
// optimized code at full GCs and is compiled again (see rates.ts's shares()).
const splitHex = (t: string) => splitHostPort(t, true);
const splitText = (t: string) => splitHostPort(t, false);

function hostPortOf(text: string, hex: boolean): Readonly<HostPort> | null {
  return hex ? hexHostPorts.get(text, splitHex) : textHostPorts.get(text, splitText);
}

/** Only the digits 0-9 (and at least one): print_largenum's exact form. */
function isDigits(word: string): boolean {
  if (word.length === 0) return false;
  for (let i = 0; i < word.length; i++) {
    const c = word.charCodeAt(i);
    if (c < 48 || c > 57) return false;
  }
  return true;
}

/**
 * One number as print_largenum prints it: exact digits, or rounded with a K/M/G/T suffix (powers
 * of 1000) when --exact is not given.
 */
export function parseIpvsNumber(word: string): { value: number; approximate: boolean } | null {
  if (isDigits(word)) return { value: Number(word), approximate: false };
  const m = /^(\d+)([KMGT]?)$/.exec(word);
  if (!m) return null;
  const scale = { '': 1, K: 1e3, M: 1e6, G: 1e9, T: 1e12 }[m[2] ?? ''] ?? 1;
  return { value: Number(m[1]) * scale, approximate: scale !== 1 };
}

/**
 * What each line of the previous text was parsed into, for a parser that reads the same listing
 * again and again (the monitor, every second): a line equal to the line at the same place last
 * time gives the same result, shared, instead of being parsed again. A table of a thousand
 * servers changes a few lines a second; those alone are parsed. The results are read-only.
 */
export class LineReuse<T> {
  private prevLines: readonly string[] = [];
  private prevValues: (T | undefined)[] = [];
  private lines: readonly string[] = [];
  private values: (T | undefined)[] = [];

  /** Starts a new text: its lines are compared with the last text's. */
  begin(lines: readonly string[]): void {
    this.prevLines = this.lines;
    this.prevValues = this.values;
    this.lines = lines;
    this.values = new Array<T | undefined>(lines.length);
  }

  /** The result of line `i` when the last text had the same line there; kept for the next text. */
  reused(i: number): T | undefined {
    if (this.prevLines[i] !== this.lines[i]) return undefined;
    const v = this.prevValues[i];
    this.values[i] = v;
    return v;
  }

  /** What line `i` of this text was parsed into, for the next text. */
  keep(i: number, value: T): void {
    this.values[i] = value;
  }
}

function emptyTable(kind: ListingKind): ParsedTable {
  return { kind, version: null, tableSize: null, services: [], approximate: false, unparsed: [] };
}

/**
 * The whitespace-separated words of a line (as line.trim().split(/\s+/)), split by hand: the
 * listings are ASCII, and this runs for every line of every reading. Other text takes the regex.
 */
function words(line: string): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c === 32 || (c >= 9 && c <= 13)) {
      if (start >= 0) {
        out.push(line.slice(start, i));
        start = -1;
      }
    } else if (c > 127) {
      return line.trim().split(/\s+/).filter(Boolean);
    } else if (start < 0) {
      start = i;
    }
  }
  if (start >= 0) out.push(line.slice(start));
  return out;
}

/** The five numbers of a stats or rate line, and whether any was rounded (K/M: no --exact). */
function readNumbers(
  tokens: readonly string[],
): { values: [number, number, number, number, number]; approximate: boolean } | null {
  if (tokens.length !== 5) return null;
  const values: [number, number, number, number, number] = [0, 0, 0, 0, 0];
  let approximate = false;
  for (let i = 0; i < 5; i++) {
    const n = parseIpvsNumber(tokens[i] ?? '');
    if (!n) return null;
    if (n.approximate) approximate = true;
    values[i] = n.value;
  }
  return { values, approximate };
}

const toCounters = (v: readonly number[]): Counters => ({
  conns: v[0] ?? 0,
  inPkts: v[1] ?? 0,
  outPkts: v[2] ?? 0,
  inBytes: v[3] ?? 0,
  outBytes: v[4] ?? 0,
});

const toRates = (v: readonly number[]): Rates => ({
  cps: v[0] ?? 0,
  inPps: v[1] ?? 0,
  outPps: v[2] ?? 0,
  inBps: v[3] ?? 0,
  outBps: v[4] ?? 0,
});

/** The flags after the scheduler: "(sh-fallback,sh-port)", "persistent 120 mask 255.255.255.0", "pe sip", "ops". */
function applyServiceFlags(service: ParsedService, rest: readonly string[]): boolean {
  const flags: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const w = rest[i] ?? '';
    if (w === 'persistent') {
      const seconds = Number(rest[++i]);
      if (!Number.isInteger(seconds)) return false;
      service.persistence = seconds;
    } else if (w === 'mask') {
      service.persistenceMask = rest[++i] ?? null;
    } else if (w === 'pe') {
      flags.push(`pe ${rest[++i] ?? ''}`);
    } else if (w === 'ops') {
      flags.push('ops');
    } else if (/^\(.*\)$/.test(w)) {
      flags.push(...w.slice(1, -1).split(',').filter(Boolean));
    } else {
      return false;
    }
  }
  service.flags = flags;
  return true;
}

/** The service name part of an ipvsadm line: "TCP  10.0.0.1:80", "FWM  10", "FWM  10 IPv6". */
function readServiceName(
  tokens: readonly string[],
): { service: ParsedService; rest: string[] } | null {
  const [first, second] = tokens;
  if (first === 'FWM') {
    const mark = Number(second);
    if (!Number.isInteger(mark)) return null;
    const v6 = tokens[2] === 'IPv6';
    return {
      service: {
        protocol: 'fwmark',
        family: v6 ? 'inet6' : 'inet',
        address: '',
        port: 0,
        fwmark: mark,
        destinations: [],
      },
      rest: tokens.slice(v6 ? 3 : 2),
    };
  }
  const protocol = first ? PROTOCOL_NAMES[first] : undefined;
  if (!protocol || !second) return null;
  const hp = hostPortOf(second, false);
  if (!hp) return null;
  return {
    service: {
      protocol,
      family: hp.family,
      address: hp.address,
      port: hp.port,
      fwmark: null,
      destinations: [],
    },
    rest: tokens.slice(2),
  };
}

/** A destination line as parsed: the destination and whether its numbers were rounded (K/M). */
interface ListedDestination {
  kind: ListingKind | null;
  dest: ParsedDestination;
  approximate: boolean;
}

/**
 * `ipvsadm -Ln`, `ipvsadm -Ln --stats [--exact]` or `ipvsadm -Ln --rate [--exact]`; the kind comes
 * from the title line. (With both --stats and --rate, ipvsadm prints only the stats.)
 */
export function parseIpvsadmListing(
  text: string,
  reuse?: LineReuse<ListedDestination>,
): ParsedTable {
  let kind: ListingKind | null = null;
  const table = emptyTable('list');
  let current: ParsedService | null = null;
  const lines = text.split('\n');
  reuse?.begin(lines);
  for (let li = 0; li < lines.length; li++) {
    const raw = lines[li] as string;
    const seen = current ? reuse?.reused(li) : undefined;
    if (current && seen && seen.kind === kind) {
      if (seen.approximate) table.approximate = true;
      current.destinations.push(seen.dest);
      continue;
    }
    // Words first: a line of only blanks has none. (The checks below look at the start of the
    // line or at whole words, so trailing blanks need no trimming.)
    const tokens = words(raw);
    if (tokens.length === 0) continue;
    const version = raw.startsWith('IP Virtual Server') ? VERSION_LINE.exec(raw) : null;
    if (version) {
      table.version = version[1] ?? null;
      table.tableSize = Number(version[2]);
      continue;
    }
    if (raw.startsWith('Prot LocalAddress:Port')) {
      kind = /\bConns\b/.test(raw) ? 'stats' : /\bCPS\b/.test(raw) ? 'rate' : 'list';
      table.kind = kind;
      continue;
    }
    if (tokens[0] === '->') {
      if (tokens[1] === 'RemoteAddress:Port') continue; // second title line
      const hp = tokens[1] ? hostPortOf(tokens[1], false) : null;
      if (!hp || !current) {
        table.unparsed.push(raw);
        continue;
      }
      const dest: ParsedDestination = { address: hp.address, port: hp.port, family: hp.family };
      const rest = tokens.slice(2);
      let approximate = false;
      if (kind === 'stats' || kind === 'rate') {
        const read = readNumbers(rest);
        if (!read) {
          table.unparsed.push(raw);
          continue;
        }
        approximate = read.approximate;
        if (approximate) table.approximate = true;
        if (kind === 'stats') dest.counters = toCounters(read.values);
        else dest.rates = toRates(read.values);
      } else {
        // Forward Weight ActiveConn InActConn; 1.31 with --tun-info adds a TunnelInfo column.
        const forward = rest[0] ? FORWARD_NAMES[rest[0]] : undefined;
        const nums = rest.slice(rest.length === 5 ? 2 : 1).map(Number);
        if (!forward || nums.length !== 3 || nums.some(notInteger)) {
          table.unparsed.push(raw);
          continue;
        }
        dest.forward = forward;
        [dest.weight, dest.activeConns, dest.inactiveConns] = nums as [number, number, number];
      }
      current.destinations.push(dest);
      reuse?.keep(li, { kind, dest, approximate });
      continue;
    }
    const named = readServiceName(tokens);
    if (!named) {
      table.unparsed.push(raw);
      current = null;
      continue;
    }
    const { service, rest } = named;
    if (kind === 'stats' || kind === 'rate') {
      const read = readNumbers(rest);
      if (!read) {
        table.unparsed.push(raw);
        current = null;
        continue;
      }
      if (read.approximate) table.approximate = true;
      if (kind === 'stats') service.counters = toCounters(read.values);
      else service.rates = toRates(read.values);
    } else {
      const [scheduler, ...flags] = rest;
      if (!scheduler) {
        table.unparsed.push(raw);
        current = null;
        continue;
      }
      service.scheduler = scheduler;
      service.persistence = null;
      if (!applyServiceFlags(service, flags)) {
        table.unparsed.push(raw);
        current = null;
        continue;
      }
    }
    table.services.push(service);
    current = service;
  }
  return table;
}

export function parseIpvsadmList(text: string): ParsedTable {
  return expectKind(parseIpvsadmListing(text), 'list');
}

export function parseIpvsadmStats(text: string, reuse?: LineReuse<ListedDestination>): ParsedTable {
  return expectKind(parseIpvsadmListing(text, reuse), 'stats');
}

/** A LineReuse for parseIpvsadmStats (or parseIpvsadmListing) to keep across readings. */
export function listingReuse(): LineReuse<ListedDestination> {
  return new LineReuse<ListedDestination>();
}

export function parseIpvsadmRate(text: string): ParsedTable {
  return expectKind(parseIpvsadmListing(text), 'rate');
}

function expectKind(table: ParsedTable, kind: ListingKind): ParsedTable {
  // An empty table has no title when ipvsadm fails early; only a different title is an error.
  if (table.kind !== kind && (table.services.length > 0 || table.unparsed.length > 0)) {
    throw new Error(`expected ipvsadm ${kind} output, got ${table.kind}`);
  }
  return { ...table, kind };
}

function ipv4Mask(hex: string): string | null {
  if (!/^[0-9A-Fa-f]{8}$/.test(hex) || hex.toUpperCase() === 'FFFFFFFF') return null;
  return hexToIpv4(hex);
}

/**
 * /proc/net/ip_vs: readable without root and without ipvsadm, but addresses and ports are hex,
 * IPv6 is printed in full (%pI6), and FWM lines do not say the address family (taken from the
 * servers). There are no traffic counters here. The persistence timeout is in jiffies (found in
 * a capture from the lab: `persistent 30000` for ipvsadm's 120 on a kernel with HZ=250), so it is
 * turned into seconds only with the kernel's HZ; without it persistence stays null and
 * persistenceJiffies says the service is persistent (see withKernelHz).
 */
export function parseProcIpVs(
  text: string,
  hz?: number | null,
  reuse?: LineReuse<ParsedDestination>,
): ParsedTable {
  const table = emptyTable('proc');
  let current: ParsedService | null = null;
  const lines = text.split('\n');
  reuse?.begin(lines);
  for (let li = 0; li < lines.length; li++) {
    const raw = lines[li] as string;
    const seen = current ? reuse?.reused(li) : undefined;
    if (current && seen) {
      current.destinations.push(seen);
      if (current.protocol === 'fwmark' && seen.family === 'inet6') current.family = 'inet6';
      continue;
    }
    const tokens = words(raw);
    if (tokens.length === 0) continue;
    const version = raw.startsWith('IP Virtual Server') ? VERSION_LINE.exec(raw) : null;
    if (version) {
      table.version = version[1] ?? null;
      table.tableSize = Number(version[2]);
      continue;
    }
    if (raw.startsWith('Prot LocalAddress:Port')) continue;
    if (tokens[0] === '->') {
      if (tokens[1] === 'RemoteAddress:Port') continue;
      const hp = tokens[1] ? hostPortOf(tokens[1], true) : null;
      const forward = tokens[2] ? FORWARD_NAMES[tokens[2]] : undefined;
      // Three numbers read where they are, not through an array: tokens.slice(3).map(Number)
      // made two arrays per server per reading, and V8 traced a deopt (wrong map, the map
      // itself not identified) of this function at their check, then compiled it again.
      const weight = Number(tokens[3]);
      const activeConns = Number(tokens[4]);
      const inactiveConns = Number(tokens[5]);
      if (
        !hp ||
        !current ||
        !forward ||
        tokens.length !== 6 ||
        notInteger(weight) ||
        notInteger(activeConns) ||
        notInteger(inactiveConns)
      ) {
        table.unparsed.push(raw);
        continue;
      }
      // Field by field: { ...hp, forward, … } takes V8's slow path, for every server of every reading.
      const dest: ParsedDestination = {
        address: hp.address,
        port: hp.port,
        family: hp.family,
        forward,
        weight,
        activeConns,
        inactiveConns,
      };
      current.destinations.push(dest);
      reuse?.keep(li, dest);
      if (current.protocol === 'fwmark' && hp.family === 'inet6') current.family = 'inet6';
      continue;
    }
    let service: ParsedService;
    let rest: string[];
    if (tokens[0] === 'FWM') {
      const mark = Number.parseInt(tokens[1] ?? '', 16);
      if (!/^[0-9A-Fa-f]+$/.test(tokens[1] ?? '')) {
        table.unparsed.push(raw);
        current = null;
        continue;
      }
      service = {
        protocol: 'fwmark',
        family: 'inet',
        address: '',
        port: 0,
        fwmark: mark,
        destinations: [],
      };
      rest = tokens.slice(2);
    } else {
      const protocol = tokens[0] ? PROTOCOL_NAMES[tokens[0]] : undefined;
      const hp = tokens[1] ? hostPortOf(tokens[1], true) : null;
      if (!protocol || !hp) {
        table.unparsed.push(raw);
        current = null;
        continue;
      }
      service = {
        protocol,
        address: hp.address,
        port: hp.port,
        family: hp.family,
        fwmark: null,
        destinations: [],
      };
      rest = tokens.slice(2);
    }
    const [scheduler, ...flagWords] = rest;
    if (!scheduler) {
      table.unparsed.push(raw);
      current = null;
      continue;
    }
    service.scheduler = scheduler;
    service.persistence = null;
    service.flags = [];
    for (let i = 0; i < flagWords.length; i++) {
      const w = flagWords[i];
      if (w === 'ops') service.flags.push('ops');
      else if (w === 'persistent') {
        const jiffies = Number(flagWords[++i]);
        if (hz) service.persistence = Math.round(jiffies / hz);
        else service.persistenceJiffies = jiffies;
        const mask = flagWords[++i] ?? '';
        // For IPv6 the kernel prints a prefix length through ntohl(); only IPv4 masks mean anything.
        const ipv4 = service.family === 'inet' ? ipv4Mask(mask) : null;
        if (ipv4) service.persistenceMask = ipv4;
      }
    }
    table.services.push(service);
    current = service;
  }
  return table;
}

/** The persistence of a table parsed from /proc without HZ, in seconds once HZ is known. */
export function withKernelHz(table: ParsedTable, hz: number): ParsedTable {
  for (const s of table.services) {
    if (s.persistenceJiffies === undefined) continue;
    s.persistence = Math.round(s.persistenceJiffies / hz);
    delete s.persistenceJiffies;
  }
  return table;
}

/** CONFIG_HZ from a kernel config file (/boot/config-<release>), or null. */
export function parseKernelHz(config: string): number | null {
  const m = /^CONFIG_HZ=(\d+)$/m.exec(config);
  const hz = m ? Number(m[1]) : NaN;
  return Number.isInteger(hz) && hz > 0 ? hz : null;
}

/**
 * /proc/net/ip_vs_stats: two header lines, a line of five hex totals, a blank line, a rate header
 * and a line of five hex rates (the kernel's estimator). Null when the text has neither.
 */
export function parseProcIpVsStats(text: string): ParsedIpvsStats | null {
  const rows = text
    .split('\n')
    .map(words)
    .filter((w) => w.length === 5 && w.every((x) => /^[0-9A-Fa-f]+$/.test(x)))
    .map((w) => w.map((x) => Number.parseInt(x, 16)));
  const [totals, rates] = rows;
  if (!totals || !rates) return null;
  return { totals: toCounters(totals), rates: toRates(rates) };
}

/**
 * This host's IPv4 addresses from /proc/net/fib_trie: each `|-- A.B.C.D` leaf followed by a
 * `/32 host LOCAL` route is an address of the host (the kernel adds that route for every address
 * it owns, in the local table). Other leaves (networks, broadcasts, 127.0.0.0/8) are skipped.
 */
export function parseFibTrieLocal(text: string): string[] {
  const out = new Set<string>();
  let leaf: string | null = null;
  for (const line of text.split('\n')) {
    const l = /^\s*\|-- (\d+\.\d+\.\d+\.\d+)\s*$/.exec(line);
    if (l) {
      leaf = l[1] ?? null;
      continue;
    }
    if (leaf && /^\s*\/32 host LOCAL\s*$/.test(line)) out.add(leaf);
    else if (/^\s*[+|]--|^\S/.test(line)) leaf = null;
  }
  return [...out];
}

/**
 * This host's IPv6 addresses from /proc/net/if_inet6 (one per line: 32 hex digits, ifindex,
 * prefix length, scope, flags, name), in the canonical text form. Addresses whose duplicate
 * address detection failed (flag 0x08) are not the host's.
 */
export function parseIfInet6(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    const hex = f[0];
    if (!hex || !/^[0-9a-fA-F]{32}$/.test(hex) || f.length < 6) continue;
    if ((Number.parseInt(f[4] ?? '0', 16) & 0x08) !== 0) continue;
    out.push(canonicalIpv6(hex.replace(/(.{4})(?!$)/g, '$1:')));
  }
  return out;
}
