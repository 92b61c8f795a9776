/*
 * The status bar item: what wisp is doing right now (downloading n%, early answers from the first
 * blocks of a model still arriving and how much of it is in, ready, the last latency and whether
 * the remote endpoint answered, off, an error), clicking it toggles wisp.
 */
import * as vscode from 'vscode';

export class Status implements vscode.Disposable {
  private item = vscode.window.createStatusBarItem(vscode.StatusBarAlignment.Right, 100);
  // While the model is still arriving: "early answers, 42 %" and what the tooltip says of it.
  private early: { text: string; tooltip: string } | null = null;

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

  /** The engine answers from the first `depth` blocks of `layers` while the model arrives
   * (`loaded` of `total` bytes). */
  earlyAnswers(loaded: number, total: number, depth: number, layers: number): void {
    const pct = total > 0 ? Math.floor((100 * loaded) / total) : 0;
    this.early = {
      text: `early answers, ${pct} %`,
      tooltip: `wisp: answering with ${depth} of the model's ${layers} blocks while it downloads (${(loaded / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB); the whole model takes over when it is in`,
    };
    this.set(`$(sparkle) wisp: ${this.early.text}`, this.early.tooltip);
  }

  ready(detail: string): void {
    this.early = null;
    this.set('$(sparkle) wisp', `wisp: ready (${detail})`);
  }

  /** The last suggestion: from the local engine, or from the remote endpoint at `host`. */
  latency(ms: number, host?: string): void {
    if (host) this.set(`$(cloud) wisp endpoint ${Math.round(ms)} ms`, `wisp: last suggestion from the endpoint ${host}, ${ms.toFixed(1)} ms`);
    else if (this.early) this.set(`$(sparkle) wisp ${Math.round(ms)} ms: ${this.early.text}`, `${this.early.tooltip}; last suggestion took ${ms.toFixed(1)} ms`);
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
