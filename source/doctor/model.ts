import type { PlanContext } from '../../recipes/context.js';
import { directedServices, servedServices } from '../../recipes/context.js';
import { hostAddresses } from '../config/resolve.js';
import type { Role } from '../config/schema.js';
import { inSubnet } from '../config/net.js';
import type { HostFacts, IpvsServiceEntry } from '../facts/types.js';
import { exportLines, parseKeepalivedConf } from './parse.js';
import type {
  DirectedService,
  DoctorModel,
  ForwardMode,
  ProbeResults,
  ServedService,
} from './types.js';

const MODE_OF_FORWARD = { masq: 'nat', route: 'dr', tunnel: 'tun' } as const;
const MODE_OF_LB_KIND: Record<string, ForwardMode> = { NAT: 'nat', DR: 'dr', TUN: 'tun' };

/** NICs that carry LAN traffic: not loopback, not tunnels. */
export function lanNics(facts: HostFacts): string[] {
  return facts.nics
    .filter(
      (n) =>
        n.name !== 'lo' &&
        n.linkType !== 'loopback' &&
        n.linkType !== 'ipip' &&
        !/^(tunl|sit|ip6tnl|gre|docker|veth|virbr)/.test(n.name),
    )
    .map((n) => n.name);
}

/** The model from the lab file: what this host must have. */
export function modelFromLab(
  ctx: PlanContext,
  facts: HostFacts,
  labPath: string | null,
): DoctorModel {
  const file = ctx.lab.file;
  const directed: DirectedService[] = directedServices(ctx).map((s) => ({
    name: s.name,
    vip: s.vip,
    port: s.port,
    protocol: s.protocol,
    mode: s.mode,
    scheduler: s.scheduler,
    persistence: s.persistence,
    realServers: s.realServers.map((rs) => ({
      host: rs.host,
      address: rs.address,
      port: s.mode === 'nat' ? rs.port : s.port,
      weight: rs.weight,
    })),
  }));
  const served: ServedService[] = servedServices(ctx).map(({ service, address, port }) => {
    const gateways: string[] = [];
    if (service.mode === 'nat') {
      for (const d of service.directors) {
        for (const a of hostAddresses(file, d)) {
          if (inSubnet(address, a.address, a.prefix) && !gateways.includes(a.address))
            gateways.push(a.address);
        }
      }
    }
    return {
      name: service.name,
      vip: service.vip,
      port: service.mode === 'nat' ? port : service.port,
      protocol: service.protocol,
      mode: service.mode,
      address,
      gateways,
    };
  });
  const haDirectors = Object.keys(file.hosts).filter((h) => file.hosts[h]?.ha);
  const ha = ctx.host.ha;
  let haInterface: string | null = ha?.interface ?? null;
  if (ha && !haInterface) {
    for (const s of directed) {
      const mine = hostAddresses(file, ctx.hostName).find((a) =>
        inSubnet(s.vip, a.address, a.prefix),
      );
      if (mine) {
        haInterface = mine.nic;
        break;
      }
    }
    haInterface ??= Object.keys(ctx.host.interfaces)[0] ?? null;
  }
  const present = new Set(facts.nics.map((n) => n.name));
  return {
    source: 'lab',
    labName: file.name,
    labPath,
    hostName: ctx.hostName,
    roles: [ctx.host.role],
    reasons: [
      `the lab file says ${ctx.hostName} is a ${ctx.host.role}${ha ? ` (HA ${ha.state})` : ''}`,
    ],
    nics: Object.keys(ctx.host.interfaces).filter((n) => present.has(n)),
    directed,
    served,
    ha: ha
      ? {
          state: ha.state,
          priority: ha.priority,
          nopreempt: ha.nopreempt ?? false,
          interface: haInterface,
          routerId: file.vrrp?.router_id ?? null,
          peerAddresses: haDirectors.flatMap((h) => hostAddresses(file, h).map((a) => a.address)),
        }
      : null,
    nfs: ctx.host.role === 'nfs-server',
    vips: [...new Set(ctx.lab.services.map((s) => s.vip))],
    firewall: file.firewall,
    applyCommand: labPath ? `sudo lvs-setup apply --lab ${labPath} --host ${ctx.hostName}` : null,
  };
}

function splitAddress(address: string): { ip: string; port: number } {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(address);
  return m ? { ip: m[1] ?? '', port: Number(m[2]) } : { ip: address, port: 0 };
}

function fromTable(table: IpvsServiceEntry[]): DirectedService[] {
  return table
    .filter((s) => s.protocol !== 'fwmark')
    .map((s) => {
      const { ip, port } = splitAddress(s.address);
      const modes = [...new Set(s.destinations.map((d) => MODE_OF_FORWARD[d.forward]))];
      return {
        name: `${s.protocol} ${s.address}`,
        vip: ip,
        port,
        protocol: s.protocol === 'udp' ? 'udp' : 'tcp',
        mode: modes.length === 1 ? (modes[0] ?? null) : null,
        scheduler: s.scheduler,
        persistence: s.persistence,
        realServers: s.destinations.map((d) => ({
          host: null,
          address: d.address.replace(/^\[|\]$/g, ''),
          port: d.port,
          weight: d.weight,
        })),
      };
    });
}

/**
 * Without a lab file: the roles from what is configured. An IPVS table or keepalived virtual
 * servers → director (HA when keepalived has a vrrp_instance); a non-loopback /32 on lo or an
 * address on tunl0 → DR / TUN real server; /etc/exports with entries → NFS server.
 */
export function inferModel(facts: HostFacts, probes: ProbeResults): DoctorModel {
  const roles: Role[] = [];
  const reasons: string[] = [];
  const conf = probes.keepalivedConf.content
    ? parseKeepalivedConf(probes.keepalivedConf.content)
    : null;

  let directed = fromTable(facts.ipvs.services ?? []);
  if (directed.length > 0) reasons.push(`the IPVS table has ${directed.length} service(s)`);
  if (conf && conf.virtualServers.length > 0) {
    for (const vs of conf.virtualServers) {
      if (directed.some((d) => d.vip === vs.address && d.port === vs.port)) continue;
      directed.push({
        name: `${vs.address}:${vs.port}`,
        vip: vs.address,
        port: vs.port,
        protocol: vs.protocol === 'UDP' ? 'udp' : 'tcp',
        mode: MODE_OF_LB_KIND[vs.lbKind ?? ''] ?? null,
        scheduler: null,
        persistence: null,
        realServers: vs.realServers.map((r) => ({
          host: null,
          address: r.address,
          port: r.port,
          weight: 1,
        })),
      });
    }
    reasons.push(`keepalived.conf has ${conf.virtualServers.length} virtual_server(s)`);
  }
  directed = directed.filter((d) => d.vip !== '');
  const instance = conf?.instances[0] ?? null;
  if (directed.length > 0 || instance) roles.push('director');
  if (instance) reasons.push(`keepalived.conf has vrrp_instance ${instance.name}`);

  const served: ServedService[] = [];
  const lo = facts.nics.find((n) => n.name === 'lo');
  for (const a of lo?.addresses ?? []) {
    if (a.family !== 'inet' || a.address.startsWith('127.') || a.prefix !== 32) continue;
    served.push({
      name: `VIP ${a.address}`,
      vip: a.address,
      port: 0,
      protocol: 'tcp',
      mode: 'dr',
      address: null,
      gateways: [],
    });
    reasons.push(`${a.address}/32 is on lo (a DR real server's VIP)`);
  }
  const tunl = facts.nics.find((n) => n.name === 'tunl0');
  for (const a of tunl?.addresses ?? []) {
    if (a.family !== 'inet') continue;
    served.push({
      name: `VIP ${a.address}`,
      vip: a.address,
      port: 0,
      protocol: 'tcp',
      mode: 'tun',
      address: null,
      gateways: [],
    });
    reasons.push(`${a.address} is on tunl0 (a TUN real server's VIP)`);
  }
  if (served.length > 0) roles.push('real-server');

  const exportsText = probes.exports.content;
  const nfs = exportsText !== null && exportLines(exportsText).length > 0;
  if (nfs) {
    roles.push('nfs-server');
    reasons.push('/etc/exports has entries');
  }
  if (roles.length === 0)
    reasons.push(
      'nothing LVS-related is configured here (no IPVS table, no VIP on lo/tunl0, no exports); give --lab to check against a lab file',
    );

  const vips = [
    ...new Set([
      ...directed.map((d) => d.vip),
      ...(instance?.virtualAddresses ?? []),
      ...served.map((s) => s.vip),
    ]),
  ];
  return {
    source: 'inferred',
    labName: null,
    labPath: null,
    hostName: null,
    roles,
    reasons,
    nics: lanNics(facts),
    directed,
    served,
    ha: instance
      ? {
          state: instance.state === 'MASTER' || instance.state === 'BACKUP' ? instance.state : null,
          priority: instance.priority,
          nopreempt: instance.nopreempt,
          interface: instance.interface,
          routerId: instance.routerId,
          peerAddresses: [],
        }
      : null,
    nfs,
    vips,
    firewall: null,
    applyCommand: null,
  };
}

export const isDirector = (m: DoctorModel) => m.roles.includes('director');
export const isRealServer = (m: DoctorModel) => m.roles.includes('real-server');
export const natDirected = (m: DoctorModel) => m.directed.filter((d) => d.mode === 'nat');
