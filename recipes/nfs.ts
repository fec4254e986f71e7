import type { LabHost } from '../source/config/schema.js';
import type { HostFacts } from '../source/facts/types.js';
import { change, cmd, fileStep, ok, type Step } from '../source/plan/step.js';
import type { PlanContext, Recipe } from './context.js';
import { enableNowStep } from './templates/service.js';

/**
 * The NFS server: /etc/exports from the lab file, the exported directories, `exportfs -rv` after a
 * change, and the server running. The unit is nfs-server everywhere: CentOS 7's nfs.service (the
 * seed's name) and Debian/Ubuntu's nfs-kernel-server.service are aliases of it, and `systemctl
 * enable` refuses an alias name on current systemd.
 */

export const EXPORTS_FILE = '/etc/exports';

type Export = NonNullable<LabHost['exports']>[number];

export function exportLine(e: Export): string {
  return `${e.path} ${e.clients}(${e.options.join(',')})`;
}

export function exportsContent(ctx: PlanContext): string {
  const lines = [
    `# Written by lvs-setup for host ${ctx.hostName} of lab ${ctx.lab.file.name}.`,
    '# path client(options): ro/rw, sync = reply only after the data is on disk.',
    ...(ctx.host.exports ?? []).map(exportLine),
  ];
  return `${lines.join('\n')}\n`;
}

/**
 * The directory is known to exist: the facts hold an entry for it, or /etc/exports already has
 * the lab's content (this recipe creates the directories before it writes that file).
 */
function dirKnown(facts: HostFacts, path: string, exports: string): boolean {
  if (facts.files[path]) return true;
  return facts.files[EXPORTS_FILE]?.content === exports;
}

function dirStep(path: string, exports: string): Step {
  return {
    id: `nfs:dir:${path}`,
    recipe: 'nfs',
    title: `Create the exported directory ${path}`,
    explain: 'exportfs refuses to export a directory that does not exist.',
    reads: [path],
    decide(facts) {
      if (dirKnown(facts, path, exports)) return ok(`${path} exists`);
      return change(`${path} may not exist`, [
        // rmdir removes only an empty directory; a non-empty one (exit 1) is left in place.
        cmd(['mkdir', '-p', path], { inverse: [{ argv: ['rmdir', path], okExitCodes: [0, 1] }] }),
      ]);
    },
  };
}

export const nfsRecipe: Recipe = (ctx, facts) => {
  if (ctx.host.role !== 'nfs-server') return [];
  const exports = ctx.host.exports ?? [];
  const content = exportsContent(ctx);
  const el = facts.os.family !== 'debian';
  const steps: Step[] = [...new Set(exports.map((e) => e.path))].map((p) => dirStep(p, content));
  steps.push(
    fileStep({
      id: 'nfs:exports',
      recipe: 'nfs',
      path: EXPORTS_FILE,
      content,
      title: `Write ${EXPORTS_FILE} and re-export (exportfs -rv)`,
      explain:
        'Each line shares a directory with some clients; exportfs -rv makes the kernel’s export table match the file (-r) and lists what it did (-v).',
      after: [cmd(['exportfs', '-rv'])],
    }),
  );
  if (el) {
    steps.push(
      enableNowStep({
        id: 'nfs:rpcbind',
        recipe: 'nfs',
        unit: 'rpcbind',
        explain: 'NFSv3 clients ask rpcbind (port 111) where mountd and nfsd listen.',
      }),
    );
  }
  steps.push(
    enableNowStep({
      id: 'nfs:server',
      recipe: 'nfs',
      unit: 'nfs-server',
      factKeys: ['nfs-server', 'nfs-kernel-server'],
      explain: `The kernel NFS server; starting it also exports ${EXPORTS_FILE}.${el ? ' The seed’s nfs.service is an alias of nfs-server.service.' : ' nfs-kernel-server.service is an alias of nfs-server.service, and systemctl enable refuses alias names.'}`,
    }),
  );
  return steps;
};
