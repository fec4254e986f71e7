import { Command, CommanderError, Option } from 'commander';
import { DISTRO_KEYS } from './facts/types.js';
import type { Machine } from './boundary.js';
import { CliError, EXIT, processOutput } from './commands/output.js';
import { VERSION } from './version.js';

async function confirmPrompt(question: string): Promise<boolean> {
  if (!process.stdin.isTTY) {
    throw new CliError(
      `${question} — there is no terminal to ask on; add --yes to go ahead without asking.`,
    );
  }
  const { default: enquirer } = await import('enquirer');
  process.stdin.ref();
  const answer = (await enquirer.prompt({
    type: 'confirm',
    name: 'ok',
    message: question,
    initial: false,
  })) as { ok: boolean };
  return answer.ok;
}

const EXAMPLES = `
Examples:
  npx lvs-setup                                         the wizard: detect, ask, review, apply
  lvs-setup detect                                      what this host is (NICs, distro, IPVS, sysctls)
  lvs-setup plan --lab seed-nat.yaml --host lvs         what apply would change here, with diffs
  lvs-setup plan --lab seed-nat.yaml --host lvs --target centos7 --format sh > lvs.sh
                                                        the same as a shell script for a fresh CentOS 7 VM
  sudo lvs-setup apply --lab seed-nat.yaml              configure this host (found by its addresses/MACs)
  sudo lvs-setup undo                                   reverse what apply did on this host
  lvs-setup monitor --demo                              the live IPVS dashboard on a simulated director

Exit codes: 0 success (also "no changes"), 1 a step failed, 2 bad usage or invalid lab file,
3 apply/undo without root. State (journal, backups, log): /var/lib/lvs-setup, or $LVS_SETUP_STATE_DIR.`;

// Commands load their modules when they run, so `--version` and `--help` start fast.
const commands = () => import('./commands/run.js');
let realMachine: Machine | undefined;
async function machineFor(): Promise<Machine> {
  realMachine ??= (await import('./machine.js')).createRealMachine();
  return realMachine;
}

/**
 * The real machine, loaded (execa and all) on its first use: the wizard's first frame does not
 * wait for it. uid() and env() answer at once, as the real machine does.
 */
function deferredMachine(): Machine {
  const m = () => machineFor();
  return {
    run: async (argv, options) => (await m()).run(argv, options),
    readFile: async (p) => (await m()).readFile(p),
    readFileBytes: async (p) => (await m()).readFileBytes(p),
    stat: async (p) => (await m()).stat(p),
    writeFileAtomic: async (p, c, mode) => (await m()).writeFileAtomic(p, c, mode),
    appendFile: async (p, c, mode) => (await m()).appendFile(p, c, mode),
    removeFile: async (p) => (await m()).removeFile(p),
    mkdirp: async (p, mode) => (await m()).mkdirp(p, mode),
    listDir: async (p) => (await m()).listDir(p),
    uid: () => (typeof process.getuid === 'function' ? process.getuid() : 0),
    env: (name) => process.env[name],
  };
}

export function buildProgram(): Command {
  const io = processOutput;
  const program = new Command();
  program
    .name('lvs-setup')
    .description(
      'Stand up an LVS (Linux Virtual Server / kernel IPVS) load-balancing lab: run it on each VM.\nWith no command it starts the interactive wizard.',
    )
    .version(VERSION, '-V, --version')
    .option('--lab <file>', 'start the wizard from this lab file')
    .option('--dry-run', 'wizard: stop at the review, change nothing')
    .option('--plain', 'wizard: numbered line prompts instead of the full-screen interface')
    .addHelpText('after', EXAMPLES)
    .showHelpAfterError('(run lvs-setup --help for usage)')
    .enablePositionalOptions()
    .exitOverride()
    .action(async (opts: { lab?: string; dryRun?: boolean; plain?: boolean }) => {
      const { runWizardCommand } = await import('./commands/wizard.js');
      process.exitCode = await runWizardCommand(deferredMachine(), opts, io);
    });

  program
    .command('detect')
    .description(
      'show what this host is: distro, package manager, network-config style, firewall, NICs, default route, versions, IPVS, sysctls',
    )
    .option('--json', 'print the facts as JSON (for plan --facts)')
    .addHelpText(
      'after',
      '\nExample:\n  lvs-setup detect --json > web1.json     record a host, then plan for it elsewhere with --facts web1.json',
    )
    .action(async (opts: { json?: boolean }) => {
      process.exitCode = await (await commands()).detectCommand(await machineFor(), opts, io);
    });

  program
    .command('plan')
    .description(
      'show what apply would do for a lab host, with explanations and file diffs; changes nothing',
    )
    .requiredOption('--lab <file>', 'the lab file (YAML)')
    .option('--host <name>', 'the lab host to plan for (default: the one matching this machine)')
    .option(
      '--facts <file>',
      'plan against facts recorded with `lvs-setup detect --json` on the target',
    )
    .addOption(
      new Option('--target <distro>', 'plan for a fresh VM of this distro').choices([
        ...DISTRO_KEYS,
      ]),
    )
    .addOption(
      new Option('--format <format>', 'text (Terraform-like), json, or sh (a POSIX script)')
        .choices(['text', 'json', 'sh'])
        .default('text'),
    )
    .option('-o, --output <file>', 'write to this file (a script with a password is made 0600)')
    .addHelpText(
      'after',
      '\nExample:\n  lvs-setup plan --lab examples/seed-dr.yaml --host web1 --target centos7 --format sh -o web1.sh',
    )
    .action(async (opts) => {
      process.exitCode = await (
        await commands()
      ).planCommand(await machineFor(), opts, io, VERSION);
    });

  program
    .command('apply')
    .description(
      'configure this host as the lab file says (idempotent: a second run changes nothing)',
    )
    .requiredOption('--lab <file>', 'the lab file (YAML)')
    .option(
      '--host <name>',
      'the lab host this machine is (default: matched by NIC address or MAC)',
    )
    .option('-y, --yes', 'do not ask for confirmation')
    .option('--dry-run', 'show the plan and stop (works without root)')
    .option('--json', 'print events as JSON lines')
    .option('--no-checks', 'skip the doctor checks that run after a successful apply')
    .addHelpText(
      'after',
      '\nExample:\n  sudo lvs-setup apply --lab seed-nat.yaml --host web1 --yes',
    )
    .action(async (opts) => {
      process.exitCode = await (
        await commands()
      ).applyCommand(await machineFor(), opts, io, confirmPrompt);
    });

  program
    .command('undo')
    .description(
      'reverse every apply on this host since the last undo: files restored byte for byte, addresses, rules and settings removed',
    )
    .option('-y, --yes', 'do not ask for confirmation')
    .addHelpText(
      'after',
      '\nExample:\n  sudo lvs-setup undo --yes     after apply: back to how the host was (packages stay installed)',
    )
    .action(async (opts: { yes?: boolean }) => {
      process.exitCode = await (
        await commands()
      ).undoCommand(await machineFor(), opts, io, confirmPrompt);
    });

  program
    .command('monitor')
    .description(
      'live IPVS dashboard: services, real servers, rates, sparklines; drain and re-weight',
    )
    .option('--demo', 'a built-in simulated director (works without IPVS)')
    .option('--once', 'print one snapshot and exit')
    .option('--json', 'with --once: JSON')
    .option('--exact', 'exact numbers instead of K/M units')
    .option('-i, --interval <seconds>', 'refresh interval', '1')
    .option('--lab <file>', 'the lab file: `r` restores a real server to its lab weight')
    .addHelpText(
      'after',
      '\nExamples:\n  lvs-setup monitor --demo\n  lvs-setup monitor --once --json | jq .',
    )
    .action(
      async (opts: {
        demo?: boolean;
        once?: boolean;
        json?: boolean;
        exact?: boolean;
        interval: string;
      }) => {
        const { monitorCommand } = await import('./commands/monitor.js');
        process.exitCode = await monitorCommand(await machineFor(), opts, io);
      },
    );

  program
    .command('doctor')
    .description('check this host for the classic LVS traps and print the fix for each')
    .option('--lab <file>', 'check against this lab file (default: infer the role from the host)')
    .option('--host <name>', 'the lab host this machine is (default: matched by address/MAC)')
    .option('--json', 'print the results as a JSON array')
    .addHelpText(
      'after',
      '\nExamples:\n  sudo lvs-setup doctor --lab seed-dr.yaml\n  lvs-setup doctor --json | jq \'.[] | select(.status == "fail")\'',
    )
    .action(async (opts: { lab?: string; host?: string; json?: boolean }) => {
      const { doctorCommand } = await import('./commands/doctor.js');
      process.exitCode = await doctorCommand(await machineFor(), opts, io);
    });

  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (
        e.code === 'commander.helpDisplayed' ||
        e.code === 'commander.version' ||
        e.code === 'commander.help'
      )
        return EXIT.ok;
      return EXIT.usage;
    }
    if (e instanceof CliError) {
      processOutput.err(e.message);
      return e.exitCode;
    }
    throw e;
  }
}
