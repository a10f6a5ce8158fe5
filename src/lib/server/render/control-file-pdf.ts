// The per-patient control file as a PDF (see cockpit/control-file.ts for what it holds). Runs in a
// render worker: plain relative imports only; at most CONTROL_LIMITS lines a section, the rest
// counted in a note, so a long follow-up still prints in bounded time.
import PDFDocument from 'pdfkit';
import type { WithCockpit as Messages } from '../../i18n/cockpit.ts';
import { fill, formatDate, type Locale } from '../../i18n/index.ts';
import type { ControlFile } from '../cockpit/control-file.ts';
import { clip } from './pdf-text.ts';
import { collect, heading, INK, MUTED, paragraph, table } from './pdf-layout.ts';

export const CONTROL_LIMITS = { lines: 500 };

export function controlFilePdf(file: ControlFile, t: Messages, locale: Locale): Promise<Buffer> {
	const c = t.reports.control;
	const day = (d: string) => formatDate(d, locale);
	const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: `${c.title} — ${clip(file.patient.code, 60, '')}` } });
	const done = collect(doc);
	const bounded = <T>(rows: T[]) => rows.slice(0, CONTROL_LIMITS.lines);
	const more = (rows: unknown[]) => {
		if (rows.length > CONTROL_LIMITS.lines) paragraph(doc, fill(t.render.moreItems, { n: rows.length - CONTROL_LIMITS.lines }), MUTED);
	};

	doc.font('Helvetica-Bold').fontSize(18).fillColor(INK).text(c.title);
	doc.moveDown(0.3);
	paragraph(doc, `${c.patient}\u00a0: ${clip(file.patient.label, 200, t.render.truncated)} (${clip(file.patient.code, 60, '')})`);
	paragraph(doc, `${c.microstructure}\u00a0: ${clip(file.patient.microstructure, 200, t.render.truncated)} — ${c.programme}\u00a0: ${t.programmes[file.patient.programme]}`);
	paragraph(doc, fill(c.generatedOn, { date: day(file.generatedOn) }), MUTED);

	heading(doc, c.inclusions);
	if (file.inclusions.length === 0) paragraph(doc, c.noInclusion, MUTED);
	else table(doc, [{ header: c.kind, share: 0.5 }, { header: c.date, share: 0.5 }], file.inclusions.map((i) => [c.inclusionKinds[i.kind], day(i.on)]), t.render.truncated);

	heading(doc, c.consultations);
	if (file.consultations.length === 0) paragraph(doc, c.noConsultation, MUTED);
	else {
		const rows = file.consultations.map((l) => [
			`${l.name}\n${t.professions[l.profession]}`,
			String(l.held.length),
			l.held.map(day).join(', ') || '—',
			String(l.absent.length),
			String(l.excused.length)
		]);
		table(
			doc,
			[
				{ header: c.professional, share: 0.24 },
				{ header: c.held, share: 0.1, align: 'right' },
				{ header: c.heldDates, share: 0.42 },
				{ header: c.absent, share: 0.12, align: 'right' },
				{ header: c.excused, share: 0.12, align: 'right' }
			],
			[...bounded(rows), [c.total, String(file.totals.held), '', String(file.totals.absent), String(file.totals.excused)]],
			t.render.truncated
		);
		more(rows);
	}

	heading(doc, `${c.rcp} (${file.rcp.length})`);
	if (file.rcp.length === 0) paragraph(doc, c.noRcp, MUTED);
	else {
		table(doc, [{ header: c.date, share: 0.4 }, { header: c.decision, share: 0.6 }], bounded(file.rcp).map((p) => [day(p.on), t.rcp.decisions[p.decision]]), t.render.truncated);
		more(file.rcp);
	}

	heading(doc, c.renewals);
	if (file.renewals.length === 0) paragraph(doc, c.noRenewal, MUTED);
	else paragraph(doc, bounded(file.renewals).map(day).join(', '));
	paragraph(doc, file.renewalDueOn ? fill(c.nextDue, { date: day(file.renewalDueOn) }) : c.noNextDue);

	heading(doc, c.exit);
	if (file.exits.length === 0) paragraph(doc, c.noExit, MUTED);
	else
		table(
			doc,
			[{ header: c.date, share: 0.4 }, { header: c.reason, share: 0.6 }],
			file.exits.map((e) => [day(e.on), e.reason === null ? '—' : e.reason === 'transfert' ? c.transfer : e.reason === 'autre' ? c.otherReason : t.patients.exitReasons[e.reason]]),
			t.render.truncated
		);

	doc.moveDown(1);
	paragraph(doc, c.nirNote, MUTED);
	doc.end();
	return done;
}
