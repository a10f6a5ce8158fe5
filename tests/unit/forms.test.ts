// The edge of every form and socket payload: unclean text, impossible dates, times, enumerations.
import { describe, expect, test } from 'vitest';
import fc from 'fast-check';
import { z } from 'zod';
import { choice, choices, date, optionalDate, optionalText, parseForm, text, time } from '../../src/lib/server/forms.ts';
import { cleanFileName, hasUncleanText, isCleanText } from '../../src/lib/server/input.ts';
import { seriesSchema, sessionSchema } from '../../src/lib/server/rcp/forms.ts';
import { decisionInput } from '../../src/lib/server/rcp/decisions.ts';
import { addDays, parisToday } from '../../src/lib/server/patients/lifecycle.ts';

function form(entries: [string, string][]): FormData {
	const f = new FormData();
	for (const [k, v] of entries) f.append(k, v);
	return f;
}

type Failure = { ok: false; failure: { status: number; data: { errors: Record<string, string>; values: Record<string, string>; message?: string } } };
const failed = (r: ReturnType<typeof parseForm>) => (r as unknown as Failure).failure;

// Lone surrogates cannot reach a form: FormData (and the body parser) turn them into U+FFFD. They
// do reach socket.io payloads (JSON "\ud800"), where the same helpers refuse them (below).
const UNCLEAN = ['\0', 'a\u0000b', '\u0001', '\u001b[31m', '\u007f', '\u0085', '\u009f', '\u000b', '\u000c'];
const LONE = ['\ud800', 'x\udfffy', '\udbff'];

describe('unclean text', () => {
	test.each(UNCLEAN)('%j is refused by every text helper with a French field error', (bad) => {
		const schema = z.object({ name: text(100), note: optionalText(100) });
		for (const [field, other] of [
			['name', 'note'],
			['note', 'name']
		]) {
			const r = parseForm(schema, form([[field, `Dupont${bad}`], [other, 'ok']]), 'fr');
			expect(r.ok).toBe(false);
			expect(failed(r).status).toBe(400);
			expect(failed(r).data.errors[field]).toBe('Ce champ contient des caractères non autorisés (caractères de contrôle ou mal encodés).');
		}
	});

	test('tab, newline and carriage return are text', () => {
		const r = parseForm(z.object({ note: optionalText(100) }), form([['note', 'une\tligne\r\ndeux']]), 'fr');
		expect(r).toEqual({ ok: true, data: { note: 'une\tligne\r\ndeux' } });
	});

	test.each(LONE)('%j (a lone surrogate) is refused by the text schemas themselves', (bad) => {
		for (const schema of [text(100), optionalText(100)]) expect(schema.safeParse(`Dupont${bad}`).success).toBe(false);
		expect(new FormData().get('x')).toBeNull();
		const f = new FormData();
		f.append('x', bad);
		expect(isCleanText(f.get('x') as string)).toBe(true);
	});

	test('any schema field, even one that does not use the helpers, is checked', () => {
		const r = parseForm(z.object({ code: z.string().max(10), ids: z.array(z.string()) }), form([['code', 'a\0'], ['ids', 'b'], ['ids', '\u0002']]), 'fr');
		expect(Object.keys(failed(r).data.errors).sort()).toEqual(['code', 'ids']);
	});

	test('echoed values are bounded and never carry unclean text back', () => {
		const r = parseForm(z.object({ name: text(5) }), form([['name', 'trop long'], ['other', 'a\0b'], ['x', '\u009b']]), 'en');
		expect(failed(r).data.values).toEqual({ name: 'trop long', other: '', x: '' });
		expect(failed(r).data.errors.name).toBe('Text is too long.');
	});

	test('text is normalised to NFC before its length is counted', () => {
		const decomposed = 'Ele\u0301onore';
		const r = parseForm(z.object({ name: text(8) }), form([['name', ` ${decomposed} `]]), 'fr');
		expect(r).toEqual({ ok: true, data: { name: 'El\u00e9onore' } });
		expect((r as { data: { name: string } }).data.name).toBe('Ele\u0301onore'.normalize('NFC'));
	});

	test('property: a parsed text is clean, NFC and within its limit; an unclean one is refused', () => {
		const schema = z.object({ t: text(50) });
		fc.assert(
			fc.property(fc.string({ unit: 'binary', maxLength: 80 }), (s) => {
				const r = parseForm(schema, form([['t', s]]), 'fr');
				if (!isCleanText(s)) return !r.ok && failed(r).data.errors.t !== undefined;
				if (r.ok) return isCleanText(r.data.t) && r.data.t === r.data.t.normalize('NFC') && r.data.t.length <= 50 && r.data.t.length >= 1;
				return failed(r).status === 400;
			}),
			{ numRuns: 1000 }
		);
	});

	test('nested payloads (socket.io) are searched, keys included', () => {
		expect(hasUncleanText({ a: [{ b: 'ok' }, { c: 'x\0' }] })).toBe(true);
		expect(hasUncleanText({ ['k\ud800']: 1 })).toBe(true);
		expect(hasUncleanText({ a: [1, null, true, { b: 'é\n' }] })).toBe(false);
	});

	test('file names are made storable rather than refused', () => {
		expect(cleanFileName('scan\0\u0007 du\ud800 patient.pdf')).toBe('scan du\ufffd patient.pdf');
		expect(cleanFileName('😀'.repeat(300)).length).toBe(400);
		expect(isCleanText(cleanFileName('a'.repeat(199) + '😀'))).toBe(true);
	});
});

describe('dates and times', () => {
	const schema = z.object({ on: date() });
	test.each(['2027-02-30', '2027-13-45', '9999-99-99', '2026-02-29', '2027-1-01', '20270101', '', ' ', '0000-01-01', '2101-01-01', '1899-12-31', '2027-02-28T00:00'])('%j is refused', (value) => {
		const r = parseForm(schema, form([['on', value]]), 'fr');
		expect(r.ok).toBe(false);
		expect(failed(r).data.errors.on).toMatch(/^(Date invalide\.|Date hors des limites acceptées\.|Ce champ est obligatoire\.)$/);
	});

	test.each(['2028-02-29', '1900-01-01', '2100-12-31', ' 2027-03-02 '])('%j is a date', (value) => {
		expect(parseForm(schema, form([['on', value]]), 'fr')).toEqual({ ok: true, data: { on: value.trim() } });
	});

	test('property: only days that exist are accepted, exactly as typed', () => {
		fc.assert(
			fc.property(fc.integer({ min: 0, max: 10_999 }), fc.integer({ min: 0, max: 99 }), fc.integer({ min: 0, max: 99 }), (y, m, d) => {
				const value = `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
				const real = new Date(Date.UTC(y, m - 1, d));
				const exists = y >= 1900 && y <= 2100 && m >= 1 && m <= 12 && real.getUTCFullYear() === y && real.getUTCMonth() === m - 1 && real.getUTCDate() === d;
				const r = parseForm(schema, form([['on', value]]), 'fr');
				return r.ok === exists && (!r.ok || r.data.on === value);
			}),
			{ numRuns: 3000 }
		);
	});

	test('optional dates: empty is none, an impossible one is refused', () => {
		const s = z.object({ until: optionalDate() });
		expect(parseForm(s, form([['until', '']]), 'fr')).toEqual({ ok: true, data: { until: undefined } });
		expect(parseForm(s, form([]), 'fr')).toEqual({ ok: true, data: { until: undefined } });
		expect(failed(parseForm(s, form([['until', '2027-02-30']]), 'fr')).data.errors.until).toBe('Date invalide.');
	});

	test('times are HH:MM', () => {
		const s = z.object({ at: time() });
		for (const bad of ['24:00', '12:60', '7:30', '12h30', '', '12:30:00']) expect(parseForm(s, form([['at', bad]]), 'fr').ok).toBe(false);
		expect(parseForm(s, form([['at', '07:30']]), 'fr')).toEqual({ ok: true, data: { at: '07:30' } });
	});

	test('RCP planning refuses impossible and far-away days', () => {
		const slot: [string, string][] = [['title', 'RCP'], ['startTime', '12:30'], ['endTime', '14:00'], ['pattern', 'mensuel'], ['weekday', 'TU']];
		const ok = addDays(parisToday(), 30);
		for (const bad of ['2027-02-30', '2027-13-45', '9999-99-99', '9999-12-31', addDays(parisToday(), 6 * 366)]) {
			const series = parseForm(seriesSchema, form([...slot, ['startsOn', bad]]), 'fr');
			expect(failed(series).data.errors.startsOn, bad).toBeDefined();
			const session = parseForm(sessionSchema, form([...slot, ['date', bad]]), 'fr');
			expect(failed(session).data.errors.date, bad).toBeDefined();
			const until = parseForm(seriesSchema, form([...slot, ['startsOn', ok], ['untilOn', bad]]), 'fr');
			if (bad !== addDays(parisToday(), 6 * 366)) expect(failed(until).data.errors.untilOn, bad).toBeDefined();
		}
		expect(parseForm(seriesSchema, form([...slot, ['startsOn', ok]]), 'fr').ok).toBe(true);
		// A series already over would be created empty (a tester got "Série créée : 0 RCP planifiées").
		const past = parseForm(seriesSchema, form([...slot, ['startsOn', addDays(parisToday(), -200)], ['untilOn', addDays(parisToday(), -30)]]), 'fr');
		expect(failed(past).data.errors.untilOn).toMatch(/déjà passée/);
		expect(parseForm(seriesSchema, form([...slot, ['startsOn', addDays(parisToday(), -200)], ['untilOn', parisToday()]]), 'fr').ok).toBe(true);
	});
});

describe('enumerations', () => {
	test('prototype keys are not values of a list', () => {
		const s = z.object({ kind: choice(['a', 'b']), many: choices(['x', 'y']) });
		for (const bad of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
			expect(parseForm(s, form([['kind', bad], ['many', 'x']]), 'fr').ok).toBe(false);
			expect(parseForm(s, form([['kind', 'a'], ['many', bad]]), 'fr').ok).toBe(false);
		}
	});

	test('a checkbox value is taken at most once', () => {
		const s = z.object({ many: choices(['x', 'y']) });
		expect(failed(parseForm(s, form([['many', 'x'], ['many', 'x']]), 'fr')).data.errors.many).toBe('Choisissez une valeur dans la liste.');
		expect(parseForm(s, form([['many', 'y'], ['many', 'x']]), 'fr')).toEqual({ ok: true, data: { many: ['y', 'x'] } });
	});
});

describe('RCP decisions over socket.io', () => {
	const owner = '00000000-0000-4000-8000-000000000001';
	test.each(['\0', '\ud800', 'a\u0007'])('%j in a detail or an action is refused by the schema', (bad) => {
		expect(decisionInput.safeParse({ kind: 'reorientation', detail: `CSAPA${bad}` }).success).toBe(false);
		expect(decisionInput.safeParse({ kind: 'poursuite', actions: [{ what: `Appeler${bad}`, ownerId: owner }] }).success).toBe(false);
	});

	test('an action due on an impossible day is refused, a real one kept', () => {
		for (const dueOn of ['2027-02-30', '9999-99-99', '9999-12-31']) {
			expect(decisionInput.safeParse({ kind: 'poursuite', actions: [{ what: 'Appeler', ownerId: owner, dueOn }] }).success).toBe(false);
		}
		const ok = decisionInput.parse({ kind: 'poursuite', detail: 'Ele\u0301onore', actions: [{ what: 'Appeler', ownerId: owner, dueOn: '2028-02-29' }] });
		expect(ok.detail).toBe('El\u00e9onore');
	});
});

test('a file where text is expected is refused, even beside a text value', () => {
	const f = new FormData();
	f.append('question', new Blob(['x']), 'champ.txt');
	f.append('question', 'Pourquoi ?');
	const r = parseForm(z.object({ question: text(100) }), f, 'fr');
	expect(failed(r).data.errors.question).toBe('Valeur invalide.');
});
