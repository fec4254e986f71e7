import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

/**
 * No shell strings built from input anywhere: every command is an argv array given to the Machine.
 * The TypeScript of source/, recipes/ and screens/ is parsed (not grepped, so comments and strings
 * do not count) and these fail the test:
 *  - shell-option: `shell:` set to anything but false (execa / child_process spawn options);
 *  - string-exec: execSync / execaCommand / execaCommandSync, which take one command string, and
 *    exec(…) whose command is a template with substitutions or a concatenation;
 *  - shell-argv: an argv array with sh/bash/dash/zsh followed by -c and a non-constant command;
 *  - shell-call: spawn/execa('sh', ['-c', non-constant]);
 *  - process-import: child_process or execa imported anywhere but source/machine.ts, the one real
 *    Machine (everything else gets a Machine as a parameter).
 * A use that is truly needed goes in ALLOW with its file, rule and reason.
 */

const ROOT = new URL('../../', import.meta.url).pathname;
const SCANNED = ['source', 'recipes', 'screens'];
const MACHINE = 'source/machine.ts';

interface Allowed {
  file: string;
  rule: Rule;
  reason: string;
}
const ALLOW: Allowed[] = [
  {
    file: 'source/monitor/counter-reader.ts',
    rule: 'process-import',
    reason:
      "the monitor's netlink helper is one process that stays running with its pipes open across readings, which Machine.run (one command, one result) does not model; it is spawned from an argv array (no shell), only reads, and is built only for a real machine (source/monitor/run.ts)",
  },
];

type Rule = 'shell-option' | 'string-exec' | 'shell-argv' | 'shell-call' | 'process-import';

interface Violation {
  file: string;
  line: number;
  rule: Rule;
  text: string;
}

const SHELLS = /^(\/usr)?(\/bin\/)?(ba|da|k|z|a|fi)?sh$/;
const DASH_C = /^-[a-z]*c[a-z]*$/;
const PROCESS_MODULES = new Set(['child_process', 'node:child_process', 'execa']);
const STRING_ONLY = new Set(['execSync', 'execaCommand', 'execaCommandSync']);

function stringValue(node: ts.Node | undefined): string | null {
  if (!node) return null;
  if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) return node.text;
  return null;
}

function calleeName(expr: ts.Expression): string | null {
  if (ts.isIdentifier(expr)) return expr.text;
  if (ts.isPropertyAccessExpression(expr)) return expr.name.text;
  return null;
}

function isBuiltString(node: ts.Node | undefined): boolean {
  if (!node) return false;
  if (ts.isTemplateExpression(node)) return true;
  if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.PlusToken) {
    return !(stringValue(node.left) !== null && stringValue(node.right) !== null);
  }
  if (ts.isParenthesizedExpression(node)) return isBuiltString(node.expression);
  return false;
}

/** `[…, 'sh', '-c', X, …]` with X not a constant string. */
function shellInArray(elements: readonly ts.Expression[]): boolean {
  for (let i = 0; i < elements.length; i++) {
    const prog = stringValue(elements[i]);
    if (prog === null || !SHELLS.test(prog)) continue;
    const flag = stringValue(elements[i + 1]);
    if (flag === null || !DASH_C.test(flag)) continue;
    if (stringValue(elements[i + 2]) === null) return true;
  }
  return false;
}

function scanSource(file: string, text: string): Violation[] {
  const sf = ts.createSourceFile(
    file,
    text,
    ts.ScriptTarget.Latest,
    true,
    file.endsWith('.tsx') ? ts.ScriptKind.TSX : ts.ScriptKind.TS,
  );
  const out: Violation[] = [];
  const add = (node: ts.Node, rule: Rule) =>
    out.push({
      file,
      line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1,
      rule,
      text: node.getText(sf).slice(0, 120),
    });
  const isMachine = file === MACHINE;

  const visit = (node: ts.Node): void => {
    if (ts.isPropertyAssignment(node) && node.name.getText(sf) === 'shell') {
      if (node.initializer.kind !== ts.SyntaxKind.FalseKeyword) add(node, 'shell-option');
    }
    if (ts.isShorthandPropertyAssignment(node) && node.name.text === 'shell')
      add(node, 'shell-option');

    if (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) {
      const spec = node.moduleSpecifier ? stringValue(node.moduleSpecifier) : null;
      if (spec && PROCESS_MODULES.has(spec) && !isMachine) add(node, 'process-import');
    }
    if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      const spec = stringValue(node.moduleReference.expression);
      if (spec && PROCESS_MODULES.has(spec) && !isMachine) add(node, 'process-import');
    }

    if (ts.isCallExpression(node)) {
      const name = calleeName(node.expression);
      const first = node.arguments[0];
      // import('child_process') and require('child_process')
      if (
        (node.expression.kind === ts.SyntaxKind.ImportKeyword || name === 'require') &&
        PROCESS_MODULES.has(stringValue(first) ?? '') &&
        !isMachine
      )
        add(node, 'process-import');
      if (name && STRING_ONLY.has(name)) add(node, 'string-exec');
      if (name === 'exec' && isBuiltString(first)) {
        const receiver = ts.isPropertyAccessExpression(node.expression)
          ? node.expression.expression
          : null;
        const isRegex =
          receiver !== null &&
          (ts.isRegularExpressionLiteral(receiver) ||
            (ts.isNewExpression(receiver) && receiver.expression.getText(sf) === 'RegExp'));
        if (!isRegex) add(node, 'string-exec');
      }
      const prog = stringValue(first);
      const second = node.arguments[1];
      if (prog !== null && SHELLS.test(prog) && second && ts.isArrayLiteralExpression(second)) {
        if (shellInArray([first as ts.Expression, ...second.elements])) add(node, 'shell-call');
      }
    }
    if (ts.isArrayLiteralExpression(node) && shellInArray(node.elements)) add(node, 'shell-argv');
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function sourceFiles(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    for (const e of entries) {
      const p = join(dir, e.name);
      if (e.isDirectory()) {
        if (e.name !== 'node_modules') walk(p);
      } else if (/\.(ts|tsx|mts|cts)$/.test(e.name) && !e.name.endsWith('.d.ts')) {
        out.push(relative(ROOT, p));
      }
    }
  };
  for (const d of SCANNED) walk(join(ROOT, d));
  return out.sort();
}

describe('no shell strings built from input', () => {
  it('the scanner finds each forbidden pattern (so a clean result means something)', () => {
    const bad = [
      "import { exec } from 'node:child_process';",
      "const cp = require('child_process');",
      "const m = await import('execa');",
      'execa(cmd, args, { shell: true });',
      "spawn(cmd, { shell: '/bin/bash' });",
      'const shell = true; spawn(cmd, { shell });',
      'execSync(`ipvsadm ${args}`);',
      "execaCommand('ipvsadm -Sn');",
      'exec(`ip addr add ${vip} dev lo`, cb);',
      "child.exec('ip addr add ' + vip);",
      "machine.run(['sh', '-c', `ip addr add ${vip} dev lo`]);",
      "machine.run(['timeout', '2', 'bash', '-c', cmd]);",
      "const argv = ['/bin/sh', '-ec', script];",
      "spawn('bash', ['-c', line]);",
    ].join('\n');
    const found = scanSource('source/example.ts', bad);
    expect(found.map((v) => v.line)).toEqual(
      expect.arrayContaining([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]),
    );
    expect(new Set(found.map((v) => v.rule))).toEqual(
      new Set(['process-import', 'shell-option', 'string-exec', 'shell-argv', 'shell-call']),
    );
  });

  it('argv arrays, constant scripts, regex exec and comments are fine', () => {
    const good = [
      "// machine.run(['sh', '-c', cmd]) would be wrong; shell: true too",
      "const s = 'execSync(`x ${y}`)';",
      "machine.run(['ip', 'addr', 'add', `${vip}/32`, 'dev', 'lo']);",
      "machine.run(['sh', '-c', 'command -v ipvsadm']);",
      "run(['curl', '-sS', `http://${ip}:${port}/`]);",
      'const m = /^(\\d+)$/.exec(`${a}${b}`);',
      "execa('ipvsadm', ['-Sn'], { shell: false });",
      "import { readFile } from 'node:fs/promises';",
    ].join('\n');
    expect(scanSource('source/example.ts', good)).toEqual([]);
    expect(scanSource(MACHINE, "import { execa } from 'execa';")).toEqual([]);
  });

  it('source/, recipes/ and screens/ build no shell strings', () => {
    const files = sourceFiles();
    expect(files.length).toBeGreaterThan(30);
    expect(files).toContain(MACHINE);
    const violations = files.flatMap((f) => scanSource(f, readFileSync(join(ROOT, f), 'utf8')));
    const unexplained = violations.filter(
      (v) => !ALLOW.some((a) => a.file === v.file && a.rule === v.rule),
    );
    expect(
      unexplained.map((v) => `${v.file}:${v.line} ${v.rule}: ${v.text}`),
      'run commands as argv arrays through the Machine; if one is truly needed, add it to ALLOW with a reason',
    ).toEqual([]);
    // Every allowance is still needed.
    for (const a of ALLOW)
      expect(
        violations.some((v) => v.file === a.file && v.rule === a.rule),
        a.reason,
      ).toBe(true);
  });

  it('the real Machine runs argv without a shell', () => {
    const text = readFileSync(join(ROOT, MACHINE), 'utf8');
    expect(text).toMatch(/execa\(file, args,/);
    expect(scanSource(MACHINE, text)).toEqual([]);
  });
});
