import type { Machine } from '../boundary.js';
import type { Lab } from '../config/resolve.js';
import { describeModel, formatResults, runDoctor } from '../doctor/doctor.js';
import { gatherFacts } from '../facts/gather.js';
import { selectHost } from '../plan/plan.js';
import { CliError, EXIT, loadLabFile, type Output } from './common.js';

export interface DoctorOptions {
  lab?: string;
  host?: string;
  json?: boolean;
  /** Seconds to listen for other VRRP routers (tests pass 0 or a fake; default 3). */
  vrrpSeconds?: number;
}

/**
 * `lvs-setup doctor [--lab FILE] [--host NAME] [--json]`: checks this host for the classic LVS
 * traps against its role (from the lab file, or inferred from what is configured). Exit 1 when a
 * check fails, 0 otherwise (warnings included); 2 for bad usage or an invalid lab file.
 */
export async function doctorCommand(
  machine: Machine,
  opts: DoctorOptions,
  io: Output,
): Promise<number> {
  if (opts.host !== undefined && opts.lab === undefined)
    throw new CliError('--host needs --lab: the host is a name in a lab file.');
  const lab = opts.lab !== undefined ? await loadLabFile(machine, opts.lab) : null;
  const facts = await gatherFacts(machine);
  let how: string | null = null;
  let labInput: { lab: Lab; host: string; path: string } | null = null;
  if (lab && opts.lab !== undefined) {
    // Only the lab's own hosts: "constructor" or "toString" are not hosts.
    if (opts.host !== undefined && !Object.hasOwn(lab.file.hosts, opts.host))
      throw new CliError(
        `--host ${opts.host}: no such host in lab ${lab.file.name}; its hosts: ${Object.keys(lab.file.hosts).join(', ')}.`,
      );
    const chosen = selectHost(lab, facts, opts.host);
    if (!chosen.ok) throw new CliError(chosen.message);
    how = chosen.how;
    labInput = { lab, host: chosen.host, path: opts.lab };
  }
  const run = await runDoctor(machine, {
    lab: labInput,
    facts,
    ...(opts.vrrpSeconds !== undefined ? { vrrpSeconds: opts.vrrpSeconds } : {}),
  });
  if (opts.json) io.out(JSON.stringify(run.results, null, 2));
  else io.out(formatResults(run.results, { header: describeModel(run.model, how, run.facts) }));
  return run.results.some((r) => r.status === 'fail') ? EXIT.failed : EXIT.ok;
}
