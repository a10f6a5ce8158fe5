// Text for pdfkit, bounded so that a PDF costs time in proportion to what it prints.
// pdfkit's line wrapper measures what is left of an over-long word again on every line it fills,
// so a word of n characters costs about n²/80 character widths (a 40,000-character word: ~1.8 s,
// 900 KB: minutes). Such words are cut into line-wide pieces here first, and every field is clipped
// to the limits with a visible note, so nothing is dropped silently.
import { fill } from '../../i18n/index.ts';

type Doc = PDFKit.PDFDocument;

/** Width available for text between the page margins. */
export function contentWidth(doc: Doc): number {
	return doc.page.width - doc.page.margins.left - doc.page.margins.right;
}

/** At most `max` characters of `text`, then a note saying how long it was. */
export function clip(text: unknown, max: number, note: string): string {
	const s = typeof text === 'string' ? text : '';
	if (s.length <= max) return s;
	// Never split a surrogate pair.
	const end = s.charCodeAt(max - 1) >= 0xd800 && s.charCodeAt(max - 1) <= 0xdbff ? max - 1 : max;
	return `${s.slice(0, end)} ${fill(note, { n: s.length })}`;
}

/** Cuts every word wider than `width` (in the document's current font) into pieces that fit. */
export function wrapLongWords(doc: Doc, text: string, width: number): string {
	const widths = new Map<string, number>();
	const charWidth = (ch: string) => {
		let w = widths.get(ch);
		if (w === undefined) widths.set(ch, (w = doc.widthOfString(ch)));
		return w;
	};
	// Kerning can make a piece slightly wider than the sum of its characters: keep a small margin.
	const room = width * 0.97;
	return text.replace(/\S{24,}/g, (word) => {
		if (doc.widthOfString(word) <= width) return word;
		const pieces: string[] = [];
		let piece = '';
		let used = 0;
		for (const ch of word) {
			const w = charWidth(ch);
			if (piece && used + w > room) {
				pieces.push(piece);
				piece = '';
				used = 0;
			}
			piece += ch;
			used += w;
		}
		pieces.push(piece);
		return pieces.join('\n');
	});
}
