import type { Machine } from '../boundary.js';
import { parseDemoScale } from '../monitor/demo.js';
import { runMonitor } from '../monitor/run.js';
import { CliError, type Output } from './output.js';

// The lab file's parser (zod, yaml) and the executor are loaded only when used (--lab, a change
// from the screen): a plain `monitor` starts without parsing them (measured in a TCG guest, they
// were a third of the JavaScript the monitor loaded).

export interface MonitorCommandOptions {
  demo?: boolean;
  once?: boolean;
  json?: boolean;
  exact?: boolean;
  interval: string;
  lab?: string;
}

export const DEMO_SCALE_ENV = 'LVS_SETUP_DEMO_SCALE';

/**
 * `lvs-setup monitor`: the dashboard. Its changes (drain, weight, zero) go through the executor
 * like any apply, so they are logged and journaled and `undo` can reverse them.
 */
export async function monitorCommand(
  machine: Machine,
  opts: MonitorCommandOptions,
  io: Output,
): Promise<number> {
  const seconds = Number(opts.interval);
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new CliError(`--interval ${opts.interval}: expected seconds, such as 1 or 0.5.`);
  }
  // Hidden, for benchmarks and scale checks: LVS_SETUP_DEMO_SCALE=100x10 lvs-setup monitor --demo
  // shows a generated director of 100 services × 10 real servers, read through the parsers.
  const scaleText = opts.demo ? machine.env(DEMO_SCALE_ENV) : undefined;
  const demoScale = scaleText ? parseDemoScale(scaleText) : null;
  if (scaleText && !demoScale) {
    throw new CliError(
      `${DEMO_SCALE_ENV}=${scaleText}: expected services x servers per service, such as 100x10.`,
    );
  }
  const labWeights: Record<string, number> = {};
  const vips: string[] = [];
  if (opts.lab) {
    const { loadLabFile } = await import('./common.js');
    const lab = await loadLabFile(machine, opts.lab);
    for (const s of lab.services) {
      vips.push(s.vip);
      for (const rs of s.realServers)
        labWeights[`${s.protocol}:${s.vip}:${s.port}>${rs.address}:${rs.port}`] = rs.weight;
    }
  }
  return runMonitor({
    machine: opts.demo ? null : machine,
    demo: Boolean(opts.demo),
    ...(demoScale ? { demoScale } : {}),
    once: Boolean(opts.once),
    json: Boolean(opts.json),
    exact: Boolean(opts.exact),
    intervalMs: Math.round(seconds * 1000),
    labWeights,
    vips,
    onAction: async (actions, description) => {
      if (machine.uid() !== 0)
        throw new Error('changing the IPVS table needs root: run lvs-setup monitor with sudo');
      const [{ gatherFacts }, { execute }, { change }] = await Promise.all([
        import('../facts/gather.js'),
        import('../executor.js'),
        import('../plan/step.js'),
      ]);
      const facts = await gatherFacts(machine);
      const recap = await execute({
        machine,
        steps: [
          {
            id: 'monitor:action',
            recipe: 'monitor',
            title: description,
            explain: 'A change made from the monitor.',
            decide: () => change(description, actions),
          },
        ],
        facts,
        refresh: async () => facts,
        lab: opts.lab ?? '(monitor)',
        host: facts.hostname,
        secrets: [],
      });
      if (recap.failed > 0) throw new Error(`${description} failed; see ${recap.logPath}`);
    },
  }).then((code) => {
    if (code !== 0 && !opts.demo)
      io.err('(no IPVS here? lvs-setup monitor --demo shows a simulated director)');
    return code;
  });
}
