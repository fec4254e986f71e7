import type { Machine } from '../boundary.js';
import { EXIT, type Output } from './common.js';

/** Until the wizard lands (issue "wizard"), the bare command prints help. */
export async function runWizardCommand(
  _machine: Machine,
  _opts: { lab?: string; dryRun?: boolean; plain?: boolean },
  io: Output,
): Promise<number> {
  io.out('The interactive wizard is not built yet. Use: lvs-setup --help');
  return EXIT.ok;
}
