// The wizard draws with the monitor's byte-identical output step (screens/ink-fast-output.ts):
// installed before its first frame, so the Detect spinner's redraws do not re-tokenize the screen.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  fastOutputGet,
  installFastOutput,
  Output,
  stockGet,
} from '../../screens/ink-fast-output.js';
import type { BootProps } from '../../screens/wizard/boot.js';
import { runWizardCommand } from '../../source/commands/wizard.js';
import { FakeHost } from '../helpers/fake-host.js';
import { captureIo } from '../helpers/io.js';

const atFirstFrame: { get?: unknown } = {};
vi.mock('../../screens/wizard/boot.js', () => ({
  DETECT_SPINNER: 'Reading this host…',
  // Instead of Ink's first frame: note what would draw it, and quit as Ctrl-C on it does.
  startBoot: (props: BootProps) => {
    atFirstFrame.get = Output.prototype.get;
    props.onExit({
      outcome: { kind: 'interrupted', screen: 'detect' },
      saved: { lab: null, sh: null },
      otherHosts: [],
    });
    return { waitUntilExit: () => Promise.resolve() };
  },
}));

describe("the wizard's output step", () => {
  const tty = { in: process.stdin.isTTY, out: process.stdout.isTTY };
  afterEach(() => {
    Object.defineProperty(process.stdin, 'isTTY', { value: tty.in, configurable: true });
    Object.defineProperty(process.stdout, 'isTTY', { value: tty.out, configurable: true });
    process.stdin.pause();
    installFastOutput(false);
  });

  it('is the fast one from the first frame on', async () => {
    installFastOutput(false);
    expect(Output.prototype.get).toBe(stockGet);
    Object.defineProperty(process.stdin, 'isTTY', { value: true, configurable: true });
    Object.defineProperty(process.stdout, 'isTTY', { value: true, configurable: true });
    const code = await runWizardCommand(new FakeHost(), { dryRun: true }, captureIo());
    expect(code).toBe(130);
    expect(atFirstFrame.get).toBe(fastOutputGet);
  });
});
