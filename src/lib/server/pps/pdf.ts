// The printable PPS as a PDF (pdfkit): for the patient's file and to hand to the patient.
import PDFDocument from 'pdfkit';
import type { PpsProjection } from '../../pps/model.ts';
import type { Messages } from '../../i18n/fr.ts';

export function ppsPdf(
	p: PpsProjection,
	info: { title: string; patient: string; subtitle: string; who: (id: string) => string },
	s: Messages['pps']
): Promise<Buffer> {
	const doc = new PDFDocument({ size: 'A4', margin: 50, info: { Title: info.title } });
	const chunks: Buffer[] = [];
	doc.on('data', (c: Buffer) => chunks.push(c));
	const done = new Promise<Buffer>((resolve) => doc.on('end', () => resolve(Buffer.concat(chunks))));
	const h = (text: string) => doc.moveDown(0.8).font('Helvetica-Bold').fontSize(13).fillColor('#1d4e89').text(text).moveDown(0.3).font('Helvetica').fontSize(11).fillColor('#1c2430');
	const bullets = (items: string[]) => (items.length ? items.forEach((i) => doc.text(`• ${i}`, { indent: 10 })) : doc.text('—'));

	doc.font('Helvetica-Bold').fontSize(18).fillColor('#1c2430').text(info.title);
	doc.font('Helvetica').fontSize(11).fillColor('#4f5b6b').text(info.patient).text(info.subtitle);
	doc.moveDown(0.5).fillColor('#1c2430').text(`${s.coordinator} : ${p.coordinator ? info.who(p.coordinator) : '—'}`);
	h(s.goals);
	doc.text(p.goals || '—');
	h(s.problems);
	bullets(p.problems.map((x) => `${s.domains[x.domain as keyof typeof s.domains] ?? x.domain} : ${x.text}`));
	h(s.objectives);
	bullets(p.objectives.map((x) => x.text));
	h(s.actions);
	bullets(p.actions.map((a) => [a.what, a.owner ? `— ${info.who(a.owner)}` : '', a.due ? `— ${a.due}` : '', `(${s.statuses[a.status as keyof typeof s.statuses] ?? a.status})`].filter(Boolean).join(' ')));
	h(s.entretiens);
	bullets(p.entretiens.map((e) => `${info.who(e.professional)} — ${e.frequency}`));
	h(s.crisis);
	doc.text(p.crisis || '—');
	h(s.evaluation);
	doc.text(p.evaluation || '—');
	h(s.reviewDate);
	doc.text(p.reviewDate || '—');
	doc.end();
	return done;
}
