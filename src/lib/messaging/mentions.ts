// @mentions in the composer: what is being typed after an @, who it may name (the conversation's
// readers), and which of the people picked are still named when the message goes. The server only
// keeps mentions of readers (messaging/service.ts); this is for the hand that types.
import type { ReaderPosition } from './types';

/** Letters (accents included), apostrophes and hyphens, and one space: "@Camille Du" is one query. */
const QUERY = /(?:^|\s)@([\p{L}\p{M}'’-]{0,30}(?: [\p{L}\p{M}'’-]{0,30})?)$/u;
const MAX_CANDIDATES = 6;

/** The @query ending at the caret, with where its @ is; null when the caret is not in one. */
export function mentionQuery(text: string, caret: number): { start: number; query: string } | null {
	const found = QUERY.exec(text.slice(0, caret));
	if (!found) return null;
	return { start: caret - found[1].length - 1, query: found[1] };
}

const fold = (s: string) => s.normalize('NFD').replace(/\p{M}/gu, '').toLowerCase();

/** The readers (but me) the query may name: a word of their name, or their whole name, starts with it. */
export function mentionCandidates(readers: ReaderPosition[], me: string, query: string): ReaderPosition[] {
	const q = fold(query.trim());
	return readers
		.filter((r) => r.userId !== me)
		.filter((r) => {
			const name = fold(r.name);
			return q === '' || name.startsWith(q) || name.split(/[\s-]+/).some((word) => word.startsWith(q));
		})
		.slice(0, MAX_CANDIDATES);
}

/** The text with "@query" replaced by "@Full Name " and where the caret goes after it. */
export function insertMention(text: string, caret: number, start: number, name: string): { text: string; caret: number } {
	const inserted = `@${name} `;
	return { text: text.slice(0, start) + inserted + text.slice(caret).replace(/^ /, ''), caret: start + inserted.length };
}

/** The people picked whose "@Full Name" is still in the message. */
export function mentionsIn(body: string, picked: Map<string, string>): string[] {
	return [...picked].filter(([, name]) => body.includes(`@${name}`)).map(([id]) => id);
}

/** The body cut where it names the people mentioned ("@Full Name"), for showing those parts apart. */
export function mentionSegments(body: string, names: string[]): { text: string; mention: boolean }[] {
	const wanted = [...new Set(names.filter(Boolean).map((n) => `@${n}`))].sort((a, b) => b.length - a.length);
	if (wanted.length === 0) return [{ text: body, mention: false }];
	const segments: { text: string; mention: boolean }[] = [];
	let plain = '';
	for (let i = 0; i < body.length; ) {
		const found = body[i] === '@' ? wanted.find((w) => body.startsWith(w, i)) : undefined;
		if (found) {
			if (plain) segments.push({ text: plain, mention: false });
			segments.push({ text: found, mention: true });
			plain = '';
			i += found.length;
		} else {
			plain += body[i++];
		}
	}
	if (plain) segments.push({ text: plain, mention: false });
	return segments;
}
