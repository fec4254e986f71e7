import type { CheckResult } from '../doctor/types.js';
import type { SystemFacts } from '../facts/types.js';
import type { LabFile } from '../config/schema.js';
import type { ExecEvent, Recap } from '../executor.js';
import type { HostFacts } from '../facts/types.js';
import type { LabCandidate } from './state.js';

/**
 * What the wizard's screens may ask of the outside world. The command implements it on the real
 * machine; tests implement it on a simulated host. Screens never see the Machine itself.
 */

export interface PlanStepView {
  title: string;
  recipe: string;
  status: 'ok' | 'change';
  reason: string;
}

export type PlanView =
  | {
      ok: true;
      host: string;
      role: string;
      distro: string;
      steps: PlanStepView[];
      change: number;
      unchanged: number;
      /** `Plan: N to change, M already ok.` or `No changes. …` */
      summary: string;
      /** The full plan as `lvs-setup plan` prints it (explanations, commands, diffs). */
      text: string;
      warnings: string[];
      /** The plan holds the VRRP password: a script of it must be private. */
      hasSecrets: boolean;
    }
  | { ok: false; message: string };

export interface Detected {
  facts: HostFacts;
  labs: LabCandidate[];
}

export type SaveResult =
  | { status: 'saved'; path: string; mode: number }
  | { status: 'exists'; path: string }
  | { status: 'error'; path: string; message: string };

export interface WizardServices {
  /** Review is the end: nothing is applied (--dry-run, or not root). */
  dryRun: boolean;
  dryRunReason: 'flag' | 'not-root' | null;
  uid: number;
  detect(): Promise<Detected>;
  /** The hardware line (arch, cores, memory): read after the NIC table, it blocks ~100 ms. */
  system?(): Promise<SystemFacts | undefined>;
  /** The plan for `host` of this lab against fresh facts (as `apply` would run it). */
  plan(file: LabFile, host: string): Promise<PlanView>;
  /** Save text; refuses to replace an existing file unless `overwrite`. Atomic. */
  save(path: string, content: string, mode: number, overwrite: boolean): Promise<SaveResult>;
  /** The last plan as a POSIX shell script (`plan --format sh`). */
  script(): string | null;
  /** Apply the last plan; events as the executor sends them. */
  execute(onEvent: (e: ExecEvent) => void): Promise<Recap>;
  /**
   * The doctor's checks for this host's role after a successful apply (read-only; the same as
   * `apply` prints): what the steps cannot see, e.g. a real server not listening yet.
   */
  checks?(labPath: string | null): Promise<CheckResult[]>;
  /** Ctrl-C during execute: no new command starts; the running one finishes. */
  interrupt(): void;
}

export type WizardOutcome =
  | { kind: 'quit'; screen: string }
  | { kind: 'reviewed' }
  | { kind: 'done'; recap: Recap }
  | { kind: 'monitor'; recap: Recap | null }
  | { kind: 'interrupted'; screen: string };

export interface WizardResult {
  outcome: WizardOutcome;
  saved: { lab: string | null; sh: string | null };
  /** For the closing message: what to run on the other hosts. */
  otherHosts: Array<{ host: string; role: string; command: string }>;
}
