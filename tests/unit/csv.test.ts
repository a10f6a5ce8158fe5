// The one CSV writer (src/lib/server/csv.ts): what a spreadsheet opening the file would run or split.
import { describe, expect, test } from 'vitest';
import { csvDocument, csvField } from '../../src/lib/server/csv.ts';

/** The cells of one line as a spreadsheet reads them (';' separator, '"' quoting). */
function cells(line: string): string[] {
	const out: string[] = [];
	let cell = '';
	let quoted = false;
	for (let i = 0; i < line.length; i++) {
		const ch = line[i];
		if (quoted) {
			if (ch === '"' && line[i + 1] === '"') (cell += '"'), i++;
			else if (ch === '"') quoted = false;
			else cell += ch;
		} else if (ch === '"' && cell === '') quoted = true;
		else if (ch === ';') out.push(cell), (cell = '');
		else cell += ch;
	}
	out.push(cell);
	return out;
}

const HOSTILE = 'Réseau X;=HYPERLINK("http://evil.example/?x","Ouvrir");';

describe('csv', () => {
	test('a field that a spreadsheet would run as a formula is defused, one with a separator or quote is quoted', () => {
		for (const f of ['=1+1', '+33 6', '-2', '@SUM(A1)', '\t=1']) expect(csvField(f).replace(/^"/, '')).toMatch(/^'/);
		expect(cells(csvField(HOSTILE))).toEqual([HOSTILE]);
		expect(csvField(null)).toBe('');
		expect(csvField(Number.NaN)).toBe('');
		expect(csvField(12.5)).toBe('12.5');
	});

	test('a comment line holding a typed name stays one cell starting with #, so nothing in it runs', () => {
		const doc = csvDocument([`Export — ${HOSTILE}`, 'ligne\r\nsur deux'], ['a', 'b'], [[HOSTILE, 1]]);
		expect(doc.startsWith('\ufeff')).toBe(true);
		const lines = doc.slice(1).split('\r\n');
		expect(lines.at(-1)).toBe('');
		for (const comment of lines.slice(0, 2)) {
			expect(cells(comment)).toHaveLength(1);
			expect(comment.startsWith('# ')).toBe(true);
		}
		expect(lines[0]).toContain('HYPERLINK');
		expect(lines[1]).toBe('# ligne sur deux');
		expect(cells(lines[2])).toEqual(['a', 'b']);
		expect(cells(lines[3])).toEqual([HOSTILE, '1']);
	});
});
