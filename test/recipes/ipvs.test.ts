import fc from 'fast-check';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { MODES, SCHEDULERS } from '../../source/config/schema.js';
import { parseIpvsadmSave } from '../../source/facts/parse.js';
import type { IpvsServiceEntry } from '../../source/facts/types.js';
import type { CommandAction } from '../../source/plan/step.js';
import {
  FORWARD_FLAG,
  desiredTable,
  diffTable,
  ipvsRecipe,
  saveLines,
  setShellVars,
  sortTable,
} from '../../recipes/ipvs.js';
import {
  DISTROS,
  applyIpvsBatch,
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

const EL = { path: '/etc/sysconfig/ipvsadm' };
const DEB = { path: '/etc/ipvsadm.rules', defaults: '/etc/default/ipvsadm' };

const isEl = (d: string) => d === 'centos7' || d === 'rocky9';

/** The -R batch of the ipvs:table step, or null when it is ok. */
function tableBatch(p: ReturnType<typeof planRecipe>): CommandAction | null {
  const c = changes(p).find((x) => x.id === 'ipvs:table');
  const a = c?.actions[0];
  return a && a.kind === 'command' ? a : null;
}

const SEED_NAT_TABLE = [
  '-A -t 192.168.91.141:80 -s wrr -p 120',
  '-a -t 192.168.91.141:80 -r 192.168.81.142:80 -m -w 1',
  '-a -t 192.168.91.141:80 -r 192.168.81.143:80 -m -w 1',
];

describe('ipvs recipe: the seed NAT director (141) on every distro', () => {
  const lab = exampleLab('seed-nat.yaml');

  describe.each(DISTROS)('%s', (distro) => {
    it('loads the table in one ipvsadm -R batch and saves it the distro’s way', () => {
      const p = planRecipe(ipvsRecipe, lab, 'lvs', freshFacts(lab, 'lvs', distro));
      expect(p.steps.map((s) => s.id)).toEqual(
        isEl(distro)
          ? ['ipvs:table', 'ipvs:persist', 'ipvs:boot']
          : ['ipvs:table', 'ipvs:persist', 'ipvs:boot', 'ipvs:enable'],
      );
      const batch = tableBatch(p);
      expect(batch?.argv).toEqual(['ipvsadm', '-R']);
      expect(batch?.input).toBe(`${SEED_NAT_TABLE.join('\n')}\n`);
      // Undo deletes the service this run added (its real servers go with it).
      // Exit 255 ("No such service") is fine: the service may be gone already (lab: a reboot
      // that did not restore the table made undo fail here and stop).
      expect(batch?.inverse).toEqual([
        { argv: ['ipvsadm', '-R'], input: '-D -t 192.168.91.141:80\n', okExitCodes: [0, 255] },
      ]);
      const all = changes(p);
      const files = all.flatMap((c) => c.actions.filter((a) => a.kind === 'file'));
      if (isEl(distro)) {
        expect(files.map((f) => f.path)).toEqual([EL.path]);
        expect(files[0]?.kind === 'file' && files[0].content).toBe(
          `${SEED_NAT_TABLE.join('\n')}\n`,
        );
        const boot = all.find((c) => c.id === 'ipvs:boot')?.actions[0] as CommandAction;
        expect(boot.argv).toEqual(['systemctl', 'enable', 'ipvsadm.service']);
        expect(boot.inverse).toEqual([{ argv: ['systemctl', 'disable', 'ipvsadm.service'] }]);
      } else {
        expect(files.map((f) => f.path)).toEqual([DEB.path, DEB.defaults]);
        const rules = files[0]?.kind === 'file' ? files[0].content : '';
        expect(rules.startsWith('# ipvsadm.rules\n')).toBe(true);
        expect(parseIpvsadmSave(rules)).toEqual(parseIpvsadmSave(SEED_NAT_TABLE.join('\n')));
        const defaults = files[1]?.kind === 'file' ? files[1].content : '';
        expect(defaults).toMatch(/^AUTO="true"$/m);
        expect(defaults).toMatch(/^DAEMON="none"$/m);
        // The init script is enabled too: a fresh host may have it disabled (the lab's guests
        // do), and AUTO="true" alone then restores nothing at boot (found by the reboot lab).
        const enable = all.find((c) => c.id === 'ipvs:enable')?.actions[0] as CommandAction;
        expect(enable.argv).toEqual(['systemctl', 'enable', 'ipvsadm']);
        expect(enable.inverse).toEqual([{ argv: ['systemctl', 'disable', 'ipvsadm'] }]);
      }
    });

    it('reports every step already ok when the host already matches (no actions)', () => {
      const facts = freshFacts(lab, 'lvs', distro, (f) => {
        f.ipvs.loaded = true;
        f.ipvs.services = parseIpvsadmSave(SEED_NAT_TABLE.join('\n'));
        if (isEl(distro)) {
          f.files[EL.path] = { content: `${SEED_NAT_TABLE.join('\n')}\n`, mode: 0o644 };
          f.services.ipvsadm = { present: true, active: false, enabled: true };
        } else {
          // The Debian init script's own save format, with its comment line.
          f.files[DEB.path] = {
            content: `# ipvsadm.rules\n${SEED_NAT_TABLE.join('\n')}\n`,
            mode: 0o644,
          };
          f.files[DEB.defaults] = {
            content: setShellVars(fixture('debian12-default-ipvsadm'), { AUTO: 'true' }),
            mode: 0o644,
          };
          f.files['/etc/rc2.d/S01ipvsadm'] = { content: '#!/bin/sh\n', mode: 0o755 };
        }
      });
      const p = planRecipe(ipvsRecipe, lab, 'lvs', facts);
      expect(p.decisions.map((d) => d.decision.status)).toEqual(
        isEl(distro) ? ['ok', 'ok', 'ok'] : ['ok', 'ok', 'ok', 'ok'],
      );
      expect(changes(p)).toEqual([]);
    });

    it('plans nothing more after its own changes are applied', () => {
      const p = planRecipe(ipvsRecipe, lab, 'lvs', freshFacts(lab, 'lvs', distro));
      const after = applySteps(p.steps, p.facts);
      const again = planRecipe(ipvsRecipe, lab, 'lvs', after);
      expect(changes(again)).toEqual([]);
    });
  });

  it('edits the package’s /etc/default/ipvsadm in place (Debian)', () => {
    const pkg = fixture('debian12-default-ipvsadm');
    const facts = freshFacts(lab, 'lvs', 'debian12', (f) => {
      f.files[DEB.defaults] = { content: pkg, mode: 0o644 };
    });
    const c = changes(planRecipe(ipvsRecipe, lab, 'lvs', facts)).find((x) => x.id === 'ipvs:boot');
    const file = c?.actions[0];
    expect(file?.kind).toBe('file');
    const content = file?.kind === 'file' ? file.content : '';
    expect(content).toBe(pkg.replace('AUTO="false"', 'AUTO="true"'));
  });
});

describe('ipvs recipe: the seed DR director (145)', () => {
  it('uses -g for every real server', () => {
    const lab = exampleLab('seed-dr.yaml');
    const batch = tableBatch(planRecipe(ipvsRecipe, lab, 'lvs', freshFacts(lab, 'lvs', 'centos7')));
    expect(batch?.input).toBe(
      [
        '-A -t 192.168.91.148:80 -s wrr',
        '-a -t 192.168.91.148:80 -r 192.168.91.146:80 -g -w 1',
        '-a -t 192.168.91.148:80 -r 192.168.91.147:80 -g -w 1',
        '',
      ].join('\n'),
    );
  });

  it('has no steps on other hosts, nor on HA directors (keepalived owns the table)', () => {
    const dr = exampleLab('seed-dr.yaml');
    for (const h of ['web1', 'client'])
      expect(
        ipvsRecipe(
          planRecipe(ipvsRecipe, dr, h, freshFacts(dr, h, 'rocky9')).ctx,
          freshFacts(dr, h, 'rocky9'),
        ),
      ).toEqual([]);
    const ha = exampleLab('seed-dr-keepalived.yaml');
    expect(planRecipe(ipvsRecipe, ha, 'lvs1', freshFacts(ha, 'lvs1', 'rocky9')).steps).toEqual([]);
  });
});

describe('ipvs recipe: a changed table', () => {
  const lab = exampleLab('seed-nat.yaml');
  const FOREIGN = [
    '-A -u 10.0.0.1:53 -s rr',
    '-a -u 10.0.0.1:53 -r 10.0.0.2:53 -m -w 1',
    '-A -f 7 -s sh',
    '-a -f 7 -r 192.168.81.143:0 -g -w 2',
  ];

  it('leaves a service that is not in the lab untouched, in the batch and in the file', () => {
    const facts = freshFacts(lab, 'lvs', 'rocky9', (f) => {
      f.ipvs.loaded = true;
      f.ipvs.services = parseIpvsadmSave([...FOREIGN, ...SEED_NAT_TABLE].join('\n'));
      f.files[EL.path] = { content: `${FOREIGN.join('\n')}\n`, mode: 0o644 };
      f.services.ipvsadm = { present: true, active: true, enabled: true };
    });
    const p = planRecipe(ipvsRecipe, lab, 'lvs', facts);
    expect(p.decisions[0]?.decision.status).toBe('ok');
    expect(p.decisions[0]?.decision.reason).toMatch(/other services left as they are/);
    // The file keeps the foreign services and gains the lab's, in ipvsadm -S order.
    const c = changes(p);
    expect(c.map((x) => x.id)).toEqual(['ipvs:persist']);
    const file = c[0]?.actions[0];
    const content = file?.kind === 'file' ? file.content : '';
    expect(content).toBe(
      `${[...SEED_NAT_TABLE, FOREIGN[0], FOREIGN[1], FOREIGN[2], FOREIGN[3]].join('\n')}\n`,
    );
    expect(content).not.toMatch(/-C/);
  });

  it('never flushes: the batch of a fresh table next to foreign services only adds', () => {
    const facts = freshFacts(lab, 'lvs', 'centos7', (f) => {
      f.ipvs.loaded = true;
      f.ipvs.services = parseIpvsadmSave(FOREIGN.join('\n'));
    });
    const batch = tableBatch(planRecipe(ipvsRecipe, lab, 'lvs', facts));
    expect(batch?.input).toBe(`${SEED_NAT_TABLE.join('\n')}\n`);
    const after = applyIpvsBatch(facts.ipvs.services ?? [], batch?.input ?? '');
    expect(after.filter((s) => s.address === '10.0.0.1:53' || s.protocol === 'fwmark')).toEqual(
      facts.ipvs.services,
    );
    // Undo takes the table back to exactly what it was.
    const undone = applyIpvsBatch(after, batch?.inverse?.[0]?.input ?? '');
    expect(undone).toEqual(facts.ipvs.services);
  });

  it('edits a changed service: -E scheduler/persistence, -e forward/weight, -d gone, -a new', () => {
    const before = [
      '-A -t 192.168.91.141:80 -s rr',
      '-a -t 192.168.91.141:80 -r 192.168.81.142:80 -g -w 5',
      '-a -t 192.168.91.141:80 -r 192.168.81.199:80 -m -w 1',
    ];
    const facts = freshFacts(lab, 'lvs', 'rocky9', (f) => {
      f.ipvs.loaded = true;
      f.ipvs.services = parseIpvsadmSave([...FOREIGN, ...before].join('\n'));
    });
    const p = planRecipe(ipvsRecipe, lab, 'lvs', facts);
    const batch = tableBatch(p);
    expect(batch?.input).toBe(
      [
        '-E -t 192.168.91.141:80 -s wrr -p 120',
        '-d -t 192.168.91.141:80 -r 192.168.81.199:80',
        '-e -t 192.168.91.141:80 -r 192.168.81.142:80 -m -w 1',
        '-a -t 192.168.91.141:80 -r 192.168.81.143:80 -m -w 1',
        '',
      ].join('\n'),
    );
    const reason = changes(p)[0]?.reason ?? '';
    expect(reason).toContain('scheduler rr → wrr');
    expect(reason).toContain('persistence 0 → 120 s');
    expect(reason).toContain('192.168.81.142:80 DR (-g) → NAT (-m), weight 5 → 1');
    expect(reason).toContain('remove 192.168.81.199:80');
    const after = applyIpvsBatch(facts.ipvs.services ?? [], batch?.input ?? '');
    expect(sortTable(after)).toEqual(
      sortTable(parseIpvsadmSave([...FOREIGN, ...SEED_NAT_TABLE].join('\n'))),
    );
    const undone = applyIpvsBatch(after, batch?.inverse?.[0]?.input ?? '');
    expect(sortTable(undone)).toEqual(sortTable(facts.ipvs.services ?? []));
  });

  it('turns persistence off with -E and no -p', () => {
    const data = exampleData('seed-nat.yaml');
    const services = data.services as Array<Record<string, unknown>>;
    services[0] = { ...services[0], persistence: 0 };
    const lab0 = labFrom(data);
    const facts = freshFacts(lab0, 'lvs', 'rocky9', (f) => {
      f.ipvs.loaded = true;
      f.ipvs.services = parseIpvsadmSave(SEED_NAT_TABLE.join('\n'));
    });
    const batch = tableBatch(planRecipe(ipvsRecipe, lab0, 'lvs', facts));
    expect(batch?.input).toBe('-E -t 192.168.91.141:80 -s wrr\n');
    expect(batch?.inverse?.[0]?.input).toBe('-E -t 192.168.91.141:80 -s wrr -p 120\n');
  });

  it('saves with ipvsadm -S’s order (libipvs compares with a 32-bit wrap)', () => {
    const table = parseIpvsadmSave(
      [
        '-A -u 192.168.1.1:53 -s rr',
        '-A -t 192.168.1.1:80 -s rr',
        '-a -t 192.168.1.1:80 -r 192.168.1.20:80 -g -w 1',
        '-a -t 192.168.1.1:80 -r 192.168.1.3:80 -g -w 1',
        '-A -t 10.0.0.1:80 -s rr',
        '-A -t 192.168.1.1:8080 -s rr',
      ].join('\n'),
    );
    expect(saveLines(sortTable(table))).toEqual([
      // 10.0.0.1 - 192.168.1.1 overflows to a positive int in libipvs: 10.x sorts after 192.168.x.
      '-A -t 192.168.1.1:80 -s rr',
      '-a -t 192.168.1.1:80 -r 192.168.1.3:80 -g -w 1',
      '-a -t 192.168.1.1:80 -r 192.168.1.20:80 -g -w 1',
      '-A -t 192.168.1.1:8080 -s rr',
      '-A -t 10.0.0.1:80 -s rr',
      '-A -u 192.168.1.1:53 -s rr',
    ]);
  });
});

describe('ipvs recipe: one forwarding flag per real server, by construction', () => {
  const FLAGS = /(^|\s)(-m|-g|-i)(\s|$)/g;
  const flagCount = (l: string) => [...l.matchAll(FLAGS)].length;

  it('maps each mode to exactly one flag', () => {
    expect(FORWARD_FLAG).toEqual({ nat: '-m', dr: '-g', tun: '-i' });
    expect(new Set(Object.values(FORWARD_FLAG)).size).toBe(MODES.length);
  });

  it.each(['seed-nat.yaml', 'seed-dr.yaml', 'tun.yaml'])(
    '%s: every -a/-e line has one flag and it is the mode’s',
    (file) => {
      const lab = exampleLab(file);
      const mode = lab.services[0]?.mode ?? 'dr';
      for (const distro of DISTROS) {
        const p = planRecipe(ipvsRecipe, lab, 'lvs', freshFacts(lab, 'lvs', distro));
        const texts = changes(p).flatMap((c) =>
          c.actions.map((a) =>
            a.kind === 'command' ? (a.input ?? '') : a.kind === 'file' ? a.content : '',
          ),
        );
        const lines = texts.flatMap((t) => t.split('\n')).filter((l) => /^-[ae] /.test(l));
        expect(lines.length).toBeGreaterThan(0);
        for (const l of lines) {
          expect(flagCount(l)).toBe(1);
          expect(l.split(' ')).toContain(FORWARD_FLAG[mode]);
        }
      }
    },
  );

  it('holds for any services, schedulers, weights and current tables (property)', () => {
    const service = fc.record({
      vip: fc.integer({ min: 1, max: 250 }),
      port: fc.integer({ min: 1, max: 65535 }),
      mode: fc.constantFrom(...MODES),
      scheduler: fc.constantFrom(...SCHEDULERS),
      persistence: fc.integer({ min: 0, max: 1000 }),
      weights: fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 4 }),
    });
    fc.assert(
      fc.property(fc.array(service, { minLength: 1, maxLength: 4 }), fc.boolean(), (svcs, half) => {
        const resolved = svcs.map((s, i) => ({
          name: `s${i}`,
          index: i,
          vip: `10.1.${i}.${s.vip}`,
          port: s.port,
          protocol: 'tcp' as const,
          mode: s.mode,
          scheduler: s.scheduler,
          persistence: s.persistence,
          directors: ['lvs'],
          check: null,
          realServers: s.weights.map((w, j) => ({
            host: `rs${j}`,
            address: `10.2.${i}.${j + 1}`,
            port: s.port,
            weight: w,
          })),
        }));
        const desired = desiredTable(resolved);
        // The current table: the same services with every other mode and some weights changed.
        const current: IpvsServiceEntry[] = half
          ? desired.map((s) => ({
              ...s,
              destinations: s.destinations.map((d, k) => ({
                ...d,
                forward: (['masq', 'route', 'tunnel'] as const)[k % 3] ?? 'route',
                weight: d.weight + (k % 2),
              })),
            }))
          : [];
        const diff = diffTable(current, desired);
        for (const l of [...diff.lines, ...diff.inverse, ...saveLines(desired)]) {
          if (/^-[ae] /.test(l)) expect(flagCount(l)).toBe(1);
          else expect(flagCount(l)).toBe(0);
        }
        // Forward then inverse gives back the table.
        const after = applyIpvsBatch(current, diff.lines.join('\n'));
        expect(sortTable(after)).toEqual(sortTable(desired));
        expect(sortTable(applyIpvsBatch(after, diff.inverse.join('\n')))).toEqual(
          sortTable(current),
        );
      }),
      { numRuns: 200 },
    );
  });
});

describe('ipvs recipe: explanations', () => {
  it('says what -p 120 and the scheduler do', () => {
    const lab = exampleLab('seed-nat.yaml');
    const step = planRecipe(ipvsRecipe, lab, 'lvs', freshFacts(lab, 'lvs', 'centos7')).steps[0];
    expect(step?.explain).toContain('-p 120 makes it persistent');
    expect(step?.explain).toContain('-s wrr is weighted round-robin');
  });
});
