// The yearly activity report as a PDF a coordinator can send as is: a title page, the network's
// figures, then each microstructure's, with bar charts drawn as pdfkit vector shapes. Runs in a
// render worker (plain relative imports only); the figures were computed by the caller in SQL.
import PDFDocument from 'pdfkit';
import type { WithCockpit as Messages } from '../../i18n/cockpit.ts';
import { fill, formatDate, type Locale } from '../../i18n/index.ts';
import { dateFormat, localeTag, numberFormat } from '../../i18n/formatters.ts';
import type { ActivityReport, ReportUnit } from '../cockpit/activity-report.ts';
import { clip } from './pdf-text.ts';
import { barChart, collect, columnChart, heading, INK, MUTED, paragraph, PRIMARY, table } from './pdf-layout.ts';

/** A network has ~10 microstructures; this only bounds what one PDF may cost. */
export const REPORT_LIMITS = { units: 200 };

export function activityReportPdf(report: ActivityReport, t: Messages, locale: Locale): Promise<Buffer> {
	const r = t.reports.activity.pdf;
	const ind = r.indicators;
	const name = (s: string) => clip(s, 120, t.render.truncated);
	const number = numberFormat(localeTag(locale), { maximumFractionDigits: 1 });
	const percent = numberFormat(localeTag(locale), { style: 'percent', maximumFractionDigits: 0 });
	// pdfkit's standard fonts have no narrow no-break space (French digit groups, before %).
	const nbsp = (s: string) => s.replace(/\u202f/g, '\u00a0');
	const num = (v: number | null) => (v === null ? r.none : nbsp(number.format(v)));
	const pct = (v: number | null) => (v === null ? r.none : nbsp(percent.format(v)));
	const units = report.units.slice(0, REPORT_LIMITS.units);
	const title = fill(r.title, { year: report.year });

	const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: `${title} — ${name(report.network)}` }, bufferPages: true });
	const done = collect(doc);
	const left = doc.page.margins.left;
	const width = doc.page.width - left - doc.page.margins.right;

	// Title page.
	doc.rect(0, 0, doc.page.width, 12).fill(PRIMARY);
	doc.y = 220;
	doc.font('Helvetica-Bold').fontSize(28).fillColor(PRIMARY).text(title, left, doc.y, { width, align: 'center' });
	doc.moveDown(0.6).font('Helvetica').fontSize(15).fillColor(INK).text(fill(r.subtitle, { network: name(report.network) }), { width, align: 'center' });
	doc.moveDown(0.4).fontSize(12).fillColor(MUTED).text(fill(r.period, { from: formatDate(report.from, locale), to: formatDate(report.to, locale) }), { width, align: 'center' });
	doc.moveDown(2).fontSize(10).fillColor(INK).text(fill(r.microstructures, { list: units.map((u) => name(u.name)).join(', ') || r.none }), { width, align: 'center' });
	doc.moveDown(0.6).fillColor(MUTED).text(fill(r.generatedOn, { date: formatDate(report.generatedOn, locale) }), { width, align: 'center' });
	// The key figures of the year, on the title page.
	const key = [
		[ind.fileActive, num(report.total.fileActive)],
		[ind.inclusions, `${num(report.total.inclusions)} (${num(report.total.reinclusions)})`],
		[ind.consultations, num(report.total.consultations.psychologue + report.total.consultations.travailleur_social + report.total.consultations.psychiatre)],
		[ind.rcpHeld, num(report.total.rcpHeld)]
	];
	const boxY = 560;
	const boxW = width / key.length;
	key.forEach(([label, value], i) => {
		const x = left + i * boxW;
		doc.roundedRect(x + 4, boxY, boxW - 8, 70, 6).lineWidth(1).strokeColor(PRIMARY).stroke();
		doc.font('Helvetica-Bold').fontSize(20).fillColor(PRIMARY).text(value, x + 4, boxY + 12, { width: boxW - 8, align: 'center' });
		doc.font('Helvetica').fontSize(8.5).fillColor(INK).text(label, x + 8, boxY + 42, { width: boxW - 16, align: 'center' });
	});

	// The network's figures.
	doc.addPage();
	doc.font('Helvetica-Bold').fontSize(18).fillColor(INK).text(r.summary, left, doc.y, { width });
	doc.font('Helvetica').fontSize(10);
	table(doc, [{ header: r.indicator, share: 0.65 }, { header: r.total, share: 0.35, align: 'right' }], indicatorRows(report.total), t.render.truncated);
	columnChart(
		doc,
		r.chartTitles.months,
		report.months.map((m) => ({ label: monthLabel(m.month, locale), value: m.total }))
	);

	// Per microstructure: two tables of figures, then the charts.
	doc.addPage();
	doc.font('Helvetica-Bold').fontSize(18).fillColor(INK).text(r.perMicrostructure, left, doc.y, { width });
	heading(doc, `${ind.fileActive}, ${ind.inclusions.toLowerCase()}, ${ind.renewals.toLowerCase()}, ${ind.exits.toLowerCase()}`, 11);
	table(
		doc,
		[
			{ header: t.reports.control.microstructure, share: 0.24 },
			{ header: ind.fileActive, share: 0.11, align: 'right' },
			{ header: ind.inclusions, share: 0.14, align: 'right' },
			{ header: ind.renewals, share: 0.16, align: 'right' },
			{ header: ind.exits, share: 0.1, align: 'right' },
			{ header: ind.women, share: 0.12, align: 'right' },
			{ header: ind.precarite, share: 0.13, align: 'right' }
		],
		[...units, report.total].map((u, i) => [
			i === units.length ? r.total : name(u.name),
			num(u.fileActive),
			`${num(u.inclusions)} (${num(u.reinclusions)})`,
			num(u.renewals),
			num(u.exits),
			pct(u.womenShare),
			pct(u.precariteShare)
		]),
		t.render.truncated
	);
	heading(doc, `${ind.consultations}, ${ind.noShowRate.toLowerCase()}, RCP`, 11);
	table(
		doc,
		[
			{ header: t.reports.control.microstructure, share: 0.22 },
			{ header: ind.psychologue, share: 0.13, align: 'right' },
			{ header: ind.travailleur_social, share: 0.13, align: 'right' },
			{ header: ind.psychiatre, share: 0.12, align: 'right' },
			{ header: ind.noShowRate, share: 0.12, align: 'right' },
			{ header: ind.rcpExpected, share: 0.14, align: 'right' },
			{ header: ind.passagesPerPatient, share: 0.14, align: 'right' }
		],
		[...units, report.total].map((u, i) => [
			i === units.length ? r.total : name(u.name),
			num(u.consultations.psychologue),
			num(u.consultations.travailleur_social),
			num(u.consultations.psychiatre),
			pct(u.noShowRate),
			u.rcpExpected === null ? num(u.rcpHeld) : `${num(u.rcpHeld)} / ${num(u.rcpExpected)}`,
			num(u.passagesPerPatient)
		]),
		t.render.truncated
	);
	if (report.units.length > units.length) paragraph(doc, fill(t.render.moreItems, { n: report.units.length - units.length }), MUTED);

	doc.addPage();
	doc.font('Helvetica-Bold').fontSize(18).fillColor(INK).text(r.charts, left, doc.y, { width });
	barChart(doc, r.chartTitles.fileActive, units.map((u) => ({ label: name(u.name), values: [u.fileActive] })));
	barChart(doc, r.chartTitles.inclusions, units.map((u) => ({ label: name(u.name), values: [u.inclusions] })));
	barChart(
		doc,
		r.chartTitles.consultations,
		units.map((u) => ({ label: name(u.name), values: [u.consultations.psychologue, u.consultations.travailleur_social, u.consultations.psychiatre] })),
		{ series: [ind.psychologue, ind.travailleur_social, ind.psychiatre] }
	);
	barChart(
		doc,
		r.chartTitles.noShowRate,
		units.map((u) => ({ label: name(u.name), values: [Math.round((u.noShowRate ?? 0) * 100)], display: pct(u.noShowRate) })),
		{ max: 100 }
	);
	barChart(
		doc,
		r.chartTitles.passagesPerPatient,
		units.map((u) => ({ label: name(u.name), values: [u.passagesPerPatient ?? 0], display: num(u.passagesPerPatient) }))
	);
	doc.moveDown(1);
	paragraph(doc, r.notes, MUTED);

	// Page numbers, and the report's name, at the foot of every page but the title page.
	const range = doc.bufferedPageRange();
	for (let i = range.start + 1; i < range.start + range.count; i++) {
		doc.switchToPage(i);
		const bottom = doc.page.margins.bottom;
		doc.page.margins.bottom = 0;
		doc.font('Helvetica').fontSize(8).fillColor(MUTED).text(`${title} — ${name(report.network)} · ${fill(r.page, { n: i + 1 })}`, left, doc.page.height - 35, { width, align: 'center', lineBreak: false });
		doc.page.margins.bottom = bottom;
	}
	doc.end();
	return done;

	function indicatorRows(u: ReportUnit): string[][] {
		return [
			[ind.fileActive, num(u.fileActive)],
			[ind.inclusions, `${num(u.inclusions)} (${num(u.reinclusions)})`],
			[ind.renewals, num(u.renewals)],
			[ind.exits, num(u.exits)],
			[ind.transfers, num(u.transfers)],
			[ind.women, pct(u.womenShare)],
			[ind.precarite, pct(u.precariteShare)],
			[`${ind.consultations} — ${ind.psychologue}`, `${num(u.consultations.psychologue)} (${num(u.consultationsPerPatient.psychologue)} ${ind.perPatient})`],
			[`${ind.consultations} — ${ind.travailleur_social}`, `${num(u.consultations.travailleur_social)} (${num(u.consultationsPerPatient.travailleur_social)} ${ind.perPatient})`],
			[`${ind.consultations} — ${ind.psychiatre}`, `${num(u.consultations.psychiatre)} (${num(u.consultationsPerPatient.psychiatre)} ${ind.perPatient})`],
			[ind.noShowRate, pct(u.noShowRate)],
			[ind.firstContact, u.firstContactMedianDays === null ? r.none : fill(ind.days, { n: num(u.firstContactMedianDays) })],
			[ind.rcpHeld, u.rcpExpected === null ? num(u.rcpHeld) : `${num(u.rcpHeld)} / ${num(u.rcpExpected)}`],
			[ind.passages, num(u.passages)],
			[ind.passagesPerPatient, num(u.passagesPerPatient)],
			[ind.overdue, num(u.overdue)]
		];
	}
}

/** 'YYYY-MM' as a short month name ("janv."). */
function monthLabel(month: string, locale: Locale): string {
	return dateFormat(localeTag(locale), { month: 'short', timeZone: 'UTC' }).format(new Date(`${month}-15T12:00:00Z`));
}
