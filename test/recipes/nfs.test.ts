import { describe, expect, it } from 'vitest';
import type { CommandAction } from '../../source/plan/step.js';
import { EXPORTS_FILE, nfsRecipe } from '../../recipes/nfs.js';
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

const SEED_EXPORTS = [
  '/usr/share *(ro,sync)',
  '/soft 192.168.91.0/24(rw,sync)',
  '/program 192.168.91.0/24(rw,sync)',
  '/data 192.168.91.0/24(rw,sync)',
];

describe('nfs recipe', () => {
  const lab = exampleLab('seed-nat.yaml');

  describe.each(DISTROS)('%s', (distro) => {
    const el = distro === 'centos7' || distro === 'rocky9';

    it('creates the directories, writes the seed’s /etc/exports, re-exports, runs the server', () => {
      const p = planRecipe(nfsRecipe, lab, 'nfs', freshFacts(lab, 'nfs', distro));
      expect(p.steps.map((s) => s.id)).toEqual([
        'nfs:dir:/usr/share',
        'nfs:dir:/soft',
        'nfs:dir:/program',
        'nfs:dir:/data',
        'nfs:exports',
        ...(el ? ['nfs:rpcbind'] : []),
        'nfs:server',
      ]);
      const c = changes(p);
      const mk = c.find((x) => x.id === 'nfs:dir:/soft')?.actions[0] as CommandAction;
      expect(mk.argv).toEqual(['mkdir', '-p', '/soft']);
      expect(mk.inverse).toEqual([{ argv: ['rmdir', '/soft'], okExitCodes: [0, 1] }]);
      const exp = c.find((x) => x.id === 'nfs:exports')?.actions ?? [];
      expect(exp[0]).toMatchObject({ kind: 'file', path: EXPORTS_FILE, mode: 0o644 });
      const content = exp[0]?.kind === 'file' ? exp[0].content : '';
      expect(content.split('\n').filter((l) => l && !l.startsWith('#'))).toEqual(SEED_EXPORTS);
      expect((exp[1] as CommandAction).argv).toEqual(['exportfs', '-rv']);
      const units = c
        .filter((x) => x.id === 'nfs:rpcbind' || x.id === 'nfs:server')
        .map((x) => (x.actions[0] as CommandAction).argv.join(' '));
      // nfs-server everywhere: nfs.service (CentOS 7) and nfs-kernel-server.service (Debian,
      // Ubuntu) are aliases, and systemctl enable refuses an alias name.
      expect(units).toEqual([
        ...(el ? ['systemctl enable --now rpcbind'] : []),
        'systemctl enable --now nfs-server',
      ]);
    });

    it('reports every step already ok when the host already matches (no actions)', () => {
      const facts = freshFacts(lab, 'nfs', distro, (f) => {
        for (const d of ['/usr/share', '/soft', '/program', '/data'])
          f.files[d] = { content: '', mode: 0o755 };
        const p0 = planRecipe(nfsRecipe, lab, 'nfs', f);
        const write = changes(p0).find((x) => x.id === 'nfs:exports')?.actions[0];
        f.files[EXPORTS_FILE] = {
          content: write?.kind === 'file' ? write.content : '',
          mode: 0o644,
        };
        f.services.rpcbind = { present: true, active: true, enabled: true };
        // Debian 12/Ubuntu: systemctl show nfs-kernel-server.service reports Id=nfs-server.service.
        f.services['nfs-server'] = { present: true, active: true, enabled: true };
      });
      const p = planRecipe(nfsRecipe, lab, 'nfs', facts);
      expect(p.decisions.every((d) => d.decision.status === 'ok')).toBe(true);
      expect(changes(p)).toEqual([]);
    });

    it('plans nothing more after its own changes are applied', () => {
      const p = planRecipe(nfsRecipe, lab, 'nfs', freshFacts(lab, 'nfs', distro));
      expect(changes(planRecipe(nfsRecipe, lab, 'nfs', applySteps(p.steps, p.facts)))).toEqual([]);
    });
  });

  it('treats the directories as there once /etc/exports has the lab’s content', () => {
    // The facts gatherer cannot read a directory into facts.files (readFile → EISDIR → null): the
    // recipe creates the directories before it writes /etc/exports, so that file vouches for them.
    const p0 = planRecipe(nfsRecipe, lab, 'nfs', freshFacts(lab, 'nfs', 'rocky9'));
    const write = changes(p0).find((x) => x.id === 'nfs:exports')?.actions[0];
    const facts = freshFacts(lab, 'nfs', 'rocky9', (f) => {
      f.files[EXPORTS_FILE] = { content: write?.kind === 'file' ? write.content : '', mode: 0o644 };
    });
    const p = planRecipe(nfsRecipe, lab, 'nfs', facts);
    expect(changes(p).map((c) => c.id)).toEqual(['nfs:rpcbind', 'nfs:server']);
  });

  it('writes exports with their clients and options as the lab gives them', () => {
    const data = exampleData('seed-nat.yaml');
    const hosts = data.hosts as Record<string, Record<string, unknown>>;
    hosts.nfs = {
      ...hosts.nfs,
      exports: [
        {
          path: '/srv/web',
          clients: '192.168.81.0/24',
          options: ['ro', 'sync', 'no_subtree_check'],
        },
        { path: '/pub' },
      ],
    };
    const l = labFrom(data);
    const c = changes(planRecipe(nfsRecipe, l, 'nfs', freshFacts(l, 'nfs', 'debian12')));
    const file = c.find((x) => x.id === 'nfs:exports')?.actions[0];
    expect(
      file?.kind === 'file' && file.content.split('\n').filter((x) => x && !x.startsWith('#')),
    ).toEqual(['/srv/web 192.168.81.0/24(ro,sync,no_subtree_check)', '/pub *(ro,sync)']);
  });

  it('has no steps on other hosts', () => {
    for (const h of ['lvs', 'web1', 'client'])
      expect(planRecipe(nfsRecipe, lab, h, freshFacts(lab, h, 'rocky9')).steps).toEqual([]);
  });
});
