import { Text } from 'ink';
import type { ComponentType } from 'react';
import { render } from 'ink-testing-library';
import { describe, expect, it, vi } from 'vitest';
import { Boot, DETECT_SPINNER } from '../../screens/wizard/boot.js';
import type { WizardAppProps } from '../../screens/wizard/app.js';
import type { WizardResult } from '../../source/wizard/services.js';
import { DetectScreen, hardwareLine } from '../../screens/wizard/detect.js';
import { seedDirectorFacts } from './helpers.js';

const app = { services: {}, onExit: () => {} } as unknown as WizardAppProps;

async function waitFrame(get: () => string | undefined, want: string): Promise<string> {
  for (let i = 0; i < 200; i++) {
    const f = get() ?? '';
    if (f.includes(want)) return f;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`no frame with ${want}; last: ${get()}`);
}

describe('the wizard boot frame', () => {
  it('shows the Detect spinner before the screens load, then hands over to them', async () => {
    let resolve: (c: ComponentType<WizardAppProps>) => void = () => {};
    const loaded = new Promise<ComponentType<WizardAppProps>>((r) => (resolve = r));
    const load = vi.fn(() => loaded);
    const r = render(<Boot app={app} load={load} onExit={() => {}} />);
    expect(r.lastFrame()).toContain(DETECT_SPINNER);
    expect(load).toHaveBeenCalledTimes(1);
    resolve((p) => <Text>the screens are here ({typeof p.services})</Text>);
    await waitFrame(r.lastFrame, 'the screens are here (object)');
    r.unmount();
  });

  it('Ctrl-C while loading ends the wizard as interrupted', async () => {
    const onExit = vi.fn<(r: WizardResult) => void>();
    const r = render(<Boot app={app} load={() => new Promise(() => {})} onExit={onExit} />);
    await waitFrame(r.lastFrame, DETECT_SPINNER);
    for (let i = 0; i < 100 && onExit.mock.calls.length === 0; i++) {
      r.stdin.write('\x03');
      await new Promise((res) => setTimeout(res, 10));
    }
    expect(onExit).toHaveBeenCalledTimes(1);
    expect(onExit.mock.calls[0]?.[0].outcome).toEqual({ kind: 'interrupted', screen: 'detect' });
    r.unmount();
  });
});

describe('the Detect screen: hardware line', () => {
  it('says reading… until systeminformation answers, then arch, cores and memory', () => {
    const facts = seedDirectorFacts();
    const props = { facts, warnings: [], onContinue: () => {} };
    const r = render(<DetectScreen {...props} />);
    expect(r.lastFrame()).toMatch(/hardware: +reading…/);
    r.rerender(<DetectScreen {...props} system={{ arch: 'x86_64', cores: 2, memoryMiB: 3891 }} />);
    expect(r.lastFrame()).toMatch(/hardware: +x86_64, 2 cores, 3\.8 GiB memory/);
    r.rerender(<DetectScreen {...props} system={null} />);
    expect(r.lastFrame()).toMatch(/hardware: +unknown/);
    r.unmount();
  });

  it('formats one core and large memory', () => {
    expect(hardwareLine({ arch: 'aarch64', cores: 1, memoryMiB: 24576 })).toBe(
      'aarch64, 1 core, 24 GiB memory',
    );
  });
});
