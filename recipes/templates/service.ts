import type { HostFacts, ServiceState } from '../../source/facts/types.js';
import { change, cmd, ok, type CommandSpec, type Step } from '../../source/plan/step.js';

/**
 * Step templates shared by the ipvs, keepalived, nginx and nfs recipes: systemd unit states
 * decided from `facts.services`, each with the command that puts the unit back as it was.
 */

/** The state of the first of `keys` the facts know (an alias unit is reported under its target). */
export function unitState(facts: HostFacts, keys: readonly string[]): ServiceState | undefined {
  for (const k of keys) {
    const s = facts.services[k];
    if (s?.present) return s;
  }
  for (const k of keys) {
    const s = facts.services[k];
    if (s) return s;
  }
  return undefined;
}

/** `systemctl` commands that bring a unit back to `before` (enabled/active as it was). */
export function restoreUnit(unit: string, before: ServiceState | undefined): CommandSpec[] {
  const wasEnabled = before?.enabled ?? false;
  const wasActive = before?.active ?? false;
  if (!wasEnabled && !wasActive) return [{ argv: ['systemctl', 'disable', '--now', unit] }];
  const out: CommandSpec[] = [];
  if (!wasEnabled) out.push({ argv: ['systemctl', 'disable', unit] });
  if (!wasActive) out.push({ argv: ['systemctl', 'stop', unit] });
  return out;
}

/** A step that makes a unit enabled at boot and running now (`systemctl enable --now`). */
export function enableNowStep(options: {
  id: string;
  recipe: string;
  unit: string;
  /** Keys of facts.services to look at; default [unit]. */
  factKeys?: readonly string[];
  title?: string;
  explain: string;
}): Step {
  const keys = options.factKeys ?? [options.unit];
  return {
    id: options.id,
    recipe: options.recipe,
    title: options.title ?? `Enable and start ${options.unit}`,
    explain: options.explain,
    decide(facts) {
      const state = unitState(facts, keys);
      if (state?.active && state.enabled)
        return ok(`${options.unit} is already running and enabled`);
      const now = !state?.present
        ? `${options.unit} is not installed yet (the packages step installs it)`
        : `${options.unit} is ${state.active ? 'running' : 'stopped'} and ${state.enabled ? 'enabled' : 'disabled'}`;
      return change(now, [
        cmd(['systemctl', 'enable', '--now', options.unit], {
          inverse: restoreUnit(options.unit, state),
        }),
      ]);
    },
  };
}
