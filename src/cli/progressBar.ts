/** A one-line progress bar on stderr (redrawn with \r on a terminal; a line per file otherwise). */
export class ProgressBar {
  private lastLabel = '';
  private lastDraw = 0;
  private readonly tty = Boolean(process.stderr.isTTY);

  constructor(private readonly title: string) {}

  update(done: number, total: number, label: string, unit: 'bytes' | 'count' = 'bytes'): void {
    const now = Date.now();
    if (!this.tty) {
      if (label !== this.lastLabel && label) process.stderr.write(`${this.title}: ${label}\n`);
      this.lastLabel = label;
      return;
    }
    if (now - this.lastDraw < 100 && done < total) return;
    this.lastDraw = now;
    const width = 30;
    const frac = total > 0 ? Math.min(1, done / total) : 1;
    const filled = Math.round(frac * width);
    const amount = unit === 'bytes' ? `${mb(done)}/${mb(total)} MB` : `${done}/${total}`;
    const line = `${this.title} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${(frac * 100).toFixed(0).padStart(3)}% ${amount} ${label}`;
    process.stderr.write(`\r${line.slice(0, (process.stderr.columns || 120) - 1).padEnd(Math.min(line.length, 119))}`);
  }

  done(message: string): void {
    if (this.tty) process.stderr.write('\r\x1b[K');
    process.stderr.write(`${message}\n`);
  }
}

function mb(bytes: number): string {
  return (bytes / 1e6).toFixed(1);
}

/** Every CLI error ends as one line and exit status 1: no stack traces for people. */
export function exitWithError(err: unknown): never {
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`${process.stderr.isTTY ? '\r\x1b[K' : ''}error: ${message.split('\n')[0]}\n`);
  process.exit(1);
}
