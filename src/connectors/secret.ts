import { inspect } from 'util';
import { REDACTED, SECRET_MARK } from './redact';

/**
 * A credential value that does not leak by accident: printing, logging, JSON.stringify or
 * string interpolation all show "[REDACTED]". Only an explicit `reveal()` hands out the value,
 * which makes every place that uses a secret easy to find.
 */
export class Secret {
  readonly [SECRET_MARK] = true;
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}
