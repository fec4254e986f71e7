import { describe, expect, it } from 'vitest';
import type { CommandAction } from '../../source/plan/step.js';
import { indexPath, nginxRecipe } from '../../recipes/nginx.js';
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

const PAGE = {
  centos7: '/usr/share/nginx/html/index.html',
  rocky9: '/usr/share/nginx/html/index.html',
  // The Debian/Ubuntu default site: root /var/www/html; index index.html index.htm
  // index.nginx-debian.html: index.html, which no package owns, comes first.
  debian12: '/var/www/html/index.html',
  ubuntu24: '/var/www/html/index.html',
} as const;

describe('nginx recipe', () => {
  const nat = exampleLab('seed-nat.yaml');
  const dr = exampleLab('seed-dr.yaml');

  describe.each(DISTROS)('%s', (distro) => {
    const path = PAGE[distro as keyof typeof PAGE];

    it('writes the seed’s page where the default site serves it, and runs nginx', () => {
      const p = planRecipe(nginxRecipe, nat, 'web1', freshFacts(nat, 'web1', distro));
      expect(indexPath(p.facts)).toBe(path);
      expect(p.steps.map((s) => s.id)).toEqual(['nginx:index', 'nginx:service']);
      const c = changes(p);
      expect(c[0]?.actions).toEqual([
        { kind: 'file', path, content: 'server 192.168.81.142\n', mode: 0o644 },
      ]);
      const svc = c[1]?.actions[0] as CommandAction;
      expect(svc.argv).toEqual(['systemctl', 'enable', '--now', 'nginx']);
      expect(svc.inverse).toEqual([{ argv: ['systemctl', 'disable', '--now', 'nginx'] }]);
    });

    it('reports every step already ok when the host already matches (no actions)', () => {
      const facts = freshFacts(dr, 'web2', distro, (f) => {
        f.files[path] = { content: 'server 192.168.91.147\n', mode: 0o644 };
        f.services.nginx = { present: true, active: true, enabled: true };
      });
      const p = planRecipe(nginxRecipe, dr, 'web2', facts);
      expect(p.decisions.map((d) => d.decision.status)).toEqual(['ok', 'ok']);
      expect(changes(p)).toEqual([]);
    });

    it('only enables what is missing: running but disabled → enable --now, undo disables', () => {
      const facts = freshFacts(dr, 'web1', distro, (f) => {
        f.services.nginx = { present: true, active: true, enabled: false };
      });
      const svc = changes(planRecipe(nginxRecipe, dr, 'web1', facts)).find(
        (c) => c.id === 'nginx:service',
      )?.actions[0] as CommandAction;
      expect(svc.inverse).toEqual([{ argv: ['systemctl', 'disable', 'nginx'] }]);
    });

    it('plans nothing more after its own changes are applied', () => {
      const p = planRecipe(nginxRecipe, dr, 'web1', freshFacts(dr, 'web1', distro));
      expect(changes(planRecipe(nginxRecipe, dr, 'web1', applySteps(p.steps, p.facts)))).toEqual(
        [],
      );
    });
  });

  it('says why DR/TUN requests for the VIP reach nginx', () => {
    const p = planRecipe(nginxRecipe, dr, 'web1', freshFacts(dr, 'web1', 'rocky9'));
    expect(p.steps[1]?.explain).toMatch(/0\.0\.0\.0.*VIP on lo/);
  });

  it('uses service.web.index when the lab sets it', () => {
    const data = exampleData('seed-dr.yaml');
    (data.services as Array<Record<string, unknown>>)[0] = {
      ...(data.services as Array<Record<string, unknown>>)[0],
      web: { index: '<h1>hello</h1>' },
    };
    const lab = labFrom(data);
    const c = changes(planRecipe(nginxRecipe, lab, 'web1', freshFacts(lab, 'web1', 'debian12')));
    expect(c[0]?.actions[0]).toMatchObject({ content: '<h1>hello</h1>\n' });
  });

  it('has no steps on directors, NFS servers and clients', () => {
    for (const h of ['lvs', 'nfs', 'client'])
      expect(planRecipe(nginxRecipe, nat, h, freshFacts(nat, h, 'rocky9')).steps).toEqual([]);
  });

  describe('nfs_web_root', () => {
    const data = exampleData('seed-nat.yaml');
    const hosts = data.hosts as Record<string, Record<string, unknown>>;
    // web1 (192.168.81.0/24) shares no subnet with the NFS server: it mounts its first address,
    // reached through its gateway, the director.
    hosts.web1 = { ...hosts.web1, nfs_web_root: { server: 'nfs', path: '/data' } };
    const lab = labFrom(data);

    it.each(['centos7', 'debian12'] as const)(
      '%s: mounts the export on the web root (fstab + mount) instead of writing a page',
      (distro) => {
        const facts = freshFacts(lab, 'web1', distro, (f) => {
          f.files['/etc/fstab'] = { content: 'UUID=abc / xfs defaults 0 0\n', mode: 0o644 };
          f.files['/proc/mounts'] = { content: '/dev/sda1 / xfs rw 0 0\n', mode: 0o444 };
        });
        const p = planRecipe(nginxRecipe, lab, 'web1', facts);
        expect(p.steps.map((s) => s.id)).toEqual(['nginx:fstab', 'nginx:mount', 'nginx:service']);
        const root = distro === 'centos7' ? '/usr/share/nginx/html' : '/var/www/html';
        const c = changes(p);
        expect(c[0]?.actions[0]).toMatchObject({
          kind: 'file',
          path: '/etc/fstab',
          content: `UUID=abc / xfs defaults 0 0\n192.168.91.144:/data ${root} nfs defaults,_netdev 0 0\n`,
        });
        expect(c[1]?.actions.map((a) => (a as CommandAction).argv)).toEqual([
          ['mkdir', '-p', root],
          ['mount', root],
        ]);
        const again = planRecipe(nginxRecipe, lab, 'web1', applySteps(p.steps, p.facts));
        expect(changes(again)).toEqual([]);
      },
    );
  });
});
