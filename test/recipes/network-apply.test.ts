import { describe, expect, it } from 'vitest';
import type { RunOptions, RunResult } from '../../source/boundary.js';
import { execute, undo } from '../../source/executor.js';
import { gatherFacts, withFiles } from '../../source/facts/gather.js';
import { makeContext, stepReads } from '../../source/plan/plan.js';
import type { Step } from '../../source/plan/step.js';
import { iptablesRecipe } from '../../recipes/iptables.js';
import { modulesRecipe } from '../../recipes/modules.js';
import { networkRecipe } from '../../recipes/network.js';
import { sysctlRecipe } from '../../recipes/sysctl.js';
import { vipRecipe } from '../../recipes/vip.js';
import type { Recipe } from '../../recipes/context.js';
import type { Lab } from '../../source/config/resolve.js';
import { FakeHost, type Distro } from '../helpers/fake-host.js';
import { loadExample } from '../helpers/recipe-harness.js';

/**
 * End to end on the simulated host: gather facts, plan the network → iptables recipes, run them with
 * the real executor, gather again: every step is "ok". Debian 12 here is the shape of the
 * real-kernel lab guests (no ifupdown, netplan or NetworkManager: systemd-networkd).
 */

/** FakeHost plus what systemd does with unit files: written units exist; enable makes the link. */
class UnitHost extends FakeHost {
  override async run(argv: readonly string[], options: RunOptions = {}): Promise<RunResult> {
    const [prog, verb, name] = argv;
    if (
      prog === 'systemctl' &&
      (verb === 'enable' || verb === 'disable') &&
      name?.startsWith('lvs-setup-')
    ) {
      const unit = this.files.get(`/etc/systemd/system/${name}`);
      if (verb === 'enable' && unit) {
        this.files.set(`/etc/systemd/system/multi-user.target.wants/${name}`, unit);
      } else {
        this.files.delete(`/etc/systemd/system/multi-user.target.wants/${name}`);
      }
      this.calls.push([...argv]);
      return {
        exitCode: 0,
        stdout: '',
        stderr: '',
        timedOut: false,
        notFound: false,
        durationMs: 1,
      };
    }
    return super.run(argv, options);
  }
}

const RECIPES: Recipe[] = [networkRecipe, modulesRecipe, sysctlRecipe, vipRecipe, iptablesRecipe];

async function plan(host: FakeHost, lab: Lab, name: string) {
  const bare = await gatherFacts(host);
  const ctx = makeContext(lab, name, bare);
  const steps: Step[] = RECIPES.flatMap((r) => r(ctx, bare));
  const facts = await withFiles(host, bare, stepReads(steps));
  return { steps, facts };
}

async function applyAndReplan(distro: Distro, labName: string, name: string, nics: string[]) {
  const lab = loadExample(labName);
  const host = new UnitHost({ distro, nics: nics.map((n) => ({ name: n })) });
  const { steps, facts } = await plan(host, lab, name);
  const recap = await execute({
    machine: host,
    steps,
    facts,
    refresh: async () => withFiles(host, await gatherFacts(host), stepReads(steps)),
    lab: lab.file.name,
    host: name,
    secrets: [],
  });
  const again = await plan(host, lab, name);
  const changed = again.steps
    .filter((s) => s.decide(again.facts).status === 'change')
    .map((s) => s.id);
  return { host, recap, changed, facts, steps };
}

describe('network, vip and iptables applied on a simulated host', () => {
  it('Debian 12 with systemd-networkd (the lab guests): NAT director', async () => {
    const r = await applyAndReplan('debian12', 'seed-nat', 'lvs', ['ens33', 'ens37']);
    expect(r.facts.networkConfig).toBe('networkd');
    expect(r.recap.failed).toBe(0);
    expect(r.changed).toEqual([]);
    expect(r.host.natRules).toEqual(['-A POSTROUTING -s 192.168.81.0/24 -o ens33 -j MASQUERADE']);
    expect(r.host.nic('ens33')?.addrs).toEqual([{ address: '192.168.91.141', prefix: 24 }]);
    expect(r.host.defaultRoute).toEqual({ gateway: '192.168.91.2', dev: 'ens33' });
    expect(r.host.sysctl('net.ipv4.vs.conntrack')).toBe('1');
    expect(r.host.text('/etc/systemd/network/60-lvs-setup-ens37.network')).toContain(
      'Address=192.168.81.141/24',
    );
    expect(r.host.calls).toContainEqual(['systemctl', 'enable', '--now', 'systemd-networkd']);
  });

  it('Debian 12 with systemd-networkd: DR real server, then undo puts everything back', async () => {
    const r = await applyAndReplan('debian12', 'seed-dr', 'web1', ['ens33']);
    expect(r.recap.failed).toBe(0);
    expect(r.changed).toEqual([]);
    expect(r.host.nic('lo')?.addrs).toContainEqual({
      address: '192.168.91.148',
      prefix: 32,
      label: 'lo:0',
    });
    expect(r.host.text('/etc/systemd/network/60-lvs-setup-lo.network')).toContain(
      'Address=192.168.91.148/32',
    );
    const report = await undo(r.host);
    expect(report.problems).toEqual([]);
    expect(r.host.nic('lo')?.addrs).toEqual([{ address: '127.0.0.1', prefix: 8 }]);
    expect(r.host.nic('ens33')?.addrs).toEqual([]);
    expect(r.host.text('/etc/systemd/network/60-lvs-setup-lo.network')).toBeNull();
  });

  it('Rocky 9 (NetworkManager): DR director', async () => {
    const r = await applyAndReplan('rocky9', 'seed-dr', 'lvs', ['ens33']);
    expect(r.facts.networkConfig).toBe('networkmanager');
    expect(r.recap.failed).toBe(0);
    expect(r.changed).toEqual([]);
    expect(r.host.nic('ens33')?.addrs).toContainEqual({
      address: '192.168.91.148',
      prefix: 32,
      label: 'ens33:0',
    });
    expect(r.host.calls.some((c) => c[0] === 'nmcli' && c[2] === 'load')).toBe(true);
  });

  it('CentOS 7 (ifcfg): TUN real server', async () => {
    const r = await applyAndReplan('centos7', 'tun', 'web1', ['ens33']);
    expect(r.recap.failed).toBe(0);
    expect(r.changed).toEqual([]);
    expect(r.host.nic('tunl0')?.addrs).toContainEqual({
      address: '192.168.91.148',
      prefix: 32,
      label: 'tunl0:0',
    });
    expect(r.host.text('/etc/sysconfig/network-scripts/ifcfg-tunl0:0')).toContain(
      'IPADDR=192.168.91.148',
    );
  });
});
