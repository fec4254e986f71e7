import type { Machine, RunResult } from '../boundary.js';
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
 * Units whose state changes with a named one: starting the NFS server starts rpcbind, and
 * nfs-server and nfs-kernel-server are one unit under two names (Debian).
 */
const UNITS_MOVED_WITH: Readonly<Record<string, readonly string[]>> = {
  'nfs-server': ['nfs-kernel-server', 'rpcbind'],
  'nfs-kernel-server': ['nfs-server', 'rpcbind'],
};

/**
 * The watched units (without `.service`) a systemctl command can change, or null when it may
 * change any of them (daemon-reload, a verb without a unit, options we do not know). `systemctl
 * show` costs ~0.3 s per unit in a slow VM, so after `systemctl enable --now nginx` only nginx is
 * read again, not all twelve.
 */
export function unitsChangedBy(argv: readonly string[]): string[] | null {
  if ((argv[0] ?? '').replace(/^.*\//, '') !== 'systemctl') return [];
  const words = argv.slice(1).filter((w) => !w.startsWith('-'));
  const options = argv.slice(1).filter((w) => w.startsWith('-'));
  // --now is enable/disable's "and start/stop it"; anything else (--root, --user, -H) is not ours.
  if (options.some((o) => o !== '--now' && o !== '-q' && o !== '--quiet')) return null;
  const [verb, ...units] = words;
  const unitVerbs = ['start', 'stop', 'restart', 'reload', 'try-restart', 'reload-or-restart'];
  const fileVerbs = ['enable', 'disable', 'reenable', 'mask', 'unmask'];
  if (!verb || ![...unitVerbs, ...fileVerbs].includes(verb) || units.length === 0) return null;
  const watched = new Set<string>(WATCHED_UNITS);
  const out = new Set<string>();
  for (const u of units) {
    if (u.includes('@') || /[*?[]/.test(u)) return null;
    const name = u.replace(/\.service$/, '');
    if (u !== name || !u.includes('.')) {
      for (const n of [name, ...(UNITS_MOVED_WITH[name] ?? [])]) if (watched.has(n)) out.add(n);
    } else if (!/\.(socket|target|timer|path|mount)$/.test(u)) {
      return null;
    }
  }
  return [...out];
}

/** Where systemd finds units (both /lib and /usr/lib: merged or not), generated ones included. */
const UNIT_DIRS = [
  '/etc/systemd/system',
  '/run/systemd/system',
  '/run/systemd/transient',
  '/run/systemd/generator',
  '/run/systemd/generator.early',
  '/run/systemd/generator.late',
  '/usr/lib/systemd/system',
  '/lib/systemd/system',
  '/etc/init.d', // SysV scripts (systemd-sysv-generator makes units of them)
];

/**
 * The units worth asking systemctl about: those with a unit file or SysV script somewhere. Each
 * unit costs `systemctl show` ~0.3 s in a slow VM, most of it for the ones that do not exist
 * (PID 1 searches every unit folder for them). When no unit folder can be listed the layout is
 * unknown, and all are asked.
 */
export async function unitsWithFiles(
  m: Machine,
  units: readonly string[],
): Promise<{ existing: string[]; systemdBooted: boolean }> {
  const listings = await Promise.all(UNIT_DIRS.map((d) => m.listDir(d)));
  // sd_booted(): systemd is PID 1 when /run/systemd/system exists.
  const systemdBooted = listings[UNIT_DIRS.indexOf('/run/systemd/system')] !== null;
  if (listings.every((l) => l === null)) return { existing: [...units], systemdBooted };
  const names = new Set(listings.flatMap((l) => l ?? []));
  return {
    existing: units.filter((u) => names.has(`${u}.service`) || names.has(u)),
    systemdBooted,
  };
}

async function readUnits(
  m: Machine,
  units: readonly string[],
): Promise<{ out: RunResult | null; absent: string[]; systemdBooted: boolean }> {
  const { existing, systemdBooted } = await unitsWithFiles(m, units);
  const absent = units.filter((u) => !existing.includes(u));
  if (existing.length === 0) return { out: null, absent, systemdBooted };
  const out = await m.run([
    'systemctl',
    'show',
    '-p',
    'Id,LoadState,ActiveState,UnitFileState',
    ...existing.map((u) => `${u}.service`),
  ]);
  return { out, absent, systemdBooted };
}

/**
 * Read this host's facts through the machine boundary. Never changes anything. With `previous`,
 * the facts that an apply does not change (OS, packages, versions) are taken from it: the executor
 * refreshes facts after every changed step, and in a slow VM each process costs seconds.
 */
export async function gatherFacts(
  m: Machine,
  options: GatherOptions & {
    previous?: HostFacts;
    groups?: ReadonlySet<FactGroup>;
    /** With previous and the units group: read only these units again (see unitsChangedBy). */
    units?: ReadonlySet<string>;
  } = {},
): Promise<HostFacts> {
  const prev = options.previous;
  const someUnits = prev && options.units ? [...options.units] : null;
  // Without previous facts everything is read; with them, only the groups asked for.
  const want = (g: FactGroup) => !prev || (options.groups ?? ALL_GROUPS).has(g);
  const [netState, modulesText, ipvsProc, unitsRead, natRules] = await Promise.all([
    want('net')
      ? readNics(m)
      : Promise.resolve(prev ? { nics: prev.nics, routes: prev.routes } : null),
    m.readFile('/proc/modules'),
    m.readFile('/proc/net/ip_vs'),
    want('units') && someUnits?.length !== 0
      ? readUnits(m, someUnits ?? WATCHED_UNITS)
      : Promise.resolve(null),
    want('nat') ? m.run(['iptables', '-w', '-t', 'nat', '-S']) : Promise.resolve(null),
  ]);
  if (!netState) throw new Error('internal: network facts missing');
  let services: HostFacts['services'] = prev?.services ?? {};
  let init: HostFacts['init'] = prev?.init ?? 'systemd';
  if (unitsRead) {
    const { out, absent, systemdBooted } = unitsRead;
    const read = out?.exitCode === 0 ? parseSystemctlShow(out.stdout) : {};
    for (const u of absent) read[u] = { present: false, active: false, enabled: false };
    // A failed systemctl leaves what was known (a refresh) or nothing (the first read).
    services = someUnits ? { ...prev?.services, ...read } : out && out.exitCode !== 0 ? {} : read;
    if (out) init = out.notFound ? 'other' : 'systemd';
    else if (!prev) init = systemdBooted ? 'systemd' : 'other';
  }
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
    // Which units to read again: null = all (a package was installed, or a command may touch any).
    let units: Set<string> | null = changed.recipe === 'packages' ? null : new Set();
    for (const a of actions) {
      if (a.kind !== 'command') continue;
      const gs = groupsChangedBy(a.argv);
      for (const g of gs) groups.add(g);
      if (!gs.includes('units') || units === null) continue;
      const named = unitsChangedBy(a.argv);
      if (named === null || (named.length === 0 && a.argv[0] !== 'systemctl')) units = null;
      else for (const u of named) units.add(u);
    }
    return gatherFacts(m, { files, previous, groups, ...(units ? { units } : {}) });
  };
}

/** Re-read only the files (cheap) on top of existing facts. */
export async function withFiles(m: Machine, facts: HostFacts, paths: string[]): Promise<HostFacts> {
  return { ...facts, files: { ...facts.files, ...(await readFiles(m, paths)) } };
}
