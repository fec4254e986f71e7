import type { Lab, ResolvedService } from '../source/config/resolve.js';
import type { LabHost } from '../source/config/schema.js';
import type { HostFacts } from '../source/facts/types.js';
import type { Step } from '../source/plan/step.js';

/** What every recipe receives: the lab, the host being configured, and its name. */
export interface PlanContext {
  lab: Lab;
  hostName: string;
  host: LabHost;
  /** keepalived's version on this host, or the one the distro would install (templates need it). */
  keepalivedVersion: string | null;
}

/** A recipe: a pure function from the configuration and the host's facts to steps. */
export type Recipe = (ctx: PlanContext, facts: HostFacts) => Step[];

/** Services this host directs (it is one of their directors). */
export function directedServices(ctx: PlanContext): ResolvedService[] {
  return ctx.lab.services.filter((s) => s.directors.includes(ctx.hostName));
}

/** Services this host is a real server of, with its entry. */
export function servedServices(
  ctx: PlanContext,
): Array<{ service: ResolvedService; address: string; port: number }> {
  const out: Array<{ service: ResolvedService; address: string; port: number }> = [];
  for (const service of ctx.lab.services) {
    for (const rs of service.realServers) {
      if (rs.host === ctx.hostName) out.push({ service, address: rs.address, port: rs.port });
    }
  }
  return out;
}

export function isHaDirector(ctx: PlanContext): boolean {
  return ctx.host.role === 'director' && ctx.host.ha !== undefined;
}

export function nicNames(ctx: PlanContext): string[] {
  return Object.keys(ctx.host.interfaces);
}
