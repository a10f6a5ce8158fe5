// Maximal documents for the render tests and bench/render.ts, and a small reader of the PDFs pdfkit
// writes (page count, and the text of the content streams).
import { inflateSync } from 'node:zlib';
import { LIMITS, type PpsProjection } from '../../src/lib/pps/model.ts';
import { MINUTES_LIMITS } from '../../src/lib/server/rcp/report-pdf.ts';
import type { Report } from '../../src/lib/server/rcp/report.ts';

const WORDS = 'Suivi régulier avec le médecin traitant, point sur le logement et les droits ; rendez-vous à la CPAM. ';

/**
 * `n` characters starting with `tag`: prose for even `i`, one unbroken run for odd `i` (the worst
 * case of pdfkit's line wrapping, which used to cost the square of the word's length).
 */
export function filler(n: number, tag: string, i = 0): string {
	const body = i % 2 === 0 ? WORDS.repeat(Math.ceil(n / WORDS.length)) : 'x'.repeat(n);
	return `${tag} ${body}`.slice(0, n);
}

const uuid = (prefix: string, i: number) => `${prefix}${String(i).padStart(3, '0')}`;

/** Every list at `items` items whose every text is `field` characters long (a frequency: the model's short limit), prose at `prose`. */
export function maximalProjection({ items = LIMITS.items, field = LIMITS.field, prose = LIMITS.prose, owner = 'owner-1' } = {}): PpsProjection {
	const list = <T>(make: (i: number) => T) => Array.from({ length: items }, (_, i) => make(i));
	return {
		goals: filler(prose, 'goals-start', 0),
		crisis: filler(prose, 'crisis-start', 1),
		reviewDate: '2027-06-30',
		coordinator: owner,
		evaluation: filler(field, 'evaluation-start', 1),
		problems: list((i) => ({ id: uuid('problem-', i), domain: 'logement', text: filler(field, `problem-${i}`, i) })),
		objectives: list((i) => ({ id: uuid('objective-', i), domain: 'droits', text: filler(field, `objective-${i}`, i) })),
		actions: list((i) => ({ id: uuid('action-', i), what: filler(field, `action-${i}`, i), owner, due: '2027-03-01', status: 'en_cours' })),
		entretiens: list((i) => ({ id: uuid('entretien-', i), professional: owner, frequency: filler(Math.min(field, LIMITS.short), `entretien-${i}`, i) }))
	};
}

/** Closed-RCP minutes at the PDF's limits: every case with its notes, actions and details in full. */
export function maximalReport({ cases = MINUTES_LIMITS.items, notes = MINUTES_LIMITS.notes } = {}): Report {
	return {
		title: 'RCP maximale',
		microstructure: 'MS de test',
		when: 'mardi 2 mars 2027, 12:30 – 14:00',
		closedAt: new Date('2027-03-02T13:00:00Z'),
		durationMinutes: 90,
		state: {
			id: 'session-1',
			status: 'cloturee',
			animatorId: null,
			pointer: { itemId: null, since: null },
			startedAt: null,
			serverNow: new Date().toISOString(),
			participants: Array.from({ length: 30 }, (_, i) => ({
				userId: `user-${i}`,
				name: `Participant ${i}`,
				profession: i % 2 ? 'psychologue' : 'medecin_generaliste',
				kind: 'membre' as const,
				itemIds: [],
				rsvp: null,
				attendance: 'present' as const,
				manual: false,
				presentSeconds: 600,
				atDecision: false
			})),
			items: Array.from({ length: cases }, (_, i) => ({
				id: `item-${i}`,
				kind: 'cas' as const,
				title: `case-${i} Patient ${i}`,
				patientId: null,
				patientCode: null,
				reasons: [],
				discussedSeconds: 600,
				decision: 'poursuite' as const,
				decisionDetails: { detail: filler(500, `detail-${i}`, i) },
				decidedBy: null,
				ppsVersion: 2,
				minutesNotes: filler(notes, `notes-${i}`, i),
				actions: Array.from({ length: 10 }, (_, k) => ({ what: filler(300, `action-${i}-${k}`, k), ownerId: 'user-1', owner: 'Participant 1', dueOn: '2027-04-01' })),
				prepNotes: [], consultations: []
			}))
		}
	};
}

/** Pages of a PDF written by pdfkit. */
export function pdfPages(pdf: Uint8Array): number {
	return (Buffer.from(pdf).toString('latin1').match(/\/Type \/Page\b/g) ?? []).length;
}

/**
 * The text of a pdfkit PDF's content streams (standard fonts: hex strings in WinAnsi, read here as
 * Latin-1, so "é" reads right and "…" does not), in drawing order, its lines joined: a text wrapped
 * over two lines reads as one.
 */
export function pdfText(pdf: Uint8Array): string {
	const raw = Buffer.from(pdf).toString('latin1');
	const lines: string[] = [];
	for (const m of raw.matchAll(/stream\r?\n([\s\S]*?)\r?\nendstream/g)) {
		let content: string;
		try {
			content = inflateSync(Buffer.from(m[1], 'latin1')).toString('latin1');
		} catch {
			continue;
		}
		for (const tj of content.matchAll(/\[([^\]]*)\] TJ/g)) {
			lines.push([...tj[1].matchAll(/<([0-9a-fA-F]*)>/g)].map((h) => Buffer.from(h[1], 'hex').toString('latin1')).join(''));
		}
	}
	return lines.join('');
}
