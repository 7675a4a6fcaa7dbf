import { Arg, Authorized, Ctx, Query, Resolver } from 'type-graphql';
import { Role } from '../../auth/roles';
import { badInput } from '../../errors/codes';
import { normalizeSerial } from '../../identity/normalize';
import { knownModels, MAX_SERIAL_LENGTH, suggestModels, suggestSerials } from '../../identity/suggest';
import type { GraphContext } from '../context';
import { ModelSuggestion, SerialSuggestion } from '../types/enrichment';

/** Type-ahead for agents: the same suggestions createTicket returns with UNKNOWN_SERIAL / UNKNOWN_MODEL. */
@Resolver()
export class SuggestionResolver {
  @Authorized(Role.PORTAL)
  @Query(() => [SerialSuggestion], { description: 'Known serials one or two characters from a typed one (empty when it is known or nothing is close), ranked: with a model only its family, the same model first; then fewer edits, then serial.' })
  async serialSuggestions(
    @Arg('serial') serial: string,
    @Ctx() ctx: GraphContext,
    @Arg('model', () => String, { nullable: true }) model?: string,
  ): Promise<SerialSuggestion[]> {
    const typed = normalizeSerial(serial);
    if (!typed || typed.length > MAX_SERIAL_LENGTH) throw badInput(`serial must be 1 to ${MAX_SERIAL_LENGTH} characters`, 'serial');
    return (await suggestSerials(ctx.orm, typed, { model })).map((s) => Object.assign(new SerialSuggestion(), s));
  }

  @Authorized(Role.PORTAL)
  @Query(() => [ModelSuggestion], { description: 'Known models close to a typed one, its family first (empty when it is known).' })
  async modelSuggestions(@Arg('model') model: string, @Ctx() ctx: GraphContext): Promise<ModelSuggestion[]> {
    if (!model.trim() || model.length > 100) throw badInput('model must be 1 to 100 characters', 'model');
    return suggestModels(await knownModels(ctx.orm), model).map((s) => Object.assign(new ModelSuggestion(), s));
  }
}
