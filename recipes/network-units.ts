import type { HostFacts } from '../source/facts/types.js';
import {
  change,
  cmd,
  ok,
  writeFile,
  type Action,
  type CommandAction,
  type Step,
} from '../source/plan/step.js';
import { unitPath, unitWantsPath } from './network-render.js';

/**
 * Step builders shared by the network, vip and iptables recipes: files whose content may depend on
 * what is there now (ifcfg keeps the installer's keys), with follow-up commands chosen from the
 * facts; and small systemd units that are written and enabled.
 */

export interface WantedFile {
  path: string;
  /** The content wanted, from the file's current content (null = absent); null = leave it as is. */
  content: (current: string | null) => string | null;
  mode?: number;
}

export interface FilesStepOptions {
  id: string;
  recipe: string;
  title: string;
  explain: string;
  files: WantedFile[];
  /** Commands after writing, chosen from the facts (e.g. reload a daemon only when it runs). */
  after?: (facts: HostFacts, written: string[]) => CommandAction[];
  /** Files read only to decide (not written). */
  alsoReads?: string[];
}

/** A step that makes one or more files hold their wanted content and mode. */
export function filesStep(o: FilesStepOptions): Step {
  return {
    id: o.id,
    recipe: o.recipe,
    title: o.title,
    explain: o.explain,
    reads: [...o.files.map((f) => f.path), ...(o.alsoReads ?? [])],
    decide(facts) {
      const writes: Action[] = [];
      const why: string[] = [];
      const checked: string[] = [];
      for (const f of o.files) {
        const mode = f.mode ?? 0o644;
        const current = facts.files[f.path] ?? null;
        const content = f.content(current?.content ?? null);
        if (content === null) continue;
        checked.push(f.path);
        if (current && current.content === content && current.mode === mode) continue;
        why.push(
          !current
            ? `${f.path} does not exist`
            : current.content !== content
              ? `${f.path} differs`
              : `${f.path} has mode ${current.mode.toString(8)}, want ${mode.toString(8)}`,
        );
        writes.push(writeFile(f.path, content, mode));
      }
      if (writes.length === 0) {
        return ok(
          checked.length === 1
            ? `${checked[0]} already has this content`
            : `${checked.join(', ')} already have this content`,
        );
      }
      const written = writes.flatMap((w) => (w.kind === 'file' ? [w.path] : []));
      return change(why.join('; '), [...writes, ...(o.after?.(facts, written) ?? [])]);
    },
  };
}

/** The unit is enabled: its WantedBy symlink exists (or systemctl said so, for watched units). */
export function unitEnabled(facts: HostFacts, name: string): boolean {
  return (
    (facts.files[unitWantsPath(name)] ?? null) !== null ||
    facts.services[name.replace(/\.service$/, '')]?.enabled === true
  );
}

/**
 * Write a unit to /etc/systemd/system and enable it for the next boot. It is not started: the
 * runtime steps already did now what the unit does at boot.
 */
export function unitStep(o: {
  id: string;
  recipe: string;
  name: string;
  content: string;
  title: string;
  explain: string;
}): Step {
  const path = unitPath(o.name);
  return {
    id: o.id,
    recipe: o.recipe,
    title: o.title,
    explain: o.explain,
    reads: [path, unitWantsPath(o.name)],
    decide(facts) {
      const current = facts.files[path] ?? null;
      const fileOk = current !== null && current.content === o.content && current.mode === 0o644;
      const enabled = unitEnabled(facts, o.name);
      if (fileOk && enabled) return ok(`${o.name} is written and enabled`);
      const actions: Action[] = [];
      const why: string[] = [];
      if (!fileOk) {
        why.push(current ? `${path} differs` : `${path} does not exist`);
        actions.push(writeFile(path, o.content), cmd(['systemctl', 'daemon-reload']));
      }
      if (!enabled) {
        why.push(`${o.name} is not enabled`);
        actions.push(
          cmd(['systemctl', 'enable', o.name], {
            inverse: [{ argv: ['systemctl', 'disable', o.name] }],
          }),
        );
      }
      return change(why.join('; '), actions);
    },
  };
}
