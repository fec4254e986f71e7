import { render, useApp, useInput, type Instance, type RenderOptions } from 'ink';
import { useEffect, useState, type ComponentType } from 'react';
import type { WizardResult } from '../../source/wizard/services.js';
import { Spinner } from './components.js';
import type { WizardAppProps } from './app.js';

/** What the Detect screen shows while the host is read (the same words, so nothing jumps). */
export const DETECT_SPINNER = 'Reading this host (NICs, routes, distro, packages, IPVS)…';

export interface BootProps {
  app: WizardAppProps;
  /** Loads the wizard's screens (a chunk of its own: the first frame does not wait for it). */
  load: () => Promise<ComponentType<WizardAppProps>>;
  onExit: (result: WizardResult) => void;
}

/**
 * The wizard's first frame: Ink is up (raw mode, Ctrl-C works) and the Detect spinner turns at
 * once, while the screens, the lab-file schema and the planner load behind it. Then the real
 * app takes over the same Ink instance.
 */
export function Boot({ app, load, onExit }: BootProps) {
  const { exit } = useApp();
  const [App, setApp] = useState<ComponentType<WizardAppProps> | null>(null);
  const [failed, setFailed] = useState<string | null>(null);
  useEffect(() => {
    load().then(
      (C) => setApp(() => C),
      (e: unknown) => setFailed(e instanceof Error ? e.message : String(e)),
    );
  }, [load]);
  useInput(
    (input, key) => {
      if (key.ctrl && input === 'c') {
        onExit({
          outcome: { kind: 'interrupted', screen: 'detect' },
          saved: { lab: null, sh: null },
          otherHosts: [],
        });
        exit();
      }
    },
    { isActive: App === null },
  );
  if (failed) throw new Error(`the wizard's screens did not load: ${failed}`);
  if (App === null) return <Spinner label={DETECT_SPINNER} />;
  return <App {...app} />;
}

export function startBoot(props: BootProps, options: RenderOptions = {}): Instance {
  return render(<Boot {...props} />, { exitOnCtrlC: false, ...options });
}
