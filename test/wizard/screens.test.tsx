import { render } from 'ink-testing-library';
import { useReducer, type ReactElement } from 'react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { validateLab } from '../../source/config/load.js';
import { selectHost } from '../../source/plan/plan.js';
import { emptyAnswers, type Answers } from '../../source/wizard/answers.js';
import {
  listFields,
  screenFields,
  screenLevelErrors,
  type ScreenId,
} from '../../source/wizard/questions.js';
import {
  fieldError,
  initialState,
  wizardReducer,
  type LabCandidate,
} from '../../source/wizard/state.js';
import { DetectScreen } from '../../screens/wizard/detect.js';
import { Form } from '../../screens/wizard/form.js';
import { KeysProvider } from '../../screens/wizard/keys.js';
import { ListScreen } from '../../screens/wizard/list.js';
import { LoadScreen } from '../../screens/wizard/load.js';
import { factsWith, frame, KEY, press, typeText, waitFor, waitForFrame } from './helpers.js';
import { exampleLab } from './seed.js';

let mounted: Array<() => void> = [];
afterEach(() => {
  for (const u of mounted) u();
  mounted = [];
});

/** Render inside the wizard's key bus and wait until it listens. */
async function mount(el: ReactElement) {
  let ready = false;
  const inst = render(<KeysProvider onReady={() => (ready = true)}>{el}</KeysProvider>);
  mounted.push(inst.unmount);
  await waitFor(() => ready, 'the key listener');
  return inst;
}

const facts = factsWith(
  [
    { name: 'ens33', addr: '192.168.91.141/24', mac: '00:0c:29:00:00:01' },
    { name: 'ens37', addr: '192.168.81.141/24' },
  ],
  { defaultDev: 'ens33', gateway: '192.168.91.2' },
);

/** A form screen driven by the real reducer, as the app does. */
function FormHarness({
  screen,
  answers,
  onSubmit,
}: {
  screen: ScreenId;
  answers: Answers;
  onSubmit: () => void;
}) {
  const [state, dispatch] = useReducer(wizardReducer, undefined, () => ({
    ...initialState(answers),
    facts,
    stack: ['detect', screen] as ScreenId[],
  }));
  const ctx = { answers: state.answers, facts };
  return (
    <Form
      fields={screenFields(screen, ctx)}
      onChange={(id, value) => dispatch({ type: 'set', id, value })}
      onSubmit={onSubmit}
      onBack={() => {}}
      blockers={screenLevelErrors(screen, ctx)}
      validate={(id, v) => fieldError(state, id, v)}
      pristine={new Set(state.answers.values['ha.authPass'] === undefined ? ['ha.authPass'] : [])}
    />
  );
}

describe('Detect', () => {
  it('spins while reading, then shows the NICs, the host and plain warnings', async () => {
    const onContinue = vi.fn();
    const inst = await mount(<DetectScreen facts={null} warnings={[]} onContinue={onContinue} />);
    expect(frame(inst)).toContain('Reading this host');
    inst.rerender(
      <KeysProvider>
        <DetectScreen
          facts={facts}
          warnings={[{ level: 'warn', text: 'Not root: only a dry run is possible.' }]}
          onContinue={onContinue}
        />
      </KeysProvider>,
    );
    await waitForFrame(inst, 'Enter continue');
    expect(frame(inst)).toMatch(/ens33 \*\s+UP\s+192\.168\.91\.141\/24\s+00:0c:29:00:00:01/);
    expect(frame(inst)).toContain('* default route via 192.168.91.2');
    expect(frame(inst)).toContain('IPVS:        available (module not loaded yet)');
    expect(frame(inst)).toContain('! Not root: only a dry run is possible.');
  });

  it('continues on Enter', async () => {
    const onContinue = vi.fn();
    const inst = await mount(<DetectScreen facts={facts} warnings={[]} onContinue={onContinue} />);
    inst.stdin.write(KEY.enter);
    await waitFor(() => onContinue.mock.calls.length === 1, 'onContinue');
  });
});

describe('Load', () => {
  const file = exampleLab('seed-nat.yaml');
  const v = validateLab(file);
  if (!v.ok) throw new Error('seed invalid');
  const matched: LabCandidate = {
    path: 'seed-nat.yaml',
    given: true,
    lab: v.lab,
    problem: null,
    match: selectHost(v.lab, facts),
  };

  it('offers a lab file for the host that matches this machine', async () => {
    const onUse = vi.fn();
    const onEdit = vi.fn();
    const inst = await mount(
      <LoadScreen
        labs={[matched]}
        onUse={onUse}
        onEdit={onEdit}
        onNew={() => {}}
        onBack={() => {}}
      />,
    );
    expect(frame(inst)).toContain('This machine is host lvs (matched by address).');
    inst.stdin.write(KEY.enter);
    await waitFor(() => onUse.mock.calls.length === 1, 'onUse');
    expect(onUse).toHaveBeenCalledWith('seed-nat.yaml', 'lvs');
    await press(inst, KEY.down, /› Start from seed-nat.yaml's answers for host lvs/);
    inst.stdin.write(KEY.enter);
    await waitFor(() => onEdit.mock.calls.length === 1, 'onEdit');
  });

  it('lets the user pick the host when none matches, explains an invalid file, starts new', async () => {
    const other = factsWith([{ name: 'eth0', addr: '10.1.1.1/24' }]);
    const unmatched = { ...matched, match: selectHost(v.lab, other) };
    const bad: LabCandidate = {
      path: 'broken.yaml',
      given: false,
      lab: null,
      problem: 'broken.yaml is not a valid lab file',
      match: null,
    };
    const onUse = vi.fn();
    const onNew = vi.fn();
    const inst = await mount(
      <LoadScreen
        labs={[unmatched, bad]}
        onUse={onUse}
        onEdit={() => {}}
        onNew={onNew}
        onBack={() => {}}
      />,
    );
    expect(frame(inst)).toContain('No host of this lab matches this machine');
    expect(frame(inst)).toContain('broken.yaml is not a valid lab file');
    await press(inst, KEY.right, '‹ web1 ›');
    inst.stdin.write(KEY.enter);
    await waitFor(() => onUse.mock.calls.length === 1, 'onUse');
    expect(onUse).toHaveBeenCalledWith('seed-nat.yaml', 'web1');
    await press(inst, KEY.down);
    await press(inst, KEY.down, '› Start a new lab');
    inst.stdin.write(KEY.enter);
    await waitFor(() => onNew.mock.calls.length === 1, 'onNew');
  });
});

describe('the question screens (forms)', () => {
  it('Role: director with HA choices, names validated as you type', async () => {
    const onSubmit = vi.fn();
    const inst = await mount(
      <FormHarness screen="role" answers={emptyAnswers()} onSubmit={onSubmit} />,
    );
    expect(frame(inst)).toContain('(•) director  ( ) real-server  ( ) nfs-server');
    await press(inst, KEY.enter, '› Directors');
    await press(inst, KEY.right, '(•) HA MASTER');
    expect(frame(inst)).toContain('this one holds the VIP while it is alive');
    await press(inst, KEY.enter, '› Its name in the lab');
    await typeText(inst, ' x');
    expect(frame(inst)).toContain('✘ expected a name of letters, digits, dot, dash or underscore');
    // Enter does not leave an invalid field: the next key still edits it.
    inst.stdin.write(KEY.enter);
    await press(inst, KEY.ctrlU, /› Its name in the lab\s*✘/);
    await typeText(inst, 'lvs1');
    await press(inst, KEY.enter, '› Lab name');
    inst.stdin.write(KEY.enter);
    await waitFor(() => onSubmit.mock.calls.length === 1, 'submit');
  });

  it('Mode: each mode explained in two lines with its packet path', async () => {
    const inst = await mount(
      <FormHarness screen="mode" answers={emptyAnswers()} onSubmit={() => {}} />,
    );
    expect(frame(inst)).toContain('(•) nat');
    expect(frame(inst)).toContain('client ◀── VIP [director] ◀──src:=VIP');
    await press(inst, KEY.down, '(•) dr');
    expect(frame(inst)).toContain('only rewrites the destination MAC');
    expect(frame(inst)).toContain('real server (VIP on lo)');
    await press(inst, KEY.down, '(•) tun');
    expect(frame(inst)).toContain('══IPIP══▶ real server (VIP on tunl0)');
  });

  it('Service: proposes the VIP, lists 14 schedulers with help, rejects a bad port', async () => {
    const onSubmit = vi.fn();
    const inst = await mount(
      <FormHarness screen="service" answers={emptyAnswers()} onSubmit={onSubmit} />,
    );
    expect(frame(inst)).toMatch(/VIP\s+192\.168\.91\.141/);
    await press(inst, KEY.down, '› VIP');
    await press(inst, KEY.down, '› Port');
    await press(inst, KEY.ctrlU);
    await typeText(inst, '0');
    expect(frame(inst)).toContain('✘ expected a port number from 1 to 65535');
    await press(inst, KEY.backspace);
    await typeText(inst, '8080');
    await press(inst, KEY.down, '› Protocol');
    await press(inst, KEY.down, '› Scheduler');
    expect(frame(inst)).toMatch(
      /\(•\) wlc\s+weighted least-connection: fewest connections per unit of weight/,
    );
    expect(frame(inst)).toMatch(/↓ \d+ more/);
    await press(inst, KEY.down, '(•) sed');
    await press(inst, KEY.tab, '› Persistence');
    expect(frame(inst)).toContain('Scheduler           sed — shortest expected delay');
    inst.stdin.write(KEY.enter);
    await waitFor(() => onSubmit.mock.calls.length === 1, 'submit');
  });

  it('HA: the generated password is shown as *** and replaced by typing', async () => {
    const answers = { ...emptyAnswers('Gen3rate'), values: { ha: 'MASTER', mode: 'dr' } };
    const inst = await mount(<FormHarness screen="ha" answers={answers} onSubmit={() => {}} />);
    expect(frame(inst)).toMatch(/Priority\s+100/);
    expect(frame(inst)).toMatch(/Password\s+\*\*\* \(8 characters\)/);
    expect(frame(inst)).not.toContain('Gen3rate');
    await press(inst, KEY.down);
    await press(inst, KEY.down);
    await press(inst, KEY.down, '› Password');
    await typeText(inst, '123456789');
    expect(frame(inst)).toContain(
      '✘ expected a password of at most 8 characters (VRRP uses only 8)',
    );
    expect(frame(inst)).toMatch(/Password\s+\*\*\* \(9 characters\)/);
  });

  it('Network: keep or static per NIC; static asks address, gateway, DNS', async () => {
    const inst = await mount(
      <FormHarness screen="network" answers={emptyAnswers()} onSubmit={() => {}} />,
    );
    expect(frame(inst)).toContain(
      'ens33 (UP, 192.168.91.141/24, 00:0c:29:00:00:01, default route)',
    );
    expect(frame(inst)).toContain('(•) keep  ( ) static  ( ) skip');
    await press(inst, KEY.right, '(•) static');
    expect(frame(inst)).toMatch(/Address\s+192\.168\.91\.141\/24/);
    expect(frame(inst)).toMatch(/Gateway\s+192\.168\.91\.2/);
    await press(inst, KEY.down);
    await press(inst, KEY.down);
    await press(inst, KEY.down, '› DNS');
    await typeText(inst, '1.1.1.1 x');
    expect(frame(inst)).toContain('✘ expected an IPv4 address such as 192.168.91.148');
  });

  it('Firewall: open by default, or disable as the seed does', async () => {
    const inst = await mount(
      <FormHarness screen="firewall" answers={emptyAnswers()} onSubmit={() => {}} />,
    );
    expect(frame(inst)).toContain('(•) open');
    await press(inst, KEY.right, '(•) disable');
    expect(frame(inst)).toContain('as the seed notes do');
  });

  it('Director (a real server describes its director)', async () => {
    const answers = { ...emptyAnswers(), values: { role: 'real-server', mode: 'nat' } };
    const inst = await mount(
      <FormHarness screen="director" answers={answers} onSubmit={() => {}} />,
    );
    expect(frame(inst)).toContain('Director name');
    await press(inst, KEY.down, '› Its address here');
    expect(frame(inst)).toMatch(/the DIP,\s+this\s+host’s gateway/);
    await typeText(inst, '192.168.81.141');
    expect(frame(inst)).toContain(
      '✘ expected an IPv4 address with prefix such as 192.168.91.141/24',
    );
  });
});

function ListHarness({ answers }: { answers: Answers }) {
  const [state, dispatch] = useReducer(wizardReducer, undefined, () => ({
    ...initialState(answers),
    facts,
    stack: ['detect', 'real-servers'] as ScreenId[],
  }));
  const ctx = { answers: state.answers, facts };
  return (
    <ListScreen
      intro={['Real servers of web']}
      columns={['NAME', 'ADDRESS', 'WEIGHT', 'NIC']}
      rows={state.answers.realServers.map((_, i) => {
        const fields = listFields(ctx, 'realServers', i);
        const bad = fields.find((f) => f.error);
        return {
          cells: fields.map((f) => f.value),
          error: bad ? `${bad.label.toLowerCase()}: ${bad.error}` : null,
        };
      })}
      itemFields={(i) => listFields(ctx, 'realServers', i)}
      addLabel="add a real server"
      onAdd={() => dispatch({ type: 'add', list: 'realServers' })}
      onRemove={(index) => dispatch({ type: 'remove', list: 'realServers', index })}
      onChange={(id, value) => dispatch({ type: 'set', id, value })}
      onContinue={() => {}}
      onBack={() => {}}
      blockers={screenLevelErrors('real-servers', ctx)}
      validate={(id, v) => fieldError(state, id, v)}
    />
  );
}

describe('Real servers (a list to add to, edit, remove from)', () => {
  it('adds one with inline validation, edits and removes', async () => {
    const inst = await mount(<ListHarness answers={emptyAnswers()} />);
    await press(inst, KEY.enter, 'Item 1');
    await press(inst, KEY.enter, '› Address');
    await typeText(inst, '192.168.81.14');
    await press(inst, KEY.down, '› Weight');
    await press(inst, KEY.ctrlU);
    await typeText(inst, '70000');
    expect(frame(inst)).toContain('✘ expected a weight from 0 to 65535');
    await press(inst, KEY.esc, /1 web1\s+192\.168\.81\.14\s+70000/);
    expect(frame(inst)).toContain('✘ weight: expected a weight from 0 to 65535');
    await press(inst, KEY.down, '›  + add');
    await press(inst, KEY.down, '›  → continue');
    await press(inst, KEY.enter, '✘ real server 1 weight: expected a weight from 0 to 65535');
    await press(inst, KEY.up, '›  + add');
    await press(inst, KEY.up, /› {2}1 web1/);
    await press(inst, KEY.enter, 'Item 1');
    await press(inst, KEY.down);
    await press(inst, KEY.down, '› Weight');
    await press(inst, KEY.ctrlU);
    await typeText(inst, '3');
    await press(inst, KEY.esc, /1 web1\s+192\.168\.81\.14\s+3\s+ens33/);
    await press(inst, 'a', 'Item 2');
    expect(frame(inst)).toMatch(/Address\s+192\.168\.81\.15/);
    await press(inst, KEY.esc, /2 web2\s+192\.168\.81\.15/);
    inst.stdin.write('x');
    await waitFor(() => !frame(inst).includes('web2'), 'web2 to be removed');
    expect(frame(inst)).toMatch(/1 web1/);
  });
});
