import type { FileStat, Machine, RunOptions, RunResult } from '../../source/boundary.js';
import { parseIpvsadmSave } from '../../source/facts/parse.js';
import type { IpvsServiceEntry } from '../../source/facts/types.js';

/**
 * A simulated Linux host behind the Machine boundary: files (including /proc/sys), NICs, routes,
 * modules, units, packages, iptables nat rules and the IPVS table react to the commands recipes
 * run, so `gatherFacts` → plan → execute → gather again can be tested end to end without a kernel.
 * Unknown commands succeed and are recorded; `failWhen` injects failures.
 */

interface FakeNic {
  name: string;
  mac: string | null;
  up: boolean;
  linkType: string;
  addrs: Array<{ address: string; prefix: number; label?: string }>;
}

interface Unit {
  present: boolean;
  active: boolean;
  enabled: boolean;
}

export type Distro = 'debian12' | 'rocky9' | 'centos7';

const OS_RELEASE: Record<Distro, string> = {
  debian12: 'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n',
  rocky9:
    'NAME="Rocky Linux"\nID="rocky"\nID_LIKE="rhel centos fedora"\nVERSION_ID="9.4"\nPRETTY_NAME="Rocky Linux 9.4 (Blue Onyx)"\n',
  centos7:
    'NAME="CentOS Linux"\nID="centos"\nID_LIKE="rhel fedora"\nVERSION_ID="7"\nPRETTY_NAME="CentOS Linux 7 (Core)"\n',
};

const ok = (stdout = '', stderr = ''): RunResult => ({
  exitCode: 0,
  stdout,
  stderr,
  timedOut: false,
  notFound: false,
  durationMs: 1,
});
const fail = (exitCode: number, stderr: string): RunResult => ({
  exitCode,
  stdout: '',
  stderr,
  timedOut: false,
  notFound: false,
  durationMs: 1,
});

/** Packages → units they bring. */
const PACKAGE_UNITS: Record<string, string[]> = {
  nginx: ['nginx'],
  'nginx-light': ['nginx'],
  keepalived: ['keepalived'],
  ipvsadm: ['ipvsadm'],
  'nfs-utils': ['nfs-server', 'rpcbind'],
  rpcbind: ['rpcbind'],
  'nfs-kernel-server': ['nfs-kernel-server', 'nfs-server', 'rpcbind'],
  firewalld: ['firewalld'],
};

export interface FakeHostOptions {
  distro?: Distro;
  nics?: Array<{ name: string; mac?: string; addrs?: string[] }>;
  uid?: number;
  env?: Record<string, string>;
  ipvsAvailable?: boolean;
}

export class FakeHost implements Machine {
  files = new Map<string, { content: Buffer; mode: number }>();
  nics: FakeNic[] = [];
  defaultRoute: { gateway: string; dev: string } | null = null;
  modules = new Set<string>();
  units = new Map<string, Unit>();
  packages = new Set<string>();
  natRules: string[] = [];
  ipvs: IpvsServiceEntry[] = [];
  calls: string[][] = [];
  failWhen: (argv: readonly string[]) => RunResult | null = () => null;
  private uidValue: number;
  private envValues: Record<string, string>;
  readonly distro: Distro;

  constructor(options: FakeHostOptions = {}) {
    this.distro = options.distro ?? 'debian12';
    this.uidValue = options.uid ?? 0;
    this.envValues = options.env ?? {};
    this.setFile('/etc/os-release', OS_RELEASE[this.distro]);
    this.setFile('/proc/sys/kernel/hostname', 'fakehost\n');
    this.setFile('/proc/sys/kernel/osrelease', '6.1.0-27-amd64\n');
    this.setFile('/proc/sys/net/ipv4/ip_forward', '0\n');
    this.nics.push({
      name: 'lo',
      mac: null,
      up: true,
      linkType: 'loopback',
      addrs: [{ address: '127.0.0.1', prefix: 8 }],
    });
    (options.nics ?? [{ name: 'ens33' }]).forEach((n, i) => {
      this.nics.push({
        name: n.name,
        mac: n.mac ?? `52:54:00:00:00:${(i + 1).toString(16).padStart(2, '0')}`,
        up: false,
        linkType: 'ether',
        addrs: (n.addrs ?? []).map((a) => {
          const [address = '', prefix = '32'] = a.split('/');
          return { address, prefix: Number(prefix) };
        }),
      });
    });
    for (const nic of ['all', 'default', ...this.nics.map((n) => n.name)]) this.addConfSysctls(nic);
    if (options.ipvsAvailable !== false) {
      this.setFile('/lib/modules/6.1.0-27-amd64/kernel/net/netfilter/ipvs/ip_vs.ko', 'elf');
    }
    this.setFile('/proc/modules', '');
    if (this.distro === 'debian12')
      this.units.set('systemd-networkd', { present: true, active: false, enabled: false });
    if (this.distro !== 'debian12') {
      this.units.set('firewalld', { present: true, active: true, enabled: true });
      this.packages.add('firewalld');
    }
    if (this.distro === 'rocky9')
      this.units.set('NetworkManager', { present: true, active: true, enabled: true });
    if (this.distro === 'centos7')
      this.units.set('network', { present: true, active: true, enabled: true });
    this.packages.add('iptables');
  }

  private addConfSysctls(nic: string) {
    const base = `/proc/sys/net/ipv4/conf/${nic}`;
    for (const [k, v] of [
      ['send_redirects', '1'],
      ['arp_ignore', '0'],
      ['arp_announce', '0'],
      ['rp_filter', this.distro === 'debian12' ? '0' : '1'],
    ] as const) {
      if (!this.files.has(`${base}/${k}`)) this.setFile(`${base}/${k}`, `${v}\n`);
    }
  }

  setFile(path: string, content: string, mode = 0o644) {
    this.files.set(path, { content: Buffer.from(content), mode });
  }
  text(path: string): string | null {
    return this.files.get(path)?.content.toString() ?? null;
  }
  sysctl(key: string): string | null {
    return this.text(`/proc/sys/${key.replace(/\./g, '/')}`)?.trim() ?? null;
  }
  nic(name: string): FakeNic | undefined {
    return this.nics.find((n) => n.name === name);
  }

  /** A snapshot of everything observable, to compare before/after. */
  snapshot(): string {
    const files = [...this.files.entries()]
      .filter(([p]) => !p.startsWith('/var/lib/lvs-setup-test'))
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([p, f]) => `${p} ${f.mode.toString(8)} ${f.content.toString('base64')}`);
    return JSON.stringify({
      files,
      nics: this.nics,
      route: this.defaultRoute,
      modules: [...this.modules].sort(),
      units: [...this.units.entries()].sort(),
      nat: this.natRules,
      ipvs: this.ipvs,
    });
  }

  // ---- Machine ----
  uid() {
    return this.uidValue;
  }
  env(name: string) {
    return this.envValues[name];
  }
  async readFile(path: string) {
    return this.files.get(path)?.content.toString() ?? null;
  }
  async readFileBytes(path: string) {
    const f = this.files.get(path);
    return f ? Buffer.from(f.content) : null;
  }
  async stat(path: string): Promise<FileStat | null> {
    const f = this.files.get(path);
    return f ? { mode: f.mode, size: f.content.length } : null;
  }
  async writeFileAtomic(path: string, content: string | Buffer, mode: number) {
    this.files.set(path, { content: Buffer.from(content), mode });
  }
  async appendFile(path: string, content: string, mode: number) {
    const prev = this.files.get(path);
    this.files.set(path, {
      content: Buffer.concat([prev?.content ?? Buffer.alloc(0), Buffer.from(content)]),
      mode: prev?.mode ?? mode,
    });
  }
  async removeFile(path: string) {
    this.files.delete(path);
  }
  async mkdirp() {}
  async listDir(path: string) {
    const prefix = path.endsWith('/') ? path : `${path}/`;
    const names = [...this.files.keys()]
      .filter((p) => p.startsWith(prefix))
      .map((p) => p.slice(prefix.length).split('/')[0] ?? '');
    // The packages' own unit files (not kept in `files`): where a package manager puts them.
    if (prefix === '/usr/lib/systemd/system/') {
      for (const [n, u] of this.units)
        if (u.present && !this.files.has(`/etc/systemd/system/${n}.service`))
          names.push(`${n}.service`);
    }
    return names.length ? [...new Set(names)] : null;
  }

  async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    this.calls.push([...argv]);
    const injected = this.failWhen(argv);
    if (injected) return injected;
    const r = this.dispatch([...argv], options.input ?? '');
    if (r.stdout) options.onOutput?.(r.stdout);
    return r;
  }

  private loadModule(name: string) {
    this.modules.add(name);
    this.setFile(
      '/proc/modules',
      [...this.modules].map((m) => `${m} 16384 0 - Live 0x0`).join('\n') + '\n',
    );
    if (name === 'ip_vs') {
      this.setFile('/proc/net/ip_vs', 'IP Virtual Server version 1.2.1 (size=4096)\n');
      this.setFile('/proc/sys/net/ipv4/vs/conntrack', '0\n');
    }
    if (name === 'ipip' && !this.nic('tunl0')) {
      this.nics.push({ name: 'tunl0', mac: null, up: false, linkType: 'ipip', addrs: [] });
      this.addConfSysctls('tunl0');
    }
  }

  /** What `systemctl enable` makes for a unit file with WantedBy=multi-user.target. */
  private wantsLink(name: string, on: boolean) {
    const unitFile = this.files.get(`/etc/systemd/system/${name}.service`);
    const link = `/etc/systemd/system/multi-user.target.wants/${name}.service`;
    if (on && unitFile && unitFile.content.toString().includes('WantedBy=multi-user.target')) {
      this.files.set(link, { content: Buffer.from(unitFile.content), mode: unitFile.mode });
    } else if (!on) {
      this.files.delete(link);
    }
  }

  /** The version the distro would install (keepalived's decides the template's keywords). */
  packageVersion(name: string): string {
    const keepalived = { debian12: '1:2.2.7-1+b2', rocky9: '2.2.8-3.el9', centos7: '1.3.5-19.el7' }[
      this.distro
    ];
    if (name === 'keepalived') return keepalived;
    if (name === 'ipvsadm') return this.distro === 'centos7' ? '1.27-8.el7' : '1:1.31-1+b1';
    if (name.startsWith('nginx')) return '1.22.1-9';
    return this.distro === 'debian12' ? '1.0-1' : '1.0-1.el';
  }

  private unloadModule(name: string) {
    this.modules.delete(name);
    this.setFile(
      '/proc/modules',
      [...this.modules].map((m) => `${m} 16384 0 - Live 0x0\n`).join(''),
    );
    if (name === 'ip_vs') {
      this.files.delete('/proc/net/ip_vs');
      this.files.delete('/proc/sys/net/ipv4/vs/conntrack');
      this.ipvs = [];
    }
    if (name === 'ipip') {
      this.nics = this.nics.filter((n) => n.name !== 'tunl0');
      for (const p of [...this.files.keys()])
        if (p.startsWith('/proc/sys/net/ipv4/conf/tunl0/')) this.files.delete(p);
    }
  }

  private unit(name: string): Unit {
    const n = name.replace(/\.service$/, '');
    let u = this.units.get(n);
    if (!u) {
      // A unit file written into /etc/systemd/system makes the unit exist, as on a real host.
      const present = this.files.has(`/etc/systemd/system/${n}.service`);
      u = { present, active: false, enabled: false };
      this.units.set(n, u);
    }
    return u;
  }

  private dispatch(argv: string[], input: string): RunResult {
    const [cmd, ...args] = argv;
    switch (cmd) {
      case 'ip':
        return this.ip(args);
      case 'sysctl': {
        if (args[0] === '-w' && args[1]) {
          const [k = '', v = ''] = args[1].split('=');
          const path = `/proc/sys/${k.replace(/\./g, '/')}`;
          if (!this.files.has(path))
            return fail(255, `sysctl: cannot stat ${path}: No such file or directory`);
          this.setFile(path, `${v}\n`);
          return ok(`${k} = ${v}\n`);
        }
        return ok();
      }
      case 'modprobe':
        if (args[0] === '-r') {
          for (const m of args.slice(1)) {
            // kmod's wording for a module that is not loaded.
            if (!this.modules.has(m))
              return fail(1, `modprobe: FATAL: Module ${m} is not in kernel.\n`);
            this.unloadModule(m);
          }
          return ok();
        }
        for (const m of args) this.loadModule(m);
        return ok();
      case 'systemctl':
        return this.systemctl(args);
      case 'rpm': {
        const names = args.slice(3);
        return ok(
          names
            .map((n) =>
              this.packages.has(n)
                ? `${n} ${this.packageVersion(n)}`
                : `package ${n} is not installed`,
            )
            .join('\n'),
        );
      }
      case 'dpkg-query': {
        const names = args.slice(2);
        return ok(
          names
            .filter((n) => this.packages.has(n))
            .map((n) => `${n} ii  ${this.packageVersion(n)}`)
            .join('\n'),
        );
      }
      case 'env':
        return this.dispatch(
          args.filter((a) => !a.includes('=')),
          input,
        );
      case 'yum':
      case 'dnf':
      case 'apt-get': {
        if (args[0] === 'install') {
          for (const p of args.slice(1).filter((a) => !a.startsWith('-'))) {
            this.packages.add(p);
            for (const u of PACKAGE_UNITS[p] ?? []) this.unit(u).present = true;
          }
        }
        return ok('done\n');
      }
      case 'ipvsadm':
        return this.ipvsadm(args, input);
      case 'iptables':
        return this.iptables(args.filter((a) => a !== '-w'));
      case 'firewall-cmd':
        return this.unit('firewalld').active ? ok('running\n') : fail(252, 'not running');
      case 'nginx':
      case 'keepalived':
        return this.packages.has(cmd) || (cmd === 'nginx' && this.packages.has('nginx-light'))
          ? ok('', `${cmd} version: ${cmd}/2.2.7\n`)
          : { ...fail(127, `${cmd}: not found`), notFound: true };
      default:
        return ok();
    }
  }

  private ip(args: string[]): RunResult {
    const a = args.filter((x) => x !== '-4');
    if (a[0] === '-j' && a[1] === 'addr') {
      return ok(
        JSON.stringify(
          this.nics.map((n) => ({
            ifname: n.name,
            operstate: n.name === 'lo' ? 'UNKNOWN' : n.up ? 'UP' : 'DOWN',
            link_type: n.linkType,
            address: n.mac ?? '00:00:00:00:00:00',
            addr_info: n.addrs.map((x) => ({
              family: 'inet',
              local: x.address,
              prefixlen: x.prefix,
              label: x.label ?? n.name,
            })),
          })),
        ),
      );
    }
    if (a[0] === '-j' && a[1] === 'route') {
      const routes: unknown[] = [];
      if (this.defaultRoute)
        routes.push({
          dst: 'default',
          gateway: this.defaultRoute.gateway,
          dev: this.defaultRoute.dev,
        });
      return ok(JSON.stringify(routes));
    }
    const devOf = (list: string[]) => this.nic(list[list.indexOf('dev') + 1] ?? '');
    if (a[0] === 'addr' || a[0] === 'address') {
      const nic = devOf(a);
      if (!nic) return fail(1, 'Cannot find device');
      const [address = '', prefix = '32'] = (a[2] ?? '').split('/');
      const labelAt = a.indexOf('label');
      if (a[1] === 'add') {
        if (nic.addrs.some((x) => x.address === address))
          return fail(2, 'RTNETLINK answers: File exists');
        nic.addrs.push({
          address,
          prefix: Number(prefix),
          ...(labelAt > 0 && a[labelAt + 1] ? { label: a[labelAt + 1] } : {}),
        });
        return ok();
      }
      if (a[1] === 'del') {
        const before = nic.addrs.length;
        nic.addrs = nic.addrs.filter((x) => x.address !== address);
        return before === nic.addrs.length
          ? fail(2, 'RTNETLINK answers: Cannot assign requested address')
          : ok();
      }
    }
    if (a[0] === 'link' && a[1] === 'set') {
      if (a[2] === 'dev') a.splice(2, 1);
      const nic = this.nic(a[2] ?? '');
      if (!nic) return fail(1, 'Cannot find device');
      nic.up = a[3] === 'up';
      return ok();
    }
    if (a[0] === 'route') {
      if ((a[1] === 'replace' || a[1] === 'add') && a[2] === 'default') {
        this.defaultRoute = {
          gateway: a[a.indexOf('via') + 1] ?? '',
          dev: a[a.indexOf('dev') + 1] ?? '',
        };
        return ok();
      }
      if (a[1] === 'del' && a[2] === 'default') {
        this.defaultRoute = null;
        return ok();
      }
    }
    return ok();
  }

  private systemctl(args: string[]): RunResult {
    if (args[0] === 'show') {
      const units = args.slice(3);
      return ok(
        units
          .map((u) => {
            const s = this.units.get(u.replace(/\.service$/, ''));
            return `Id=${u}\nLoadState=${s?.present ? 'loaded' : 'not-found'}\nActiveState=${s?.active ? 'active' : 'inactive'}\nUnitFileState=${s?.present ? (s.enabled ? 'enabled' : 'disabled') : ''}\n`;
          })
          .join('\n'),
      );
    }
    const now = args.includes('--now');
    const names = args
      .slice(1)
      .filter((x) => !x.startsWith('-'))
      .map((x) => x.replace(/\.service$/, ''));
    for (const n of names) {
      const u = this.unit(n);
      if (!u.present)
        return fail(5, `Failed to ${args[0]} ${n}.service: Unit ${n}.service not found.`);
      switch (args[0]) {
        case 'enable':
          u.enabled = true;
          if (now) u.active = true;
          this.wantsLink(n, true);
          break;
        case 'disable':
          u.enabled = false;
          if (now) u.active = false;
          this.wantsLink(n, false);
          break;
        case 'start':
        case 'restart':
        case 'reload':
        case 'reload-or-restart':
        case 'try-restart':
          u.active = true;
          break;
        case 'stop':
          u.active = false;
          break;
        case 'is-active':
          return u.active ? ok('active\n') : fail(3, 'inactive\n');
        default:
          break;
      }
    }
    return ok();
  }

  private ipvsadm(args: string[], input: string): RunResult {
    if (!this.packages.has('ipvsadm'))
      return { ...fail(127, 'ipvsadm: not found'), notFound: true };
    if (args[0] === '--version')
      return ok('ipvsadm v1.31 2019/12/24 (compiled with popt and IPVS v1.2.1)\n');
    if (!this.modules.has('ip_vs')) this.loadModule('ip_vs');
    if (args[0] === '-Sn' || (args[0] === '-S' && args[1] === '-n')) return ok(this.saveIpvs());
    if (args[0] === '-R') {
      this.ipvs = parseIpvsadmSave(input);
      return ok();
    }
    if (args[0] === '-C') {
      this.ipvs = [];
      return ok();
    }
    // Single-rule edits go through the save format: apply, then re-parse.
    const text = `${this.saveIpvs()}${args.join(' ')}\n`;
    if (args[0] === '-A' || args[0] === '-a') {
      this.ipvs = parseIpvsadmSave(text);
      return ok();
    }
    if (args[0] === '-D' || args[0] === '-d' || args[0] === '-E' || args[0] === '-e') {
      this.ipvs = this.applyEdit(args);
      return ok();
    }
    return ok();
  }

  private applyEdit(args: string[]): IpvsServiceEntry[] {
    const kind = args.find((x) => x === '-t' || x === '-u' || x === '-f') ?? '-t';
    const proto = kind === '-t' ? 'tcp' : kind === '-u' ? 'udp' : 'fwmark';
    const addr = args[args.indexOf(kind) + 1] ?? '';
    const real = args.includes('-r') ? (args[args.indexOf('-r') + 1] ?? '') : '';
    return this.ipvs
      .filter((s) => !(args[0] === '-D' && s.protocol === proto && s.address === addr))
      .map((s) => {
        if (s.protocol !== proto || s.address !== addr) return s;
        if (args[0] === '-E') {
          return {
            ...s,
            scheduler: args.includes('-s')
              ? (args[args.indexOf('-s') + 1] ?? s.scheduler)
              : s.scheduler,
            persistence: args.includes('-p') ? Number(args[args.indexOf('-p') + 1] ?? 300) : 0,
          };
        }
        const destinations = s.destinations
          .filter((d) => !(args[0] === '-d' && `${d.address}:${d.port}` === real))
          .map((d) =>
            args[0] === '-e' && `${d.address}:${d.port}` === real
              ? {
                  ...d,
                  weight: args.includes('-w') ? Number(args[args.indexOf('-w') + 1]) : d.weight,
                }
              : d,
          );
        return { ...s, destinations };
      });
  }

  saveIpvs(): string {
    const flag = (p: string) => (p === 'tcp' ? '-t' : p === 'udp' ? '-u' : '-f');
    const fwd = { masq: '-m', route: '-g', tunnel: '-i' } as const;
    const lines: string[] = [];
    for (const s of this.ipvs) {
      lines.push(
        `-A ${flag(s.protocol)} ${s.address} -s ${s.scheduler}${s.persistence ? ` -p ${s.persistence}` : ''}`,
      );
      for (const d of s.destinations) {
        lines.push(
          `-a ${flag(s.protocol)} ${s.address} -r ${d.address}:${d.port} ${fwd[d.forward]} -w ${d.weight}`,
        );
      }
    }
    return lines.length ? `${lines.join('\n')}\n` : '';
  }

  private iptables(args: string[]): RunResult {
    if (args[0] !== '-t' || args[1] !== 'nat') return ok();
    const op = args[2];
    const rule = args.slice(3).join(' ');
    if (op === '-S')
      return ok(
        [
          '-P PREROUTING ACCEPT',
          '-P INPUT ACCEPT',
          '-P OUTPUT ACCEPT',
          '-P POSTROUTING ACCEPT',
          ...this.natRules,
        ].join('\n') + '\n',
      );
    if (op === '-A') {
      this.natRules.push(`-A ${rule}`);
      return ok();
    }
    if (op === '-C')
      return this.natRules.includes(`-A ${rule}`)
        ? ok()
        : fail(1, 'iptables: Bad rule (does a matching rule exist in that chain?).');
    if (op === '-D') {
      const i = this.natRules.indexOf(`-A ${rule}`);
      if (i < 0) return fail(1, 'iptables: Bad rule (does a matching rule exist in that chain?).');
      this.natRules.splice(i, 1);
      return ok();
    }
    return ok();
  }
}
