/* The extension's settings (package.json "contributes.configuration"), read fresh on each use and
 * checked (wasm/src/settings.ts): a bad value falls back to its default, and `problems` says so. */
import * as vscode from 'vscode';
import { ENDPOINT_DEFAULTS, EXTRA_FILES, type EndpointSettings } from '../../wasm/src/remote.js';
import { checkSettings, type EditorSettings } from '../../wasm/src/settings.js';

export interface Settings extends EditorSettings {
  languageEnabled(languageId: string): boolean;
  /** What was wrong with the user's values, and what is used instead. */
  problems: string[];
  /** The remote endpoint, its key aside (that one is in the secret storage). */
  endpoint: Omit<EndpointSettings, 'apiKey'>;
}

const MODES = ['off', 'fallback', 'prefer'] as const;
const KINDS = ['infill', 'openai'] as const;
const oneOf = <T extends string>(v: string, of: readonly T[], d: T): T => (of as readonly string[]).includes(v) ? v as T : d;

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration('wisp');
  const langs = c.get<Record<string, boolean>>('languages', {});
  const { settings, problems } = checkSettings({
    maxLines: c.get<unknown>('maxLines'),
    maxTokens: c.get<unknown>('maxTokens'),
    debounceMs: c.get<unknown>('debounceMs'),
    candidates: c.get<unknown>('candidates'),
    timeBudgetMs: c.get<unknown>('timeBudgetMs'),
    modelUrl: c.get<unknown>('modelUrl'),
    modelSha256: c.get<unknown>('modelSha256'),
    speculativeDraft: c.get<unknown>('speculative.draft'),
    speculativeDepth: c.get<unknown>('speculative.depth'),
  });
  return {
    ...settings,
    problems,
    languageEnabled: (id) => langs !== null && typeof langs === 'object' && langs[id] === true,
    endpoint: readEndpoint(c, problems),
  };
}

// A number setting in [lo, hi]; anything else is its default, said in `problems`.
function num(c: vscode.WorkspaceConfiguration, key: string, d: number, lo: number, hi: number, problems: string[]): number {
  const v = c.get<unknown>(key, d);
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    problems.push(`${key} must be a number from ${lo} to ${hi}, not ${JSON.stringify(v)}; using ${d}`);
    return d;
  }
  return Math.min(hi, Math.max(lo, v));
}

// A string setting; anything else is its default.
function str(c: vscode.WorkspaceConfiguration, key: string, d: string, problems: string[]): string {
  const v = c.get<unknown>(key, d);
  if (typeof v === 'string') return v;
  problems.push(`${key} must be a string, not ${JSON.stringify(v)}; using ${JSON.stringify(d)}`);
  return d;
}

// The endpoint's settings are user settings only ("scope": "application" in package.json): a
// workspace's .vscode/settings.json cannot make the editor send code anywhere.
function readEndpoint(c: vscode.WorkspaceConfiguration, problems: string[]): Omit<EndpointSettings, 'apiKey'> {
  const d = ENDPOINT_DEFAULTS;
  return {
    mode: oneOf(str(c, 'endpoint.mode', d.mode, problems), MODES, d.mode),
    url: str(c, 'endpoint.url', d.url, problems).trim(),
    kind: oneOf(str(c, 'endpoint.kind', d.kind, problems), KINDS, d.kind),
    timeoutMs: num(c, 'endpoint.timeoutMs', d.timeoutMs, 1, 600000, problems),
    minConfidence: num(c, 'endpoint.minConfidence', d.minConfidence, 0, 1, problems),
    template: str(c, 'endpoint.template', d.template, problems),
    model: str(c, 'endpoint.model', d.model, problems).trim(),
    maxTokens: Math.round(num(c, 'endpoint.maxTokens', d.maxTokens, 1, 4096, problems)),
    extraFiles: Math.round(num(c, 'endpoint.extraFiles', d.extraFiles, 0, EXTRA_FILES, problems)),
  };
}
