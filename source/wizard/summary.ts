import { shellQuote } from '../boundary.js';
import type { Lab } from '../config/resolve.js';

/** Texts of the Review and Done screens, as pure functions of the resolved lab. */

/** client → director → real servers, with addresses, mode and scheduler; this host marked. */
export function topologySketch(lab: Lab, thisHost: string): string[] {
  const lines: string[] = [];
  const mark = (name: string) => (name === thisHost ? `${name} (this host)` : name);
  for (const svc of lab.services) {
    const dirs = svc.directors
      .map((d) => {
        const ha = lab.file.hosts[d]?.ha;
        return `${mark(d)}${ha ? ` ${ha.state}` : ''}`;
      })
      .join(' + ');
    const persist = svc.persistence > 0 ? `, sticky ${svc.persistence} s` : '';
    lines.push(
      `client ──▶ ${svc.vip}:${svc.port}/${svc.protocol} ── ${dirs} [${svc.mode.toUpperCase()}, ${svc.scheduler}${persist}]`,
    );
    const pad = ' '.repeat(11);
    svc.realServers.forEach((rs, i) => {
      const branch = i === svc.realServers.length - 1 ? '└─▶' : '├─▶';
      lines.push(`${pad}${branch} ${mark(rs.host)} ${rs.address}:${rs.port}  weight ${rs.weight}`);
    });
    if (svc.mode === 'nat') {
      lines.push(`${pad}    replies return through the director (real servers' gateway)`);
    } else {
      lines.push(`${pad}    replies go from the real servers straight to the client`);
    }
  }
  for (const [name, h] of Object.entries(lab.file.hosts)) {
    if (h.role !== 'nfs-server') continue;
    const ex = (h.exports ?? []).map((e) => `${e.path} → ${e.clients} (${e.options.join(',')})`);
    lines.push(`${mark(name)} [NFS]: ${ex.join('; ') || 'no exports'}`);
  }
  if (lines.length === 0) lines.push(`${mark(thisHost)}: no service in this lab`);
  return lines;
}

export interface HostCommand {
  host: string;
  role: string;
  command: string;
}

/** What to run on every other VM of the lab. */
export function otherHostCommands(lab: Lab, labPath: string, thisHost: string): HostCommand[] {
  return Object.entries(lab.file.hosts)
    .filter(([name]) => name !== thisHost)
    .map(([name, h]) => ({
      host: name,
      role: h.role,
      command: `npx lvs-setup apply --lab ${shellQuote(labPath)} --host ${shellQuote(name)}`,
    }));
}

export const MONITOR_COMMAND = 'lvs-setup monitor';
