// The compte-rendu of a closed RCP, written by the tool from what happened in the session:
// attendance, duration, and per case the decision, actions, validated PPS version and notes.
import PDFDocument from 'pdfkit';
import type { Db } from '../db/index.ts';
import type { RcpSession } from '../db/schema.ts';
import type { Messages } from '../../i18n/fr.ts';
import { fill, formatDate, formatDateTime, type Locale } from '../../i18n/index.ts';
import { liveState, stateForGuest, type LiveState } from './live.ts';
import { sessionWhen } from '../../rcp/format.ts';

export interface Report {
	title: string;
	microstructure: string;
	when: string;
	closedAt: Date | null;
	durationMinutes: number | null;
	state: LiveState;
}

export async function compteRendu(db: Db, session: RcpSession, microstructure: string, locale: Locale, guestItems: string[] | null): Promise<Report> {
	const full = (await liveState(db, session.id))!;
	const state = guestItems === null ? full : stateForGuest(full, guestItems);
	const duration = session.started_at && session.closed_at ? Math.round((session.closed_at.getTime() - session.started_at.getTime()) / 60000) : null;
	return { title: session.title, microstructure, when: sessionWhen(session.starts_at, session.ends_at, locale), closedAt: session.closed_at, durationMinutes: duration, state };
}

/** The same minutes as a PDF, for the microstructure's records. */
export function compteRenduPdf(report: Report, t: Messages, locale: Locale): Promise<Buffer> {
	const r = t.rcp;
	const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: `${r.report.title} — ${report.title}` } });
	const chunks: Buffer[] = [];
	doc.on('data', (c: Buffer) => chunks.push(c));
	const done = new Promise<Buffer>((resolve) => doc.on('end', () => resolve(Buffer.concat(chunks))));
	const h = (text: string) => doc.moveDown(0.8).font('Helvetica-Bold').fontSize(13).fillColor('#1d4e89').text(text).moveDown(0.3).font('Helvetica').fontSize(11).fillColor('#1c2430');

	doc.font('Helvetica-Bold').fontSize(18).fillColor('#1c2430').text(r.report.title);
	doc.font('Helvetica').fontSize(11).fillColor('#4f5b6b').text(`${report.title} — ${report.microstructure}`).text(report.when);
	if (report.closedAt) doc.text(fill(r.report.closedBy, { date: formatDateTime(report.closedAt, locale) }));
	if (report.durationMinutes !== null) doc.text(fill(r.report.duration, { minutes: report.durationMinutes }));
	h(r.report.attendance);
	for (const p of report.state.participants) {
		doc.text(`• ${p.name} (${t.professions[p.profession as keyof Messages['professions']] ?? p.profession}) — ${p.attendance ? r.live.attendanceValues[p.attendance] : '—'}`, { indent: 10 });
	}
	const cases = report.state.items.filter((i) => i.kind === 'cas');
	h(r.report.cases);
	if (cases.length === 0) doc.text('—');
	for (const item of cases) {
		doc.moveDown(0.4).font('Helvetica-Bold').text(item.title).font('Helvetica');
		doc.text(item.decision ? `${r.live.decision} : ${r.decisions[item.decision]}${item.decisionDetails.detail ? ` — ${item.decisionDetails.detail}` : ''}` : r.report.noDecision);
		for (const a of item.actions) doc.text(`→ ${fill(r.report.actionLine, { what: a.what, owner: a.owner, due: a.dueOn ? fill(r.report.due, { date: formatDate(a.dueOn, locale) }) : '' })}`, { indent: 10 });
		if (item.ppsVersion) doc.text(fill(r.report.ppsVersion, { n: item.ppsVersion }));
		if (item.minutesNotes) doc.fillColor('#4f5b6b').text(`${r.report.notes} : ${item.minutesNotes}`).fillColor('#1c2430');
	}
	const organisation = report.state.items.filter((i) => i.kind !== 'cas');
	if (organisation.length) {
		h(r.report.organisation);
		for (const item of organisation) {
			doc.font('Helvetica-Bold').text(item.title).font('Helvetica');
			doc.text(item.minutesNotes || '—');
		}
	}
	doc.end();
	return done;
}
