/* The extension's settings (package.json "contributes.configuration"), read fresh on each use and
 * checked (wasm/src/settings.ts): a bad value falls back to its default, and `problems` says so. */
import * as vscode from 'vscode';
import { checkEndpoint, checkSettings, type EditorSettings, type EndpointOptions } from '../../wasm/src/settings.js';

export interface Settings extends EditorSettings {
  languageEnabled(languageId: string): boolean;
  /** What was wrong with the user's values, and what is used instead. */
  problems: string[];
  /** The remote endpoint, its key aside (that one is in the secret storage). */
  endpoint: EndpointOptions;
}

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

// The endpoint's settings are user settings only ("scope": "application" in package.json): a
// workspace's .vscode/settings.json cannot make the editor send code anywhere.
function readEndpoint(c: vscode.WorkspaceConfiguration, problems: string[]): EndpointOptions {
  const keys = ['mode', 'url', 'kind', 'timeoutMs', 'minConfidence', 'template', 'model', 'maxTokens', 'extraFiles'] as const;
  const { settings, problems: more } = checkEndpoint(Object.fromEntries(keys.map((k) => [k, c.get<unknown>(`endpoint.${k}`)])));
  problems.push(...more);
  return settings;
}
