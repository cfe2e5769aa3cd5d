/** A progress bar on stderr for long commands; silent when stderr is not a terminal or with --json. */
export class Progress {
  private last = 0;
  constructor(
    private readonly label: string,
    private readonly total: number | undefined,
    private readonly stream: NodeJS.WriteStream | { isTTY?: boolean; write(s: string): unknown } = process.stderr,
    private readonly enabled = Boolean(stream.isTTY),
  ) {}

  update(done: number): void {
    if (!this.enabled) return;
    const now = Date.now();
    if (now - this.last < 100 && done !== this.total) return;
    this.last = now;
    if (this.total) {
      const ratio = Math.min(1, done / this.total);
      const width = 30;
      const filled = Math.round(ratio * width);
      this.stream.write(
        `\r${this.label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${Math.round(ratio * 100)}% ${done}/${this.total}`,
      );
    } else {
      this.stream.write(`\r${this.label} ${done}`);
    }
  }

  done(): void {
    if (this.enabled) this.stream.write('\n');
  }
}
