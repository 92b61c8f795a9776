/*
 * Typing-through reuse, shared by the VS Code extension and the Monaco package (through
 * inline.ts): a small LRU of recent suggestions, each remembered with the document it was made for
 * and the text on both sides of the cursor at that moment. A later cursor state is served from it,
 * with no engine call, when
 *   - it is the same document, the text after the cursor is the same, and
 *   - the text before the cursor is the remembered one plus a start of the suggestion (what the
 *     user typed, or accepted a word or a line of); the rest of the suggestion is shown.
 * Nothing typed (moving back, undo, deleting back into a suggestion) re-shows it whole. A typed
 * character that differs from the suggestion, another document, or any change after the cursor
 * is a miss, and so is a state asked for with other options (`variant`: a changed maxLines,
 * maxTokens or candidate count).
 */
import type { CompletionItem, Position } from './protocol.js';

/** The editor's state at a cursor: UTF-16 text on both sides, and the cursor's position. */
export interface CursorState {
  uri: string;
  /** What else the answer depends on (the options that shape it: line, token and candidate counts);
   * states of different variants never share a suggestion. */
  variant?: string;
  before: string;
  after: string;
  position: Position;
}

/** Where a suggestion came from: the engine at this very cursor, a speculative request made for
 * the state after accepting an earlier suggestion, or a prefetch when the document was opened or
 * focused. */
export type Origin = 'engine' | 'speculative' | 'prefetch';

/** How a lookup was served: `typed` (the user typed or accepted a start of an engine suggestion),
 * `same` (the same state again: moving back, undo), or from a `speculative` or `prefetch` answer
 * (typed through or not). */
export type ReuseKind = 'typed' | 'same' | 'speculative' | 'prefetch';

export interface Reused {
  items: CompletionItem[];
  kind: ReuseKind;
  /** Characters of the suggestion the user has typed since it was made. */
  typed: number;
}

interface Entry {
  uri: string;
  variant: string | undefined;
  before: string;
  after: string;
  origin: Origin;
  /** Per item: what it inserts at the cursor, and how many UTF-16 units after the cursor it
   * replaces (usually 0). */
  inserts: { text: string; tail: number }[];
}

/** Whether two states are the same document with the same text on both sides of the cursor. */
type Key = Pick<CursorState, 'uri' | 'variant' | 'before' | 'after'>;
export const sameState = (a: Key, b: Key) =>
  a.uri === b.uri && a.variant === b.variant && a.before === b.before && a.after === b.after;

/** The position after `pos` once `text` is written there. */
export function advance(pos: Position, text: string): Position {
  const nl = text.lastIndexOf('\n');
  if (nl < 0) return { line: pos.line, character: pos.character + text.length };
  let lines = 0;
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) lines++;
  return { line: pos.line + lines, character: text.length - nl - 1 };
}

/** The cursor state of `text` at UTF-16 `offset`. */
export function cursorState(uri: string, text: string, offset: number, position: Position, variant?: string): CursorState {
  return { uri, variant, before: text.slice(0, offset), after: text.slice(offset), position };
}

/** The state after `item` (made at `at`) is accepted whole, and the edit that accepts it, with the
 * text it replaces (for undoing it). */
export function acceptedState(at: CursorState, item: CompletionItem):
    { state: CursorState; edit: { rangeOffset: number; rangeLength: number; text: string; removed: string } } | null {
  const c = at.before.length;
  if (item.startOffset > c || item.endOffset < c) return null;
  const before = at.before.slice(0, item.startOffset) + item.text;
  const after = at.after.slice(item.endOffset - c);
  const removed = at.before.slice(item.startOffset) + at.after.slice(0, item.endOffset - c);
  const start = { line: at.position.line, character: at.position.character - (c - item.startOffset) };
  if (start.character < 0) return null; // a range that starts on an earlier line: not ours
  return {
    state: { uri: at.uri, variant: at.variant, before, after, position: advance(start, item.text) },
    edit: { rangeOffset: item.startOffset, rangeLength: item.endOffset - item.startOffset, text: item.text, removed },
  };
}

export class SuggestionCache {
  private entries: Entry[] = []; // most recent first

  constructor(public capacity = 16) {}

  get size(): number {
    return this.entries.length;
  }

  /** Remembers the items computed at `at` (an engine answer, or a speculative one). Items that do
   * not cover the cursor, or do not agree with the text they overwrite before it, are skipped. */
  remember(at: CursorState, items: readonly CompletionItem[], origin: Origin = 'engine'): void {
    const c = at.before.length;
    const inserts: Entry['inserts'] = [];
    for (const it of items) {
      if (it.startOffset > c || it.endOffset < c || it.endOffset - c > at.after.length) continue;
      const typedPart = at.before.slice(it.startOffset);
      if (!it.text.startsWith(typedPart) || it.text.length === typedPart.length) continue;
      inserts.push({ text: it.text.slice(typedPart.length), tail: it.endOffset - c });
    }
    if (inserts.length === 0) return;
    this.entries = this.entries.filter((e) => !sameState(e, at));
    this.entries.unshift({ uri: at.uri, variant: at.variant, before: at.before, after: at.after, origin, inserts });
    if (this.entries.length > this.capacity) this.entries.length = this.capacity;
  }

  /** The items to show at `now` without asking the engine, or null. */
  lookup(now: CursorState): Reused | null {
    for (let i = 0; i < this.entries.length; i++) {
      const e = this.entries[i]!;
      if (e.uri !== now.uri || e.variant !== now.variant || now.before.length < e.before.length || e.after !== now.after) continue;
      const typed = now.before.length - e.before.length;
      // The cheap test first: the typed characters, then the whole text before them.
      const t = now.before.slice(e.before.length);
      const items: CompletionItem[] = [];
      for (const ins of e.inserts) {
        if (ins.text.length <= typed || !ins.text.startsWith(t)) continue;
        const rest = ins.text.slice(typed);
        const offset = now.before.length;
        items.push({
          text: rest,
          startOffset: offset,
          endOffset: offset + ins.tail,
          start: now.position,
          end: advance(now.position, now.after.slice(0, ins.tail)),
        });
      }
      if (items.length === 0 || !now.before.startsWith(e.before)) continue;
      this.entries.splice(i, 1);
      this.entries.unshift(e);
      return { items, typed, kind: e.origin !== 'engine' ? e.origin : typed > 0 ? 'typed' : 'same' };
    }
    return null;
  }

  /** Whether a suggestion was remembered for exactly this state (the LRU order is not touched). */
  has(at: CursorState): boolean {
    return this.entries.some((e) => sameState(e, at));
  }

  /** Forgets what was remembered for exactly this state (a streamed first line that the whole
   * answer took back). */
  forget(at: Key): void {
    this.entries = this.entries.filter((e) => !sameState(e, at));
  }

  /** Forgets one document's suggestions (closed), or all. */
  clear(uri?: string): void {
    this.entries = uri === undefined ? [] : this.entries.filter((e) => e.uri !== uri);
  }
}
