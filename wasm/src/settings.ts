/*
 * The settings an editor passes on (VS Code's wisp.* configuration, the Monaco package's options),
 * checked before use: a value of the wrong type, out of range or malformed is replaced by its
 * default or clamped, and each such repair is described in `problems`, for the editor's status.
 * Without this, one setting such as "timeBudgetMs": "fast" made every request a bad_request.
 */
import { ENDPOINT_DEFAULTS, EXTRA_FILES, type EndpointSettings } from './remote.js';

export interface EditorSettings {
  /** Lines of a suggestion (0 = by the cursor's shape). */
  maxLines: number;
  /** Tokens of a suggestion (0 = by the cursor's shape). */
  maxTokens: number;
  /** Upper bound of the adaptive debounce, milliseconds. */
  debounceMs: number;
  /** Candidates per request, 1..8. */
  candidates: number;
  /** Wall-clock budget of a request in the engine, milliseconds (0 = none). */
  timeBudgetMs: number;
  /** A model to use instead of the bundled one ('' = the bundled one). */
  modelUrl: string;
  /** Its SHA-256, lowercase hex ('' = not checked). */
  modelSha256: string;
  /** Self-speculative decoding once the whole model is there (protocol.ts SpeculativeDecoding):
   * tokens per draft, 0 = off; the draft's blocks, 0 = the model's trained exit. */
  speculativeDraft: number;
  speculativeDepth: number;
}

export const DEFAULT_SETTINGS: EditorSettings = {
  // candidates: the greedy answer and two samples (at the engine's default temperature, 0.5), the
  // best by parse and mean log-probability; `wisp complete` has the same default
  maxLines: 0, maxTokens: 0, debounceMs: 75, candidates: 3, timeBudgetMs: 150, modelUrl: '', modelSha256: '',
  speculativeDraft: 0, speculativeDepth: 0,
};

type Ranged = 'maxLines' | 'maxTokens' | 'debounceMs' | 'candidates' | 'timeBudgetMs' | 'speculativeDraft' | 'speculativeDepth';
const RANGES: Record<Ranged, [number, number, boolean]> = {
  maxLines: [0, 100, true], // min, max, integer
  maxTokens: [0, 4096, true],
  debounceMs: [0, 2000, false],
  candidates: [1, 8, true],
  timeBudgetMs: [0, 10000, false],
  speculativeDraft: [0, 4, true],
  speculativeDepth: [0, 1000, true],
};

/** The settings' self-speculative decoding as `init` takes it (undefined: off). */
export function speculativeOf(s: EditorSettings): { nDraft: number; draftDepth: number } | undefined {
  return s.speculativeDraft > 0 ? { nDraft: s.speculativeDraft, draftDepth: s.speculativeDepth } : undefined;
}

/** `raw` holds what the user set (undefined: not set). */
export function checkSettings(raw: Partial<Record<keyof EditorSettings, unknown>>,
                              defaults: EditorSettings = DEFAULT_SETTINGS): { settings: EditorSettings; problems: string[] } {
  const settings = { ...defaults };
  const problems: string[] = [];
  for (const key of Object.keys(RANGES) as (keyof typeof RANGES)[]) {
    const v = raw[key];
    if (v === undefined || v === null) continue;
    const [lo, hi, integer] = RANGES[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      problems.push(`${key} must be a number from ${lo} to ${hi}, not ${JSON.stringify(v)}; using ${defaults[key]}`);
      continue;
    }
    const fixed = Math.min(hi, Math.max(lo, integer ? Math.round(v) : v));
    if (fixed !== v) problems.push(`${key} must be ${integer ? 'a whole number' : 'a number'} from ${lo} to ${hi}, not ${v}; using ${fixed}`);
    settings[key] = fixed;
  }
  const url = raw.modelUrl;
  if (url !== undefined && url !== null) {
    const u = typeof url === 'string' ? url.trim() : '';
    let ok = false;
    try {
      ok = u === '' || ['http:', 'https:'].includes(new URL(u).protocol);
    } catch {
      ok = false;
    }
    if (ok) settings.modelUrl = u;
    else problems.push(`modelUrl must be an http(s) URL, not ${JSON.stringify(url)}; using the bundled model`);
  }
  const sha = raw.modelSha256;
  if (sha !== undefined && sha !== null) {
    const s = typeof sha === 'string' ? sha.trim().toLowerCase() : '';
    if (s === '' || /^[0-9a-f]{64}$/.test(s)) settings.modelSha256 = s;
    else problems.push(`modelSha256 must be 64 hexadecimal digits, not ${JSON.stringify(sha)}; not checking the model's digest`);
  }
  return { settings, problems };
}

/** The remote endpoint's settings but its key (the editor keeps that in secret storage). */
export type EndpointOptions = Omit<EndpointSettings, 'apiKey'>;

const ENDPOINT_NUMBERS: Record<'timeoutMs' | 'minConfidence' | 'maxTokens' | 'extraFiles', [number, number, boolean]> = {
  timeoutMs: [1, 600_000, false], // min, max, integer
  minConfidence: [0, 1, false],
  maxTokens: [1, 4096, true],
  extraFiles: [0, EXTRA_FILES, true],
};
const ENDPOINT_CHOICES = { mode: ['off', 'fallback', 'prefer'], kind: ['infill', 'openai'] } as const;

/**
 * The endpoint's settings checked as checkSettings checks the others: `raw` holds what the user
 * or the host page set (undefined: not set, `defaults` stays); a wrong type, an unknown mode or
 * kind, or a number out of range is its default or clamped, said in `problems` (with the
 * `endpoint.` prefix VS Code's settings have). The URL itself is checked when a request is built
 * (remote.ts, endpointUrl), where a bad one is named once in the log.
 */
export function checkEndpoint(raw: Partial<Record<keyof EndpointOptions, unknown>>,
                              defaults: EndpointOptions = ENDPOINT_DEFAULTS): { settings: EndpointOptions; problems: string[] } {
  const settings: EndpointOptions = {
    mode: defaults.mode, url: defaults.url, kind: defaults.kind, timeoutMs: defaults.timeoutMs,
    minConfidence: defaults.minConfidence, template: defaults.template, model: defaults.model,
    maxTokens: defaults.maxTokens, extraFiles: defaults.extraFiles,
  };
  const problems: string[] = [];
  for (const key of Object.keys(ENDPOINT_NUMBERS) as (keyof typeof ENDPOINT_NUMBERS)[]) {
    const v = raw[key];
    if (v === undefined || v === null) continue;
    const [lo, hi, integer] = ENDPOINT_NUMBERS[key];
    if (typeof v !== 'number' || !Number.isFinite(v)) {
      problems.push(`endpoint.${key} must be a number from ${lo} to ${hi}, not ${JSON.stringify(v)}; using ${defaults[key]}`);
      continue;
    }
    const fixed = Math.min(hi, Math.max(lo, integer ? Math.round(v) : v));
    if (fixed !== v) problems.push(`endpoint.${key} must be ${integer ? 'a whole number' : 'a number'} from ${lo} to ${hi}, not ${v}; using ${fixed}`);
    settings[key] = fixed;
  }
  for (const key of ['mode', 'kind'] as const) {
    const v = raw[key];
    if (v === undefined || v === null) continue;
    const allowed: readonly string[] = ENDPOINT_CHOICES[key];
    if (typeof v === 'string' && allowed.includes(v)) (settings as Record<string, unknown>)[key] = v;
    else problems.push(`endpoint.${key} must be one of ${allowed.join(', ')}, not ${JSON.stringify(v)}; using ${defaults[key]}`);
  }
  for (const key of ['url', 'template', 'model'] as const) {
    const v = raw[key];
    if (v === undefined || v === null) continue;
    if (typeof v === 'string') settings[key] = key === 'template' ? v : v.trim();
    else problems.push(`endpoint.${key} must be a string, not ${JSON.stringify(v)}; using ${JSON.stringify(defaults[key])}`);
  }
  return { settings, problems };
}
