// The one CSV writer of the app, for French spreadsheets: UTF-8 with a byte-order mark (so that
// Excel reads the accents), ';' between fields, CRLF line ends, optional '#' comment lines saying
// what the columns mean before the header, and no cell a spreadsheet would run as a formula.

const BOM = '\ufeff';

/** One field: quoted when it holds the separator, a quote or a line break; a leading = + - @ is defused with an apostrophe. */
export function csvField(value: string | number | null | undefined): string {
	if (value === null || value === undefined) return '';
	if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
	let s = value;
	if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
	return /[;"\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

/**
 * A comment line: one cell starting with '#'. It often holds names typed by people (a network, a
 * microstructure), so the separator and quotes are replaced: "Réseau X;=HYPERLINK(…)" would
 * otherwise put a live formula in the line's second cell.
 */
function csvComment(text: string): string {
	return `# ${text.replace(/[\r\n]+/g, ' ').replaceAll(';', ',').replaceAll('"', "'")}`;
}

export function csvDocument(comments: string[], header: readonly string[], rows: (string | number | null)[][]): string {
	const lines = [...comments.map(csvComment), header.map(csvField).join(';'), ...rows.map((r) => r.map(csvField).join(';'))];
	return `${BOM}${lines.join('\r\n')}\r\n`;
}
