import type { HostFacts } from '../source/facts/types.js';
import { change, cmd, fileStep, ok, type Step } from '../source/plan/step.js';
import {
  directedServices,
  nicNames,
  servedServices,
  type PlanContext,
  type Recipe,
} from './context.js';

export const SYSCTL_FILE = '/etc/sysctl.d/90-lvs-setup.conf';

export interface SysctlSetting {
  key: string;
  value: string;
  why: string;
}

/** The kernel settings this host's role and modes need, each with the reason. */
export function desiredSysctls(ctx: PlanContext): SysctlSetting[] {
  const out = new Map<string, SysctlSetting>();
  const set = (key: string, value: string, why: string) => {
    if (!out.has(key)) out.set(key, { key, value, why });
  };
  const directed = directedServices(ctx);
  const served = servedServices(ctx);
  const nics = nicNames(ctx);

  if (directed.length > 0) {
    const nat = directed.some((s) => s.mode === 'nat');
    set(
      'net.ipv4.ip_forward',
      '1',
      nat
        ? 'NAT: the director routes replies from the real servers back to the clients'
        : 'the seed enables forwarding on every director; IPVS itself forwards DR/TUN without it',
    );
    if (nat) {
      for (const nic of ['all', 'default', ...nics]) {
        set(
          `net.ipv4.conf.${nic}.send_redirects`,
          '0',
          'NAT: the director must not tell real servers (ICMP redirect) to bypass it, or replies skip the NAT',
        );
      }
    }
  }
  const drOrTun = served.filter((s) => s.service.mode === 'dr' || s.service.mode === 'tun');
  if (drOrTun.length > 0) {
    // The kernel uses the larger of conf.all and conf.<nic>, so both must be set.
    for (const nic of ['all', 'lo', ...nics]) {
      set(
        `net.ipv4.conf.${nic}.arp_ignore`,
        '1',
        'DR/TUN: answer ARP only for addresses on the asking interface, so the VIP on lo stays hidden and only the director answers for it',
      );
      set(
        `net.ipv4.conf.${nic}.arp_announce`,
        '2',
        'DR/TUN: never use the VIP as the source of ARP requests, so neighbours do not learn this host as the VIP',
      );
    }
  }
  if (served.some((s) => s.service.mode === 'tun')) {
    for (const nic of ['all', 'tunl0', ...nics]) {
      set(
        `net.ipv4.conf.${nic}.rp_filter`,
        '0',
        'TUN: a decapsulated request arrives on tunl0 from a client the route table would not reach through tunl0; strict reverse-path filtering would drop it',
      );
    }
  }
  return [...out.values()];
}

function fileContent(settings: SysctlSetting[]): string {
  const lines = ['# Written by lvs-setup: kernel settings for this host’s LVS role.', ''];
  let lastWhy = '';
  for (const s of settings) {
    // One comment per group of settings that share a reason.
    if (s.why !== lastWhy) lines.push(`# ${s.why}`);
    lastWhy = s.why;
    lines.push(`${s.key} = ${s.value}`);
  }
  return `${lines.join('\n')}\n`;
}

function runtimeStep(s: SysctlSetting): Step {
  return {
    id: `sysctl:${s.key}`,
    recipe: 'sysctl',
    title: `Set ${s.key} = ${s.value} now`,
    explain: s.why,
    decide(facts: HostFacts) {
      const current = facts.sysctl[s.key];
      if (current === s.value) return ok(`${s.key} is already ${s.value}`);
      const inverse =
        current === undefined ? [] : [{ argv: ['sysctl', '-w', `${s.key}=${current}`] }];
      return change(`${s.key} is ${current ?? 'unset'}`, [
        cmd(['sysctl', '-w', `${s.key}=${s.value}`], { inverse }),
      ]);
    },
  };
}

export const sysctlRecipe: Recipe = (ctx) => {
  const settings = desiredSysctls(ctx);
  if (settings.length === 0) return [];
  return [
    fileStep({
      id: 'sysctl:file',
      recipe: 'sysctl',
      path: SYSCTL_FILE,
      content: fileContent(settings),
      title: `Write ${SYSCTL_FILE} (settings survive a reboot)`,
      explain:
        'systemd-sysctl applies files in /etc/sysctl.d at boot, so these settings come back after a reboot.',
    }),
    ...settings.map(runtimeStep),
  ];
};
