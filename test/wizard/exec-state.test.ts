import { describe, expect, it } from 'vitest';
import type { ExecEvent } from '../../source/executor.js';
import {
  appendTail,
  execReducer,
  formatElapsed,
  initialExecState,
  recapLine,
} from '../../source/wizard/exec-state.js';

const info = (title: string) => ({ id: title, title, explain: '', recipe: 'x' });

describe('the execute model', () => {
  it('folds the executor events: finished steps, the running one, the failure, the recap', () => {
    const events: ExecEvent[] = [
      { type: 'start', total: 3, host: 'lvs', lab: 'l', runId: 'r', logPath: '/var/log/x' },
      { type: 'step-start', index: 0, step: info('Install ipvsadm') },
      { type: 'action', index: 0, text: '$ dnf install -y ipvsadm' },
      {
        type: 'output',
        index: 0,
        chunk: 'Downloading 10%\rDownloading 100%\nInstalled: ipvsadm\n',
      },
      { type: 'step-changed', index: 0, reason: 'not installed', durationMs: 1500 },
      { type: 'step-start', index: 1, step: info('Enable ip_forward') },
      { type: 'step-ok', index: 1, reason: 'already 1' },
      { type: 'step-start', index: 2, step: info('Load ip_vs') },
      {
        type: 'step-failed',
        index: 2,
        command: 'modprobe ip_vs',
        exitCode: 1,
        stderr: 'modprobe: FATAL: Module ip_vs not found',
        timedOut: false,
        hint: 'Read the error above and fix its cause.',
      },
    ];
    let s = initialExecState();
    s = events.slice(0, 4).reduce((st, e) => execReducer(st, e, 1000), s);
    expect(s.running).toMatchObject({
      title: 'Install ipvsadm',
      action: '$ dnf install -y ipvsadm',
    });
    expect(s.running?.tail).toEqual(['Downloading 100%', 'Installed: ipvsadm']);
    s = events.slice(4).reduce((st, e) => execReducer(st, e, 2000), s);
    expect(s.finished.map((f) => [f.title, f.status])).toEqual([
      ['Install ipvsadm', 'changed'],
      ['Enable ip_forward', 'ok'],
      ['Load ip_vs', 'failed'],
    ]);
    expect(s.failure).toMatchObject({ command: 'modprobe ip_vs', exitCode: 1 });
    const recap = {
      ok: 1,
      changed: 1,
      failed: 1,
      skipped: 0,
      durationMs: 3000,
      logPath: '/x',
      runId: 'r',
    };
    s = execReducer(s, { type: 'end', recap }, 3000);
    expect(recapLine(s.recap!)).toBe('ok=1 changed=1 failed=1');
  });

  it('keeps the last lines of output, drops escape codes, redraws on \\r', () => {
    let t = { tail: [] as string[], partial: '' };
    for (let i = 1; i <= 9; i++) t = appendTail(t.tail, t.partial, `line ${i}\n`);
    expect(t.tail).toEqual(['line 4', 'line 5', 'line 6', 'line 7', 'line 8', 'line 9']);
    t = appendTail([], '', '\u001b[1mbold\u001b[0m 50%\r');
    expect(t).toEqual({ tail: [], partial: '' });
    t = appendTail([], '', 'half');
    expect(t.partial).toBe('half');
  });

  it('formats elapsed time', () => {
    expect(formatElapsed(4200)).toBe('4s');
    expect(formatElapsed(125000)).toBe('2m05s');
  });
});
