import { editDistance, modelFamily, modelKey, typoKind } from './similar';

describe('typo distance', () => {
  it.each([
    ['KFR-72LW/N8HR33', 'KFR-72LW/N8HR3', 1, 'EXTRA_CHARACTER'],
    ['KFR-72LW/N8H3', 'KFR-72LW/N8HR3', 1, 'MISSING_CHARACTER'],
    ['KFR-72LW/N8HB3', 'KFR-72LW/N8HR3', 1, 'WRONG_CHARACTER'],
    ['KFR-72LW/N8RH3', 'KFR-72LW/N8HR3', 1, 'SWAPPED_CHARACTERS'],
    ['KFR-72LW/N8XX3', 'KFR-72LW/N8HR3', 2, 'OTHER'],
    ['', 'ABC', 3, 'OTHER'],
  ])('%s vs %s: %i edit(s), %s', (typed, known, distance, kind) => {
    expect(editDistance(typed, known)).toBe(distance);
    expect(typoKind(typed, known)).toBe(kind);
  });
});

describe('model family', () => {
  it.each([
    ['KFR-72LW/N8HR3', 'KFR-72LW'],
    ['kfr-72lw/n8hr33', 'KFR-72LW'],
    ['XQG80-N8HR3', 'XQG80'],
    ['DSL-K20 Pro', 'DSL'],
    ['ELV3000', 'ELV3000'],
  ])('%s is in family %s', (model, family) => {
    expect(modelFamily(model)).toBe(family);
  });

  it('compares models without case and extra spaces', () => {
    expect(modelKey(' dsl-k20   pro ')).toBe('DSL-K20 PRO');
  });
});
