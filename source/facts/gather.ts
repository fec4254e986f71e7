import type { Machine } from '../boundary.js';
import type { Action } from '../plan/step.js';
import {
  parseFirewalldListAll,
  parseIpJsonAddr,
  parseIpJsonRoute,
  parseIpText,
  parseIpTextRoute,
  parseIpvsadmSave,
  parseOsRelease,
  parsePackageQuery,
  parseSystemctlShow,
  parseVersion,
} from './parse.js';
import type {
  SystemFacts,
  FileFact,
  FirewallFacts,
  HostFacts,
  NetworkConfigStyle,
  Nic,
  PackageManager,
  RouteFacts,
} from './types.js';

/** Packages the recipes ask about, per family. */
export const WATCHED_PACKAGES = {
  el: [
    'ipvsadm',
    'keepalived',
    'nginx',
    'nfs-utils',
    'rpcbind',
    'iptables',
    'epel-release',
    'net-tools',
    'firewalld',
    'curl',
  ],
  debian: [
    'ipvsadm',
    'keepalived',
    'nginx',
    'nginx-light',
    'nginx-core',
    'nfs-kernel-server',
    'nfs-common',
    'rpcbind',
    'iptables',
    'curl',
    'firewalld',
    'ufw',
  ],
} as const;

export const WATCHED_UNITS = [
  'firewalld',
  'ufw',
  'nginx',
  'keepalived',
  'ipvsadm',
  'rpcbind',
  'nfs-server',
  'nfs-kernel-server',
  'network',
  'NetworkManager',
  'networking',
  'systemd-networkd',
] as const;

const SYSCTL_PER_IF = ['send_redirects', 'arp_ignore', 'arp_announce', 'rp_filter'] as const;

export function sysctlPath(key: string): string {
  return `/proc/sys/${key.replace(/\./g, '/')}`;
}

/** The sysctl keys the recipes look at, for these NICs. */
export function watchedSysctls(nics: string[]): string[] {
  const keys = ['net.ipv4.ip_forward', 'net.ipv4.vs.conntrack'];
  for (const nic of ['all', 'default', 'lo', 'tunl0', ...nics]) {
    for (const k of SYSCTL_PER_IF) keys.push(`net.ipv4.conf.${nic}.${k}`);
  }
  return [...new Set(keys)];
}

async function readNics(m: Machine): Promise<{ nics: Nic[]; routes: RouteFacts }> {
  const addr = await m.run(['ip', '-j', 'addr', 'show']);
  if (addr.exitCode === 0 && addr.stdout.trim().startsWith('[')) {
    const route = await m.run(['ip', '-j', '-4', 'route', 'show']);
    return {
      nics: parseIpJsonAddr(addr.stdout),
      routes: route.exitCode === 0 ? parseIpJsonRoute(route.stdout || '[]') : parseIpTextRoute(''),
    };
  }
  // iproute2 without JSON (CentOS 7).
  const [link, addrText, route] = await Promise.all([
    m.run(['ip', '-o', 'link', 'show']),
    m.run(['ip', '-o', 'addr', 'show']),
    m.run(['ip', '-4', 'route', 'show']),
  ]);
  return {
    nics: parseIpText(link.stdout, addrText.stdout),
    routes: parseIpTextRoute(route.stdout),
  };
}

async function readFirewall(m: Machine, units: HostFacts['services']): Promise<FirewallFacts> {
  if (units.firewalld?.present) {
    const state = await m.run(['firewall-cmd', '--state']);
    if (state.exitCode !== 0) return { kind: 'firewalld', running: false };
    const all = await m.run(['firewall-cmd', '--list-all']);
    const parsed = parseFirewalldListAll(all.stdout);
    return { kind: 'firewalld', running: true, ...parsed };
  }
  if (units.ufw?.present) {
    const st = await m.run(['ufw', 'status']);
    return { kind: 'ufw', running: /Status: active/.test(st.stdout) };
  }
  return { kind: 'none', running: false };
}

function networkStyle(
  os: HostFacts['os'],
  units: HostFacts['services'],
  hasNetplan: boolean,
  hasInterfaces: boolean,
): NetworkConfigStyle {
  if (os.family === 'el') return os.major === 7 ? 'ifcfg' : 'networkmanager';
  if (hasNetplan) return 'netplan';
  if (units.NetworkManager?.active) return 'networkmanager';
  if (hasInterfaces) return 'ifupdown';
  if (units['systemd-networkd']?.present) return 'networkd';
  return 'none';
}

async function readFiles(m: Machine, paths: string[]): Promise<Record<string, FileFact | null>> {
  const out: Record<string, FileFact | null> = {};
  await Promise.all(
    [...new Set(paths)].map(async (p) => {
      const [content, st] = await Promise.all([m.readFile(p), m.stat(p)]);
      out[p] = content === null || !st ? null : { content, mode: st.mode };
    }),
  );
  return out;
}

export interface GatherOptions {
  /** Files to read into facts.files (the plan's steps ask for them). */
  files?: string[];
  /** Also read the hardware summary (cores, memory): for `detect` and the wizard, not per step. */
  system?: boolean;
}

/**
 * systeminformation is good at the OS and hardware summary but takes ~100 ms and blocks the event
 * loop, so it is read only when a person is looking (detect, the wizard), never in the executor.
 */
export async function readSystem(): Promise<SystemFacts | undefined> {
  try {
    const { default: si } = await import('systeminformation');
    const os = await si.osInfo();
    const cpu = await si.cpu();
    const mem = await si.mem();
    return { arch: os.arch, cores: cpu.cores, memoryMiB: Math.round(mem.total / 1048576) };
  } catch {
    return undefined;
  }
}

/** What does not change while an apply runs, unless packages are installed: read once. */
type StableFacts = Pick<
  HostFacts,
  'hostname' | 'os' | 'kernel' | 'packageManager' | 'packages' | 'versions' | 'networkConfig'
>;

async function readStable(m: Machine, services: HostFacts['services']): Promise<StableFacts> {
  const [osText, hostnameText, kernelText, netplanDir, ifaces] = await Promise.all([
    m.readFile('/etc/os-release'),
    m.readFile('/proc/sys/kernel/hostname'),
    m.readFile('/proc/sys/kernel/osrelease'),
    m.listDir('/etc/netplan'),
    m.readFile('/etc/network/interfaces'),
  ]);
  const os = parseOsRelease(osText ?? '');
  const packageManager: PackageManager =
    os.family === 'el' ? (os.major >= 8 ? 'dnf' : 'yum') : os.family === 'debian' ? 'apt' : 'none';
  const watched = os.family === 'el' ? WATCHED_PACKAGES.el : WATCHED_PACKAGES.debian;
  const pkgOut =
    os.family === 'el'
      ? await m.run(['rpm', '-q', '--qf', '%{NAME} %{VERSION}-%{RELEASE}\\n', ...watched])
      : await m.run([
          'dpkg-query',
          '-W',
          '-f=${Package} ${db:Status-Abbrev} ${Version}\\n',
          ...watched,
        ]);
  const packages = parsePackageQuery(pkgOut.stdout, watched, os.family === 'el' ? 'rpm' : 'dpkg');
  // A program's version comes from its package (no process to start: each costs seconds in a
  // slow VM); only a program installed some other way is asked directly.
  const version = async (pkgs: string[], argv: string[]) => {
    const fromPackage = pkgs.map((p) => packages[p]).find((v) => v);
    if (fromPackage) return parseVersion(fromPackage);
    const r = await m.run(argv);
    return r.notFound || r.exitCode !== 0 ? null : parseVersion(`${r.stdout}\n${r.stderr}`);
  };
  const [ipvsadm, keepalived, nginx] = await Promise.all([
    version(['ipvsadm'], ['ipvsadm', '--version']),
    version(['keepalived'], ['keepalived', '--version']),
    version(['nginx', 'nginx-light', 'nginx-core'], ['nginx', '-v']),
  ]);
  return {
    hostname: (hostnameText ?? '').trim(),
    os,
    kernel: (kernelText ?? '').trim(),
    packageManager,
    packages,
    versions: { ipvsadm, keepalived, nginx, node: process.versions.node },
    networkConfig: networkStyle(
      os,
      services,
      (netplanDir ?? []).some((f) => f.endsWith('.yaml')),
      ifaces !== null,
    ),
  };
}

/**
 * Groups of facts that cost a process to read. Files, sysctls, modules and /proc/net/ip_vs are
 * plain reads (cheap) and always re-read; these are re-read only when an action may have changed
 * them.
 */
export type FactGroup = 'stable' | 'net' | 'units' | 'nat' | 'ipvs' | 'firewall';
const ALL_GROUPS: ReadonlySet<FactGroup> = new Set([
  'stable',
  'net',
  'units',
  'nat',
  'ipvs',
  'firewall',
]);

/** Which fact groups a command can change, by its program. Unknown programs: all of them. */
export function groupsChangedBy(argv: readonly string[]): FactGroup[] {
  const program = (argv[0] ?? '').replace(/^.*\//, '');
  switch (program) {
    case 'sysctl':
    case 'exportfs':
    case 'mkdir':
    case 'rmdir':
    case 'mount':
    case 'umount':
    case 'arping':
    case 'keepalived': // keepalived -t only checks a file
      return [];
    case 'ip':
    case 'nmcli':
    case 'netplan':
    case 'networkctl':
    case 'ifup':
    case 'ifdown':
      return ['net'];
    case 'modprobe':
      return ['net', 'ipvs']; // ipip makes tunl0; ip_vs makes the table readable
    case 'systemctl':
      // Starting keepalived adds VIPs and the table; networkd configures links; firewalld filters.
      return ['units', 'net', 'ipvs', 'nat', 'firewall'];
    case 'iptables':
      return ['nat'];
    case 'ipvsadm':
      return ['ipvs'];
    case 'firewall-cmd':
    case 'ufw':
      return ['firewall'];
    default:
      return [...ALL_GROUPS];
  }
}

/**
 * Read this host's facts through the machine boundary. Never changes anything. With `previous`,
 * the facts that an apply does not change (OS, packages, versions) are taken from it: the executor
 * refreshes facts after every changed step, and in a slow VM each process costs seconds.
 */
export async function gatherFacts(
  m: Machine,
  options: GatherOptions & { previous?: HostFacts; groups?: ReadonlySet<FactGroup> } = {},
): Promise<HostFacts> {
  const prev = options.previous;
  // Without previous facts everything is read; with them, only the groups asked for.
  const want = (g: FactGroup) => !prev || (options.groups ?? ALL_GROUPS).has(g);
  const [netState, modulesText, ipvsProc, unitsOut, natRules] = await Promise.all([
    want('net')
      ? readNics(m)
      : Promise.resolve(prev ? { nics: prev.nics, routes: prev.routes } : null),
    m.readFile('/proc/modules'),
    m.readFile('/proc/net/ip_vs'),
    want('units')
      ? m.run([
          'systemctl',
          'show',
          '-p',
          'Id,LoadState,ActiveState,UnitFileState',
          ...WATCHED_UNITS.map((u) => `${u}.service`),
        ])
      : Promise.resolve(null),
    want('nat') ? m.run(['iptables', '-w', '-t', 'nat', '-S']) : Promise.resolve(null),
  ]);
  if (!netState) throw new Error('internal: network facts missing');
  const services = unitsOut
    ? unitsOut.exitCode === 0
      ? parseSystemctlShow(unitsOut.stdout)
      : {}
    : (prev?.services ?? {});
  const init = unitsOut ? (unitsOut.notFound ? 'other' : 'systemd') : (prev?.init ?? 'systemd');
  const reuseIpvs = !want('ipvs') && prev !== undefined && (ipvsProc !== null) === prev.ipvs.loaded;
  const [stable, ipvsSave, firewall] = await Promise.all([
    prev && !want('stable')
      ? Promise.resolve<StableFacts>({
          hostname: prev.hostname,
          os: prev.os,
          kernel: prev.kernel,
          packageManager: prev.packageManager,
          packages: prev.packages,
          versions: prev.versions,
          networkConfig: prev.networkConfig,
        })
      : readStable(m, services),
    ipvsProc !== null && !reuseIpvs ? m.run(['ipvsadm', '-Sn']) : Promise.resolve(null),
    want('firewall') || !prev ? readFirewall(m, services) : Promise.resolve(prev.firewall),
  ]);
  const kernel = stable.kernel;
  const ipvsModule =
    ipvsProc !== null ||
    prev?.ipvs.available === true ||
    (await m.stat(`/lib/modules/${kernel}/kernel/net/netfilter/ipvs/ip_vs.ko`)) !== null ||
    (await m.stat(`/lib/modules/${kernel}/kernel/net/netfilter/ipvs/ip_vs.ko.xz`)) !== null ||
    (await m.stat(`/lib/modules/${kernel}/kernel/net/netfilter/ipvs/ip_vs.ko.zst`)) !== null;

  const sysctl: Record<string, string> = {};
  const keys = watchedSysctls(netState.nics.map((n) => n.name));
  await Promise.all(
    keys.map(async (k) => {
      const v = await m.readFile(sysctlPath(k));
      if (v !== null) sysctl[k] = v.trim();
    }),
  );

  const ssh = m.env('SSH_CONNECTION')?.split(/\s+/)[2] ?? null;
  return {
    source: 'live',
    ...stable,
    init,
    firewall,
    nics: netState.nics,
    routes: netState.routes,
    ipvs: {
      available: ipvsModule,
      loaded: ipvsProc !== null,
      services: reuseIpvs
        ? (prev?.ipvs.services ?? null)
        : ipvsSave && ipvsSave.exitCode === 0
          ? parseIpvsadmSave(ipvsSave.stdout)
          : null,
    },
    sysctl,
    modules: (modulesText ?? '')
      .split('\n')
      .map((l) => l.split(' ')[0] ?? '')
      .filter(Boolean),
    services,
    iptablesNat: natRules
      ? natRules.exitCode === 0
        ? natRules.stdout.split('\n').filter(Boolean)
        : null
      : (prev?.iptablesNat ?? null),
    files: await readFiles(m, options.files ?? []),
    uid: m.uid(),
    sshLocalAddress: ssh,
    ...(options.system ? { system: await readSystem() } : {}),
  };
}

/**
 * The executor's refresh after a changed step: files and /proc re-read, and of the facts that cost
 * a process only the groups the step's commands can change (measured in a TCG guest: ~10 s per
 * full refresh, which made a director's first apply take 4-5 minutes). The OS, packages and
 * versions are re-read only after the packages step.
 */
export function refreshAfterStep(
  m: Machine,
  files: string[],
): (
  previous: HostFacts,
  changed: { recipe: string },
  actions: readonly Action[],
) => Promise<HostFacts> {
  return (previous, changed, actions) => {
    const groups = new Set<FactGroup>(changed.recipe === 'packages' ? ['stable', 'units'] : []);
    for (const a of actions) {
      if (a.kind === 'command') for (const g of groupsChangedBy(a.argv)) groups.add(g);
    }
    return gatherFacts(m, { files, previous, groups });
  };
}

/** Re-read only the files (cheap) on top of existing facts. */
export async function withFiles(m: Machine, facts: HostFacts, paths: string[]): Promise<HostFacts> {
  return { ...facts, files: { ...facts.files, ...(await readFiles(m, paths)) } };
}
