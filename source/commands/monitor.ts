import type { Machine } from '../boundary.js';
import { EXIT, type Output } from './common.js';

export async function monitorCommand(
  _machine: Machine,
  _opts: Record<string, unknown>,
  io: Output,
): Promise<number> {
  io.err('monitor: not wired yet');
  return EXIT.usage;
}
