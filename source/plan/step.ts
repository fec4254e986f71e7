import type { HostFacts } from '../facts/types.js';

/** A command to run: always an argv array, never a shell string. */
export interface CommandSpec {
  argv: string[];
  /** Standard input for the command (e.g. an `ipvsadm -R` batch, `sysctl -p -`). */
  input?: string;
  /** Exit codes that count as success (default [0]). */
  okExitCodes?: number[];
  /**
   * For an inverse: error output (substrings) meaning what it removes is already gone (an address
   * whose device was deleted, a module already unloaded). Undo counts that as undone, not a failure.
   */
  goneWhen?: string[];
  /** Milliseconds before the command (and its children) is killed. Default 120 s. */
  timeoutMs?: number;
}

export interface CommandAction extends CommandSpec {
  kind: 'command';
  /** Commands that undo this one, run in order by `undo`. Absent = nothing to undo. */
  inverse?: CommandSpec[];
}

export interface FileAction {
  kind: 'file';
  path: string;
  content: string;
  mode: number;
}

export interface RemoveFileAction {
  kind: 'remove-file';
  path: string;
}

/** File actions are undone by restoring the backup the executor takes before writing. */
export type Action = CommandAction | FileAction | RemoveFileAction;

export type Decision =
  { status: 'ok'; reason: string } | { status: 'change'; reason: string; actions: Action[] };

export interface Step {
  /** Stable and unique within a plan, e.g. `sysctl:net.ipv4.ip_forward`. */
  id: string;
  /** The recipe that made it (sysctl, packages, firewall, network, …). */
  recipe: string;
  /** Imperative: "Write /etc/keepalived/keepalived.conf". */
  title: string;
  /** Why LVS needs it, in one or two sentences a student can learn from. */
  explain: string;
  /** Files `decide` looks at; the fact gatherer reads them into `facts.files`. */
  reads?: string[];
  /** Pure: the same facts give the same decision. */
  decide(facts: HostFacts): Decision;
}

export const ok = (reason: string): Decision => ({ status: 'ok', reason });
export const change = (reason: string, actions: Action[]): Decision => ({
  status: 'change',
  reason,
  actions,
});

export const cmd = (
  argv: string[],
  extra: Omit<CommandAction, 'kind' | 'argv'> = {},
): CommandAction => ({ kind: 'command', argv, ...extra });

export const writeFile = (path: string, content: string, mode = 0o644): FileAction => ({
  kind: 'file',
  path,
  content,
  mode,
});

/**
 * A step that makes a file hold exactly `content` with `mode`. The decision compares with the
 * file as read into the facts; `after` commands run when the file changes (e.g. reload a service).
 */
export function fileStep(options: {
  id: string;
  recipe: string;
  path: string;
  content: string;
  mode?: number;
  title?: string;
  explain: string;
  after?: CommandAction[];
}): Step {
  const mode = options.mode ?? 0o644;
  return {
    id: options.id,
    recipe: options.recipe,
    title: options.title ?? `Write ${options.path}`,
    explain: options.explain,
    reads: [options.path],
    decide(facts) {
      const current = facts.files[options.path];
      if (current && current.content === options.content && current.mode === mode) {
        return ok(`${options.path} already has this content`);
      }
      const reason = !current
        ? `${options.path} does not exist`
        : current.content !== options.content
          ? `${options.path} differs`
          : `${options.path} has mode ${current.mode.toString(8)}, want ${mode.toString(8)}`;
      return change(reason, [
        writeFile(options.path, options.content, mode),
        ...(options.after ?? []),
      ]);
    },
  };
}
