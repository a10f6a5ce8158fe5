import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import {
	addDays,
	addYears,
	ALLOWED_FROM,
	applyAction,
	EMPTY_PATHWAY,
	pathwayProblems,
	startPathway,
	type Action,
	type Pathway
} from '../../src/lib/server/patients/lifecycle.ts';

const TODAY = '2026-11-24';
const consent = { on: '2026-01-10', method: 'oral_atteste' as const };

function included(on = '2026-01-10'): Pathway {
	const r = startPathway({ kind: 'include', on, orientation: 'les_deux', consent: { ...consent, on } }, TODAY);
	if (!r.ok) throw new Error(r.error);
	return r.pathway;
}

describe('dates', () => {
	test('a year after 29 February is 28 February', () => {
		expect(addYears('2024-02-29', 1)).toBe('2025-02-28');
		expect(addYears('2025-03-01', 1)).toBe('2026-03-01');
		expect(addDays('2026-12-31', 1)).toBe('2027-01-01');
	});
});

describe('transitions', () => {
	test('inclusion sets the renewal at the anniversary and keeps the consent', () => {
		const p = included('2026-01-10');
		expect(p).toMatchObject({ state: 'inclus', included_on: '2026-01-10', renewal_due_on: '2027-01-10', consent_method: 'oral_atteste' });
	});

	test('first contact, renewal within 60 days of the anniversary, exit with a reason', () => {
		let p = included('2025-12-01');
		const contact = applyAction(p, { kind: 'first_contact', on: '2026-01-05' }, TODAY);
		expect(contact.ok).toBe(true);
		p = { ...p, ...(contact as { patch: Partial<Pathway> }).patch };
		expect(p.state).toBe('en_suivi');
		const early = applyAction(p, { kind: 'renew', on: '2026-09-01' }, TODAY);
		expect(early).toEqual({ ok: false, error: "Le renouvellement n'est possible qu'à partir de 60 jours avant l'échéance (2026-12-01)." });
		const renew = applyAction(p, { kind: 'renew', on: '2026-11-20' }, TODAY);
		expect(renew.ok && renew.patch.renewal_due_on).toBe('2027-12-01');
		const exit = applyAction(p, { kind: 'exit', on: '2026-11-20', reason: 'autre' }, TODAY);
		expect(exit).toEqual({ ok: false, error: 'Précisez le motif de fin de suivi.' });
		const done = applyAction(p, { kind: 'exit', on: '2026-11-20', reason: 'amelioration' }, TODAY);
		expect(done.ok && done.patch).toMatchObject({ state: 'sorti', exit_reason: 'amelioration', renewal_due_on: null });
	});

	test('invalid steps are refused in French', () => {
		const p = included();
		expect(applyAction(p, { kind: 'include', on: '2026-02-01', orientation: 'psychologue', consent }, TODAY)).toEqual({
			ok: false,
			error: "L'inclusion n'est pas possible pour un patient inclus."
		});
		expect(applyAction({ ...p, state: 'sorti', exited_on: '2026-03-01', exit_reason: 'perdu_de_vue', renewal_due_on: null }, { kind: 'first_contact', on: '2026-04-01' }, TODAY)).toEqual({
			ok: false,
			error: "Le premier contact n'est pas possible pour un patient sorti."
		});
		expect(applyAction(p, { kind: 'first_contact', on: '2027-01-01' }, TODAY)).toEqual({ ok: false, error: 'La date ne peut pas être dans le futur.' });
		expect(applyAction(p, { kind: 'first_contact', on: '2025-12-31' }, TODAY)).toEqual({
			ok: false,
			error: 'La date ne peut pas précéder la dernière étape du parcours (2026-01-10).'
		});
		expect(applyAction(p, { kind: 'first_contact', on: '2026-02-30' }, TODAY)).toEqual({ ok: false, error: 'Date invalide.' });
	});

	test('consent must not come after the inclusion', () => {
		const r = startPathway({ kind: 'include', on: '2026-03-01', orientation: 'psychologue', consent: { on: '2026-03-02', method: 'formulaire_signe' } }, TODAY);
		expect(r).toEqual({ ok: false, error: "Le consentement doit être recueilli au plus tard le jour de l'inclusion." });
	});
});

// Property: whatever sequence of actions and dates is attempted, every accepted step leads to a
// pathway with no broken invariant, and refused steps leave it unchanged.
const dateArb = fc.integer({ min: 0, max: 900 }).map((n) => addDays('2024-06-01', n));
const orientationArb = fc.constantFrom('psychologue' as const, 'travailleur_social' as const, 'les_deux' as const);
const actionArb: fc.Arbitrary<Action> = fc.oneof(
	fc.record({ kind: fc.constant('include' as const), on: dateArb, orientation: orientationArb, consent: fc.record({ on: dateArb, method: fc.constantFrom('formulaire_signe' as const, 'oral_atteste' as const) }) }),
	fc.record({ kind: fc.constant('first_contact' as const), on: dateArb }),
	fc.record({ kind: fc.constant('contact' as const), on: dateArb }),
	fc.record({ kind: fc.constant('renew' as const), on: dateArb }),
	fc.record({ kind: fc.constant('exit' as const), on: dateArb, reason: fc.constantFrom('amelioration' as const, 'perdu_de_vue' as const, 'deces' as const, 'autre' as const), detail: fc.option(fc.string(), { nil: undefined }) }),
	fc.record({ kind: fc.constant('transfer' as const), on: dateArb, toMicrostructureId: fc.uuid() }),
	fc.record({ kind: fc.constant('reinclude' as const), on: dateArb, orientation: orientationArb, consent: fc.record({ on: dateArb, method: fc.constantFrom('formulaire_signe' as const, 'oral_atteste' as const) }) })
);

test('no sequence of actions reaches an invalid state', () => {
	fc.assert(
		fc.property(dateArb, fc.array(actionArb, { maxLength: 40 }), (start, actions) => {
			const today = '2026-11-24';
			const begun = startPathway({ kind: 'orient', on: start }, today);
			if (!begun.ok) return;
			let p = begun.pathway;
			for (const action of actions) {
				const before = p;
				const r = applyAction(p, action, today);
				if (r.ok) {
					expect(ALLOWED_FROM[action.kind]).toContain(before.state);
					p = { ...p, ...r.patch };
					expect(pathwayProblems(p)).toEqual([]);
				} else {
					expect(r.error).toMatch(/[a-zé]/);
					expect(p).toBe(before);
				}
			}
		}),
		{ numRuns: 2000 }
	);
});

test('the empty pathway is oriented and has no problems', () => {
	expect(pathwayProblems({ ...EMPTY_PATHWAY, oriented_on: '2026-01-01' })).toEqual([]);
});
