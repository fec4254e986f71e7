import type { HostFacts } from '../source/facts/types.js';
import { change, cmd, ok, type CommandAction, type Step } from '../source/plan/step.js';
import {
  directedServices,
  isHaDirector,
  servedServices,
  type PlanContext,
  type Recipe,
} from './context.js';

/** A package the host needs, by role; `alternatives` count as already installed (nginx-light). */
export interface PackageNeed {
  name: string;
  why: string;
  alternatives?: string[];
}

const INSTALL_TIMEOUT_MS = 15 * 60_000;

export function neededPackages(ctx: PlanContext, facts: HostFacts): PackageNeed[] {
  const el = facts.os.family === 'el';
  const out: PackageNeed[] = [];
  const directed = directedServices(ctx);
  if (ctx.host.role === 'director') {
    out.push({
      name: 'ipvsadm',
      why: 'the userspace tool that shows and sets the kernel IPVS table',
    });
    if (isHaDirector(ctx)) {
      out.push({
        name: 'keepalived',
        why: 'VRRP moves the VIP to the backup director; health checks add and remove real servers',
      });
    }
    if (directed.some((s) => s.mode === 'nat')) {
      out.push({
        name: 'iptables',
        why: 'NAT: the SNAT/MASQUERADE rule for the real servers’ own outgoing traffic',
      });
    }
  }
  if (ctx.host.role === 'real-server' && servedServices(ctx).length > 0) {
    if (el && facts.os.major === 7) {
      out.push({ name: 'epel-release', why: 'CentOS 7 ships nginx only in EPEL' });
    }
    out.push({
      name: 'nginx',
      why: 'the web server each real server runs; its page names the server so you can watch the scheduler',
      alternatives: ['nginx-light', 'nginx-core', 'nginx-full', 'nginx-extras'],
    });
    if (ctx.host.nfs_web_root) {
      out.push({
        name: el ? 'nfs-utils' : 'nfs-common',
        why: 'mount the shared web root from the NFS server',
      });
    }
  }
  if (ctx.host.role === 'nfs-server') {
    if (el) {
      out.push({ name: 'nfs-utils', why: 'the NFS server (nfsd, exportfs)' });
      out.push({ name: 'rpcbind', why: 'NFSv3 clients find mountd and nfsd through rpcbind' });
    } else {
      out.push({
        name: 'nfs-kernel-server',
        why: 'the NFS server (nfsd, exportfs); pulls in rpcbind',
      });
    }
  }
  return out;
}

function installed(facts: HostFacts, need: PackageNeed): boolean {
  return [need.name, ...(need.alternatives ?? [])].some((n) => facts.packages[n]);
}

function installActions(facts: HostFacts, names: string[]): CommandAction[] {
  switch (facts.packageManager) {
    case 'yum':
      return [cmd(['yum', 'install', '-y', ...names], { timeoutMs: INSTALL_TIMEOUT_MS })];
    case 'dnf':
      return [cmd(['dnf', 'install', '-y', ...names], { timeoutMs: INSTALL_TIMEOUT_MS })];
    case 'apt':
      return [
        cmd(['apt-get', 'update'], { timeoutMs: INSTALL_TIMEOUT_MS }),
        cmd(
          [
            'env',
            'DEBIAN_FRONTEND=noninteractive',
            'apt-get',
            'install',
            '-y',
            '--no-install-recommends',
            ...names,
          ],
          {
            timeoutMs: INSTALL_TIMEOUT_MS,
          },
        ),
      ];
    default:
      return [];
  }
}

export const packagesRecipe: Recipe = (ctx, facts) => {
  const needs = neededPackages(ctx, facts);
  // EPEL must be installed (its repository defined) before nginx can be found, so it is its own step.
  const groups = [
    needs.filter((n) => n.name === 'epel-release'),
    needs.filter((n) => n.name !== 'epel-release'),
  ];
  const steps: Step[] = [];
  for (const group of groups) {
    if (group.length === 0) continue;
    const names = group.map((n) => n.name);
    steps.push({
      id: `packages:${names.join(',')}`,
      recipe: 'packages',
      title: `Install ${names.join(', ')}`,
      explain: group.map((n) => `${n.name}: ${n.why}.`).join(' '),
      decide(f) {
        const missing = group.filter((n) => !installed(f, n)).map((n) => n.name);
        if (missing.length === 0) return ok(`${names.join(', ')} already installed`);
        if (f.packageManager === 'none') {
          return change(`no known package manager; install ${missing.join(', ')} by hand`, [
            cmd(['false'], {}),
          ]);
        }
        return change(`not installed: ${missing.join(', ')}`, installActions(f, missing));
      },
    });
  }
  return steps;
};
