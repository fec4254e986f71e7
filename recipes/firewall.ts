import type { HostFacts } from '../source/facts/types.js';
import { change, cmd, ok, type Step } from '../source/plan/step.js';
import {
  directedServices,
  isHaDirector,
  servedServices,
  type PlanContext,
  type Recipe,
} from './context.js';

/** What the firewall must let in for this host's role (firewall: open). */
export interface FirewallNeed {
  kind: 'port' | 'protocol' | 'service' | 'masquerade';
  value: string; // "80/tcp", "vrrp", "nfs"
  why: string;
}

export function firewallNeeds(ctx: PlanContext): FirewallNeed[] {
  const out: FirewallNeed[] = [];
  const add = (n: FirewallNeed) => {
    if (!out.some((o) => o.kind === n.kind && o.value === n.value)) out.push(n);
  };
  for (const s of directedServices(ctx)) {
    add({
      kind: 'port',
      value: `${s.port}/${s.protocol}`,
      why: `clients connect to the VIP ${s.vip}:${s.port}`,
    });
    if (s.mode === 'nat') {
      add({
        kind: 'masquerade',
        value: 'masquerade',
        why: 'NAT: forward and masquerade the real servers’ traffic',
      });
    }
  }
  if (isHaDirector(ctx)) {
    add({
      kind: 'protocol',
      value: 'vrrp',
      why: 'keepalived’s VRRP adverts (IP protocol 112); blocked, both directors become MASTER',
    });
  }
  for (const { service, port } of servedServices(ctx)) {
    add({
      kind: 'port',
      value: `${port}/${service.protocol}`,
      why: `the director forwards ${service.name} requests to this port`,
    });
  }
  if (ctx.host.role === 'nfs-server') {
    for (const svc of ['nfs', 'rpc-bind', 'mountd']) {
      add({ kind: 'service', value: svc, why: 'NFS clients reach nfsd, rpcbind and mountd' });
    }
  }
  return out;
}

function firewalldFlag(n: FirewallNeed, op: 'add' | 'remove'): string {
  return n.kind === 'masquerade' ? `--${op}-masquerade` : `--${op}-${n.kind}=${n.value}`;
}

function isOpen(facts: HostFacts, n: FirewallNeed): boolean {
  const fw = facts.firewall;
  switch (n.kind) {
    case 'port':
      return fw.ports?.includes(n.value) ?? false;
    case 'protocol':
      return (
        (fw.protocols?.includes(n.value) ?? false) ||
        (n.value === 'vrrp' && (fw.protocols?.includes('112') ?? false))
      );
    case 'service':
      return fw.services?.includes(n.value) ?? false;
    case 'masquerade':
      return fw.masquerade ?? false;
  }
}

function disableSteps(): Step[] {
  return [
    {
      id: 'firewall:disable-firewalld',
      recipe: 'firewall',
      title: 'Stop and disable firewalld',
      explain:
        'The seed lab turns the firewall off so nothing filters VIP, VRRP or NFS traffic while you learn. Use firewall: open to keep it and open exactly what LVS needs.',
      decide(f) {
        const unit = f.services.firewalld;
        if (!unit?.present) return ok('firewalld is not installed');
        if (!unit.active && !unit.enabled) return ok('firewalld is already stopped and disabled');
        return change(
          `firewalld is ${unit.active ? 'running' : 'stopped'} and ${unit.enabled ? 'enabled' : 'disabled'}`,
          [
            cmd(['systemctl', 'disable', '--now', 'firewalld'], {
              inverse: [
                {
                  argv: [
                    'systemctl',
                    unit.enabled ? 'enable' : 'disable',
                    unit.active ? '--now' : '--no-reload',
                    'firewalld',
                  ],
                },
              ],
            }),
          ],
        );
      },
    },
    {
      id: 'firewall:disable-ufw',
      recipe: 'firewall',
      title: 'Disable ufw',
      explain:
        'ufw would drop the forwarded and VIP traffic the lab needs; the lab file says firewall: disable.',
      decide(f) {
        if (f.firewall.kind !== 'ufw' || !f.firewall.running) return ok('ufw is not active');
        return change('ufw is active', [
          cmd(['ufw', 'disable'], { inverse: [{ argv: ['ufw', '--force', 'enable'] }] }),
        ]);
      },
    },
  ];
}

function openSteps(ctx: PlanContext): Step[] {
  return firewallNeeds(ctx).map((n) => ({
    id: `firewall:open:${n.kind}:${n.value}`,
    recipe: 'firewall',
    title:
      n.kind === 'masquerade'
        ? 'Enable masquerading in firewalld'
        : `Allow ${n.value} in firewalld`,
    explain: `${n.why}. Opened both now and permanently, so it survives a reload or reboot.`,
    decide(f: HostFacts) {
      if (f.firewall.kind !== 'firewalld' || !f.firewall.running)
        return ok('firewalld is not running');
      if (isOpen(f, n)) return ok(`${n.value} is already allowed`);
      return change(`${n.value} is not allowed`, [
        cmd(['firewall-cmd', '--permanent', firewalldFlag(n, 'add')], {
          inverse: [{ argv: ['firewall-cmd', '--permanent', firewalldFlag(n, 'remove')] }],
        }),
        cmd(['firewall-cmd', firewalldFlag(n, 'add')], {
          inverse: [{ argv: ['firewall-cmd', firewalldFlag(n, 'remove')] }],
        }),
      ]);
    },
  }));
}

export const firewallRecipe: Recipe = (ctx) =>
  ctx.lab.file.firewall === 'disable' ? disableSteps() : openSteps(ctx);
