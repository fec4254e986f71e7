import { hostAddresses } from '../source/config/resolve.js';
import { inSubnet } from '../source/config/net.js';
import type { HostFacts } from '../source/facts/types.js';
import { change, cmd, fileStep, ok, writeFile, type Step } from '../source/plan/step.js';
import { servedServices, type PlanContext, type Recipe } from './context.js';
import { enableNowStep } from './templates/service.js';

/**
 * nginx on real servers: a page that names the server (so you can watch the scheduler pick them)
 * in the directory the distro's default site serves, and nginx enabled and running. Optionally the
 * web root is an NFS export of the lab's NFS server (one page for every server).
 */

export const MOUNTS_FILE = '/proc/mounts';
export const FSTAB = '/etc/fstab';

/** The directory the distro's default nginx site serves. */
export function webRoot(facts: HostFacts): string {
  return facts.os.family === 'debian' ? '/var/www/html' : '/usr/share/nginx/html';
}

/**
 * The page file: EL's default server serves /usr/share/nginx/html/index.html. Debian/Ubuntu's
 * default site has `index index.html index.htm index.nginx-debian.html`, so index.html, which no
 * package owns, takes precedence over the package's index.nginx-debian.html, which stays as it is.
 */
export function indexPath(facts: HostFacts): string {
  return `${webRoot(facts)}/index.html`;
}

/** The page: the lab's `web.index`, else the seed's "server <address>". */
export function indexContent(ctx: PlanContext): string | null {
  const served = servedServices(ctx);
  const first = served[0];
  if (!first) return null;
  const custom = served.find((s) => s.service.web?.index !== undefined)?.service.web?.index;
  const text = custom ?? `server ${first.address}`;
  return text.endsWith('\n') ? text : `${text}\n`;
}

function listenNote(ctx: PlanContext): string {
  const modes = new Set(servedServices(ctx).map((s) => s.service.mode));
  if (modes.has('dr') || modes.has('tun')) {
    return 'The default site listens on port 80 of every address (0.0.0.0), so it also answers requests for the VIP that DR/TUN deliver to the VIP on lo/tunl0 unchanged.';
  }
  return 'NAT: the director rewrites the VIP to this server’s address, which the default site (listen 80 on 0.0.0.0) answers.';
}

/** The NFS server's address this host reaches: one on a subnet they share, else its first. */
function nfsServerAddress(ctx: PlanContext, server: string): string | null {
  const mine = hostAddresses(ctx.lab.file, ctx.hostName);
  const theirs = hostAddresses(ctx.lab.file, server);
  const shared = theirs.find((t) => mine.some((m) => inSubnet(t.address, m.address, m.prefix)));
  return (shared ?? theirs[0])?.address ?? null;
}

function nfsRootSteps(ctx: PlanContext, facts: HostFacts): Step[] {
  const nfs = ctx.host.nfs_web_root;
  if (!nfs) return [];
  const address = nfsServerAddress(ctx, nfs.server);
  if (!address) return [];
  const root = webRoot(facts);
  const source = `${address}:${nfs.path}`;
  const fstabLine = `${source} ${root} nfs defaults,_netdev 0 0`;
  const isRootLine = (l: string) => l.trim().split(/\s+/)[1] === root && !l.trim().startsWith('#');
  return [
    {
      id: 'nginx:fstab',
      recipe: 'nginx',
      title: `Mount ${source} on ${root} at boot (${FSTAB})`,
      explain: `The web root comes from the NFS server ${nfs.server}, so every real server serves the same pages. _netdev waits for the network before mounting.`,
      reads: [FSTAB],
      decide(f) {
        const current = f.files[FSTAB];
        const lines = (current?.content ?? '').split('\n');
        if (lines[lines.length - 1] === '') lines.pop();
        if (lines.includes(fstabLine)) return ok(`${FSTAB} already mounts ${source} on ${root}`);
        const idx = lines.findIndex(isRootLine);
        if (idx >= 0) lines[idx] = fstabLine;
        else lines.push(fstabLine);
        return change(
          idx >= 0
            ? `${FSTAB} mounts something else on ${root}`
            : `${FSTAB} has no line for ${root}`,
          [writeFile(FSTAB, `${lines.join('\n')}\n`, current?.mode ?? 0o644)],
        );
      },
    },
    {
      id: 'nginx:mount',
      recipe: 'nginx',
      title: `Mount ${source} on ${root} now`,
      explain: `Mounted over ${root}, the export's pages hide the local ones until it is unmounted. The NFS server must be configured first.`,
      reads: [MOUNTS_FILE],
      decide(f) {
        const mounts = (f.files[MOUNTS_FILE]?.content ?? '').split('\n').map((l) => l.split(' '));
        const here = mounts.find((m) => m[1] === root);
        if (here?.[0] === source) return ok(`${source} is mounted on ${root}`);
        if (here) {
          return change(`${here[0]} is mounted on ${root}, not ${source}`, [
            cmd(['umount', root], { inverse: [{ argv: ['mount', root] }] }),
            cmd(['mount', root], { inverse: [{ argv: ['umount', root] }] }),
          ]);
        }
        return change(`nothing is mounted on ${root}`, [
          cmd(['mkdir', '-p', root]),
          cmd(['mount', root], { inverse: [{ argv: ['umount', root] }] }),
        ]);
      },
    },
  ];
}

export const nginxRecipe: Recipe = (ctx, facts) => {
  if (ctx.host.role !== 'real-server') return [];
  const content = indexContent(ctx);
  if (content === null) return [];
  const path = indexPath(facts);
  const steps: Step[] = [];
  if (ctx.host.nfs_web_root) {
    steps.push(...nfsRootSteps(ctx, facts));
  } else {
    steps.push(
      fileStep({
        id: 'nginx:index',
        recipe: 'nginx',
        path,
        content,
        title: `Write ${path} (the page names this server)`,
        explain: `Each real server answers with its own name, so repeated requests to the VIP show the scheduler at work (curl http://VIP/ several times).${facts.os.family === 'debian' ? ' index.html comes first in the default site’s index list, before the package’s index.nginx-debian.html.' : ''}`,
      }),
    );
  }
  steps.push(
    enableNowStep({
      id: 'nginx:service',
      recipe: 'nginx',
      unit: 'nginx',
      explain: `nginx starts at every boot and runs now. ${listenNote(ctx)}`,
    }),
  );
  return steps;
};
