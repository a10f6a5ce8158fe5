// When RCPs happen (src/lib/server/rcp/schedule.ts), with fixed dates: recurrence rules written and
// read back, their French labels, Paris wall-clock instants across both DST changes, the
// occurrences of a series (monthly, last weekday, every other week, until, window, max) and the
// clashes between sessions one person would have to attend.
import { describe, expect, test } from 'vitest';
import {
	WEEKDAYS,
	describeRecurrence,
	findClashes,
	frenchTime,
	fromRrule,
	occurrences,
	parisInstant,
	parisWallClock,
	toRrule,
	type Nth,
	type Recurrence,
	type SeriesRule
} from '../../src/lib/server/rcp/schedule.ts';

const iso = (d: Date) => d.toISOString();

describe('toRrule / fromRrule', () => {
	const NTHS: Nth[] = [1, 2, 3, 4, -1];
	const all: Recurrence[] = [
		...WEEKDAYS.flatMap((weekday) => NTHS.map((nth) => ({ pattern: 'mensuel' as const, weekday, nth }))),
		...WEEKDAYS.map((weekday) => ({ pattern: 'hebdomadaire' as const, weekday, nth: 1 as const })),
		...WEEKDAYS.map((weekday) => ({ pattern: 'bimensuel' as const, weekday, nth: 1 as const }))
	];

	test.each(all.map((r) => ({ ...r, label: `${r.pattern} ${r.nth} ${r.weekday}` })))('round trip: $label', ({ pattern, weekday, nth }) => {
		const r: Recurrence = { pattern, weekday, nth };
		expect(fromRrule(toRrule(r))).toEqual(r);
	});

	test('the rules are plain RFC 5545', () => {
		expect(toRrule({ pattern: 'mensuel', weekday: 'TU', nth: 1 })).toBe('FREQ=MONTHLY;BYDAY=1TU');
		expect(toRrule({ pattern: 'mensuel', weekday: 'TH', nth: -1 })).toBe('FREQ=MONTHLY;BYDAY=-1TH');
		expect(toRrule({ pattern: 'hebdomadaire', weekday: 'FR', nth: 1 })).toBe('FREQ=WEEKLY;BYDAY=FR');
		expect(toRrule({ pattern: 'bimensuel', weekday: 'MO', nth: 1 })).toBe('FREQ=WEEKLY;INTERVAL=2;BYDAY=MO');
		// The week of the month means nothing for a weekly rule.
		expect(toRrule({ pattern: 'hebdomadaire', weekday: 'WE', nth: 3 })).toBe('FREQ=WEEKLY;BYDAY=WE');
	});

	test.each([
		'',
		'FREQ=DAILY',
		'FREQ=MONTHLY;BYDAY=5TU',
		'FREQ=MONTHLY;BYDAY=0TU',
		'FREQ=MONTHLY;BYDAY=-2TU',
		'FREQ=MONTHLY;BYDAY=1SU',
		'FREQ=MONTHLY;BYDAY=TU',
		'FREQ=WEEKLY;INTERVAL=3;BYDAY=MO',
		'FREQ=WEEKLY;BYDAY=MO,TU',
		'FREQ=WEEKLY;BYDAY=MO;COUNT=3',
		'freq=weekly;byday=mo',
		' FREQ=WEEKLY;BYDAY=MO',
		'FREQ=MONTHLY;BYDAY=1TU\nFREQ=DAILY'
	])('%j is refused rather than guessed', (rule) => {
		expect(fromRrule(rule)).toBeNull();
	});
});

describe('describeRecurrence', () => {
	test.each([
		['FREQ=MONTHLY;BYDAY=1TU', '12:30', '14:00', '1er mardi du mois, 12h30–14h00'],
		['FREQ=MONTHLY;BYDAY=-1TH', '12:30', '14:00', 'dernier jeudi du mois, 12h30–14h00'],
		['FREQ=MONTHLY;BYDAY=2WE', '13:00', '14:30', '2e mercredi du mois, 13h00–14h30'],
		['FREQ=MONTHLY;BYDAY=3FR', '12:00', '13:00', '3e vendredi du mois, 12h00–13h00'],
		['FREQ=MONTHLY;BYDAY=4SA', '09:00', '10:30', '4e samedi du mois, 9h00–10h30'],
		['FREQ=WEEKLY;INTERVAL=2;BYDAY=MO', '12:00', '13:30', 'Un lundi sur deux, 12h00–13h30'],
		['FREQ=WEEKLY;BYDAY=FR', '08:15', '09:00', 'Chaque vendredi, 8h15–9h00']
	])('%s %s–%s → %s', (rule, start, end, label) => {
		expect(describeRecurrence(rule, start, end)).toBe(label);
	});

	test('times as PostgreSQL returns them (with seconds) read the same', () => {
		expect(describeRecurrence('FREQ=MONTHLY;BYDAY=1TU', '12:30:00', '14:00:00')).toBe('1er mardi du mois, 12h30–14h00');
		expect(frenchTime('07:05:00')).toBe('7h05');
	});

	test('an unknown rule shows the slot only', () => {
		expect(describeRecurrence('FREQ=DAILY', '12:30', '14:00')).toBe('12h30–14h00');
	});
});

describe('parisInstant and parisWallClock', () => {
	test.each([
		// Winter: UTC+1.
		['2026-01-15', '12:30', '2026-01-15T11:30:00.000Z'],
		['2026-12-01', '12:30', '2026-12-01T11:30:00.000Z'],
		// Summer: UTC+2.
		['2026-07-07', '12:30', '2026-07-07T10:30:00.000Z'],
		// Sunday 29 March 2026: clocks go forward at 02:00 (→ 03:00).
		['2026-03-28', '12:00', '2026-03-28T11:00:00.000Z'],
		['2026-03-29', '01:30', '2026-03-29T00:30:00.000Z'],
		['2026-03-29', '03:30', '2026-03-29T01:30:00.000Z'],
		['2026-03-29', '12:00', '2026-03-29T10:00:00.000Z'],
		// Sunday 25 October 2026: clocks go back at 03:00 (→ 02:00).
		['2026-10-24', '12:00', '2026-10-24T10:00:00.000Z'],
		['2026-10-25', '00:30', '2026-10-24T22:30:00.000Z'],
		['2026-10-25', '03:30', '2026-10-25T02:30:00.000Z'],
		['2026-10-25', '12:00', '2026-10-25T11:00:00.000Z'],
		// Midnight and the last minute of the year.
		['2026-06-01', '00:00', '2026-05-31T22:00:00.000Z'],
		['2026-12-31', '23:59', '2026-12-31T22:59:00.000Z']
	])('%s %s in Paris is %s', (date, time, instant) => {
		const at = parisInstant(date, time);
		expect(iso(at)).toBe(instant);
		expect(parisWallClock(at)).toEqual({ date, time });
	});

	test('seconds in the time are ignored', () => {
		expect(iso(parisInstant('2026-07-07', '12:30:00'))).toBe('2026-07-07T10:30:00.000Z');
	});

	test('the wall clock jumps from 01:59 to 03:00 on 29 March', () => {
		expect(parisWallClock(new Date('2026-03-29T00:59:00Z'))).toEqual({ date: '2026-03-29', time: '01:59' });
		expect(parisWallClock(new Date('2026-03-29T01:00:00Z'))).toEqual({ date: '2026-03-29', time: '03:00' });
	});
});

describe('occurrences', () => {
	const firstTuesday: SeriesRule = { rrule: 'FREQ=MONTHLY;BYDAY=1TU', starts_on: '2026-01-01', until_on: null, start_time: '12:30:00', end_time: '14:00:00' };
	const dates = (list: { startsAt: Date }[]) => list.map((o) => parisWallClock(o.startsAt).date);

	test('"1er mardi du mois" over 2026: twelve Tuesdays, always 12:30–14:00 in Paris across both DST changes', () => {
		const list = occurrences(firstTuesday, '2026-01-01', '2026-12-31');
		expect(dates(list)).toEqual([
			'2026-01-06',
			'2026-02-03',
			'2026-03-03',
			'2026-04-07',
			'2026-05-05',
			'2026-06-02',
			'2026-07-07',
			'2026-08-04',
			'2026-09-01',
			'2026-10-06',
			'2026-11-03',
			'2026-12-01'
		]);
		for (const o of list) {
			expect(parisWallClock(o.startsAt).time).toBe('12:30');
			expect(parisWallClock(o.endsAt).time).toBe('14:00');
			expect(o.endsAt.getTime() - o.startsAt.getTime()).toBe(90 * 60_000);
		}
		// UTC shifts with the season, the Paris time does not.
		expect(iso(list[2].startsAt)).toBe('2026-03-03T11:30:00.000Z');
		expect(iso(list[3].startsAt)).toBe('2026-04-07T10:30:00.000Z');
		expect(iso(list[9].startsAt)).toBe('2026-10-06T10:30:00.000Z');
		expect(iso(list[10].startsAt)).toBe('2026-11-03T11:30:00.000Z');
	});

	test('the window bounds are inclusive and can start after the series', () => {
		expect(dates(occurrences(firstTuesday, '2026-06-03', '2026-09-30'))).toEqual(['2026-07-07', '2026-08-04', '2026-09-01']);
		expect(dates(occurrences(firstTuesday, '2026-06-02', '2026-09-01'))).toEqual(['2026-06-02', '2026-07-07', '2026-08-04', '2026-09-01']);
		expect(occurrences(firstTuesday, '2026-06-03', '2026-07-06')).toEqual([]);
	});

	test('nothing before the series starts', () => {
		const series = { ...firstTuesday, starts_on: '2026-03-04' };
		expect(dates(occurrences(series, '2026-01-01', '2026-05-31'))).toEqual(['2026-04-07', '2026-05-05']);
		expect(occurrences(series, '2025-01-01', '2026-03-03')).toEqual([]);
	});

	test('until_on ends the series, inclusively', () => {
		expect(dates(occurrences({ ...firstTuesday, until_on: '2026-05-05' }, '2026-01-01', '2026-12-31'))).toEqual(['2026-01-06', '2026-02-03', '2026-03-03', '2026-04-07', '2026-05-05']);
		expect(dates(occurrences({ ...firstTuesday, until_on: '2026-05-04' }, '2026-01-01', '2026-12-31'))).toHaveLength(4);
		// A series that ended before the window has nothing in it.
		expect(occurrences({ ...firstTuesday, until_on: '2026-05-04' }, '2026-06-01', '2026-12-31')).toEqual([]);
	});

	test('"dernier jeudi du mois"', () => {
		const series = { ...firstTuesday, rrule: 'FREQ=MONTHLY;BYDAY=-1TH' };
		expect(dates(occurrences(series, '2026-01-01', '2026-06-30'))).toEqual(['2026-01-29', '2026-02-26', '2026-03-26', '2026-04-30', '2026-05-28', '2026-06-25']);
	});

	test('"Un lundi sur deux" keeps the rhythm of its start date, whatever the window', () => {
		const series: SeriesRule = { rrule: 'FREQ=WEEKLY;INTERVAL=2;BYDAY=MO', starts_on: '2026-03-02', until_on: null, start_time: '12:00', end_time: '13:30' };
		expect(dates(occurrences(series, '2026-03-01', '2026-04-30'))).toEqual(['2026-03-02', '2026-03-16', '2026-03-30', '2026-04-13', '2026-04-27']);
		// A window opening on an "off" Monday does not shift the series onto it.
		expect(dates(occurrences(series, '2026-03-20', '2026-04-30'))).toEqual(['2026-03-30', '2026-04-13', '2026-04-27']);
		// 30 March is the first Monday of summer time.
		const [before, after] = occurrences(series, '2026-03-16', '2026-03-30');
		expect(iso(before.startsAt)).toBe('2026-03-16T11:00:00.000Z');
		expect(iso(after.startsAt)).toBe('2026-03-30T10:00:00.000Z');
	});

	test('weekly, and at most `max` occurrences', () => {
		const series: SeriesRule = { rrule: 'FREQ=WEEKLY;BYDAY=FR', starts_on: '2026-01-01', until_on: null, start_time: '08:00', end_time: '09:00' };
		expect(dates(occurrences(series, '2026-01-01', '2026-01-31'))).toEqual(['2026-01-02', '2026-01-09', '2026-01-16', '2026-01-23', '2026-01-30']);
		expect(occurrences(series, '2026-01-01', '2026-12-31', 3)).toHaveLength(3);
		expect(occurrences(series, '2026-01-01', '2026-12-31')).toHaveLength(24);
	});
});

describe('findClashes', () => {
	const at = (date: string, from: string, to: string) => ({ startsAt: parisInstant(date, from), endsAt: parisInstant(date, to) });
	const ids = (list: { id: string }[] | undefined) => (list ?? []).map((s) => s.id).sort();

	test('two RCPs of different microstructures on the same Monday noon clash, both ways', () => {
		const tanneurs = { id: 'tanneurs-rcp', ms: 'Cabinet des Tanneurs', ...at('2026-03-02', '12:00', '13:30') };
		const neuhof = { id: 'neuhof-rcp', ms: 'MSP du Neuhof', ...at('2026-03-02', '12:30', '14:00') };
		const clashes = findClashes([tanneurs, neuhof]);
		expect(clashes.size).toBe(2);
		// The caller's own objects come back (with their extra fields).
		expect(clashes.get('tanneurs-rcp')).toEqual([neuhof]);
		expect(clashes.get('neuhof-rcp')).toEqual([tanneurs]);
	});

	test('back-to-back sessions do not clash; the same slot on another day does not either', () => {
		const clashes = findClashes([
			{ id: 'a', ...at('2026-03-02', '12:00', '13:00') },
			{ id: 'b', ...at('2026-03-02', '13:00', '14:00') },
			{ id: 'c', ...at('2026-03-09', '12:00', '13:00') }
		]);
		expect(clashes.size).toBe(0);
	});

	test('one minute of overlap is a clash', () => {
		const clashes = findClashes([
			{ id: 'a', ...at('2026-03-02', '12:00', '13:01') },
			{ id: 'b', ...at('2026-03-02', '13:00', '14:00') }
		]);
		expect(ids(clashes.get('a'))).toEqual(['b']);
	});

	test('three overlapping sessions, in any input order; a session inside another clashes with it', () => {
		const a = { id: 'a', ...at('2026-03-02', '12:00', '14:00') };
		const b = { id: 'b', ...at('2026-03-02', '12:30', '13:30') };
		const c = { id: 'c', ...at('2026-03-02', '13:00', '15:00') };
		const alone = { id: 'alone', ...at('2026-03-02', '15:00', '16:00') };
		for (const order of [[a, b, c, alone], [alone, c, b, a], [b, alone, a, c]]) {
			const clashes = findClashes(order);
			expect(ids(clashes.get('a'))).toEqual(['b', 'c']);
			expect(ids(clashes.get('b'))).toEqual(['a', 'c']);
			expect(ids(clashes.get('c'))).toEqual(['a', 'b']);
			expect(clashes.has('alone')).toBe(false);
		}
	});

	test('a long session clashes with later ones even when a short one lies between', () => {
		const clashes = findClashes([
			{ id: 'long', ...at('2026-03-02', '09:00', '17:00') },
			{ id: 'short', ...at('2026-03-02', '09:30', '10:00') },
			{ id: 'late', ...at('2026-03-02', '16:00', '16:30') }
		]);
		expect(ids(clashes.get('long'))).toEqual(['late', 'short']);
		expect(ids(clashes.get('short'))).toEqual(['long']);
		expect(ids(clashes.get('late'))).toEqual(['long']);
	});

	test('no sessions, no clashes', () => {
		expect(findClashes([]).size).toBe(0);
	});
});
