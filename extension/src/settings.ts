/* The extension's settings (package.json "contributes.configuration"), read fresh on each use. */
import * as vscode from 'vscode';
import { ENDPOINT_DEFAULTS, type EndpointSettings } from '../../wasm/src/remote.js';

export interface Settings {
  languageEnabled(languageId: string): boolean;
  maxLines: number;
  maxTokens: number;
  debounceMs: number;
  candidates: number;
  timeBudgetMs: number;
  modelUrl: string;
  modelSha256: string;
  /** The remote endpoint, its key aside (that one is in the secret storage). */
  endpoint: Omit<EndpointSettings, 'apiKey'>;
}

const MODES = ['off', 'fallback', 'prefer'] as const;
const KINDS = ['infill', 'openai'] as const;
const oneOf = <T extends string>(v: string, of: readonly T[], d: T): T => (of as readonly string[]).includes(v) ? v as T : d;

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration('wisp');
  const langs = c.get<Record<string, boolean>>('languages', {});
  return {
    languageEnabled: (id) => langs[id] === true,
    maxLines: Math.max(0, c.get<number>('maxLines', 0)),
    maxTokens: Math.max(0, c.get<number>('maxTokens', 0)),
    debounceMs: Math.max(0, c.get<number>('debounceMs', 75)),
    candidates: Math.min(8, Math.max(1, c.get<number>('candidates', 3))),
    timeBudgetMs: Math.max(0, c.get<number>('timeBudgetMs', 150)),
    modelUrl: c.get<string>('modelUrl', '').trim(),
    modelSha256: c.get<string>('modelSha256', '').trim().toLowerCase(),
    endpoint: readEndpoint(c),
  };
}

// The endpoint's settings are user settings only ("scope": "application" in package.json): a
// workspace's .vscode/settings.json cannot make the editor send code anywhere.
function readEndpoint(c: vscode.WorkspaceConfiguration): Omit<EndpointSettings, 'apiKey'> {
  const d = ENDPOINT_DEFAULTS;
  return {
    mode: oneOf(c.get<string>('endpoint.mode', d.mode), MODES, d.mode),
    url: c.get<string>('endpoint.url', d.url).trim(),
    kind: oneOf(c.get<string>('endpoint.kind', d.kind), KINDS, d.kind),
    timeoutMs: Math.max(1, c.get<number>('endpoint.timeoutMs', d.timeoutMs)),
    minConfidence: Math.min(1, Math.max(0, c.get<number>('endpoint.minConfidence', d.minConfidence))),
    template: c.get<string>('endpoint.template', d.template),
    model: c.get<string>('endpoint.model', d.model).trim(),
    maxTokens: Math.max(1, c.get<number>('endpoint.maxTokens', d.maxTokens)),
  };
}
