import { directorNicFor, hostAddresses } from '../source/config/resolve.js';
import { inSubnet, networkOf } from '../source/config/net.js';
import { change, cmd, fileStep, ok, type Step } from '../source/plan/step.js';
import { directedServices, type PlanContext, type Recipe } from './context.js';
import { oneshotUnit } from './network-render.js';
import { unitStep } from './network-units.js';
import { header } from './network.js';

/**
 * NAT director: masquerade the real servers' own traffic (updates, DNS, anything they start) as it
 * leaves through the VIP's interface — the seed's `iptables -t nat -A POSTROUTING -s
 * 192.168.81.0/24 … MASQUERADE`. Without the seed's `iptables -t nat -F`: lvs-setup adds exactly its
 * rule and never flushes other rules. Also `net.ipv4.vs.conntrack=1`, so netfilter's NAT sees the
 * connections IPVS handles.
 */

const RECIPE = 'iptables';
export const IPTABLES_UNIT = 'lvs-setup-iptables.service';
export const CONNTRACK_KEY = 'net.ipv4.vs.conntrack';
export const CONNTRACK_FILE = '/etc/sysctl.d/91-lvs-setup-ipvs.conf';
/** The same path on CentOS 7, EL 8/9 (alternatives) and Debian/Ubuntu (alternatives). */
export const IPTABLES = '/usr/sbin/iptables';

export interface NatRule {
  /** The real servers' subnet, e.g. 192.168.81.0/24. */
  source: string;
  /** The VIP's interface, where the masqueraded traffic leaves. */
  out: string;
  services: string[];
}

/** The POSTROUTING rules this NAT director needs, one per (real-server subnet, outgoing interface). */
export function natRules(ctx: PlanContext): NatRule[] {
  const out: NatRule[] = [];
  const mine = hostAddresses(ctx.lab.file, ctx.hostName);
  for (const s of directedServices(ctx)) {
    if (s.mode !== 'nat') continue;
    const vipNic = directorNicFor(ctx.lab.file, ctx.hostName, s.vip);
    if (!vipNic) continue;
    for (const rs of s.realServers) {
      const side = mine.find((a) => inSubnet(rs.address, a.address, a.prefix));
      // A real server on the VIP's own subnet can reach the gateway there directly: nothing to do.
      if (!side || side.nic === vipNic.nic) continue;
      const source = networkOf(side.address, side.prefix);
      const found = out.find((r) => r.source === source && r.out === vipNic.nic);
      if (found) {
        if (!found.services.includes(s.name)) found.services.push(s.name);
      } else {
        out.push({ source, out: vipNic.nic, services: [s.name] });
      }
    }
  }
  return out;
}

/** The rule's words after the chain, in the order `iptables -t nat -S` prints them back. */
export function ruleSpec(r: NatRule): string[] {
  return ['-s', r.source, '-o', r.out, '-j', 'MASQUERADE'];
}

/** The line `iptables -t nat -S` prints for the rule: facts compare against it exactly. */
export function ruleLine(r: NatRule): string {
  return ['-A', 'POSTROUTING', ...ruleSpec(r)].join(' ');
}

function ruleStep(r: NatRule): Step {
  const line = ruleLine(r);
  return {
    id: `iptables:nat:${r.source}:${r.out}`,
    recipe: RECIPE,
    title: `Masquerade ${r.source} leaving ${r.out}`,
    explain: `NAT (${r.services.join(', ')}): the real servers on ${r.source} use the director as their gateway. Replies to clients are rewritten by IPVS itself; this rule gives the connections the real servers start themselves (package updates, DNS) the director's address on ${r.out}, so answers can find their way back. MASQUERADE picks the interface's current address (the seed's SNAT --to-source names it; both work). Added once — never a duplicate — and never by flushing the nat table as the seed does, which would delete other rules (Docker's, libvirt's).`,
    decide(facts) {
      const rules = facts.iptablesNat;
      if (rules?.some((l) => l.trim() === line)) return ok(`the nat table has ${line}`);
      return change(
        rules === null
          ? 'iptables is not installed yet (the packages step installs it)'
          : `the nat table lacks ${line}`,
        [
          cmd(['iptables', '-w', '-t', 'nat', '-A', 'POSTROUTING', ...ruleSpec(r)], {
            inverse: [
              { argv: ['iptables', '-w', '-t', 'nat', '-D', 'POSTROUTING', ...ruleSpec(r)] },
            ],
          }),
        ],
      );
    },
  };
}

/**
 * A unit that puts the rules back at boot. ExecStart is not a shell (no `-C … || -A …`), so each
 * rule is deleted first (`-` ignores "no such rule") and appended: starting it twice still leaves
 * exactly one copy. Neither iptables-services' saved rules nor iptables-persistent:
 * both restore a whole table, which would clash with firewalld and wipe rules of other tools.
 */
export function iptablesUnit(ctx: PlanContext, rules: NatRule[]): string {
  const argv = (op: string, r: NatRule) => [
    IPTABLES,
    '-w',
    '-t',
    'nat',
    op,
    'POSTROUTING',
    ...ruleSpec(r),
  ];
  return oneshotUnit({
    description: 'lvs-setup: NAT for the LVS real servers (iptables MASQUERADE)',
    header: [header(ctx, 'the NAT rules of an LVS NAT director, at boot')],
    start: rules.flatMap((r) => [[`-${IPTABLES}`, ...argv('-D', r).slice(1)], argv('-A', r)]),
    stop: rules.map((r) => [`-${IPTABLES}`, ...argv('-D', r).slice(1)]),
  });
}

function conntrackRuntimeStep(): Step {
  return {
    id: `iptables:sysctl:${CONNTRACK_KEY}`,
    recipe: RECIPE,
    title: `Set ${CONNTRACK_KEY} = 1 now`,
    explain:
      'By default IPVS keeps its connections out of netfilter’s connection tracking; with iptables NAT rules on the director, conntrack=1 makes IPVS record them so netfilter’s NAT and stateful rules see the same connections. The key exists only once ip_vs is loaded, which the modules step did.',
    decide(facts) {
      const current = facts.sysctl[CONNTRACK_KEY];
      if (current === '1') return ok(`${CONNTRACK_KEY} is already 1`);
      return change(
        current === undefined
          ? `${CONNTRACK_KEY} does not exist yet (ip_vs is not loaded)`
          : `${CONNTRACK_KEY} is ${current}`,
        [
          cmd(['sysctl', '-w', `${CONNTRACK_KEY}=1`], {
            inverse:
              current === undefined
                ? []
                : [{ argv: ['sysctl', '-w', `${CONNTRACK_KEY}=${current}`] }],
          }),
        ],
      );
    },
  };
}

export const iptablesRecipe: Recipe = (ctx) => {
  const rules = natRules(ctx);
  if (rules.length === 0) return [];
  return [
    ...rules.map(ruleStep),
    unitStep({
      id: 'iptables:persist',
      recipe: RECIPE,
      name: IPTABLES_UNIT,
      content: iptablesUnit(ctx, rules),
      title: `Install ${IPTABLES_UNIT} (the NAT rules come back at boot)`,
      explain:
        'iptables rules live in the kernel and vanish at reboot. This oneshot unit adds exactly lvs-setup’s rules early at boot (before the network is up), deleting each first so a restart never duplicates it, and removes them when stopped. It does not restore whole tables as iptables-services or iptables-persistent do, which would fight firewalld and other tools. Enabled now, not started: the rules are already in place.',
    }),
    conntrackRuntimeStep(),
    fileStep({
      id: 'iptables:sysctl:file',
      recipe: RECIPE,
      path: CONNTRACK_FILE,
      content: `# Written by lvs-setup for host ${ctx.hostName} of lab ${ctx.lab.file.name}.\n# IPVS connections are tracked so iptables NAT sees them. The key exists only after ip_vs\n# loads: systemd-sysctl runs after systemd-modules-load, which loads ip_vs from\n# /etc/modules-load.d, so this file applies at boot.\n${CONNTRACK_KEY} = 1\n`,
      title: `Write ${CONNTRACK_FILE} (${CONNTRACK_KEY} survives a reboot)`,
      explain:
        'systemd-sysctl applies /etc/sysctl.d at boot, ordered after systemd-modules-load (which loads ip_vs from the modules step’s file), so net.ipv4.vs.* exists by then. A file of its own, so the sysctl step’s file stays that step’s.',
    }),
  ];
};
