import { change, cmd, fileStep, ok, type Step } from '../source/plan/step.js';
import { directedServices, servedServices, type PlanContext, type Recipe } from './context.js';
import { modprobeRemove } from './inverses.js';

export const MODULES_FILE = '/etc/modules-load.d/lvs-setup.conf';

export interface ModuleNeed {
  name: string;
  why: string;
}

export function neededModules(ctx: PlanContext): ModuleNeed[] {
  const out: ModuleNeed[] = [];
  const directed = directedServices(ctx);
  if (directed.length > 0) {
    out.push({
      name: 'ip_vs',
      why: 'the kernel’s IP Virtual Server, which does the load balancing',
    });
    for (const sched of [...new Set(directed.map((s) => s.scheduler))].sort()) {
      out.push({ name: `ip_vs_${sched}`, why: `the ${sched} scheduler the lab file chose` });
    }
  }
  if (servedServices(ctx).some((s) => s.service.mode === 'tun')) {
    out.push({
      name: 'ipip',
      why: 'TUN: unwraps the IP-in-IP packets the director sends; creates tunl0',
    });
  }
  return out;
}

function loadStep(m: ModuleNeed): Step {
  return {
    id: `modules:${m.name}`,
    recipe: 'modules',
    title: `Load kernel module ${m.name}`,
    explain: `${m.why}.`,
    decide(facts) {
      if (facts.modules.includes(m.name)) return ok(`${m.name} is loaded`);
      return change(`${m.name} is not loaded`, [
        cmd(['modprobe', m.name], { inverse: [modprobeRemove(m.name)] }),
      ]);
    },
  };
}

export const modulesRecipe: Recipe = (ctx) => {
  const mods = neededModules(ctx);
  if (mods.length === 0) return [];
  return [
    fileStep({
      id: 'modules:file',
      recipe: 'modules',
      path: MODULES_FILE,
      content: `# Written by lvs-setup: modules loaded at every boot.\n${mods.map((m) => `${m.name}`).join('\n')}\n`,
      title: `Write ${MODULES_FILE} (modules load at boot)`,
      explain:
        'systemd-modules-load reads this at boot, before sysctl settings are applied, so the settings that need these modules find them.',
    }),
    ...mods.map(loadStep),
  ];
};
