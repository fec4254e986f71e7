/**
 * Facts: what a host is, read once and never mutated. Recipes decide against these; `detect --json`
 * prints them; `plan --facts FILE` reads them back; `--target DISTRO` synthesises them for a fresh VM.
 */

export type DistroKey = 'centos7' | 'rocky8' | 'rocky9' | 'debian12' | 'ubuntu22' | 'ubuntu24';
export const DISTRO_KEYS: readonly DistroKey[] = [
  'centos7',
  'rocky8',
  'rocky9',
  'debian12',
  'ubuntu22',
  'ubuntu24',
];

export type OsFamily = 'el' | 'debian' | 'unknown';
export type PackageManager = 'yum' | 'dnf' | 'apt' | 'none';
/**
 * How the host keeps its network configuration: ifcfg files (CentOS 7), NetworkManager (EL 8/9),
 * ifupdown's /etc/network/interfaces (Debian), netplan (Ubuntu), systemd-networkd (a systemd host
 * with none of those), or none (no known mechanism: runtime only).
 */
export type NetworkConfigStyle =
  'ifcfg' | 'networkmanager' | 'ifupdown' | 'netplan' | 'networkd' | 'none';

export interface OsFacts {
  id: string; // os-release ID: centos, rocky, almalinux, debian, ubuntu …
  versionId: string; // os-release VERSION_ID: "7", "9.3", "12", "24.04"
  family: OsFamily;
  prettyName: string;
  /** The closest distro the recipes know, or null when unknown. */
  distro: DistroKey | null;
  /** Major version as a number (7, 8, 9, 12, 22, 24); 0 when unknown. */
  major: number;
}

export interface NicAddress {
  address: string;
  prefix: number;
  family: 'inet' | 'inet6';
  /** Legacy alias label (ens33:0) when present. */
  label?: string;
  secondary?: boolean;
}

export interface Nic {
  name: string;
  state: string; // UP, DOWN, UNKNOWN
  mac: string | null;
  addresses: NicAddress[];
  /** Link type from `ip -j addr` (ether, loopback, ipip, none …). */
  linkType?: string;
}

export interface RouteFacts {
  defaultGateway: string | null;
  defaultDev: string | null;
  /** Host routes (dst/32) and others, as `ip route` prints them, for checks. */
  routes: Array<{ dst: string; gateway?: string; dev?: string }>;
}

export interface ServiceState {
  active: boolean;
  enabled: boolean;
  /** The unit exists on this host. */
  present: boolean;
}

export interface FirewallFacts {
  kind: 'firewalld' | 'ufw' | 'none';
  running: boolean;
  /** firewalld default zone, with what is open there (runtime). */
  zone?: string;
  services?: string[];
  ports?: string[]; // "80/tcp"
  protocols?: string[]; // "vrrp", "112"
  richRules?: string[];
  masquerade?: boolean;
}

export interface IpvsDestination {
  address: string; // 192.168.81.142 or [2001:db8::1]
  port: number;
  forward: 'masq' | 'route' | 'tunnel';
  weight: number;
}

export interface IpvsServiceEntry {
  protocol: 'tcp' | 'udp' | 'fwmark';
  /** "192.168.91.141:80", or a fwmark number as text. */
  address: string;
  scheduler: string;
  persistence: number; // seconds, 0 = none
  destinations: IpvsDestination[];
}

export interface IpvsFacts {
  /** The kernel has IPVS (module present or built in). */
  available: boolean;
  loaded: boolean;
  /** `ipvsadm -Sn` parsed; null when it could not be read. */
  services: IpvsServiceEntry[] | null;
}

export interface FileFact {
  content: string;
  mode: number;
}

export interface HostFacts {
  /** Where these facts came from: this host, a recorded file, or a synthetic fresh VM. */
  source: 'live' | 'recorded' | `target:${DistroKey}`;
  hostname: string;
  os: OsFacts;
  kernel: string;
  packageManager: PackageManager;
  init: 'systemd' | 'other';
  networkConfig: NetworkConfigStyle;
  firewall: FirewallFacts;
  nics: Nic[];
  routes: RouteFacts;
  /** Installed versions of the packages the recipes care about (null = not installed). */
  packages: Record<string, string | null>;
  /** Versions of the programs that matter, as they report them. */
  versions: {
    ipvsadm: string | null;
    keepalived: string | null;
    nginx: string | null;
    node: string;
  };
  ipvs: IpvsFacts;
  /** Relevant sysctls, key as `net.ipv4.ip_forward`, value as `sysctl -n` prints it. */
  sysctl: Record<string, string>;
  /** Loaded kernel modules. */
  modules: string[];
  services: Record<string, ServiceState>;
  /** `iptables -t nat -S` lines, or null when iptables is missing. */
  iptablesNat: string[] | null;
  /** Files the recipes asked about (content + mode, null = absent). */
  files: Record<string, FileFact | null>;
  uid: number;
  /** The local address the user's SSH session arrived on, when there is one. */
  sshLocalAddress: string | null;
  /** Hardware summary, read only for `detect` and the wizard (systeminformation, ~100 ms). */
  system?: SystemFacts;
}

export interface SystemFacts {
  arch: string;
  cores: number;
  memoryMiB: number;
}
