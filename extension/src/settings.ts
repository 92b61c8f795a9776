/* The extension's settings (package.json "contributes.configuration"), read fresh on each use. */
import * as vscode from 'vscode';

export interface Settings {
  languageEnabled(languageId: string): boolean;
  maxLines: number;
  maxTokens: number;
  debounceMs: number;
  candidates: number;
  timeBudgetMs: number;
  modelUrl: string;
  modelSha256: string;
}

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
  };
}
