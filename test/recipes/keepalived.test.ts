import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { HostFacts } from '../../source/facts/types.js';
import type { CommandAction } from '../../source/plan/step.js';
import {
  KEEPALIVED_CONF,
  compareVersions,
  keepalivedConf,
  keepalivedDialect,
  keepalivedRecipe,
  vrrpAuthPass,
} from '../../recipes/keepalived.js';
import {
  DISTROS,
  applySteps,
  changes,
  exampleData,
  exampleLab,
  freshFacts,
  labFrom,
  planRecipe,
} from '../helpers/recipe-facts.js';

const FIXTURES = new URL('../fixtures/recipes/', import.meta.url);
const fixture = (name: string) => readFileSync(new URL(name, FIXTURES), 'utf8');

// ---------------------------------------------------------------------------------------------
// A small keepalived.conf reader, to compare files by meaning (keywords and values per block).

interface Node {
  words: string[];
  children: Node[];
}

function parseConf(text: string): Node[] {
  const root: Node = { words: [], children: [] };
  const stack = [root];
  for (const raw of text.split('\n')) {
    const l = raw.replace(/[#!].*$/, '').trim();
    if (!l) continue;
    const top = stack[stack.length - 1] ?? root;
    if (l === '}') {
      stack.pop();
      continue;
    }
    const open = l.endsWith('{');
    const node: Node = { words: l.replace(/\s*\{$/, '').split(/\s+/), children: [] };
    top.children.push(node);
    if (open) stack.push(node);
  }
  return root.children;
}

/** Blocks as sorted lists: the order of keywords inside a block does not matter to keepalived. */
function canonical(nodes: Node[]): string[] {
  return nodes
    .map((n) =>
      n.children.length > 0 || n.words[0] === 'virtual_ipaddress'
        ? `${n.words.join(' ')} { ${canonical(n.children).join('; ')} }`
        : n.words.join(' '),
    )
    .sort();
}

function find(nodes: Node[], ...path: string[]): Node[] {
  let level = nodes;
  for (const key of path.slice(0, -1))
    level = level.filter((n) => n.words[0] === key).flatMap((n) => n.children);
  return level.filter((n) => n.words[0] === path[path.length - 1]);
}

/** Every keyword used, with its block path (to check them against a version's parser). */
function keywords(nodes: Node[], prefix = ''): string[] {
  return nodes.flatMap((n) => {
    const kw = n.words[0] ?? '';
    return [`${prefix}${kw}`, ...keywords(n.children, `${prefix}${kw}/`)];
  });
}

const HA = exampleLab('seed-dr-keepalived.yaml');

function confFor(host: string, version: string | null, lab = HA): string {
  const facts = freshFacts(lab, host, 'rocky9');
  const { ctx } = planRecipe(keepalivedRecipe, lab, host, facts);
  return keepalivedConf({ ...ctx, keepalivedVersion: version }, facts);
}

describe('keepalived dialects', () => {
  it('compares versions numerically', () => {
    expect(compareVersions('2.2.7', '2.0.4')).toBeGreaterThan(0);
    expect(compareVersions('1.3.5', '1.3.0')).toBeGreaterThan(0);
    expect(compareVersions('1.2.13', '1.3.0')).toBeLessThan(0);
    expect(compareVersions('2.0', '2.0.0')).toBe(0);
  });

  it.each([
    // [version, TCP_CHECK retry, HTTP_GET retry, keepalived -t]
    ['1.2.13', null, 'nb_get_retry', false], // CentOS 7.0-7.3: TCP_CHECK has no retry at all
    ['1.3.5', 'retry', 'nb_get_retry', false], // CentOS 7.4+: check_tcp.c installs "retry"
    ['2.0.4', 'retry', 'retry', true],
    ['2.1.5', 'retry', 'retry', true], // Rocky 8
    ['2.2.4', 'retry', 'retry', true], // Ubuntu 22.04
    ['2.2.7', 'retry', 'retry', true], // Debian 12
    ['2.2.8', 'retry', 'retry', true], // Rocky 9, Ubuntu 24.04
  ] as const)('%s: TCP_CHECK %s, HTTP_GET %s, config test %s', (v, tcp, http, test) => {
    expect(keepalivedDialect(v)).toEqual({
      version: v,
      tcpRetry: tcp,
      httpRetry: http,
      configTest: test,
    });
  });

  it('assumes the oldest supported (CentOS 7’s 1.3.5) when the version is unknown', () => {
    expect(keepalivedDialect(null).version).toBe('1.3.5');
  });
});

describe('keepalived.conf template', () => {
  it.each([
    ['centos7', '1.3.5'],
    ['rocky9', '2.2.8'],
    ['debian12', '2.2.7'],
  ] as const)('%s (keepalived %s): the seed’s pair, by meaning', (distro, version) => {
    for (const [host, seed] of [
      ['lvs1', 'seed-keepalived-master.conf'],
      ['lvs2', 'seed-keepalived-backup.conf'],
    ] as const) {
      const facts = freshFacts(HA, host, distro);
      const p = planRecipe(keepalivedRecipe, HA, host, facts);
      expect(p.ctx.keepalivedVersion).toBe(version);
      const ours = parseConf(keepalivedConf(p.ctx, facts));
      // The seed with the differences we make on purpose: a /32 VIP with its device and the
      // ifconfig-style label, `persistence_timeout 0` left out (0 is no persistence), and the
      // retry count as keepalived's TCP_CHECK spells it (the seed's nb_get_retry is ignored there).
      const expected = parseConf(
        fixture(seed)
          .replace(/^(\s*)192\.168\.91\.148$/m, '$1192.168.91.148/32 dev ens33 label ens33:0')
          .replace(/^\s*persistence_timeout 0\n/m, '')
          .replace(/nb_get_retry/g, 'retry'),
      );
      expected.unshift({
        words: ['global_defs'],
        children: [{ words: ['router_id', host], children: [] }],
      });
      expect(canonical(ours)).toEqual(canonical(expected));
    }
  });

  it('writes only keywords the version parses (checked against keepalived’s sources)', () => {
    const httpLab = (() => {
      const data = exampleData('seed-dr-keepalived.yaml');
      const svc = (data.services as Array<Record<string, unknown>>)[0] ?? {};
      svc.check = { type: 'http', path: '/health', status: 200, retry: 2 };
      return labFrom(data);
    })();
    // 1.2.13: TCP_CHECK without retry/delay_before_retry.
    const old = keywords(parseConf(confFor('lvs1', '1.2.13')));
    expect(old).toContain('virtual_server/real_server/TCP_CHECK/connect_timeout');
    expect(old.filter((k) => k.startsWith('virtual_server/real_server/TCP_CHECK/'))).toEqual([
      'virtual_server/real_server/TCP_CHECK/connect_timeout',
      'virtual_server/real_server/TCP_CHECK/connect_port',
      'virtual_server/real_server/TCP_CHECK/connect_timeout',
      'virtual_server/real_server/TCP_CHECK/connect_port',
    ]);
    for (const v of ['1.3.5', '2.2.7']) {
      const tcp = keywords(parseConf(confFor('lvs1', v)));
      expect(tcp).toContain('virtual_server/real_server/TCP_CHECK/retry');
      expect(tcp.join(' ')).not.toContain('nb_get_retry');
    }
    const http135 = confFor('lvs1', '1.3.5', httpLab);
    expect(http135).toMatch(/HTTP_GET \{\n\s+url \{\n\s+path \/health\n\s+status_code 200\n\s+\}/);
    expect(http135).toMatch(/^\s+nb_get_retry 2$/m);
    expect(confFor('lvs1', '2.2.8', httpLab)).toMatch(/^\s+retry 2$/m);
    // Never vrrp_strict (it would drop traffic to the VIP without accept).
    for (const v of ['1.2.13', '1.3.5', '2.2.8'])
      expect(confFor('lvs1', v)).not.toContain('vrrp_strict');
  });

  it('puts nopreempt only on a BACKUP', () => {
    const data = exampleData('seed-dr-keepalived.yaml');
    const hosts = data.hosts as Record<string, Record<string, unknown>>;
    hosts.lvs1 = { ...hosts.lvs1, ha: { state: 'BACKUP', priority: 100, nopreempt: true } };
    hosts.lvs2 = { ...hosts.lvs2, ha: { state: 'BACKUP', priority: 90, nopreempt: true } };
    const lab = labFrom(data);
    expect(confFor('lvs1', '2.2.8', lab)).toMatch(/^ {4}nopreempt$/m);
    expect(confFor('lvs1', '2.2.8')).not.toContain('nopreempt'); // the seed's MASTER
    expect(confFor('lvs2', '2.2.8')).not.toContain('nopreempt'); // BACKUP without nopreempt
  });

  it('uses ha.interface when set, else the NIC of the VIP’s subnet', () => {
    const data = exampleData('seed-dr-keepalived.yaml');
    const hosts = data.hosts as Record<string, Record<string, unknown>>;
    hosts.lvs1 = {
      ...hosts.lvs1,
      interfaces: { ens33: { address: '192.168.91.145/24' }, ens37: { address: '10.9.0.1/24' } },
      ha: { state: 'MASTER', priority: 100, interface: 'ens37' },
    };
    const conf = parseConf(confFor('lvs1', '2.2.8', labFrom(data)));
    expect(find(conf, 'vrrp_instance', 'interface')[0]?.words).toEqual(['interface', 'ens37']);
    expect(find(conf, 'vrrp_instance', 'virtual_ipaddress')[0]?.children[0]?.words).toEqual(
      '192.168.91.148/32 dev ens33 label ens33:0'.split(' '),
    );
  });

  it('derives one auth_pass per lab when the lab sets none: 8 characters, same on both directors', () => {
    const data = exampleData('seed-dr-keepalived.yaml');
    delete (data.vrrp as Record<string, unknown>).auth_pass;
    const lab = labFrom(data);
    const pass = vrrpAuthPass(lab);
    expect(pass?.derived).toBe(true);
    expect(pass?.value).toMatch(/^[A-Za-z0-9_-]{8}$/);
    expect(vrrpAuthPass(labFrom(exampleData('seed-dr-keepalived.yaml')))?.value).toBe('1111');
    const a = parseConf(confFor('lvs1', '2.2.8', lab));
    const b = parseConf(confFor('lvs2', '2.2.8', lab));
    const passOf = (n: Node[]) =>
      find(n, 'vrrp_instance', 'authentication', 'auth_pass')[0]?.words[1];
    expect(passOf(a)).toBe(pass?.value);
    expect(passOf(b)).toBe(pass?.value);
    // Stable across plans, different for another lab.
    expect(vrrpAuthPass(labFrom(data))?.value).toBe(pass?.value);
    expect(vrrpAuthPass(labFrom({ ...data, name: 'other-lab' }))?.value).not.toBe(pass?.value);
    const step = planRecipe(
      keepalivedRecipe,
      lab,
      'lvs1',
      freshFacts(lab, 'lvs1', 'rocky9'),
    ).steps.find((s) => s.id === 'keepalived:conf');
    expect(step?.explain).toMatch(/derived .* set vrrp\.auth_pass/);
  });
});

describe('keepalived recipe steps', () => {
  describe.each(DISTROS)('%s', (distro) => {
    const el = distro === 'centos7' || distro === 'rocky9';

    it('writes the file (0640), checks it on 2.x, restarts, enables; ipvsadm’s restore off', () => {
      const facts = freshFacts(HA, 'lvs1', distro, (f) => {
        if (el) f.services.ipvsadm = { present: true, active: true, enabled: true };
        else
          f.files['/etc/default/ipvsadm'] = {
            content: fixture('debian12-default-ipvsadm').replace('AUTO="false"', 'AUTO="true"'),
            mode: 0o644,
          };
      });
      const p = planRecipe(keepalivedRecipe, HA, 'lvs1', facts);
      expect(p.steps.map((s) => s.id)).toEqual([
        'keepalived:ipvsadm-off',
        'keepalived:conf',
        'keepalived:service',
      ]);
      const c = changes(p);
      const off = c.find((x) => x.id === 'keepalived:ipvsadm-off')?.actions[0];
      if (el) {
        // Disabled, never stopped: stopping ipvsadm.service runs ipvsadm -C.
        expect(off).toMatchObject({ argv: ['systemctl', 'disable', 'ipvsadm.service'] });
        expect((off as CommandAction).inverse).toEqual([
          { argv: ['systemctl', 'enable', 'ipvsadm.service'] },
        ]);
      } else {
        expect(off?.kind === 'file' && off.content).toMatch(/^AUTO="false"$/m);
      }
      const conf = c.find((x) => x.id === 'keepalived:conf')?.actions ?? [];
      expect(conf[0]).toMatchObject({ kind: 'file', path: KEEPALIVED_CONF, mode: 0o640 });
      const cmds = conf.slice(1).map((a) => (a.kind === 'command' ? a.argv.join(' ') : ''));
      expect(cmds).toEqual([
        ...(distro === 'centos7' ? [] : [`keepalived -t -f ${KEEPALIVED_CONF}`]),
        'systemctl restart keepalived',
      ]);
      const svc = c.find((x) => x.id === 'keepalived:service')?.actions[0] as CommandAction;
      expect(svc.argv).toEqual(['systemctl', 'enable', '--now', 'keepalived']);
      expect(svc.inverse).toEqual([{ argv: ['systemctl', 'disable', '--now', 'keepalived'] }]);
    });

    it('reports every step already ok when the host already matches (no actions)', () => {
      const facts = freshFacts(HA, 'lvs2', distro);
      const { ctx } = planRecipe(keepalivedRecipe, HA, 'lvs2', facts);
      const ready: HostFacts = structuredClone(facts);
      ready.files[KEEPALIVED_CONF] = { content: keepalivedConf(ctx, facts), mode: 0o640 };
      ready.services.keepalived = { present: true, active: true, enabled: true };
      ready.services.ipvsadm = { present: true, active: false, enabled: false };
      if (!el)
        ready.files['/etc/default/ipvsadm'] = {
          content: fixture('debian12-default-ipvsadm'),
          mode: 0o644,
        };
      const p = planRecipe(keepalivedRecipe, HA, 'lvs2', ready);
      expect(p.decisions.map((d) => d.decision.status)).toEqual(['ok', 'ok', 'ok']);
      expect(changes(p)).toEqual([]);
    });

    it('plans nothing more after its own changes are applied', () => {
      const p = planRecipe(keepalivedRecipe, HA, 'lvs1', freshFacts(HA, 'lvs1', distro));
      const again = planRecipe(keepalivedRecipe, HA, 'lvs1', applySteps(p.steps, p.facts));
      expect(changes(again)).toEqual([]);
    });
  });

  it('has no steps on directors without ha or other hosts', () => {
    const dr = exampleLab('seed-dr.yaml');
    expect(planRecipe(keepalivedRecipe, dr, 'lvs', freshFacts(dr, 'lvs', 'rocky9')).steps).toEqual(
      [],
    );
    expect(
      planRecipe(keepalivedRecipe, HA, 'web1', freshFacts(HA, 'web1', 'rocky9')).steps,
    ).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// The real parser: keepalived -t on the generated file (keepalived ≥ 2.0.4 installed here).

function keepalivedBinary(): string | null {
  const r = spawnSync('keepalived', ['--version'], { encoding: 'utf8' });
  return r.error ? null : (`${r.stdout}${r.stderr}`.split('\n')[0] ?? 'keepalived');
}

/** An interface this machine has (keepalived -t refuses a config naming a missing one). */
function localNic(): string {
  const names = readdirSync('/sys/class/net');
  return names.includes('eth0')
    ? 'eth0'
    : (names.find((n) => n !== 'lo' && !n.startsWith('ifb')) ?? 'lo');
}

const binary = keepalivedBinary();
const version = binary ? (/v?(\d+\.\d+\.\d+)/.exec(binary)?.[1] ?? null) : null;
if (!binary) {
  console.warn(
    'keepalived is not installed: skipping the keepalived -t tests (apt-get install keepalived / dnf install keepalived to run them).',
  );
}

describe.skipIf(!binary || !version || !keepalivedDialect(version).configTest)(
  `keepalived -t on generated files (${binary ?? 'keepalived not installed'})`,
  () => {
    const nic = localNic();
    const variants: Array<[string, (d: Record<string, unknown>) => void]> = [
      ['the seed pair (TCP_CHECK)', () => {}],
      [
        'HTTP_GET, persistence, nopreempt, derived auth_pass',
        (d) => {
          const svc = (d.services as Array<Record<string, unknown>>)[0] ?? {};
          svc.check = { type: 'http', path: '/', status: 200 };
          svc.persistence = 120;
          delete (d.vrrp as Record<string, unknown>).auth_pass;
          const hosts = d.hosts as Record<string, Record<string, unknown>>;
          hosts.lvs1 = { ...hosts.lvs1, ha: { state: 'BACKUP', priority: 100, nopreempt: true } };
        },
      ],
      [
        'two services, a TUN one, and a check-less UDP one',
        (d) => {
          const svcs = d.services as Array<Record<string, unknown>>;
          svcs.push({
            name: 'dns',
            vip: '192.168.91.151',
            port: 53,
            protocol: 'udp',
            mode: 'tun',
            scheduler: 'sh',
            real_servers: [{ host: 'web1' }, { host: 'web2', weight: 3 }],
          });
        },
      ],
    ];

    it.each(variants)('%s', (_name, change) => {
      const data = exampleData('seed-dr-keepalived.yaml');
      change(data);
      // Use an interface this machine has.
      const text = JSON.stringify(data).replaceAll('ens33', nic);
      const lab = labFrom(JSON.parse(text));
      const dir = mkdtempSync(join(tmpdir(), 'lvs-keepalived-'));
      for (const host of ['lvs1', 'lvs2']) {
        const file = join(dir, `${host}.conf`);
        writeFileSync(file, confFor(host, version, lab));
        const r = spawnSync('keepalived', ['-t', '-f', file], { encoding: 'utf8' });
        const out = `${r.stdout}${r.stderr}`;
        expect({ host, status: r.status, out }).toEqual({ host, status: 0, out: '' });
      }
    });

    it('rejects what it should (the test really parses): nb_get_retry in TCP_CHECK is unknown', () => {
      const dir = mkdtempSync(join(tmpdir(), 'lvs-keepalived-'));
      const file = join(dir, 'seed.conf');
      writeFileSync(file, fixture('seed-keepalived-master.conf').replaceAll('ens33', nic));
      let out = '';
      try {
        out = execFileSync('keepalived', ['-t', '-f', file], { encoding: 'utf8', stdio: 'pipe' });
      } catch (e) {
        const err = e as { stdout?: string; stderr?: string };
        out = `${err.stdout ?? ''}${err.stderr ?? ''}`;
      }
      expect(out).toContain("Unknown keyword 'nb_get_retry'");
    });
  },
);
