/* The extension's settings (package.json "contributes.configuration"), read fresh on each use and
 * checked (wasm/src/settings.ts): a bad value falls back to its default, and `problems` says so. */
import * as vscode from 'vscode';
import { checkSettings, type EditorSettings } from '../../wasm/src/settings.js';

export interface Settings extends EditorSettings {
  languageEnabled(languageId: string): boolean;
  /** What was wrong with the user's values, and what is used instead. */
  problems: string[];
}

export function readSettings(): Settings {
  const c = vscode.workspace.getConfiguration('wisp');
  const langs = c.get<Record<string, boolean>>('languages', {});
  const { settings, problems } = checkSettings({
    maxLines: c.get<unknown>('maxLines'),
    debounceMs: c.get<unknown>('debounceMs'),
    candidates: c.get<unknown>('candidates'),
    timeBudgetMs: c.get<unknown>('timeBudgetMs'),
    modelUrl: c.get<unknown>('modelUrl'),
    modelSha256: c.get<unknown>('modelSha256'),
  });
  return { ...settings, problems, languageEnabled: (id) => langs !== null && typeof langs === 'object' && langs[id] === true };
}
