// Tables and bar charts for the reports' PDFs, drawn with pdfkit's text and vector shapes. Runs in
// a render worker: plain relative imports only. Every cell goes through the bounded text helpers,
// so a long name costs what it prints.
import { clip, contentWidth, wrapLongWords } from './pdf-text.ts';

type Doc = PDFKit.PDFDocument;

export const INK = '#1c2430';
export const MUTED = '#4f5b6b';
export const PRIMARY = '#1d4e89';
export const RULE = '#c9d1dc';
/** Bar colours with enough contrast on white, told apart by more than hue (legend order). */
export const SERIES = ['#1d4e89', '#0b7a6f', '#b3541e', '#6b4c9a'];

const CELL = 300;

function bottom(doc: Doc): number {
	return doc.page.height - doc.page.margins.bottom;
}

/** Starts a new page when less than `height` is left on this one. */
export function ensureRoom(doc: Doc, height: number): void {
	if (doc.y + height > bottom(doc)) doc.addPage();
}

export function heading(doc: Doc, text: string, size = 13): void {
	ensureRoom(doc, size * 4);
	doc.moveDown(0.8).font('Helvetica-Bold').fontSize(size).fillColor(PRIMARY).text(text, doc.page.margins.left, doc.y, { width: contentWidth(doc) }).moveDown(0.3);
	doc.font('Helvetica').fontSize(10).fillColor(INK);
}

export function paragraph(doc: Doc, text: string, color = INK): void {
	const width = contentWidth(doc);
	doc.font('Helvetica').fontSize(10).fillColor(color).text(wrapLongWords(doc, text, width), doc.page.margins.left, doc.y, { width });
	doc.fillColor(INK);
}

export interface Column {
	header: string;
	/** Share of the content width. */
	share: number;
	align?: 'left' | 'right';
}

/**
 * A table: a bold header row (repeated on each new page), then the rows, each as tall as its
 * tallest cell, a thin rule under each.
 */
export function table(doc: Doc, columns: Column[], rows: string[][], truncatedNote: string): void {
	const left = doc.page.margins.left;
	const width = contentWidth(doc);
	const widths = columns.map((c) => c.share * width);
	const pad = 4;
	const line = (cells: string[], bold: boolean) => {
		// Headers a size smaller: a column's name must not be cut in the middle of a word.
		doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(bold ? 8 : 9.5);
		const texts = cells.map((c, i) => wrapLongWords(doc, clip(c, CELL, truncatedNote), widths[i] - 2 * pad));
		const height = Math.max(...texts.map((t, i) => doc.heightOfString(t || ' ', { width: widths[i] - 2 * pad }))) + 2 * pad;
		return { texts, height };
	};
	const draw = (cells: string[], bold: boolean) => {
		const { texts, height } = line(cells, bold);
		const y = doc.y;
		doc.font(bold ? 'Helvetica-Bold' : 'Helvetica').fontSize(bold ? 8 : 9.5);
		let x = left;
		doc.fillColor(bold ? MUTED : INK);
		texts.forEach((t, i) => {
			doc.text(t, x + pad, y + pad, { width: widths[i] - 2 * pad, align: columns[i].align ?? 'left', lineBreak: true });
			x += widths[i];
		});
		doc.moveTo(left, y + height).lineTo(left + width, y + height).lineWidth(0.5).strokeColor(RULE).stroke();
		doc.x = left;
		doc.y = y + height;
		doc.fillColor(INK);
	};
	const header = columns.map((c) => c.header);
	ensureRoom(doc, line(header, true).height + 20);
	draw(header, true);
	for (const row of rows) {
		const { height } = line(row, false);
		if (doc.y + height > bottom(doc)) {
			doc.addPage();
			draw(header, true);
		}
		draw(row, false);
	}
	doc.moveDown(0.5);
}

export interface Bar {
	label: string;
	/** One value per series (one series: a single bar). */
	values: number[];
	/** What is printed after the bars (default: the values). */
	display?: string;
}

/**
 * Horizontal bars, one group per label: the label on the left, one bar per series, the value on
 * the right. Scaled on the largest value (or `max`); a legend names the series when there are several.
 */
export function barChart(doc: Doc, title: string, bars: Bar[], options: { series?: string[]; max?: number; format?: (v: number) => string } = {}): void {
	const series = options.series ?? [''];
	const format = options.format ?? ((v: number) => String(v));
	const left = doc.page.margins.left;
	const width = contentWidth(doc);
	const labelWidth = width * 0.34;
	const valueWidth = width * 0.16;
	const barArea = width - labelWidth - valueWidth - 8;
	const barHeight = series.length > 1 ? 7 : 11;
	const groupHeight = Math.max(series.length * (barHeight + 2) + 6, 16);
	const max = Math.max(options.max ?? 0, ...bars.flatMap((b) => b.values), 0) || 1;
	const legendHeight = series.length > 1 ? 16 : 0;
	ensureRoom(doc, 30 + legendHeight + Math.min(bars.length, 4) * groupHeight);
	doc.moveDown(0.6).font('Helvetica-Bold').fontSize(10.5).fillColor(INK).text(title, left, doc.y, { width });
	doc.moveDown(0.3);
	if (series.length > 1) {
		let x = left;
		const y = doc.y;
		doc.font('Helvetica').fontSize(8.5);
		series.forEach((name, i) => {
			doc.rect(x, y + 1, 9, 9).fill(SERIES[i % SERIES.length]);
			doc.fillColor(INK).text(name, x + 13, y + 1, { lineBreak: false });
			x += 13 + doc.widthOfString(name) + 16;
		});
		doc.x = left;
		doc.y = y + legendHeight;
	}
	doc.font('Helvetica').fontSize(9);
	for (const bar of bars) {
		if (doc.y + groupHeight > bottom(doc)) doc.addPage();
		const y = doc.y;
		const label = clip(bar.label, 80, '…');
		doc.fillColor(INK).text(label, left, y + 2, { width: labelWidth - 6, height: groupHeight, ellipsis: true, lineBreak: false });
		bar.values.forEach((v, i) => {
			const w = Math.max(0, (v / max) * barArea);
			const by = y + 3 + i * (barHeight + 2);
			// A zero still shows where the bar would start.
			doc.rect(left + labelWidth, by, Math.max(w, 0.8), barHeight).fill(SERIES[i % SERIES.length]);
		});
		doc.fillColor(INK).text(bar.display ?? bar.values.map(format).join(' / '), left + labelWidth + barArea + 8, y + 2, { width: valueWidth, lineBreak: false });
		doc.x = left;
		doc.y = y + groupHeight;
	}
	// The axis: the bars start on a visible line.
	doc.moveTo(left + labelWidth, doc.y - bars.length * groupHeight).lineTo(left + labelWidth, doc.y).lineWidth(0.5).strokeColor(MUTED).stroke();
	doc.moveDown(0.4);
}

/** Vertical columns (e.g. one per month), the value above each, the label under it. */
export function columnChart(doc: Doc, title: string, columns: { label: string; value: number }[]): void {
	const left = doc.page.margins.left;
	const width = contentWidth(doc);
	const height = 110;
	ensureRoom(doc, height + 60);
	doc.moveDown(0.6).font('Helvetica-Bold').fontSize(10.5).fillColor(INK).text(title, left, doc.y, { width });
	doc.moveDown(0.8);
	const top = doc.y + 10;
	const max = Math.max(1, ...columns.map((c) => c.value));
	const slot = width / Math.max(columns.length, 1);
	const barWidth = Math.min(28, slot * 0.6);
	doc.font('Helvetica').fontSize(8);
	columns.forEach((c, i) => {
		const h = (c.value / max) * height;
		const x = left + i * slot + (slot - barWidth) / 2;
		doc.rect(x, top + height - h, barWidth, Math.max(h, 0.8)).fill(SERIES[0]);
		doc.fillColor(INK).text(String(c.value), left + i * slot, top + height - h - 11, { width: slot, align: 'center', lineBreak: false });
		doc.fillColor(MUTED).text(clip(c.label, 12, ''), left + i * slot, top + height + 4, { width: slot, align: 'center', lineBreak: false });
	});
	doc.moveTo(left, top + height).lineTo(left + width, top + height).lineWidth(0.5).strokeColor(MUTED).stroke();
	doc.fillColor(INK);
	doc.x = left;
	doc.y = top + height + 20;
}

/** Collects a pdfkit document's bytes. */
export function collect(doc: Doc): Promise<Buffer> {
	const chunks: Buffer[] = [];
	doc.on('data', (c: Buffer) => chunks.push(c));
	return new Promise<Buffer>((resolve, reject) => {
		doc.on('end', () => resolve(Buffer.concat(chunks)));
		doc.on('error', reject);
	});
}
