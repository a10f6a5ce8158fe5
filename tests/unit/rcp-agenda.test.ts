// The agenda a session proposes by itself (src/lib/server/rcp/agenda.ts) and what each one-click
// decision does (src/lib/server/rcp/decisions.ts), with fixed dates: each rule and its boundary,
// patients who must never be proposed, the order of urgency, how many cases fit in a template,
// each decision's plan and refusals, and the validation of what a browser sends.
import { describe, expect, test } from 'vitest';
import { caseCapacity, proposeAgenda, type AgendaPatient, type Carried, type Flag } from '../../src/lib/server/rcp/agenda.ts';
import { DECISIONS, MAX_ACTIONS, decisionInput, planDecision, type DecisionInput } from '../../src/lib/server/rcp/decisions.ts';
import { DEFAULT_TEMPLATE } from '../../src/lib/server/rcp/templates.ts';
import { addDays } from '../../src/lib/server/patients/lifecycle.ts';
import type { PatientState, RcpTemplateContent } from '../../src/lib/server/db/schema.ts';

/** The session every agenda below is proposed for. */
const SESSION = '2026-12-01';

/** A followed patient with nothing to discuss: included in June, seen in RCP three weeks ago. */
function patient(id: string, over: Partial<AgendaPatient> = {}): AgendaPatient {
	return {
		id,
		state: 'en_suivi',
		included_on: '2026-06-01',
		renewal_due_on: '2027-06-01',
		first_contact_on: '2026-06-10',
		last_passage_on: '2026-11-10',
		...over
	};
}

const propose = (patients: AgendaPatient[], flags: Flag[] = [], carried: Carried[] = []) => proposeAgenda(patients, flags, carried, SESSION);
const codes = (patients: AgendaPatient[], flags: Flag[] = [], carried: Carried[] = []) =>
	Object.fromEntries(propose(patients, flags, carried).map((p) => [p.patientId, p.reasons.map((r) => r.code)]));

describe('proposeAgenda: each rule', () => {
	test('a patient with nothing due is not proposed', () => {
		expect(propose([patient('calme')])).toEqual([]);
	});

	test('never discussed in RCP, dated by the inclusion', () => {
		expect(propose([patient('p', { last_passage_on: null })])).toEqual([{ patientId: 'p', reasons: [{ code: 'never_discussed', date: '2026-06-01' }] }]);
	});

	test('not discussed for more than 90 days; exactly 90 days is not yet', () => {
		expect(addDays(SESSION, -90)).toBe('2026-09-02');
		expect(propose([patient('p91', { last_passage_on: '2026-09-01' })])).toEqual([{ patientId: 'p91', reasons: [{ code: 'not_discussed_90', date: '2026-09-01' }] }]);
		expect(propose([patient('p90', { last_passage_on: '2026-09-02' })])).toEqual([]);
		expect(propose([patient('p89', { last_passage_on: '2026-09-03' })])).toEqual([]);
	});

	test('renewal due within 30 days, or overdue; 31 days ahead is not yet', () => {
		expect(addDays(SESSION, 30)).toBe('2026-12-31');
		expect(codes([
			patient('in30', { renewal_due_on: '2026-12-31' }),
			patient('in31', { renewal_due_on: '2027-01-01' }),
			patient('today', { renewal_due_on: SESSION }),
			patient('overdue', { renewal_due_on: '2026-10-15' })
		])).toEqual({ in30: ['renewal_due'], today: ['renewal_due'], overdue: ['renewal_due'] });
		expect(propose([patient('x', { renewal_due_on: '2026-10-15' })])[0].reasons).toEqual([{ code: 'renewal_due', date: '2026-10-15' }]);
	});

	test('included 30 days ago or more without a first contact, only while still "inclus"', () => {
		expect(addDays(SESSION, -30)).toBe('2026-11-01');
		const inclus = (id: string, included_on: string) => patient(id, { state: 'inclus', included_on, first_contact_on: null });
		expect(codes([
			inclus('j30', '2026-11-01'),
			inclus('j45', '2026-10-17'),
			inclus('j29', '2026-11-02'),
			// A first contact recorded but state not moved: no longer a "no first contact" case.
			patient('contacted', { state: 'inclus', included_on: '2026-09-01', first_contact_on: '2026-09-15' }),
			// Followed without a recorded first contact (imported data): the rule is about "inclus" only.
			patient('en_suivi', { included_on: '2026-09-01', first_contact_on: null })
		])).toEqual({ j30: ['no_first_contact'], j45: ['no_first_contact'] });
		expect(propose([inclus('p', '2026-10-17')])[0].reasons).toEqual([{ code: 'no_first_contact', date: '2026-10-17' }]);
	});

	test('flagged by a member, with the question', () => {
		const flags: Flag[] = [{ patientId: 'p', question: 'Reprise de consommation ?', date: '2026-11-20' }];
		expect(propose([patient('p')], flags)).toEqual([{ patientId: 'p', reasons: [{ code: 'flagged', date: '2026-11-20', question: 'Reprise de consommation ?' }] }]);
	});

	test('two questions on the same patient are both listed', () => {
		const flags: Flag[] = [
			{ patientId: 'p', question: 'Première question', date: '2026-11-20' },
			{ patientId: 'p', question: 'Seconde question', date: '2026-11-22' }
		];
		expect(propose([patient('p')], flags)[0].reasons.map((r) => r.question)).toEqual(['Première question', 'Seconde question']);
	});

	test('carried over from an earlier session, or to be seen again', () => {
		const carried: Carried[] = [
			{ patientId: 'reporte', code: 'carried_over', date: '2026-11-03' },
			{ patientId: 'revoir', code: 'a_revoir', date: '2026-11-03' }
		];
		expect(propose([patient('reporte'), patient('revoir')], [], carried)).toEqual([
			{ patientId: 'revoir', reasons: [{ code: 'a_revoir', date: '2026-11-03' }] },
			{ patientId: 'reporte', reasons: [{ code: 'carried_over', date: '2026-11-03' }] }
		]);
	});
});

describe('proposeAgenda: who is never proposed', () => {
	const everything = (id: string, state: PatientState): AgendaPatient => ({
		id,
		state,
		included_on: '2025-01-01',
		renewal_due_on: '2026-01-01',
		first_contact_on: null,
		last_passage_on: null
	});

	test.each(['oriente', 'sorti', 'transfere'] as PatientState[])('a patient "%s", whatever is due, flagged or carried', (state) => {
		const flags: Flag[] = [{ patientId: 'x', question: 'Et lui ?', date: '2026-11-20' }];
		const carried: Carried[] = [{ patientId: 'x', code: 'a_revoir', date: '2026-11-03' }];
		expect(propose([everything('x', state)], flags, carried)).toEqual([]);
	});

	test('flags and carried cases of patients not in the list (other microstructure or programme) are ignored', () => {
		const flags: Flag[] = [{ patientId: 'ailleurs', question: '?', date: '2026-11-20' }];
		const carried: Carried[] = [{ patientId: 'ailleurs', code: 'carried_over', date: '2026-11-03' }];
		expect(propose([patient('ici')], flags, carried)).toEqual([]);
	});

	test('the same patient with every state but the active ones yields nothing; the active ones are proposed', () => {
		const states: PatientState[] = ['oriente', 'inclus', 'en_suivi', 'sorti', 'transfere'];
		expect(propose(states.map((s) => everything(s, s))).map((p) => p.patientId).sort()).toEqual(['en_suivi', 'inclus']);
	});
});

describe('proposeAgenda: several reasons and the order of urgency', () => {
	test('one patient with several reasons: one line, its reasons most urgent first', () => {
		const p = patient('p', { state: 'inclus', included_on: '2025-12-10', renewal_due_on: '2026-12-10', first_contact_on: null, last_passage_on: null });
		const flags: Flag[] = [{ patientId: 'p', question: 'Injoignable ?', date: '2026-11-25' }];
		const carried: Carried[] = [{ patientId: 'p', code: 'carried_over', date: '2026-11-03' }];
		expect(propose([p], flags, carried)).toEqual([
			{
				patientId: 'p',
				reasons: [
					{ code: 'carried_over', date: '2026-11-03' },
					{ code: 'flagged', date: '2026-11-25', question: 'Injoignable ?' },
					{ code: 'renewal_due', date: '2026-12-10' },
					{ code: 'no_first_contact', date: '2025-12-10' },
					{ code: 'never_discussed', date: '2025-12-10' }
				]
			}
		]);
	});

	test('à revoir, reporté, question, renouvellement, premier contact, jamais discuté, > 90 jours', () => {
		const patients = [
			patient('old', { last_passage_on: '2026-08-01' }),
			patient('never', { last_passage_on: null }),
			patient('nocontact', { state: 'inclus', included_on: '2026-10-01', first_contact_on: null }),
			patient('renewal', { renewal_due_on: '2026-12-15' }),
			patient('flagged'),
			patient('carried'),
			patient('revoir')
		];
		const flags: Flag[] = [{ patientId: 'flagged', question: '?', date: '2026-11-20' }];
		const carried: Carried[] = [
			{ patientId: 'carried', code: 'carried_over', date: '2026-11-03' },
			{ patientId: 'revoir', code: 'a_revoir', date: '2026-11-03' }
		];
		expect(propose(patients, flags, carried).map((p) => p.patientId)).toEqual(['revoir', 'carried', 'flagged', 'renewal', 'nocontact', 'never', 'old']);
	});

	test('within one kind of reason, the oldest date first, then the id', () => {
		const patients = [
			patient('b-late', { renewal_due_on: '2026-12-20' }),
			patient('a-early', { renewal_due_on: '2026-11-01' }),
			patient('d-same', { renewal_due_on: '2026-12-05' }),
			patient('c-same', { renewal_due_on: '2026-12-05' })
		];
		expect(propose(patients).map((p) => p.patientId)).toEqual(['a-early', 'c-same', 'd-same', 'b-late']);
	});

	test('the rank is the most urgent reason: a flagged patient goes before an older renewal', () => {
		const patients = [patient('renewal', { renewal_due_on: '2026-10-01' }), patient('flag-and-old', { last_passage_on: '2026-06-01' })];
		const flags: Flag[] = [{ patientId: 'flag-and-old', question: '?', date: '2026-11-30' }];
		expect(propose(patients, flags).map((p) => p.patientId)).toEqual(['flag-and-old', 'renewal']);
	});

	test('the input order does not matter', () => {
		const patients = [patient('a', { last_passage_on: null }), patient('b', { renewal_due_on: '2026-12-02' }), patient('c', { last_passage_on: '2026-01-01' })];
		const expected = propose(patients);
		expect(propose([...patients].reverse())).toEqual(expected);
		expect(expected.map((p) => p.patientId)).toEqual(['b', 'a', 'c']);
	});
});

describe('caseCapacity', () => {
	const template = (over: Partial<RcpTemplateContent>): RcpTemplateContent => ({ ...DEFAULT_TEMPLATE, ...over });

	test('the recommended template (90 min, cases + 2 organisational sections, 10 min per case) fits 7 cases', () => {
		expect(DEFAULT_TEMPLATE).toMatchObject({ targetMinutes: 90, minutesPerCase: 10 });
		expect(DEFAULT_TEMPLATE.sections.map((s) => s.kind)).toEqual(['cas', 'organisation_pec', 'organisation_ms']);
		// 90 − 2 × 10 minutes of organisation = 70 minutes of cases.
		expect(caseCapacity(DEFAULT_TEMPLATE)).toBe(7);
	});

	test('90 min with 3 organisational sections at 10 min per case fits 6', () => {
		const sections: RcpTemplateContent['sections'] = [
			{ kind: 'cas', title: 'Discussion de cas' },
			{ kind: 'organisation_pec', title: 'Prises en charge' },
			{ kind: 'organisation_ms', title: 'Vie de la microstructure' },
			{ kind: 'organisation_pec', title: 'Permanences' }
		];
		expect(caseCapacity(template({ sections }))).toBe(6);
	});

	test('cases only, other durations, and always at least one case', () => {
		expect(caseCapacity(template({ sections: [{ kind: 'cas', title: 'Cas' }] }))).toBe(9);
		expect(caseCapacity(template({ targetMinutes: 60, minutesPerCase: 15 }))).toBe(2);
		expect(caseCapacity(template({ targetMinutes: 90, minutesPerCase: 45 }))).toBe(1);
		expect(caseCapacity(template({ targetMinutes: 20 }))).toBe(1);
	});
});

describe('planDecision', () => {
	const TODAY = '2026-12-01';
	const input = (over: Partial<DecisionInput> & Pick<DecisionInput, 'kind'>): DecisionInput => decisionInput.parse(over);
	const plan = (over: Partial<DecisionInput> & Pick<DecisionInput, 'kind'>) => planDecision(input(over), TODAY);
	const nothing = { pathway: null, validatePps: false, carryOver: false, final: false, details: {} };

	test('poursuite changes nothing', () => {
		expect(plan({ kind: 'poursuite' })).toEqual({ ok: true, plan: nothing });
	});

	test('adaptation du PPS validates the plan at closing', () => {
		expect(plan({ kind: 'adaptation_pps', detail: 'Rythme des entretiens espacé' })).toEqual({
			ok: true,
			plan: { ...nothing, validatePps: true, details: { detail: 'Rythme des entretiens espacé' } }
		});
	});

	test('renouvellement renews today, validates the PPS and is final', () => {
		expect(plan({ kind: 'renouvellement' })).toEqual({ ok: true, plan: { ...nothing, pathway: { kind: 'renew', on: TODAY }, validatePps: true, final: true } });
	});

	test('fin de suivi needs a reason, and a detail for "autre"', () => {
		expect(plan({ kind: 'fin_de_suivi' })).toEqual({ ok: false, error: 'Choisissez le motif de fin de suivi.' });
		expect(plan({ kind: 'fin_de_suivi', exitReason: 'autre' })).toEqual({ ok: false, error: 'Précisez le motif de fin de suivi.' });
		expect(plan({ kind: 'fin_de_suivi', exitReason: 'autre', detail: '   ' })).toEqual({ ok: false, error: 'Précisez le motif de fin de suivi.' });
		expect(plan({ kind: 'fin_de_suivi', exitReason: 'autre', detail: ' Incarcération ' })).toEqual({
			ok: true,
			plan: { ...nothing, pathway: { kind: 'exit', on: TODAY, reason: 'autre', detail: 'Incarcération' }, final: true, details: { detail: 'Incarcération', exitReason: 'autre' } }
		});
		expect(plan({ kind: 'fin_de_suivi', exitReason: 'amelioration' })).toEqual({
			ok: true,
			plan: { ...nothing, pathway: { kind: 'exit', on: TODAY, reason: 'amelioration', detail: undefined }, final: true, details: { exitReason: 'amelioration' } }
		});
	});

	test('réorientation needs to say towards whom, and leaves the pathway alone', () => {
		expect(plan({ kind: 'reorientation' })).toEqual({ ok: false, error: 'Précisez vers qui ou quoi le patient est réorienté.' });
		expect(plan({ kind: 'reorientation', detail: '  ' })).toEqual({ ok: false, error: 'Précisez vers qui ou quoi le patient est réorienté.' });
		expect(plan({ kind: 'reorientation', detail: 'CSAPA de Strasbourg' })).toEqual({ ok: true, plan: { ...nothing, details: { detail: 'CSAPA de Strasbourg' } } });
	});

	test('à revoir carries the case over to the next session', () => {
		expect(plan({ kind: 'a_revoir' })).toEqual({ ok: true, plan: { ...nothing, carryOver: true } });
	});

	test('an action due in the past is refused, whatever the decision; today and no date are fine', () => {
		const owner = '00000000-0000-4000-8000-000000000001';
		for (const kind of DECISIONS) {
			const extra = kind === 'fin_de_suivi' ? { exitReason: 'amelioration' as const } : kind === 'reorientation' ? { detail: 'CMP' } : {};
			expect(plan({ kind, ...extra, actions: [{ what: 'Appeler', ownerId: owner, dueOn: '2026-11-30' }] })).toEqual({ ok: false, error: "L'échéance d'une action ne peut pas être passée." });
			expect(plan({ kind, ...extra, actions: [{ what: 'Appeler', ownerId: owner, dueOn: TODAY }, { what: 'Écrire', ownerId: owner }, { what: 'Revoir', ownerId: owner, dueOn: null }] }).ok).toBe(true);
		}
	});
});

describe('decisionInput', () => {
	const owner = '00000000-0000-4000-8000-000000000001';
	const action = { what: 'Appeler le CSAPA', ownerId: owner, dueOn: '2026-12-15' };
	const ok = (value: unknown) => decisionInput.safeParse(value).success;

	test('a decision and its actions are accepted; actions default to none; text is trimmed', () => {
		expect(decisionInput.parse({ kind: 'poursuite' })).toEqual({ kind: 'poursuite', actions: [] });
		expect(decisionInput.parse({ kind: 'fin_de_suivi', exitReason: 'autre', detail: '  Décès  ', actions: [{ ...action, what: '  Courrier  ' }] })).toEqual({
			kind: 'fin_de_suivi',
			exitReason: 'autre',
			detail: 'Décès',
			actions: [{ ...action, what: 'Courrier' }]
		});
		expect(ok({ kind: 'a_revoir', actions: [{ what: 'x', ownerId: owner, dueOn: null }] })).toBe(true);
	});

	test('unknown keys are refused, at the top and in an action', () => {
		expect(ok({ kind: 'poursuite', final: true })).toBe(false);
		expect(ok({ kind: 'poursuite', actions: [{ ...action, done: true }] })).toBe(false);
		expect(ok({ kind: 'poursuite', constructor: 'x' })).toBe(false);
		// An own "__proto__" key, as JSON.parse makes it from a hostile payload.
		expect(ok(JSON.parse('{"kind":"poursuite","__proto__":{"final":true}}'))).toBe(false);
	});

	test(`at most ${MAX_ACTIONS} actions`, () => {
		expect(ok({ kind: 'poursuite', actions: Array.from({ length: MAX_ACTIONS }, () => action) })).toBe(true);
		expect(ok({ kind: 'poursuite', actions: Array.from({ length: MAX_ACTIONS + 1 }, () => action) })).toBe(false);
	});

	test.each([
		['an unknown decision', { kind: 'hospitalisation' }],
		['no decision', {}],
		['an unknown exit reason', { kind: 'fin_de_suivi', exitReason: 'lassitude' }],
		['a detail over 500 characters', { kind: 'reorientation', detail: 'x'.repeat(501) }],
		['an owner that is not a uuid', { kind: 'poursuite', actions: [{ ...action, ownerId: 'camille' }] }],
		['an owner uuid with junk after it', { kind: 'poursuite', actions: [{ ...action, ownerId: `${owner}x` }] }],
		['an action without owner', { kind: 'poursuite', actions: [{ what: 'x' }] }],
		['an empty action', { kind: 'poursuite', actions: [{ ...action, what: '   ' }] }],
		['an action over 300 characters', { kind: 'poursuite', actions: [{ ...action, what: 'x'.repeat(301) }] }],
		['a French date', { kind: 'poursuite', actions: [{ ...action, dueOn: '15/12/2026' }] }],
		['a date with a time', { kind: 'poursuite', actions: [{ ...action, dueOn: '2026-12-15T10:00' }] }],
		['a date that does not exist', { kind: 'poursuite', actions: [{ ...action, dueOn: '2027-02-30' }] }],
		['a month 13', { kind: 'poursuite', actions: [{ ...action, dueOn: '2026-13-01' }] }],
		['actions that are not a list', { kind: 'poursuite', actions: action }],
		['a string', 'poursuite'],
		['null', null]
	])('refuses %s', (_what, value) => {
		expect(ok(value)).toBe(false);
	});
});
