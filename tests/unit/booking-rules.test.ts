// The booking rules that are pure functions, with fixed dates: a no-show on the RCP agenda (until an
// RCP held after it) and on the "À faire", which slots suit a waiting patient's constraints (Paris
// weekday and part of the day, across the DST change), and the inclusion year the budget counts in.
import { describe, expect, test } from 'vitest';
import { proposeAgenda, type AgendaPatient } from '../../src/lib/server/rcp/agenda.ts';
import { todoItems, type TodoRow } from '../../src/lib/server/patients/todo.ts';
import { slotSuits } from '../../src/lib/server/booking/waiting-list.ts';
import { inclusionYear } from '../../src/lib/server/booking/budget.ts';
import { parisInstant } from '../../src/lib/server/rcp/schedule.ts';

const SESSION = '2026-12-01';

function patient(id: string, over: Partial<AgendaPatient> = {}): AgendaPatient {
	return { id, state: 'en_suivi', included_on: '2026-06-01', renewal_due_on: '2027-06-01', first_contact_on: '2026-06-10', last_passage_on: '2026-11-10', ...over };
}

describe('a no-show on the RCP agenda', () => {
	test('a no-show after the last RCP is proposed, with its date, before the routine reasons', () => {
		const [p] = proposeAgenda([patient('p', { no_show_on: '2026-11-20', renewal_due_on: '2026-12-15' })], [], [], SESSION);
		expect(p.reasons.map((r) => r.code)).toEqual(['no_show', 'renewal_due']);
		expect(p.reasons[0]).toEqual({ code: 'no_show', date: '2026-11-20' });
	});
	test('already discussed at an RCP held after it, or after the session: not proposed', () => {
		expect(proposeAgenda([patient('p', { no_show_on: '2026-11-01' })], [], [], SESSION)).toEqual([]);
		expect(proposeAgenda([patient('p', { no_show_on: '2026-12-05' })], [], [], SESSION)).toEqual([]);
	});
	test('a patient who has left is never proposed, no-show or not', () => {
		expect(proposeAgenda([patient('p', { no_show_on: '2026-11-20', state: 'sorti' })], [], [], SESSION)).toEqual([]);
	});
	test('a patient never discussed keeps both reasons', () => {
		const [p] = proposeAgenda([patient('p', { no_show_on: '2026-11-20', last_passage_on: null })], [], [], SESSION);
		expect(p.reasons.map((r) => r.code)).toEqual(['no_show', 'never_discussed']);
	});
});

describe('a no-show on the "À faire"', () => {
	const row = (over: Partial<TodoRow> = {}): TodoRow => ({
		id: 'p',
		code: 'P-AAAA-BBBB',
		microstructure_id: 'ms',
		state: 'en_suivi',
		included_on: '2026-06-01',
		renewal_due_on: '2027-06-01',
		last_contact_on: '2026-11-20',
		consent_method: 'oral_atteste',
		has_consent_document: false,
		nir_status: 'fourni',
		...over
	});
	test('listed right after an overdue renewal, dated by the no-show', () => {
		const items = todoItems([row({ no_show_on: '2026-11-25', renewal_due_on: '2026-11-01' })], SESSION, { billing: () => false });
		expect(items.map((i) => [i.kind, i.date])).toEqual([
			['renewal_overdue', '2026-11-01'],
			['no_show', '2026-11-25']
		]);
	});
	test('nothing without the signal, nor for a patient who has left', () => {
		expect(todoItems([row()], SESSION, { billing: () => false })).toEqual([]);
		expect(todoItems([row({ no_show_on: '2026-11-25', state: 'sorti' })], SESSION, { billing: () => false })).toEqual([]);
	});
});

describe('which freed slots suit a waiting patient', () => {
	// Tuesday 27 October 2026 (after the change to winter time) and Tuesday 24 March 2026 (before the change to summer time).
	test.each([
		['2026-10-27', '09:00', [2], ['matin'], true],
		['2026-10-27', '11:59', [], ['matin'], true],
		['2026-10-27', '12:00', [], ['matin'], false],
		['2026-10-27', '12:00', [], ['apres_midi'], true],
		['2026-10-27', '09:00', [1, 3], [], false],
		['2026-03-24', '23:30', [2], ['apres_midi'], true],
		['2026-03-29', '00:30', [7], ['matin'], true],
		['2026-03-29', '00:30', [6], [], false]
	] as const)('%s %s (Paris), days %j, parts %j → %s', (date, time, weekdays, periods, expected) => {
		expect(slotSuits(parisInstant(date, time), [...weekdays], [...periods])).toBe(expected);
	});
});

describe('the inclusion year the budget counts in', () => {
	test('from the last renewal (or the inclusion) to the next renewal date', () => {
		expect(inclusionYear({ included_on: '2025-03-10', renewal_due_on: '2027-03-10', exited_on: null })).toEqual({ from: '2026-03-10', to: '2027-03-10' });
		expect(inclusionYear({ included_on: '2026-02-28', renewal_due_on: '2027-02-28', exited_on: null })).toEqual({ from: '2026-02-28', to: '2027-02-28' });
	});
	test('a patient who left keeps the year the exit fell in; never included: none', () => {
		expect(inclusionYear({ included_on: '2024-05-02', renewal_due_on: null, exited_on: '2025-09-30' })).toEqual({ from: '2025-05-02', to: '2026-05-02' });
		expect(inclusionYear({ included_on: '2024-05-02', renewal_due_on: null, exited_on: '2025-05-02' })).toEqual({ from: '2025-05-02', to: '2026-05-02' });
		expect(inclusionYear({ included_on: null, renewal_due_on: null, exited_on: null })).toBeNull();
	});
});
