import type { ConfigIssue } from './load.js';
import { inSubnet, networkOf, splitCidr } from './net.js';
import type { LabCheck, LabFile, LabHost, LabService } from './schema.js';

/** A real server of a service with everything derived: the address IPVS forwards to. */
export interface ResolvedRealServer {
  host: string;
  address: string;
  port: number;
  weight: number;
}

export interface ResolvedService extends Omit<LabService, 'real_servers' | 'directors' | 'check'> {
  index: number;
  realServers: ResolvedRealServer[];
  directors: string[];
  check: LabCheck | null;
}

export interface Lab {
  file: LabFile;
  services: ResolvedService[];
  /** HA directors exist (keepalived owns VIPs and the IPVS table). */
  ha: boolean;
}

interface HostAddress {
  host: string;
  nic: string;
  address: string;
  prefix: number;
}

/** A host by name: own entries only, so "constructor" or "toString" are not hosts. */
export function hostOf(file: LabFile, name: string): LabHost | undefined {
  return Object.hasOwn(file.hosts, name) ? file.hosts[name] : undefined;
}

export function hostAddresses(file: LabFile, host: string): HostAddress[] {
  const h = hostOf(file, host);
  if (!h) return [];
  const out: HostAddress[] = [];
  for (const [nic, cfg] of Object.entries(h.interfaces)) {
    if (!cfg.address) continue;
    const { address, prefix } = splitCidr(cfg.address);
    out.push({ host, nic, address, prefix });
  }
  return out;
}

/** The director interface whose subnet holds `address` (e.g. the VIP), if any. */
export function directorNicFor(
  file: LabFile,
  director: string,
  address: string,
): HostAddress | null {
  return hostAddresses(file, director).find((a) => inSubnet(address, a.address, a.prefix)) ?? null;
}

function defaultCheck(service: LabService): LabCheck | null {
  if (service.check) return service.check;
  return null;
}

export function resolveLab(file: LabFile): { lab: Lab; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const err = (path: string, message: string, value?: unknown) =>
    issues.push(value === undefined ? { path, message } : { path, message, value });

  const hostNames = Object.keys(file.hosts);
  const directors = hostNames.filter((n) => hostOf(file, n)?.role === 'director');

  // Addresses: unique across the lab, gateways inside their interface's subnet, one default route.
  const seen = new Map<string, string>();
  for (const [hostName, host] of Object.entries(file.hosts)) {
    const gateways: string[] = [];
    for (const [nic, cfg] of Object.entries(host.interfaces)) {
      const base = `hosts.${hostName}.interfaces.${nic}`;
      if (cfg.address) {
        const { address, prefix } = splitCidr(cfg.address);
        const prior = seen.get(address);
        if (prior) err(`${base}.address`, `address already used by ${prior}`, cfg.address);
        else seen.set(address, base);
        if (prefix < 32 && address === networkOf(address, prefix).split('/')[0]) {
          err(
            `${base}.address`,
            'is the network address of its subnet; expected a host address',
            cfg.address,
          );
        }
        if (cfg.gateway) {
          if (!inSubnet(cfg.gateway, address, prefix)) {
            err(
              `${base}.gateway`,
              `expected a gateway inside ${networkOf(address, prefix)}`,
              cfg.gateway,
            );
          } else if (cfg.gateway === address) {
            err(
              `${base}.gateway`,
              'is this interface’s own address; expected the router’s',
              cfg.gateway,
            );
          }
          gateways.push(nic);
        }
      } else if (cfg.gateway) {
        err(`${base}.gateway`, 'a gateway needs an address on the same interface', cfg.gateway);
      }
    }
    if (gateways.length > 1) {
      err(
        `hosts.${hostName}.interfaces.${gateways[1]}.gateway`,
        `only one interface may have a gateway (the default route); ${gateways[0]} already has one`,
      );
    }
    if (host.exports && host.role !== 'nfs-server') {
      err(
        `hosts.${hostName}.exports`,
        `exports are for role nfs-server; this host is a ${host.role}`,
      );
    }
    if (host.ha && host.role !== 'director') {
      err(`hosts.${hostName}.ha`, `ha is for role director; this host is a ${host.role}`);
    }
    if (host.ha?.interface && !host.interfaces[host.ha.interface]) {
      err(
        `hosts.${hostName}.ha.interface`,
        `expected one of this host's interfaces: ${Object.keys(host.interfaces).join(', ')}`,
        host.ha.interface,
      );
    }
    if (host.ha?.nopreempt && host.ha.state === 'MASTER') {
      err(
        `hosts.${hostName}.ha.nopreempt`,
        'keepalived ignores nopreempt unless state is BACKUP; set state: BACKUP on both directors and use priority to pick the preferred one',
        true,
      );
    }
    if (host.nfs_web_root) {
      const server = hostOf(file, host.nfs_web_root.server);
      if (!server || server.role !== 'nfs-server') {
        err(
          `hosts.${hostName}.nfs_web_root.server`,
          `expected a host with role nfs-server: ${hostNames.filter((n) => hostOf(file, n)?.role === 'nfs-server').join(', ') || '(none in this lab)'}`,
          host.nfs_web_root.server,
        );
      } else if (!server.exports?.some((e) => e.path === host.nfs_web_root?.path)) {
        err(
          `hosts.${hostName}.nfs_web_root.path`,
          `${host.nfs_web_root.server} exports no such path`,
          host.nfs_web_root.path,
        );
      }
    }
  }

  // HA: keepalived settings.
  const haDirectors = directors.filter((d) => hostOf(file, d)?.ha);
  const masters = haDirectors.filter((d) => hostOf(file, d)?.ha?.state === 'MASTER');
  if (masters.length > 1) {
    err(
      `hosts.${masters[1]}.ha.state`,
      `only one director may be MASTER; ${masters[0]} already is`,
      'MASTER',
    );
  }
  if (haDirectors.length > 0 && !file.vrrp) {
    err(
      'vrrp',
      'missing; HA directors need vrrp: {router_id: 1-255, advert_int: 1, auth_pass: up to 8 characters}',
    );
  }
  const priorities = new Map<number, string>();
  for (const d of haDirectors) {
    const p = hostOf(file, d)?.ha?.priority ?? 0;
    const other = priorities.get(p);
    if (other)
      err(
        `hosts.${d}.ha.priority`,
        `same priority as ${other}; expected different priorities so the election is clear`,
        p,
      );
    priorities.set(p, d);
  }

  // Services.
  const serviceKeys = new Map<string, string>();
  const names = new Map<string, number>();
  const services: ResolvedService[] = [];
  file.services.forEach((svc, index) => {
    const base = `services[${index}]`;
    const prevName = names.get(svc.name);
    if (prevName !== undefined)
      err(`${base}.name`, `duplicate service name; services[${prevName}] has it`, svc.name);
    names.set(svc.name, index);
    const key = `${svc.protocol}:${svc.vip}:${svc.port}`;
    const prevKey = serviceKeys.get(key);
    if (prevKey)
      err(`${base}.port`, `${svc.protocol} ${svc.vip}:${svc.port} is already ${prevKey}`, svc.port);
    serviceKeys.set(key, base);

    let serving: string[];
    if (svc.directors) {
      serving = [];
      svc.directors.forEach((d, i) => {
        if (!hostOf(file, d))
          err(`${base}.directors[${i}]`, `no such host; hosts: ${hostNames.join(', ')}`, d);
        else if (hostOf(file, d)?.role !== 'director')
          err(`${base}.directors[${i}]`, `is a ${hostOf(file, d)?.role}, expected a director`, d);
        else serving.push(d);
      });
    } else {
      serving = directors;
    }
    if (serving.length === 0) {
      err(`${base}`, 'no director serves this service; add a host with role: director');
    }
    const ha = serving.filter((d) => hostOf(file, d)?.ha);
    if (ha.length > 0 && ha.length !== serving.length) {
      err(
        `${base}.directors`,
        `mixes HA directors (${ha.join(', ')}) with directors without ha; give every director of the service ha: or list only one`,
      );
    }
    if (ha.length === 0 && serving.length > 1) {
      err(
        `${base}.directors`,
        `several directors (${serving.join(', ')}) without ha would fight over the VIP; add ha: to them or list one in directors:`,
      );
    }
    if (ha.length > 0 && svc.mode === 'nat') {
      err(
        `${base}.mode`,
        'HA directors with NAT need a floating gateway address for the real servers, which lvs-setup does not manage yet; use dr or tun with HA',
        svc.mode,
      );
    }

    // The VIP must sit in a subnet of each director: that is where clients (and in DR the real
    // servers) reach it.
    for (const d of serving) {
      if (!directorNicFor(file, d, svc.vip)) {
        const subnets = hostAddresses(file, d).map((a) => networkOf(a.address, a.prefix));
        err(
          `${base}.vip`,
          `not reachable from director ${d}: expected an address in ${subnets.join(' or ') || '(it has no addresses)'}`,
          svc.vip,
        );
      }
    }
    // A VIP that equals a real server's own address would make that server answer for everyone.
    for (const [hostName] of Object.entries(file.hosts)) {
      if (hostOf(file, hostName)?.role === 'director') continue;
      if (hostAddresses(file, hostName).some((a) => a.address === svc.vip)) {
        err(
          `${base}.vip`,
          `is the address of ${hostName}; expected an address of the director or a free one`,
          svc.vip,
        );
      }
    }

    const realServers: ResolvedRealServer[] = [];
    const rsSeen = new Set<string>();
    svc.real_servers.forEach((rs, i) => {
      const rsBase = `${base}.real_servers[${i}]`;
      const host: LabHost | undefined = hostOf(file, rs.host);
      if (!host) {
        err(`${rsBase}.host`, `no such host; hosts: ${hostNames.join(', ')}`, rs.host);
        return;
      }
      if (host.role !== 'real-server') {
        err(`${rsBase}.host`, `is a ${host.role}, expected a host with role: real-server`, rs.host);
        return;
      }
      if (rsSeen.has(rs.host)) err(`${rsBase}.host`, 'listed twice in this service', rs.host);
      rsSeen.add(rs.host);
      const addrs = hostAddresses(file, rs.host);
      let address = rs.address;
      if (address) {
        if (!addrs.some((a) => a.address === address)) {
          err(
            `${rsBase}.address`,
            `is not an address of ${rs.host}: expected one of ${addrs.map((a) => a.address).join(', ') || '(none)'}`,
            address,
          );
        }
      } else {
        // The address on a subnet the director shares, else the first one.
        const shared = addrs.find((a) =>
          serving.some((d) =>
            hostAddresses(file, d).some((da) => inSubnet(a.address, da.address, da.prefix)),
          ),
        );
        address = (shared ?? addrs[0])?.address;
        if (!address) {
          err(
            `${rsBase}.host`,
            `${rs.host} has no address; give one of its interfaces an address`,
            rs.host,
          );
          return;
        }
      }
      const port = rs.port ?? svc.port;
      if (svc.mode !== 'nat' && port !== svc.port) {
        err(
          `${rsBase}.port`,
          `${svc.mode.toUpperCase()} cannot change the port (only NAT rewrites it); expected ${svc.port}`,
          port,
        );
      }
      for (const d of serving) {
        const dirAddrs = hostAddresses(file, d);
        const sameSubnet = dirAddrs.find((da) => inSubnet(address, da.address, da.prefix));
        if (svc.mode === 'nat') {
          if (!sameSubnet) {
            err(
              `${rsBase}.host`,
              `NAT real server ${address} is on no subnet of director ${d} (${dirAddrs.map((a) => networkOf(a.address, a.prefix)).join(', ')}); NAT replies must route back through the director`,
              rs.host,
            );
          } else {
            const gwNic = Object.entries(host.interfaces).find(([, c]) => c.gateway);
            if (gwNic && gwNic[1].gateway !== sameSubnet.address) {
              err(
                `hosts.${rs.host}.interfaces.${gwNic[0]}.gateway`,
                `a NAT real server's default gateway must be the director's address on its subnet (${sameSubnet.address}), or replies bypass the director and clients drop them`,
                gwNic[1].gateway,
              );
            }
          }
        } else if (svc.mode === 'dr') {
          const vipNic = directorNicFor(file, d, svc.vip);
          if (vipNic && !inSubnet(address, vipNic.address, vipNic.prefix)) {
            err(
              `${rsBase}.host`,
              `DR real server ${address} is not on the director's VIP subnet ${networkOf(vipNic.address, vipNic.prefix)}; DR forwards by MAC address, so they must share a link`,
              rs.host,
            );
          }
        } else if (!sameSubnet && !dirAddrs.length) {
          err(
            `${rsBase}.host`,
            `TUN real server ${address} is not routable from director ${d}`,
            rs.host,
          );
        } else if (
          !sameSubnet &&
          !Object.values(hostOf(file, d)?.interfaces ?? {}).some((c) => c.gateway)
        ) {
          err(
            `${rsBase}.host`,
            `TUN real server ${address} is not routable from director ${d}: it is on none of its subnets and ${d} has no gateway`,
            rs.host,
          );
        }
      }
      realServers.push({ host: rs.host, address, port, weight: rs.weight });
    });

    const { real_servers: _rs, directors: _d, check: _c, ...rest } = svc;
    services.push({ ...rest, index, realServers, directors: serving, check: defaultCheck(svc) });
  });

  return { lab: { file, services, ha: haDirectors.length > 0 }, issues };
}
