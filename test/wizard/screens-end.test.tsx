import { render } from 'ink-testing-library';
import type { ReactElement } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { CheckResult } from '../../source/doctor/types.js';
import type { Recap } from '../../source/executor.js';
import { initialExecState, type ExecState } from '../../source/wizard/exec-state.js';
import type { PlanView, SaveResult } from '../../source/wizard/services.js';
import { DoneScreen } from '../../screens/wizard/done.js';
import { ExecuteScreen } from '../../screens/wizard/execute.js';
import { KeysProvider } from '../../screens/wizard/keys.js';
import { ReviewScreen, type ReviewProps } from '../../screens/wizard/review.js';
import { frame, KEY, press, typeText, waitFor, waitForFrame } from './helpers.js';

let mounted: Array<() => void> = [];
afterEach(() => {
  for (const u of mounted) u();
  mounted = [];
});

async function mount(el: ReactElement) {
  let ready = false;
  const inst = render(<KeysProvider onReady={() => (ready = true)}>{el}</KeysProvider>);
  mounted.push(inst.unmount);
  await waitFor(() => ready, 'the key listener');
  return inst;
}

const plan: PlanView = {
  ok: true,
  host: 'lvs',
  role: 'director',
  distro: 'Rocky Linux 9.4',
  steps: [
    { title: 'Install ipvsadm', recipe: 'packages', status: 'change', reason: 'not installed' },
    { title: 'Enable ip_forward', recipe: 'sysctl', status: 'change', reason: 'it is 0' },
    { title: 'Load ip_vs', recipe: 'modules', status: 'ok', reason: 'loaded' },
  ],
  change: 2,
  unchanged: 1,
  summary: 'Plan: 2 to change, 1 already ok.',
  text: Array.from({ length: 80 }, (_, i) => `plan line ${i + 1}`).join('\n'),
  warnings: [],
  hasSecrets: false,
};

function reviewProps(over: Partial<ReviewProps> = {}): ReviewProps {
  return {
    host: 'lvs',
    topology: [
      'client ──▶ 192.168.91.141:80/tcp ── lvs (this host) [NAT, wrr]',
      '           └─▶ web1 192.168.81.142:80  weight 1',
    ],
    issues: [],
    plan,
    dryRun: false,
    dryRunReason: null,
    labPath: 'seed-nat.yaml',
    shPath: 'seed-nat-lvs.sh',
    saved: { lab: null, sh: null },
    onSave: async (_k, path) => ({ status: 'saved', path, mode: 0o644 }),
    onApply: () => {},
    onQuit: () => {},
    onBack: () => {},
    onGoto: () => {},
    ...over,
  };
}

describe('Review', () => {
  it('shows the topology, what changes, N to change / M already ok', async () => {
    const inst = await mount(<ReviewScreen {...reviewProps()} />);
    expect(frame(inst)).toContain('client ──▶ 192.168.91.141:80/tcp ── lvs (this host) [NAT, wrr]');
    expect(frame(inst)).toContain('~ Install ipvsadm  (not installed)');
    expect(frame(inst)).toContain('1 step(s) already ok');
    expect(frame(inst)).toContain('Plan: 2 to change, 1 already ok.');
    expect(frame(inst)).toContain('not saved yet (s)');
  });

  it('waits for the plan with a spinner', async () => {
    const inst = await mount(<ReviewScreen {...reviewProps({ plan: null })} />);
    expect(frame(inst)).toContain("Making the plan against this host's current state");
  });

  it('saves the lab file, asks before overwriting, never overwrites on "n"', async () => {
    const calls: Array<[string, string, boolean]> = [];
    const onSave = async (
      kind: 'lab' | 'sh',
      path: string,
      overwrite: boolean,
    ): Promise<SaveResult> => {
      calls.push([kind, path, overwrite]);
      if (!overwrite && path === 'seed-nat.yaml') return { status: 'exists', path };
      return { status: 'saved', path, mode: kind === 'sh' ? 0o600 : 0o644 };
    };
    const inst = await mount(<ReviewScreen {...reviewProps({ onSave })} />);
    await press(inst, 's', 'Save the lab file as: seed-nat.yaml');
    await press(inst, KEY.enter, 'seed-nat.yaml exists. Overwrite it? (y/N)');
    await press(inst, 'n', 'Save the lab file as: seed-nat.yaml');
    await press(inst, KEY.ctrlU);
    await typeText(inst, 'mine.yaml');
    await press(inst, KEY.enter, 'Saved mine.yaml (mode 0644).');
    await press(inst, 'x', 'Save the script as: seed-nat-lvs.sh');
    await press(inst, KEY.enter, 'Saved seed-nat-lvs.sh (mode 0600: it holds the VRRP password).');
    expect(calls).toEqual([
      ['lab', 'seed-nat.yaml', false],
      ['lab', 'mine.yaml', false],
      ['sh', 'seed-nat-lvs.sh', false],
    ]);
  });

  it('confirms before applying; the full plan scrolls', async () => {
    const onApply = vi.fn();
    const inst = await mount(<ReviewScreen {...reviewProps({ onApply })} />);
    await press(inst, 'p', 'plan line 1');
    expect(frame(inst)).toMatch(/lines 1-35 of 80/);
    await press(inst, ' ', 'lines 36-70 of 80');
    expect(frame(inst)).toMatch(/^plan line 36$/m);
    expect(frame(inst)).not.toMatch(/^plan line 1$/m);
    await press(inst, 'q', 'Plan: 2 to change');
    await press(inst, 'a', 'Apply these changes to this host now? (y/N)');
    await press(inst, 'n', 'a apply');
    expect(onApply).not.toHaveBeenCalled();
    await press(inst, 'a', 'Apply these changes');
    inst.stdin.write('y');
    await waitFor(() => onApply.mock.calls.length === 1, 'onApply');
  });

  it('in a dry run offers no apply and says the review is the end', async () => {
    const inst = await mount(
      <ReviewScreen {...reviewProps({ dryRun: true, dryRunReason: 'not-root' })} />,
    );
    expect(frame(inst)).toContain('Not root: the review is the end.');
    expect(frame(inst)).not.toContain('a apply');
  });

  it('lists the problems of an invalid lab and goes to the screen that fixes the first', async () => {
    const onGoto = vi.fn();
    const inst = await mount(
      <ReviewScreen
        {...reviewProps({
          plan: null,
          topology: [],
          issues: [{ text: 'services[0].vip: not reachable from director lvs', screen: 'service' }],
          onGoto,
        })}
      />,
    );
    expect(frame(inst)).toContain(
      '✘ services[0].vip: not reachable from director lvs  (screen: service)',
    );
    inst.stdin.write('g');
    await waitFor(() => onGoto.mock.calls.length === 1, 'onGoto');
    expect(onGoto).toHaveBeenCalledWith('service');
  });
});

const recap: Recap = {
  ok: 5,
  changed: 3,
  failed: 0,
  skipped: 0,
  durationMs: 4200,
  logPath: '/var/lib/lvs-setup/lvs-setup.log',
  runId: 'r',
};

describe('Execute', () => {
  const running: ExecState = {
    ...initialExecState(),
    total: 4,
    startedAt: 1000,
    logPath: '/var/lib/lvs-setup/lvs-setup.log',
    finished: [
      {
        index: 0,
        title: 'Install ipvsadm',
        status: 'changed',
        detail: 'not installed',
        durationMs: 2500,
      },
      { index: 1, title: 'Load ip_vs', status: 'ok', detail: 'loaded', durationMs: 0 },
    ],
    running: {
      index: 2,
      title: 'Install nginx',
      startedAt: 2000,
      action: '$ dnf install -y nginx',
      tail: ['Downloading Packages:', 'nginx-1.20.1-14.el9.x86_64.rpm'],
      partial: '[===   ] 40%',
    },
  };

  it('prints finished steps once, the running one with its command, output tail and time', async () => {
    const inst = await mount(
      <ExecuteScreen state={running} interrupting={false} onContinue={() => {}} now={9000} />,
    );
    const f = frame(inst);
    expect(f).toContain('~ [1/4] Install ipvsadm: changed (2.5 s)');
    expect(f).toContain('✔ [2/4] Load ip_vs: ok (loaded)');
    expect(f).toContain('[3/4] Install nginx  7s');
    expect(f).toContain('$ dnf install -y nginx');
    expect(f).toContain('│ nginx-1.20.1-14.el9.x86_64.rpm');
    expect(f).toContain('│ [===   ] 40%');
    expect(f).toContain('2/4 steps · 8s · log: /var/lib/lvs-setup/lvs-setup.log');
  });

  it('on failure: the command, its stderr, what to do, and that re-running resumes', async () => {
    const failed: ExecState = {
      ...running,
      running: null,
      finished: [
        ...running.finished,
        { index: 2, title: 'Install nginx', status: 'failed', detail: 'dnf', durationMs: 100 },
      ],
      failure: {
        title: 'Install nginx',
        command: 'dnf install -y nginx',
        exitCode: 1,
        stderr: 'Error: Unable to find a match: nginx',
        timedOut: false,
        hint: 'Read the error above and fix its cause.',
      },
      recap: { ...recap, failed: 1, skipped: 1 },
    };
    const onContinue = vi.fn();
    const inst = await mount(
      <ExecuteScreen state={failed} interrupting={false} onContinue={onContinue} now={9000} />,
    );
    const f = frame(inst);
    expect(f).toContain('✘ Install nginx failed');
    expect(f).toContain('command: dnf install -y nginx');
    expect(f).toContain('│ Error: Unable to find a match: nginx');
    expect(f).toContain('What to do: Read the error above and fix its cause.');
    expect(f).toContain('Re-running resumes');
    expect(f).toContain('ok=5 changed=3 failed=1 skipped=1');
    inst.stdin.write(KEY.enter);
    await waitFor(() => onContinue.mock.calls.length === 1, 'onContinue');
  });

  it('says what Ctrl-C does while a step runs', async () => {
    const inst = await mount(
      <ExecuteScreen state={running} interrupting onContinue={() => {}} now={9000} />,
    );
    await waitForFrame(inst, 'stopping after the running command');
  });
});

describe('Done', () => {
  const others = [
    {
      host: 'web1',
      role: 'real-server',
      command: 'npx lvs-setup apply --lab seed-nat.yaml --host web1',
    },
    {
      host: 'nfs',
      role: 'nfs-server',
      command: 'npx lvs-setup apply --lab seed-nat.yaml --host nfs',
    },
  ];

  it('recaps, tells what to run on the other hosts and how to open the monitor', async () => {
    const onMonitor = vi.fn();
    const inst = await mount(
      <DoneScreen
        recap={recap}
        host="lvs"
        labPath="seed-nat.yaml"
        defaultLabPath="seed-nat.yaml"
        otherHosts={others}
        onSaveLab={async (p) => ({ status: 'saved', path: p, mode: 0o644 })}
        onMonitor={onMonitor}
        onExit={() => {}}
      />,
    );
    const f = frame(inst);
    expect(f).toContain('Host lvs is configured: ok=5 changed=3 failed=0');
    expect(f).toContain('npx lvs-setup apply --lab seed-nat.yaml --host web1   # real-server');
    expect(f).toContain('lvs-setup monitor');
    inst.stdin.write('m');
    await waitFor(() => onMonitor.mock.calls.length === 1, 'onMonitor');
  });

  it('offers to save the lab file when it was not saved', async () => {
    const onSaveLab = vi.fn(async (p: string): Promise<SaveResult> => ({
      status: 'saved',
      path: p,
      mode: 0o644,
    }));
    const inst = await mount(
      <DoneScreen
        recap={recap}
        host="lvs"
        labPath={null}
        defaultLabPath="seed-nat.yaml"
        otherHosts={others}
        onSaveLab={onSaveLab}
        onMonitor={() => {}}
        onExit={() => {}}
      />,
    );
    expect(frame(inst)).toContain('press s to save it as seed-nat.yaml');
    await press(inst, 's', 'Saved seed-nat.yaml.');
    expect(onSaveLab).toHaveBeenCalledWith('seed-nat.yaml', false);
  });
});

describe('Done: the doctor checks after a real apply', () => {
  const props = {
    host: 'web1',
    labPath: 'seed-nat.yaml',
    defaultLabPath: 'seed-nat.yaml',
    otherHosts: [],
    onSaveLab: async (p: string): Promise<SaveResult> => ({
      status: 'saved',
      path: p,
      mode: 0o644,
    }),
    onMonitor: () => {},
    onExit: () => {},
  };
  const results: CheckResult[] = [
    { id: 'arp-sysctls', title: 'ARP sysctls', status: 'pass', detail: 'ok', fix: null },
    { id: 'vip-loopback', title: 'VIP on lo', status: 'pass', detail: 'ok', fix: null },
    { id: 'rp-filter', title: 'Reverse-path filter', status: 'skip', detail: 'not TUN', fix: null },
    {
      id: 'service-listening',
      title: 'The service listens on the VIP or 0.0.0.0',
      status: 'fail',
      detail: 'web: nothing listens on tcp port 80',
      fix: 'systemctl enable --now nginx\nor let lvs-setup do it',
    },
  ];

  it('runs them once with a spinner, then shows failures with their fix and counts passes', async () => {
    let answer: (r: CheckResult[]) => void = () => {};
    const runChecks = vi.fn(() => new Promise<CheckResult[]>((r) => (answer = r)));
    const inst = await mount(<DoneScreen {...props} recap={recap} runChecks={runChecks} />);
    await waitForFrame(inst, 'Checking this host for the classic LVS traps');
    answer(results);
    await waitForFrame(inst, 'Checks: 2 passed, 1 to look at');
    const f = frame(inst);
    expect(f).toContain('✘ The service listens on the VIP or 0.0.0.0 [service-listening]');
    expect(f).toContain('web: nothing listens on tcp port 80');
    expect(f).toContain('fix: systemctl enable --now nginx');
    expect(f).not.toContain('rp-filter');
    expect(runChecks).toHaveBeenCalledTimes(1);
  });

  it('says so when every relevant check passes', async () => {
    const ok = results.filter((r) => r.status !== 'fail');
    const inst = await mount(<DoneScreen {...props} recap={recap} runChecks={async () => ok} />);
    await waitForFrame(inst, 'Checks: all 2 relevant checks passed.');
  });

  it('does not run them after a failed apply', async () => {
    const runChecks = vi.fn(async () => results);
    const inst = await mount(
      <DoneScreen {...props} recap={{ ...recap, failed: 1 }} runChecks={runChecks} />,
    );
    await waitForFrame(inst, 'Stopped at a failed step');
    expect(runChecks).not.toHaveBeenCalled();
    expect(frame(inst)).not.toContain('Checks');
  });
});
