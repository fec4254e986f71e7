import { describe, expect, it } from 'vitest';
import { validateLab } from '../../source/config/load.js';
import { selectHost } from '../../source/plan/plan.js';
import { emptyAnswers } from '../../source/wizard/answers.js';
import {
  blockers,
  current,
  defaultLabPath,
  fieldError,
  initialState,
  labToReview,
  progress,
  screenSequence,
  wizardReducer,
  type LabCandidate,
  type WizardAction,
  type WizardState,
} from '../../source/wizard/state.js';
import { seedDirectorFacts } from './helpers.js';
import { exampleLab, seedNatAnswers } from './seed.js';

function run(state: WizardState, ...actions: WizardAction[]): WizardState {
  return actions.reduce(wizardReducer, state);
}

const detected = (labs: LabCandidate[] = []): WizardAction => ({
  type: 'detected',
  facts: seedDirectorFacts(),
  labs,
});

describe('the wizard reducer', () => {
  it('asks a director role, mode, service, real servers, network, firewall, then reviews', () => {
    const s = run(initialState(), detected());
    expect(screenSequence(s)).toEqual([
      'detect',
      'role',
      'mode',
      'service',
      'real-servers',
      'network',
      'firewall',
      'review',
    ]);
    const ha = run(s, { type: 'set', id: 'ha', value: 'MASTER' });
    expect(screenSequence(ha)).toContain('ha');
    const rs = run(s, { type: 'set', id: 'role', value: 'real-server' });
    expect(screenSequence(rs)).toEqual([
      'detect',
      'role',
      'mode',
      'service',
      'director',
      'real-servers',
      'network',
      'firewall',
      'review',
    ]);
    const nfs = run(s, { type: 'set', id: 'role', value: 'nfs-server' });
    expect(screenSequence(nfs)).toEqual([
      'detect',
      'role',
      'exports',
      'network',
      'firewall',
      'review',
    ]);
  });

  it('cannot leave detect before the facts, nor a screen with an invalid answer', () => {
    const s0 = initialState();
    expect(current(run(s0, { type: 'next' }))).toBe('detect');
    const s = run(s0, detected(), { type: 'next' }, { type: 'next' }, { type: 'next' });
    expect(current(s)).toBe('service');
    const bad = run(s, { type: 'set', id: 'service.port', value: '0' });
    expect(blockers(bad)).toContain('Port: expected a port number from 1 to 65535');
    expect(blockers(bad)).toContain('VIP: expected an IPv4 address such as 192.168.91.148');
    expect(current(run(bad, { type: 'next' }))).toBe('service');
  });

  it('goes back with Esc and keeps every answer, even a half-typed one', () => {
    let s = run(initialState(), detected(), { type: 'next' }, { type: 'next' }, { type: 'next' });
    s = run(s, { type: 'set', id: 'service.vip', value: '192.168.9' });
    s = run(s, { type: 'back' }, { type: 'back' });
    expect(current(s)).toBe('role');
    s = run(s, { type: 'next' }, { type: 'next' });
    expect(current(s)).toBe('service');
    expect(s.answers.values['service.vip']).toBe('192.168.9');
    expect(progress(s)).toEqual({ index: 4, total: 8 });
  });

  it('never goes back from execute or done, nor past detect', () => {
    const s = run(initialState(), { type: 'back' });
    expect(s.stack).toEqual(['detect']);
    const exec: WizardState = { ...s, stack: ['detect', 'review', 'execute'] };
    expect(run(exec, { type: 'back' }).stack).toEqual(exec.stack);
    expect(current(run(exec, { type: 'finished' }))).toBe('done');
  });

  it('reviews the lab from the answers and jumps to the screen of a problem', () => {
    const s = run(initialState(seedNatAnswers()), detected());
    const built = labToReview(s);
    expect(built?.ok).toBe(true);
    const broken = run(s, { type: 'set', id: 'service.vip', value: '10.1.1.1' });
    const b = labToReview(broken);
    expect(b?.ok).toBe(false);
    const at = run(broken, { type: 'goto', screen: 'service' });
    expect(at.stack).toEqual(['detect', 'role', 'mode', 'service']);
    expect(defaultLabPath(s)).toBe('seed-nat.yaml');
  });

  it('forgets a save when an answer changes after it (the file would be stale)', () => {
    let s = run(initialState(seedNatAnswers()), detected(), {
      type: 'saved',
      kind: 'lab',
      path: 'x.yaml',
    });
    expect(s.saved.lab).toBe('x.yaml');
    s = run(s, { type: 'set', id: 'service.port', value: '8080' });
    expect(s.saved.lab).toBeNull();
  });

  it('adds, edits and removes real servers, proposing the next name and address', () => {
    let s = run(initialState(), detected(), { type: 'add', list: 'realServers' });
    s = run(
      s,
      { type: 'set', id: 'rs.0.address', value: '192.168.81.142' },
      { type: 'add', list: 'realServers' },
    );
    expect(s.answers.realServers[1]).toMatchObject({
      name: 'web2',
      address: '192.168.81.143',
      weight: '1',
    });
    s = run(s, { type: 'remove', list: 'realServers', index: 0 });
    expect(s.answers.realServers.map((r) => r.name)).toEqual(['web2']);
    expect(fieldError({ ...s, stack: ['detect', 'real-servers'] }, 'rs.0.weight', '-1')).toBe(
      'expected a weight from 0 to 65535',
    );
  });

  it('offers a lab file: use it as it is (straight to review) or start from its answers', () => {
    const file = exampleLab('seed-nat.yaml');
    const v = validateLab(file);
    if (!v.ok) throw new Error('invalid');
    const facts = seedDirectorFacts();
    const cand: LabCandidate = {
      path: 'seed-nat.yaml',
      given: true,
      lab: v.lab,
      problem: null,
      match: selectHost(v.lab, facts),
    };
    const s = run(initialState(), detected([cand]), { type: 'next' });
    expect(current(s)).toBe('load');
    const used = run(s, { type: 'use-lab', path: 'seed-nat.yaml', host: 'lvs' });
    expect(current(used)).toBe('review');
    expect(screenSequence(used)).toEqual(['detect', 'load', 'review']);
    expect(used.saved.lab).toBe('seed-nat.yaml');
    const review = labToReview(used);
    expect(review?.ok && review.host).toBe('lvs');
    const edited = run(s, { type: 'edit-lab', path: 'seed-nat.yaml', host: 'lvs' });
    expect(current(edited)).toBe('role');
    expect(edited.answers.values['service.scheduler']).toBe('wrr');
    expect(edited.answers.realServers.map((r) => r.name)).toEqual(['web1', 'web2']);
    const fresh = run(s, { type: 'new-lab' });
    expect(fresh.answers).toEqual(s.answers);
    expect(current(fresh)).toBe('role');
  });

  it('starts with no answers and a generated 8-character password', () => {
    const a = emptyAnswers();
    expect(a.generatedPass).toMatch(/^[A-Za-z2-9]{8}$/);
    expect(a.values).toEqual({});
  });
});
