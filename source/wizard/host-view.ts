import ipaddr from 'ipaddr.js';
import { inSubnet, isIPv4, networkOf } from '../config/net.js';
import type { HostFacts, Nic, NicAddress } from '../facts/types.js';

/**
 * What the wizard reads from the facts: the NICs worth offering, their IPv4 addresses, the one
 * with the default route, a proposed VIP, and plain warnings. Pure functions of the facts.
 */

/** The oldest Node the bundle supports (package.json engines). */
export const MIN_NODE_MAJOR = 20;

/** NICs a lab can use: not loopback, not a tunnel device the recipes manage themselves. */
export function usableNics(facts: HostFacts): Nic[] {
  return facts.nics.filter(
    (n) =>
      n.name !== 'lo' &&
      n.linkType !== 'loopback' &&
      n.linkType !== 'ipip' &&
      !/^(tunl|sit|ip6tnl|gre|gretap|erspan)\d*$/.test(n.name),
  );
}

/** The NIC's own IPv4 address: not a secondary and not a legacy alias such as a VIP on ens33:0. */
export function primaryIPv4(nic: Nic): NicAddress | null {
  const v4 = nic.addresses.filter((a) => a.family === 'inet');
  return v4.find((a) => !a.secondary && !a.label) ?? v4.find((a) => !a.secondary) ?? v4[0] ?? null;
}

export function cidrOf(a: NicAddress): string {
  return `${a.address}/${a.prefix}`;
}

/** The NIC with the default route, else the first with an IPv4 address, else the first usable. */
export function defaultNic(facts: HostFacts): Nic | null {
  const nics = usableNics(facts);
  return (
    nics.find((n) => n.name === facts.routes.defaultDev) ??
    nics.find((n) => primaryIPv4(n) !== null) ??
    nics[0] ??
    null
  );
}

/** Every IPv4 address this host knows to be taken (its own, its gateway, host routes). */
function knownAddresses(facts: HostFacts): Set<string> {
  const out = new Set<string>();
  for (const n of facts.nics) for (const a of n.addresses) out.add(a.address);
  if (facts.routes.defaultGateway) out.add(facts.routes.defaultGateway);
  for (const r of facts.routes.routes) {
    if (r.gateway) out.add(r.gateway);
    const dst = r.dst.split('/')[0];
    if (dst && isIPv4(dst)) out.add(dst);
  }
  return out;
}

function toNumber(address: string): number {
  return ipaddr.IPv4.parse(address).octets.reduce((n, o) => n * 256 + o, 0);
}

function fromNumber(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/**
 * A free-looking address in the subnet of `address/prefix`: seven above the host's own address (the
 * seed's director is .141 and its DR VIP .148), stepping on past anything known to be in use and
 * wrapping inside the subnet. Only a guess: nothing here can see the other machines on the link.
 */
export function freeAddressNear(
  address: string,
  prefix: number,
  taken: ReadonlySet<string>,
): string | null {
  if (prefix >= 31) return null;
  const net = toNumber(networkOf(address, prefix).split('/')[0] ?? address);
  const size = 2 ** (32 - prefix);
  const first = net + 1;
  const last = net + size - 2;
  const hosts = last - first + 1;
  const own = toNumber(address);
  for (let i = 0; i < hosts; i++) {
    const candidate = first + ((own - first + 7 + i) % hosts);
    const text = fromNumber(candidate);
    if (!taken.has(text) && text !== address) return text;
  }
  return null;
}

/**
 * The VIP to propose: NAT uses the director's own public address (as the seed does); DR and TUN a free
 * address in the subnet of the NIC with the default route. Empty when the host has no address yet.
 */
export function proposeVip(facts: HostFacts, mode: string): string {
  const nic = defaultNic(facts);
  const a = nic ? primaryIPv4(nic) : null;
  if (!a) return '';
  if (mode === 'nat') return a.address;
  return freeAddressNear(a.address, a.prefix, knownAddresses(facts)) ?? '';
}

/** The address after `address` in the same /24-or-given subnet ("web2 after web1"), if any. */
export function nextAddress(address: string): string {
  if (!isIPv4(address)) return '';
  const n = toNumber(address) + 1;
  const next = fromNumber(n);
  return inSubnet(next, address, 24) && !next.endsWith('.255') ? next : '';
}

export interface NicRow {
  name: string;
  state: string;
  addresses: string;
  mac: string;
  defaultRoute: boolean;
}

export function nicRows(facts: HostFacts): NicRow[] {
  return usableNics(facts).map((n) => ({
    name: n.name,
    state: n.state,
    addresses:
      n.addresses
        .filter((a) => a.family === 'inet')
        .map((a) => `${cidrOf(a)}${a.label ? ` (${a.label})` : ''}`)
        .join(', ') || '-',
    mac: n.mac ?? '-',
    defaultRoute: facts.routes.defaultDev === n.name,
  }));
}

export interface HostSummary {
  distro: string;
  packageManager: string;
  ipvs: string;
  keepalived: string;
  ipvsadm: string;
  node: string;
}

export function hostSummary(facts: HostFacts): HostSummary {
  return {
    distro: `${facts.os.prettyName}${facts.os.distro ? '' : ' (not a distro lvs-setup knows)'}`,
    packageManager: facts.packageManager,
    ipvs: facts.ipvs.loaded
      ? 'loaded'
      : facts.ipvs.available
        ? 'available (module not loaded yet)'
        : 'not available in this kernel',
    keepalived: facts.versions.keepalived ?? 'not installed',
    ipvsadm: facts.versions.ipvsadm ?? 'not installed',
    node: facts.versions.node,
  };
}

export interface DetectWarning {
  level: 'warn' | 'error';
  text: string;
}

/** Plain warnings for the Detect screen: what is off, and what it means for this run. */
export function detectWarnings(
  facts: HostFacts,
  options: { uid: number; dryRunFlag: boolean; nodeVersion?: string },
): DetectWarning[] {
  const out: DetectWarning[] = [];
  if (options.uid !== 0) {
    out.push({
      level: 'warn',
      text: 'Not root: only a dry run is possible. You can answer every question, see the plan and save the lab file and a shell script; run with sudo to apply.',
    });
  } else if (options.dryRunFlag) {
    out.push({ level: 'warn', text: 'Dry run (--dry-run): nothing on this host will change.' });
  }
  if (!facts.ipvs.available) {
    out.push({
      level: 'error',
      text: 'This kernel has no IPVS (ip_vs): a director cannot work here. Real servers and NFS servers can; for a director use a VM with a stock distro kernel.',
    });
  }
  const node = options.nodeVersion ?? facts.versions.node;
  const major = Number(node.replace(/^v/, '').split('.')[0]);
  if (Number.isFinite(major) && major < MIN_NODE_MAJOR) {
    out.push({
      level: 'error',
      text: `Node ${node} is too old (lvs-setup needs ${MIN_NODE_MAJOR}+). Install Node ${MIN_NODE_MAJOR}, or make a shell script elsewhere: lvs-setup plan --target … --format sh.`,
    });
  }
  if (facts.os.distro === null) {
    out.push({
      level: 'warn',
      text: `${facts.os.prettyName} is not a distro lvs-setup knows (CentOS 7, Rocky/Alma 8-9, Debian 12, Ubuntu 22.04/24.04); the plan may not fit it.`,
    });
  }
  if (usableNics(facts).length === 0) {
    out.push({ level: 'error', text: 'No network interface besides lo: nothing to configure.' });
  }
  return out;
}

/** A lab-file name from the hostname, or '' when the hostname is not usable as one. */
export function hostNameFromFacts(facts: HostFacts): string {
  const h = facts.hostname.split('.')[0] ?? '';
  if (!/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/.test(h)) return '';
  if (/^(localhost|localhost\.localdomain)$/i.test(h)) return '';
  return h;
}
