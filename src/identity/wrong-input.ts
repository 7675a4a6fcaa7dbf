import type { EntityManager } from '@mikro-orm/postgresql';
import { ErrorCode, JunctionError } from '../errors/codes';
import { modelKey } from './similar';
import { findModel, knownModels, suggestModels, suggestSerials } from './suggest';

/** What a caller insisted on against the suggestions; audited with the ticket it creates. */
export interface Insisted {
  reason: string;
  serial?: string;
  model?: string;
  /** The suggestions the caller overrode. */
  suggestions: string[];
}

/**
 * A serial no device has: fails with UNKNOWN_SERIAL and ranked suggestions (within the typed
 * model's family), never a guess; with an insist reason, returns what to audit instead.
 */
export async function unknownSerial(
  em: EntityManager, serial: string, opts: { model: string | null; customerId?: string | null; insistReason: string | null },
): Promise<Insisted> {
  const suggestions = await suggestSerials(em, serial, { model: opts.model, customerId: opts.customerId });
  if (!opts.insistReason) {
    const list = suggestions.map((s) => `${s.serial}${s.model ? ` (${s.model})` : ''}`).join(', ');
    throw new JunctionError(ErrorCode.UNKNOWN_SERIAL,
      `No device with serial ${serial}${list ? `; closest known serials: ${list}` : ' and no known serial is one or two characters away'}. ` +
      'Pass the serial you mean, or insistReason to open the ticket with the serial as typed',
      { field: 'input.serial', recordId: serial, suggestions });
  }
  return { reason: opts.insistReason, serial, suggestions: suggestions.map((s) => s.serial) };
}

/**
 * The ticket's model from a typed one: with a device it must be the device's model (CONFLICT
 * otherwise); without, a known model (any case or spacing), else UNKNOWN_MODEL with the family's
 * closest models, unless the caller insists (then kept as typed and added to `insisted`).
 */
export async function checkModel(
  em: EntityManager, typed: string, device: { serial: string; model?: string | null } | null, insistReason: string | null, insisted: Insisted | null,
): Promise<{ model: string; insisted: Insisted | null }> {
  if (device) {
    if (device.model && modelKey(device.model) !== modelKey(typed)) {
      throw new JunctionError(ErrorCode.CONFLICT, `Device ${device.serial} is a ${device.model}, not ${typed}: check the serial or leave the model out`, {
        field: 'input.model', recordId: device.serial, deviceModel: device.model,
      });
    }
    return { model: device.model ?? typed, insisted };
  }
  const known = await knownModels(em);
  const model = findModel(known, typed);
  if (model) return { model, insisted };
  const suggestions = suggestModels(known, typed);
  if (!insistReason) {
    throw new JunctionError(ErrorCode.UNKNOWN_MODEL,
      `Model ${typed} is unknown${suggestions.length ? `; closest known models: ${suggestions.map((s) => s.model).join(', ')}` : ''}. ` +
      'Pass the model you mean, or insistReason to keep it as typed',
      { field: 'input.model', recordId: typed, suggestions });
  }
  const base = insisted ?? { reason: insistReason, suggestions: [] };
  return { model: typed, insisted: { ...base, model: typed, suggestions: [...base.suggestions, ...suggestions.map((s) => s.model)] } };
}
