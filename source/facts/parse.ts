import type {
  IpvsServiceEntry,
  Nic,
  NicAddress,
  OsFacts,
  RouteFacts,
  DistroKey,
  ServiceState,
} from './types.js';

/** Pure parsers for what the host prints. Each is tested on recorded outputs (test/fixtures/facts). */

interface IpJsonAddrInfo {
  family?: string;
  local?: string;
  prefixlen?: number;
  label?: string;
  secondary?: boolean;
}
interface IpJsonLink {
  ifname?: string;
  operstate?: string;
  link_type?: string;
  address?: string;
  addr_info?: IpJsonAddrInfo[];
}

/** `ip -j addr` (iproute2 ≥ 4.14). Keeps NICs without addresses and secondary addresses. */
export function parseIpJsonAddr(text: string): Nic[] {
  const data = JSON.parse(text) as IpJsonLink[];
  return data
    .filter((l) => typeof l.ifname === 'string')
    .map((l) => {
      const addresses: NicAddress[] = (l.addr_info ?? [])
        .filter((a) => (a.family === 'inet' || a.family === 'inet6') && a.local)
        .map((a) => {
          const out: NicAddress = {
            address: a.local ?? '',
            prefix: a.prefixlen ?? 32,
            family: a.family as 'inet' | 'inet6',
          };
          if (a.label && a.label !== l.ifname) out.label = a.label;
          if (a.secondary) out.secondary = true;
          return out;
        });
      const nic: Nic = {
        name: l.ifname ?? '',
        state: l.operstate ?? 'UNKNOWN',
        mac: l.link_type === 'ether' && l.address ? l.address.toLowerCase() : null,
        addresses,
      };
      if (l.link_type) nic.linkType = l.link_type;
      return nic;
    });
}

/**
 * The text fallback for iproute2 without `-j` (CentOS 7): `ip -o link show` and `ip -o addr show`.
 */
export function parseIpText(linkText: string, addrText: string): Nic[] {
  const nics = new Map<string, Nic>();
  for (const line of linkText.split('\n')) {
    const m = /^\d+:\s+([^:@\s]+)(?:@[^:\s]+)?:\s+<[^>]*>(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, name = '', rest = ''] = m;
    const state = /\bstate (\S+)/.exec(rest)?.[1] ?? 'UNKNOWN';
    const link = /link\/(\S+)(?:\s+([0-9a-f:]{17}))?/.exec(rest);
    const nic: Nic = {
      name,
      state,
      mac: link?.[1] === 'ether' && link[2] ? link[2].toLowerCase() : null,
      addresses: [],
    };
    if (link?.[1]) nic.linkType = link[1];
    nics.set(name, nic);
  }
  for (const line of addrText.split('\n')) {
    const m = /^\d+:\s+(\S+)\s+(inet6?)\s+([0-9a-fA-F.:]+)\/(\d+)(.*)$/.exec(line.trim());
    if (!m) continue;
    const [, name = '', family = 'inet', address = '', prefix = '32', rest = ''] = m;
    const nic = nics.get(name) ?? { name, state: 'UNKNOWN', mac: null, addresses: [] };
    nics.set(name, nic);
    const entry: NicAddress = {
      address,
      prefix: Number(prefix),
      family: family as 'inet' | 'inet6',
    };
    const label =
      /scope \S+ (?:secondary )?(?:dynamic )?(?:noprefixroute )?(\S+:\S+?)\\?(?:\s|$)/.exec(
        rest,
      )?.[1];
    if (label && label !== name) entry.label = label;
    if (/\bsecondary\b/.test(rest)) entry.secondary = true;
    nic.addresses.push(entry);
  }
  return [...nics.values()];
}

interface IpJsonRoute {
  dst?: string;
  gateway?: string;
  dev?: string;
}

export function parseIpJsonRoute(text: string): RouteFacts {
  const data = JSON.parse(text) as IpJsonRoute[];
  return routeFacts(
    data.map((r) => {
      const out: { dst: string; gateway?: string; dev?: string } = { dst: r.dst ?? '' };
      if (r.gateway) out.gateway = r.gateway;
      if (r.dev) out.dev = r.dev;
      return out;
    }),
  );
}

export function parseIpTextRoute(text: string): RouteFacts {
  const routes: RouteFacts['routes'] = [];
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    if (!words[0]) continue;
    const r: { dst: string; gateway?: string; dev?: string } = { dst: words[0] };
    const via = words.indexOf('via');
    if (via >= 0 && words[via + 1]) r.gateway = words[via + 1];
    const dev = words.indexOf('dev');
    if (dev >= 0 && words[dev + 1]) r.dev = words[dev + 1];
    routes.push(r);
  }
  return routeFacts(routes);
}

function routeFacts(routes: RouteFacts['routes']): RouteFacts {
  const def = routes.find((r) => r.dst === 'default' || r.dst === '0.0.0.0/0');
  return { defaultGateway: def?.gateway ?? null, defaultDev: def?.dev ?? null, routes };
}

export function parseOsRelease(text: string): OsFacts {
  const kv: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (!m || !m[1]) continue;
    kv[m[1]] = (m[2] ?? '').replace(/^"(.*)"$/, '$1').replace(/^'(.*)'$/, '$1');
  }
  const id = kv.ID ?? 'unknown';
  const versionId = kv.VERSION_ID ?? '';
  const like = `${id} ${kv.ID_LIKE ?? ''}`;
  const family = /\b(rhel|centos|fedora|rocky|almalinux)\b/.test(like)
    ? 'el'
    : /\b(debian|ubuntu)\b/.test(like)
      ? 'debian'
      : 'unknown';
  const major = Number.parseInt(versionId, 10) || 0;
  let distro: DistroKey | null = null;
  if (family === 'el') {
    distro = major === 7 ? 'centos7' : major === 8 ? 'rocky8' : major >= 9 ? 'rocky9' : null;
  } else if (id === 'ubuntu') {
    distro = major >= 24 ? 'ubuntu24' : major >= 22 ? 'ubuntu22' : null;
  } else if (family === 'debian') {
    distro = major >= 12 || versionId === '' ? 'debian12' : null;
  }
  return { id, versionId, family, prettyName: kv.PRETTY_NAME ?? id, distro, major };
}

/** `ipvsadm -Sn` (the save format, numeric). */
export function parseIpvsadmSave(text: string): IpvsServiceEntry[] {
  const services: IpvsServiceEntry[] = [];
  const byKey = new Map<string, IpvsServiceEntry>();
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    const opt = (flag: string) => {
      const i = words.indexOf(flag);
      return i >= 0 ? words[i + 1] : undefined;
    };
    const kindFlag = words.find((w) => w === '-t' || w === '-u' || w === '-f');
    if (!kindFlag) continue;
    const protocol = kindFlag === '-t' ? 'tcp' : kindFlag === '-u' ? 'udp' : 'fwmark';
    const address = opt(kindFlag) ?? '';
    const key = `${protocol} ${address}`;
    if (words[0] === '-A') {
      const entry: IpvsServiceEntry = {
        protocol,
        address,
        scheduler: opt('-s') ?? 'wlc',
        persistence: words.includes('-p') ? Number(opt('-p') ?? 300) || 300 : 0,
        destinations: [],
      };
      services.push(entry);
      byKey.set(key, entry);
    } else if (words[0] === '-a') {
      const svc = byKey.get(key);
      const real = opt('-r') ?? '';
      const m = /^(.*):(\d+)$/.exec(real);
      if (!svc || !m) continue;
      svc.destinations.push({
        address: m[1] ?? '',
        port: Number(m[2]),
        forward: words.includes('-m') ? 'masq' : words.includes('-i') ? 'tunnel' : 'route',
        weight: Number(opt('-w') ?? 1),
      });
    }
  }
  return services;
}

/** `sysctl -a`-style or `key = value` lines into a map. */
export function parseSysctlLines(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^\s*([A-Za-z0-9_./-]+)\s*=\s*(.*?)\s*$/.exec(line);
    if (m?.[1] && !line.trim().startsWith('#') && !line.trim().startsWith(';'))
      out[m[1]] = m[2] ?? '';
  }
  return out;
}

/** `systemctl show -p Id,LoadState,ActiveState,UnitFileState unit…` blocks. */
export function parseSystemctlShow(text: string): Record<string, ServiceState> {
  const out: Record<string, ServiceState> = {};
  for (const block of text.split(/\n\s*\n/)) {
    const kv = parseSysctlLines(block);
    const id = kv.Id?.replace(/\.service$/, '');
    if (!id) continue;
    out[id] = {
      present: kv.LoadState === 'loaded',
      active: kv.ActiveState === 'active' || kv.ActiveState === 'reloading',
      enabled: kv.UnitFileState === 'enabled' || kv.UnitFileState === 'enabled-runtime',
    };
  }
  return out;
}

/** `firewall-cmd --list-all` of the default zone. */
export function parseFirewalldListAll(text: string): {
  zone: string;
  services: string[];
  ports: string[];
  protocols: string[];
  richRules: string[];
  masquerade: boolean;
} {
  const lines = text.split('\n');
  const zone = /^(\S+)/.exec(lines[0] ?? '')?.[1] ?? 'public';
  const field = (name: string) => {
    const line = lines.find((l) => l.trim().startsWith(`${name}:`));
    return line
      ? line
          .trim()
          .slice(name.length + 1)
          .trim()
          .split(/\s+/)
          .filter(Boolean)
      : [];
  };
  const richStart = lines.findIndex((l) => l.trim().startsWith('rich rules:'));
  const richRules =
    richStart >= 0
      ? lines
          .slice(richStart + 1)
          .map((l) => l.trim())
          .filter(Boolean)
      : [];
  return {
    zone,
    services: field('services'),
    ports: field('ports'),
    protocols: field('protocols'),
    richRules,
    masquerade: field('masquerade')[0] === 'yes',
  };
}

/**
 * `rpm -q --qf '%{NAME} %{VERSION}-%{RELEASE}\n'` or
 * `dpkg-query -W -f='${Package} ${db:Status-Abbrev} ${Version}\n'` (only status "ii" is installed).
 */
export function parsePackageQuery(
  text: string,
  names: readonly string[],
  format: 'rpm' | 'dpkg',
): Record<string, string | null> {
  const out: Record<string, string | null> = Object.fromEntries(names.map((n) => [n, null]));
  for (const line of text.split('\n')) {
    const words = line.trim().split(/\s+/);
    const name = words[0];
    if (!name || !(name in out)) continue;
    if (format === 'rpm' && words.length === 2) out[name] = words[1] ?? null;
    if (format === 'dpkg' && words.length >= 3 && words[1] === 'ii') out[name] = words[2] ?? null;
  }
  return out;
}

/** First version-looking token: "Keepalived v2.2.7 (01/16,2022)" → "2.2.7". */
export function parseVersion(text: string): string | null {
  return /v?(\d+\.\d+(?:\.\d+)?)/.exec(text)?.[1] ?? null;
}
