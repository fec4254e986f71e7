import { parseDocument, stringify } from 'yaml';
import type { z } from 'zod';
import { labSchema, type LabFile } from './schema.js';
import { resolveLab, type Lab } from './resolve.js';

export interface ConfigIssue {
  /** Field path such as `services[0].vip`, or '' for the whole file. */
  path: string;
  message: string;
  /** The offending value, when there is one. */
  value?: unknown;
  line?: number;
}

export type LoadResult = { ok: true; lab: Lab } | { ok: false; issues: ConfigIssue[] };

export function formatPath(path: ReadonlyArray<PropertyKey>): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else if (part === '')
      out += out === '' ? '""' : '.""'; // an empty key still gets a name
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function valueAt(data: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let cur: unknown = data;
  for (const part of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[part];
  }
  return cur;
}

function zodIssues(error: z.ZodError, data: unknown): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        out.push({
          path: formatPath([...issue.path, key]),
          message: 'unknown field; check the spelling against the lab-file reference in README.md',
        });
      }
      continue;
    }
    const value = valueAt(data, issue.path);
    const entry: ConfigIssue = { path: formatPath(issue.path), message: issue.message };
    if (value !== undefined) entry.value = value;
    else if (issue.code === 'invalid_type') entry.message = `missing; ${issue.message}`;
    out.push(entry);
  }
  return out;
}

/** Parse and validate lab-file text: every problem is reported at once. */
export function parseLab(text: string, source = 'lab file'): LoadResult {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      issues: doc.errors.map((e) => ({
        path: '',
        message: `YAML syntax: ${e.message.split('\n')[0] ?? e.message}`,
        ...(e.linePos?.[0] ? { line: e.linePos[0].line } : {}),
      })),
    };
  }
  let data: unknown;
  try {
    // toJS throws on an alias to nothing and on alias bombs (more than maxAliasCount expansions).
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    return { ok: false, issues: [{ path: '', message: `YAML syntax: ${(e as Error).message}` }] };
  }
  if (data === null || typeof data !== 'object' || Array.isArray(data)) {
    return {
      ok: false,
      issues: [
        { path: '', message: `expected a YAML mapping with name, services and hosts (${source})` },
      ],
    };
  }
  const parsed = labSchema.safeParse(data);
  if (!parsed.success) return { ok: false, issues: zodIssues(parsed.error, data) };
  return validateLab(parsed.data);
}

/** Meaning checks on a structurally valid lab file; also used by the wizard on its answers. */
export function validateLab(file: LabFile): LoadResult {
  const { lab, issues } = resolveLab(file);
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, lab };
}

/** JSON for the message, short, and safe for self-referencing values (YAML anchors). */
function showValue(value: unknown): string {
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    text = Array.isArray(value)
      ? '[a list that contains itself]'
      : '{a value that contains itself}';
  }
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

export function formatIssues(issues: ConfigIssue[], file: string): string {
  const lines = issues.map((i) => {
    const where = i.path ? `${i.path}: ` : '';
    const at = i.line ? `:${i.line}` : '';
    const got = i.value !== undefined ? ` (got ${showValue(i.value)})` : '';
    return `  ${file}${at}: ${where}${i.message}${got}`;
  });
  const n = issues.length;
  return `${file} is not a valid lab file (${n} problem${n === 1 ? '' : 's'}):\n${lines.join('\n')}`;
}

/** The lab file as YAML, in the field order of the reference (for the wizard's "save"). */
export function labToYaml(file: LabFile): string {
  return stringify(file, { lineWidth: 0 });
}
