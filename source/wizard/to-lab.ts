import type { z } from 'zod';
import { formatIssues, labToYaml, parseLab, type ConfigIssue } from '../config/load.js';
import { inSubnet, isIPv4, splitCidr } from '../config/net.js';
import type { Lab } from '../config/resolve.js';
import type { LabFile, labSchema } from '../config/schema.js';
import type { HostFacts } from '../facts/types.js';
import {
  emptyAnswers,
  setValue,
  value,
  type AnswerContext,
  type Answers,
  type ExportDraft,
  type RealServerDraft,
} from './answers.js';
import { cidrOf, defaultNic, primaryIPv4, usableNics } from './host-view.js';
import { toList, toNumber } from './questions.js';

/**
 * Answers → lab file. The lab describes the whole lab as far as the user told it: this host, plus
 * the hosts they named (a director's real servers become hosts with role real-server and their
 * addresses; an HA director's peer; a real server's director), so the saved file is what every
 * other VM applies. The result goes through the same parser as a lab file read from disk.
 */

export type LabDraft = z.input<typeof labSchema>;
type HostDraft = LabDraft['hosts'][string];
type InterfaceDraft = NonNullable<HostDraft['interfaces']>[string];

interface Addr {
  nic: string;
  address: string;
  prefix: number;
}

function addrs(interfaces: Record<string, InterfaceDraft>): Addr[] {
  const out: Addr[] = [];
  for (const [nic, c] of Object.entries(interfaces)) {
    if (!c.address || !/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c.address)) continue;
    const { address, prefix } = splitCidr(c.address);
    out.push({ nic, address, prefix });
  }
  return out;
}

function holding(list: Addr[], address: string): Addr | undefined {
  if (!isIPv4(address)) return undefined;
  return list.find((a) => inSubnet(address, a.address, a.prefix));
}

const MAC = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** This host's interfaces as the network screen says, each with its MAC so apply finds the host. */
export function myInterfaces(ctx: AnswerContext): Record<string, InterfaceDraft> {
  const out: Record<string, InterfaceDraft> = {};
  for (const nic of usableNics(ctx.facts)) {
    const use = value(ctx, `nic.${nic.name}.use`);
    if (use === 'skip') continue;
    const mac = nic.mac && MAC.test(nic.mac) ? nic.mac.toLowerCase() : undefined;
    if (use === 'keep') {
      const v4 = primaryIPv4(nic);
      const gw = ctx.facts.routes.defaultGateway;
      const gateway =
        v4 && gw && ctx.facts.routes.defaultDev === nic.name && inSubnet(gw, v4.address, v4.prefix)
          ? gw
          : undefined;
      out[nic.name] = clean({ address: v4 ? cidrOf(v4) : undefined, gateway, mac });
      continue;
    }
    const gateway = value(ctx, `nic.${nic.name}.gateway`).trim();
    out[nic.name] = clean({
      address: value(ctx, `nic.${nic.name}.address`).trim(),
      gateway: gateway || undefined,
      dns: toList(value(ctx, `nic.${nic.name}.dns`)),
      mac,
    });
  }
  return out;
}

/** The gateway and DNS of a set of interfaces (the one NIC with a default route). */
function routeOf(interfaces: Record<string, InterfaceDraft>): {
  gateway?: string;
  dns?: string[];
} {
  const withGw = Object.values(interfaces).find((c) => c.gateway);
  const withDns = Object.values(interfaces).find((c) => c.dns && c.dns.length > 0);
  return { gateway: withGw?.gateway, dns: (withGw?.dns ?? withDns?.dns) as string[] | undefined };
}

/**
 * A host the user only named (a real server, the HA peer): its address on the subnet of `near`, a
 * gateway (NAT: the director's address there, the seed's rule; else the lab's gateway when it is
 * on that subnet) and the same DNS.
 */
function otherHostInterface(
  address: string,
  near: Addr[],
  route: { gateway?: string; dns?: string[] },
  natGateway: boolean,
): InterfaceDraft {
  const sub = holding(near, address);
  const prefix = sub?.prefix ?? 24;
  let gateway: string | undefined;
  if (natGateway && sub) gateway = sub.address;
  else if (route.gateway && isIPv4(address) && inSubnet(route.gateway, address, prefix))
    gateway = route.gateway;
  return clean({
    address: `${address.trim()}/${prefix}`,
    gateway,
    dns: gateway ? route.dns : undefined,
  });
}

/** ens33 → ens34, eth0 → eth1: a guess at a second NIC's name. */
function nextNicName(name: string): string {
  const m = /^(.*?)(\d+)$/.exec(name);
  return m ? `${m[1]}${Number(m[2]) + 1}` : `${name}1`;
}

export interface LabBuild {
  draft: LabDraft;
  /** Names given to two different hosts (the YAML map would silently merge them). */
  clashes: ConfigIssue[];
}

/** The lab as the answers describe it (not yet validated). */
export function answersToLab(answers: Answers, facts: HostFacts): LabBuild {
  const ctx: AnswerContext = { answers, facts };
  const v = (id: string) => value(ctx, id).trim();
  const me = v('hostName');
  const role = v('role');
  const hosts: Record<string, HostDraft> = {};
  const owners = new Map<string, string>();
  const clashes: ConfigIssue[] = [];
  const addHost = (name: string, host: HostDraft, what: string) => {
    const prior = owners.get(name);
    if (prior !== undefined) {
      clashes.push({
        path: `hosts.${name}`,
        message: `the name ${name} is given to two hosts (${prior} and ${what}); expected different names`,
      });
      return;
    }
    owners.set(name, what);
    hosts[name] = host;
  };
  const meIfs = myInterfaces(ctx);
  const route = routeOf(meIfs);
  const mode = v('mode');
  const services: LabDraft['services'] = [];
  const rsEntries = (list: readonly RealServerDraft[]) =>
    list.map((r) => ({ host: r.name.trim(), weight: toNumber(r.weight) ?? 1 }));
  const service = (realServers: Array<{ host: string; weight: number }>, ha: boolean) =>
    clean({
      name: v('service.name'),
      vip: v('service.vip'),
      port: toNumber(v('service.port')) as number,
      protocol: v('service.protocol') as 'tcp' | 'udp',
      mode: mode as 'nat' | 'dr' | 'tun',
      scheduler: v('service.scheduler') as LabFile['services'][number]['scheduler'],
      persistence: toNumber(v('service.persistence')) ?? 0,
      real_servers: realServers,
      // keepalived checks each real server and takes a dead one out (the seed's TCP_CHECK).
      check: ha ? { type: 'tcp' as const } : undefined,
    });
  let vrrp: LabDraft['vrrp'];

  if (role === 'director') {
    const ha = v('ha');
    const isHa = ha === 'MASTER' || ha === 'BACKUP';
    const priority = toNumber(v('ha.priority')) ?? 100;
    addHost(
      me,
      clean({
        role: 'director' as const,
        interfaces: meIfs,
        ha: isHa ? { state: ha, priority } : undefined,
      }),
      'this host',
    );
    const myAddrs = addrs(meIfs);
    if (isHa) {
      vrrp = {
        router_id: toNumber(v('ha.routerId')) as number,
        advert_int: toNumber(v('ha.advertInt')) ?? 1,
        auth_pass: value(ctx, 'ha.authPass'),
      };
      const vipNic = holding(myAddrs, v('service.vip'))?.nic ?? defaultNic(facts)?.name ?? 'eth0';
      const peerPriority =
        ha === 'MASTER' ? Math.max(1, priority - 10) : Math.min(254, priority + 10);
      const peerAddress = v('ha.peerAddress');
      const { address: pa } = splitCidr(peerAddress);
      const peerIf = clean({
        address: peerAddress,
        gateway:
          route.gateway && isIPv4(pa) && inSubnet(route.gateway, pa, splitCidr(peerAddress).prefix)
            ? route.gateway
            : undefined,
        dns: route.gateway ? route.dns : undefined,
      });
      addHost(
        v('ha.peerName'),
        {
          role: 'director',
          ha: { state: ha === 'MASTER' ? 'BACKUP' : 'MASTER', priority: peerPriority },
          interfaces: { [vipNic]: peerIf },
        },
        'the other director',
      );
    }
    services.push(service(rsEntries(answers.realServers), isHa));
    for (const rs of answers.realServers) {
      addHost(
        rs.name.trim(),
        {
          role: 'real-server',
          interfaces: {
            [rs.nic.trim()]: otherHostInterface(rs.address.trim(), myAddrs, route, mode === 'nat'),
          },
        },
        `real server ${rs.address.trim()}`,
      );
    }
  } else if (role === 'real-server') {
    addHost(me, { role: 'real-server', interfaces: meIfs }, 'this host');
    const nicA = defaultNic(facts)?.name ?? 'eth0';
    const dirIfs: Record<string, InterfaceDraft> = {};
    const dirAddress = v('director.address');
    const vipAddress = mode === 'nat' ? v('director.vipAddress') : '';
    const dirRoute = (cidr: string) => {
      const { address, prefix } = splitCidr(cidr);
      return route.gateway && isIPv4(address) && inSubnet(route.gateway, address, prefix)
        ? route.gateway
        : undefined;
    };
    if (vipAddress) {
      // The seed's director: the public NIC first (ens33), the private one (the DIP) second.
      dirIfs[nicA] = { address: vipAddress };
      dirIfs[nextNicName(nicA)] = { address: dirAddress };
    } else {
      dirIfs[nicA] = clean({
        address: dirAddress,
        gateway: mode === 'nat' ? undefined : dirRoute(dirAddress),
      });
    }
    addHost(v('director.name'), { role: 'director', interfaces: dirIfs }, 'the director');
    const dirAddrs = addrs(dirIfs);
    services.push(service([{ host: me, weight: 1 }, ...rsEntries(answers.realServers)], false));
    for (const rs of answers.realServers) {
      addHost(
        rs.name.trim(),
        {
          role: 'real-server',
          interfaces: {
            [rs.nic.trim()]: otherHostInterface(rs.address.trim(), dirAddrs, route, mode === 'nat'),
          },
        },
        `real server ${rs.address.trim()}`,
      );
    }
  } else {
    addHost(
      me,
      clean({
        role: 'nfs-server' as const,
        interfaces: meIfs,
        exports:
          answers.exports.length > 0
            ? answers.exports.map((e) => ({
                path: e.path.trim(),
                clients: e.clients.trim() || '*',
                options: toList(e.options) ?? ['ro', 'sync'],
              }))
            : undefined,
      }),
      'this host',
    );
  }

  const draft: LabDraft = clean({
    name: v('labName'),
    firewall: v('firewall') as 'open' | 'disable',
    vrrp,
    services,
    hosts,
  });
  return { draft, clashes };
}

export type BuiltLab =
  | { ok: true; lab: Lab; file: LabFile; yaml: string; host: string }
  | { ok: false; issues: ConfigIssue[]; yaml: string; host: string };

/** A header that says where the file came from and what to do with it. */
export function labHeader(fileName: string, host: string, hostname: string): string {
  return [
    `# Lab file written by the lvs-setup wizard on ${hostname || 'this machine'} (lab host ${host}).`,
    `# On each VM of the lab run:  npx lvs-setup apply --lab ${fileName} --host NAME`,
    '',
  ].join('\n');
}

/** Answers → a validated lab: the YAML goes through the very parser `apply --lab` uses. */
export function buildLab(answers: Answers, facts: HostFacts): BuiltLab {
  const { draft, clashes } = answersToLab(answers, facts);
  const host = value({ answers, facts }, 'hostName').trim();
  const yaml = labToYaml(draft as LabFile);
  const parsed = parseLab(yaml, 'wizard answers');
  if (clashes.length > 0 || !parsed.ok)
    return { ok: false, issues: [...clashes, ...(parsed.ok ? [] : parsed.issues)], yaml, host };
  return { ok: true, lab: parsed.lab, file: parsed.lab.file, yaml, host };
}

export function describeIssues(issues: ConfigIssue[]): string {
  return formatIssues(issues, 'the lab from your answers');
}

/** Which screen to go back to for a problem at `path` of the lab built from the answers. */
export function screenForIssue(
  path: string,
  answers: Answers,
  facts: HostFacts,
): 'role' | 'mode' | 'service' | 'real-servers' | 'director' | 'ha' | 'network' | 'exports' {
  const ctx = { answers, facts };
  const me = value(ctx, 'hostName').trim();
  const role = value(ctx, 'role');
  if (path === 'name') return 'role';
  if (path.startsWith('vrrp')) return 'ha';
  if (/^services\[\d+\]\.(mode|directors)/.test(path)) return 'mode';
  if (/^services\[\d+\]\.real_servers/.test(path)) return 'real-servers';
  if (path.startsWith('services')) return 'service';
  const host = /^hosts\.([^.]+)(\.(.*))?$/.exec(path);
  if (host) {
    const [, name, , rest = ''] = host;
    if (name === me) {
      if (rest.startsWith('ha')) return 'ha';
      if (rest.startsWith('exports')) return 'exports';
      if (rest.startsWith('interfaces')) return 'network';
      return 'role';
    }
    if (role === 'director' && name === value(ctx, 'ha.peerName').trim()) return 'ha';
    if (role === 'real-server' && name === value(ctx, 'director.name').trim()) return 'director';
    return 'real-servers';
  }
  return 'role';
}

// ---- lab file → answers (to edit a loaded lab) --------------------------------------------------

/**
 * The answers that describe `host` of a loaded lab, so the user can change them. Only what the
 * wizard asks survives: other services, clients, custom checks and NFS web roots are not kept.
 */
export function labToAnswers(
  lab: Lab,
  host: string,
  facts: HostFacts,
  base = emptyAnswers(),
): Answers {
  let a = base;
  const set = (id: string, val: string | number | undefined) => {
    if (val !== undefined) a = setValue(a, id, String(val));
  };
  const file = lab.file;
  const h = file.hosts[host];
  if (!h) return a;
  const role = h.role === 'client' ? 'director' : h.role;
  set('role', role);
  set('hostName', host);
  set('labName', file.name);
  set('firewall', file.firewall);
  set('ha', h.ha?.state ?? 'none');

  // This host's NICs: the lab's settings on the NICs this machine has.
  for (const nic of usableNics(facts)) {
    const c = h.interfaces[nic.name];
    if (!c) {
      set(`nic.${nic.name}.use`, 'skip');
      continue;
    }
    const current = primaryIPv4(nic);
    if (c.address && current && cidrOf(current) === c.address && !c.dns) {
      set(`nic.${nic.name}.use`, 'keep');
      continue;
    }
    set(`nic.${nic.name}.use`, c.address ? 'static' : 'skip');
    set(`nic.${nic.name}.address`, c.address ?? '');
    set(`nic.${nic.name}.gateway`, c.gateway ?? '');
    set(`nic.${nic.name}.dns`, (c.dns ?? []).join(', '));
  }

  const addrOf = (name: string): Addr[] =>
    addrs((file.hosts[name]?.interfaces ?? {}) as Record<string, InterfaceDraft>);
  const service =
    role === 'director'
      ? lab.services.find((s) => s.directors.includes(host))
      : lab.services.find((s) => s.realServers.some((r) => r.host === host));
  if (service) {
    set('mode', service.mode);
    set('service.name', service.name);
    set('service.vip', service.vip);
    set('service.port', service.port);
    set('service.protocol', service.protocol);
    set('service.scheduler', service.scheduler);
    set('service.persistence', service.persistence);
    const rsDrafts: RealServerDraft[] = service.realServers
      .filter((r) => r.host !== host)
      .map((r) => ({
        name: r.host,
        address: r.address,
        weight: String(r.weight),
        nic: addrOf(r.host).find((x) => x.address === r.address)?.nic ?? 'eth0',
      }));
    a = { ...a, realServers: rsDrafts };
    if (role === 'real-server') {
      const d = service.directors[0];
      if (d) {
        set('director.name', d);
        const dAddrs = addrOf(d);
        const mine = addrOf(host);
        const near = dAddrs.find((x) => mine.some((m) => inSubnet(x.address, m.address, m.prefix)));
        const pub = dAddrs.find((x) => inSubnet(service.vip, x.address, x.prefix));
        if (near) set('director.address', `${near.address}/${near.prefix}`);
        if (pub && pub !== near) set('director.vipAddress', `${pub.address}/${pub.prefix}`);
      }
    }
    if (role === 'director' && h.ha) {
      set('ha.priority', h.ha.priority);
      if (file.vrrp) {
        set('ha.routerId', file.vrrp.router_id);
        set('ha.advertInt', file.vrrp.advert_int);
        if (file.vrrp.auth_pass) set('ha.authPass', file.vrrp.auth_pass);
      }
      const peer = service.directors.find((d) => d !== host);
      if (peer) {
        set('ha.peerName', peer);
        const pub = addrOf(peer).find((x) => inSubnet(service.vip, x.address, x.prefix));
        if (pub) set('ha.peerAddress', `${pub.address}/${pub.prefix}`);
      }
    }
  }
  if (role === 'nfs-server') {
    const exports: ExportDraft[] = (h.exports ?? []).map((e) => ({
      path: e.path,
      clients: e.clients,
      options: e.options.join(','),
    }));
    a = { ...a, exports };
  }
  return a;
}
