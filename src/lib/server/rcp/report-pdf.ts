// The compte-rendu of a closed RCP as a PDF, for the microstructure's records (see report.ts for
// what it holds). Runs in a render worker (src/lib/server/render): plain relative imports only, and
// bounded like the PPS PDF: every text clipped, at most MINUTES_LIMITS lines of each kind.
import PDFDocument from 'pdfkit';
import type { Messages } from '../../i18n/fr.ts';
import { fill, formatDate, type Locale } from '../../i18n/index.ts';
import { sessionTime } from '../../rcp/format.ts';
import { LIMITS } from '../../pps/model.ts';
import { clip, contentWidth, wrapLongWords } from '../render/pdf-text.ts';
import type { Report } from './report.ts';

/**
 * A real RCP has a handful of cases; these only bound what one PDF may cost. Case notes are limited
 * to 20,000 characters like the PPS prose; decisions take at most 10 actions.
 */
export const MINUTES_LIMITS = { items: 50, participants: 100, actions: 20, notes: LIMITS.prose, field: LIMITS.field };

export function compteRenduPdf(report: Report, t: Messages, locale: Locale): Promise<Buffer> {
	const r = t.rcp;
	const field = (v: unknown) => clip(v, MINUTES_LIMITS.field, t.render.truncated);
	const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: `${r.report.title} — ${field(report.title)}` } });
	const chunks: Buffer[] = [];
	doc.on('data', (c: Buffer) => chunks.push(c));
	const done = new Promise<Buffer>((resolve, reject) => {
		doc.on('end', () => resolve(Buffer.concat(chunks)));
		doc.on('error', reject);
	});
	const width = contentWidth(doc);
	const write = (text: string, indent = 0) => doc.text(wrapLongWords(doc, text, width - indent), indent ? { indent } : {});
	const more = (all: unknown[], max: number, indent = 0) => {
		if (all.length > max) write(fill(t.render.moreItems, { n: all.length - max }), indent);
	};
	const h = (text: string) => doc.moveDown(0.8).font('Helvetica-Bold').fontSize(13).fillColor('#1d4e89').text(text).moveDown(0.3).font('Helvetica').fontSize(11).fillColor('#1c2430');

	doc.font('Helvetica-Bold').fontSize(18).fillColor('#1c2430').text(r.report.title);
	doc.font('Helvetica').fontSize(11).fillColor('#4f5b6b');
	write(`${field(report.title)} — ${field(report.microstructure)}`);
	write(field(report.when));
	if (report.closedAt) write(fill(r.report.closedBy, { time: sessionTime(report.closedAt, locale) }));
	if (report.durationMinutes !== null) write(fill(r.report.duration, { minutes: report.durationMinutes }));
	h(r.report.attendance);
	const participants = report.state.participants;
	for (const p of participants.slice(0, MINUTES_LIMITS.participants)) {
		const profession = Object.hasOwn(t.professions, p.profession) ? t.professions[p.profession as keyof Messages['professions']] : field(p.profession);
		write(`• ${field(p.name)} (${profession}) — ${p.attendance ? r.live.attendanceValues[p.attendance] : '—'}`, 10);
	}
	more(participants, MINUTES_LIMITS.participants, 10);
	const cases = report.state.items.filter((i) => i.kind === 'cas');
	h(r.report.cases);
	if (cases.length === 0) write('—');
	for (const item of cases.slice(0, MINUTES_LIMITS.items)) {
		doc.moveDown(0.4).font('Helvetica-Bold');
		write(field(item.title));
		doc.font('Helvetica');
		const detail = typeof item.decisionDetails.detail === 'string' && item.decisionDetails.detail ? ` — ${field(item.decisionDetails.detail)}` : '';
		write(item.decision ? `${r.live.decision} : ${r.decisions[item.decision]}${detail}` : r.report.noDecision);
		for (const a of item.actions.slice(0, MINUTES_LIMITS.actions)) {
			write(`→ ${fill(r.report.actionLine, { what: field(a.what), owner: field(a.owner), due: a.dueOn ? fill(r.report.due, { date: formatDate(a.dueOn, locale) }) : '' })}`, 10);
		}
		more(item.actions, MINUTES_LIMITS.actions, 10);
		if (item.ppsVersion) write(fill(r.report.ppsVersion, { n: item.ppsVersion }));
		if (item.minutesNotes) {
			doc.fillColor('#4f5b6b');
			write(`${r.report.notes} : ${clip(item.minutesNotes, MINUTES_LIMITS.notes, t.render.truncated)}`);
			doc.fillColor('#1c2430');
		}
	}
	more(cases, MINUTES_LIMITS.items);
	const organisation = report.state.items.filter((i) => i.kind !== 'cas');
	if (organisation.length) {
		h(r.report.organisation);
		for (const item of organisation.slice(0, MINUTES_LIMITS.items)) {
			doc.font('Helvetica-Bold');
			write(field(item.title));
			doc.font('Helvetica');
			write(clip(item.minutesNotes, MINUTES_LIMITS.notes, t.render.truncated) || '—');
		}
		more(organisation, MINUTES_LIMITS.items);
	}
	doc.end();
	return done;
}
