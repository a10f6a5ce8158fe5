// The printable PPS as a PDF (pdfkit): for the patient's file and to hand to the patient.
// Runs in a render worker (src/lib/server/render): plain relative imports only. Whatever the stored
// projection holds, the PDF prints at most the model's limits (the rest is named as cut), so its
// cost is bounded even for a version stored before the server enforced them.
import PDFDocument from 'pdfkit';
import { LIMITS, type PpsProjection } from '../../pps/model.ts';
import { fill } from '../../i18n/index.ts';
import type { Messages } from '../../i18n/fr.ts';
import { clip, contentWidth, wrapLongWords } from '../render/pdf-text.ts';

export interface PpsPdfInfo {
	title: string;
	patient: string;
	subtitle: string;
	/** Display names of the people the plan refers to, by id. */
	owners: Record<string, string>;
}

type Row = Record<string, unknown>;
const rows = (value: unknown): Row[] => (Array.isArray(value) ? value.filter((x): x is Row => !!x && typeof x === 'object') : []);

export function ppsPdf(p: PpsProjection, info: PpsPdfInfo, t: Messages): Promise<Buffer> {
	const s = t.pps;
	const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: clip(info.title, LIMITS.field, t.render.truncated) } });
	const chunks: Buffer[] = [];
	doc.on('data', (c: Buffer) => chunks.push(c));
	const done = new Promise<Buffer>((resolve, reject) => {
		doc.on('end', () => resolve(Buffer.concat(chunks)));
		doc.on('error', reject);
	});
	const width = contentWidth(doc);
	const field = (v: unknown) => clip(v, LIMITS.field, t.render.truncated);
	const prose = (v: unknown) => clip(v, LIMITS.prose, t.render.truncated);
	const who = (id: unknown) => {
		const key = String(id ?? '');
		return field(Object.hasOwn(info.owners, key) ? info.owners[key] : key);
	};
	const write = (text: string, indent = 0) => doc.text(wrapLongWords(doc, text, width - indent), indent ? { indent } : {});
	const h = (text: string) => doc.moveDown(0.8).font('Helvetica-Bold').fontSize(13).fillColor('#1d4e89').text(text).moveDown(0.3).font('Helvetica').fontSize(11).fillColor('#1c2430');
	const bullets = (items: unknown, line: (x: Row) => string) => {
		const all = rows(items);
		if (!all.length) write('—');
		for (const x of all.slice(0, LIMITS.items)) write(`• ${line(x)}`, 10);
		if (all.length > LIMITS.items) write(fill(t.render.moreItems, { n: all.length - LIMITS.items }), 10);
	};
	const label = <T extends Record<string, string>>(names: T, key: unknown) => (Object.hasOwn(names, String(key)) ? names[String(key)] : field(key));

	doc.font('Helvetica-Bold').fontSize(18).fillColor('#1c2430');
	write(field(info.title));
	doc.font('Helvetica').fontSize(11).fillColor('#4f5b6b');
	write(field(info.patient));
	write(field(info.subtitle));
	doc.moveDown(0.5).fillColor('#1c2430');
	write(`${s.coordinator} : ${p.coordinator ? who(p.coordinator) : '—'}`);
	h(s.goals);
	write(prose(p.goals) || '—');
	h(s.problems);
	bullets(p.problems, (x) => `${label(s.domains, x.domain)} : ${field(x.text)}`);
	h(s.objectives);
	bullets(p.objectives, (x) => field(x.text));
	h(s.actions);
	bullets(p.actions, (a) => [field(a.what), a.owner ? `— ${who(a.owner)}` : '', a.due ? `— ${field(a.due)}` : '', `(${label(s.statuses, a.status)})`].filter(Boolean).join(' '));
	h(s.entretiens);
	bullets(p.entretiens, (e) => `${who(e.professional)} — ${clip(e.frequency, LIMITS.short, t.render.truncated)}`);
	h(s.crisis);
	write(prose(p.crisis) || '—');
	h(s.evaluation);
	write(field(p.evaluation) || '—');
	h(s.reviewDate);
	write(field(p.reviewDate) || '—');
	doc.end();
	return done;
}
