import { directorNicFor } from '../source/config/resolve.js';
import { splitCidr } from '../source/config/net.js';
import type { HostFacts, NicAddress } from '../source/facts/types.js';
import { directedServices, isHaDirector, servedServices, type PlanContext } from './context.js';

/**
 * What the network, vip and iptables recipes agree on: the addresses the lab file gives this host's
 * interfaces, and the VIPs it must hold. Pure functions of the lab; the recipes turn them into steps.
 */

/** An interface with an address in the lab file (interfaces without one are left alone). */
export interface NicConfig {
  nic: string;
  address: string;
  prefix: number;
  /** `192.168.91.141/24` */
  cidr: string;
  gateway: string | null;
  dns: string[];
}

export function addressedNics(ctx: PlanContext): NicConfig[] {
  const out: NicConfig[] = [];
  for (const [nic, cfg] of Object.entries(ctx.host.interfaces)) {
    if (!cfg.address) continue;
    const { address, prefix } = splitCidr(cfg.address);
    out.push({
      nic,
      address,
      prefix,
      cidr: `${address}/${prefix}`,
      gateway: cfg.gateway ?? null,
      dns: cfg.dns ?? [],
    });
  }
  return out;
}

export type VipKind = 'director' | 'dr' | 'tun';

/** A VIP this host holds as an extra /32 address. */
export interface HostVip {
  /** ens33 (director), lo (DR real server) or tunl0 (TUN real server). */
  dev: string;
  vip: string;
  /** Legacy alias label (`ens33:0`, `lo:0`), or null when `<dev>:<n>` would pass 15 characters. */
  label: string | null;
  kind: VipKind;
  services: string[];
}

/** A director service whose VIP is the interface's own address (the seed's NAT lab). */
export interface OwnAddressVip {
  nic: string;
  vip: string;
  services: string[];
}

export interface HostVips {
  aliases: HostVip[];
  own: OwnAddressVip[];
}

/** The kernel's IFNAMSIZ - 1: the longest interface name, and so the longest address label. */
const MAX_LABEL = 15;

/**
 * The VIPs of this host. Directors without HA hold each VIP on the interface whose subnet holds it
 * (HA directors: keepalived owns the VIP, so none here); DR real servers on lo; TUN real servers on
 * tunl0. One entry per (device, VIP) even when several services share a VIP.
 */
export function hostVips(ctx: PlanContext): HostVips {
  const aliases: HostVip[] = [];
  const own: OwnAddressVip[] = [];
  const addAlias = (dev: string, vip: string, kind: VipKind, service: string) => {
    const found = aliases.find((a) => a.dev === dev && a.vip === vip);
    if (found) {
      if (!found.services.includes(service)) found.services.push(service);
      return;
    }
    const n = aliases.filter((a) => a.dev === dev).length;
    const label = `${dev}:${n}`;
    aliases.push({
      dev,
      vip,
      label: label.length <= MAX_LABEL ? label : null,
      kind,
      services: [service],
    });
  };
  if (ctx.host.role === 'director' && !isHaDirector(ctx)) {
    for (const s of directedServices(ctx)) {
      const nic = directorNicFor(ctx.lab.file, ctx.hostName, s.vip);
      if (!nic) continue; // the lab check reports it
      if (nic.address === s.vip) {
        const found = own.find((o) => o.nic === nic.nic && o.vip === s.vip);
        if (found) found.services.push(s.name);
        else own.push({ nic: nic.nic, vip: s.vip, services: [s.name] });
      } else {
        addAlias(nic.nic, s.vip, 'director', s.name);
      }
    }
  }
  for (const { service } of servedServices(ctx)) {
    if (service.mode === 'dr') addAlias('lo', service.vip, 'dr', service.name);
    if (service.mode === 'tun') addAlias('tunl0', service.vip, 'tun', service.name);
  }
  return { aliases, own };
}

/** The director VIP aliases on one interface (what a NetworkManager profile of it must carry). */
export function directorVipsOn(ctx: PlanContext, nic: string): HostVip[] {
  return hostVips(ctx).aliases.filter((a) => a.kind === 'director' && a.dev === nic);
}

/** The IPv4 addresses `dev` has now. */
export function nicAddresses(facts: HostFacts, dev: string): NicAddress[] {
  return facts.nics.find((n) => n.name === dev)?.addresses.filter((a) => a.family === 'inet') ?? [];
}

/** A file name part made of letters, digits, dash and underscore only (ifupdown's `source-directory` skips others). */
export function safeName(name: string): string {
  return name.replace(/[^A-Za-z0-9_-]/g, '_');
}
