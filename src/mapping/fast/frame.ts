/** A JSONata variable frame: a binding to undefined still shadows the enclosing frame (hasOwnProperty in JSONata). */
export class Frame {
  private readonly vars = new Map<string, unknown>();
  constructor(private readonly parent: Frame | null) {}

  bind(name: string, value: unknown): void {
    this.vars.set(name, value);
  }

  has(name: string): boolean {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    let frame: Frame | null = this;
    while (frame) {
      if (frame.vars.has(name)) return true;
      frame = frame.parent;
    }
    return false;
  }

  lookup(name: string): unknown {
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    let frame: Frame | null = this;
    while (frame) {
      if (frame.vars.has(name)) return frame.vars.get(name);
      frame = frame.parent;
    }
    return undefined;
  }
}

/** A user function (`function($x) {...}`) as the fast path holds it: never a value of the output. */
export class FastLambda {
  constructor(
    readonly params: string[],
    readonly body: (input: any, env: Frame) => any,
    readonly input: unknown,
    readonly env: Frame,
  ) {}
}
