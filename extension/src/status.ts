/*
 * The status bar item: what wisp is doing right now (downloading n%, ready, the last latency and
 * whether the remote endpoint answered, off, an error), clicking it toggles wisp.
 */
import * as vscode from 'vscode';

export class Status implements vscode.Disposable {
  private item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);

  constructor() {
    this.item.command = 'wisp.toggle';
    this.item.name = 'wisp';
    this.set('$(loading~spin) wisp', 'wisp: starting');
    this.item.show();
  }

  private set(text: string, tooltip: string): void {
    this.item.text = text;
    this.item.tooltip = tooltip;
  }

  downloading(loaded: number, total: number): void {
    const pct = total > 0 ? Math.floor((100 * loaded) / total) : 0;
    this.set(`$(cloud-download) wisp ${pct}%`, `wisp: downloading the model (${(loaded / 1e6).toFixed(1)} MB)`);
  }

  loading(what: string): void {
    this.set('$(loading~spin) wisp', `wisp: ${what}`);
  }

  ready(detail: string): void {
    this.set('$(sparkle) wisp', `wisp: ready (${detail})`);
  }

  /** The last suggestion: from the local engine, or from the remote endpoint at `host`. */
  latency(ms: number, host?: string): void {
    if (host) this.set(`$(cloud) wisp endpoint ${Math.round(ms)} ms`, `wisp: last suggestion from the endpoint ${host}, ${ms.toFixed(1)} ms`);
    else this.set(`$(sparkle) wisp ${Math.round(ms)} ms`, `wisp: last suggestion took ${ms.toFixed(1)} ms`);
  }

  off(): void {
    this.set('$(circle-slash) wisp off', 'wisp: off (click to turn on)');
  }

  error(message: string): void {
    this.set('$(error) wisp', `wisp: ${message}`);
  }

  dispose(): void {
    this.item.dispose();
  }
}
