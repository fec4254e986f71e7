import type { Action } from '../plan/step.js';
import type { Snapshot } from './model.js';

/** Where the monitor's snapshots come from: the kernel through a Machine, the demo, or a test fake. */
export interface MonitorSource {
  readonly kind: string;
  read(): Promise<Snapshot>;
  /** The source re-reads its traffic counters at most this often (see COUNTER_PERIOD_MS). */
  readonly countersPeriodMs?: number;
  /**
   * Apply changes itself. Only a simulated director has this: on a real one, changes go through
   * the core's executor (the monitor's onAction) so they are logged and journaled.
   */
  apply?(actions: readonly Action[]): Promise<void>;
  /** Ends what the source keeps running between readings (the netlink helper). */
  close?(): void;
}
