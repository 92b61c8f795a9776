/*
 * The editor language ids wisp completes, the one list: the VS Code extension and the Monaco
 * package use it, and extension/package.json's activation events and `wisp.languages` default
 * are checked against it (scripts/check_facts.py). Each maps to a grammar in C
 * (wisp_lang_from_id, grammar/lang.c).
 */
export const LANGUAGE_IDS: readonly string[] = ['python', 'javascript', 'typescript', 'typescriptreact', 'c'];
