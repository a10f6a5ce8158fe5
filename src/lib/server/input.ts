// What the server accepts as text, dates and times from the outside (forms, socket.io payloads).
// No SvelteKit import here: the realtime server (plain Node) uses it too.
//
// PostgreSQL refuses NUL in text, a lone surrogate cannot be encoded as UTF-8 (jsonb refuses its
// escape), and control characters have no business in a name or a note: such input is refused
// with a field error, never stored and never a server error. Accepted text is normalised to NFC so
// that "é" typed on two keyboards compares equal.
import { z } from 'zod';
import { isIsoDate } from './patients/lifecycle.ts';

// C0 controls except tab, line feed and carriage return; DEL; C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;

/** True when the text is well-formed Unicode without NUL or other control characters. */
export function isCleanText(value: string): boolean {
	return value.isWellFormed() && !CONTROL.test(value);
}

/** True when any string inside `value` (nested objects and arrays, keys included) is not clean. */
export function hasUncleanText(value: unknown, depth = 0): boolean {
	if (typeof value === 'string') return !isCleanText(value);
	if (depth > 20 || value === null || typeof value !== 'object') return false;
	if (Array.isArray(value)) return value.some((v) => hasUncleanText(v, depth + 1));
	return Object.entries(value).some(([k, v]) => !isCleanText(k) || hasUncleanText(v, depth + 1));
}

/**
 * JSON for a jsonb column, of content typed in a shared document (a PPS): Yjs texts may hold a NUL
 * or a lone surrogate, which jsonb refuses with an error, so they become U+FFFD. Refusing them is
 * for the editing path; a projection or a version must never fail to be written because of them.
 */
export function storableJson(value: unknown): string {
	return JSON.stringify(value, (_key, v: unknown) => (typeof v === 'string' ? v.toWellFormed().replaceAll('\u0000', '\uFFFD') : v));
}

/**
 * A file's name as the browser sent it, made storable: a name is not worth refusing a scan for,
 * so unclean characters are dropped rather than refused.
 */
export function cleanFileName(name: string, max = 200): string {
	// Format characters go too: a right-to-left override shows "rapport‮fdp.exe" as "rapportexe.pdf".
	const clean = name.toWellFormed().replace(new RegExp(CONTROL.source, 'g'), '').replace(/\p{Cf}/gu, '').normalize('NFC').trim();
	// Cut between code points, never inside a surrogate pair.
	return clean.length > max ? Array.from(clean).slice(0, max).join('') : clean;
}

/**
 * A string that is clean (see above), then NFC-normalised. Chain `.trim()`, `.min()`, `.max()` as
 * on any zod string. Messages are i18n keys under `errors.` (forms translate them).
 */
export const cleanString = () =>
	z
		.string({ error: 'errors.required' })
		.refine(isCleanText, { error: 'errors.characters', abort: true })
		.overwrite((s) => s.normalize('NFC'));

/** Dates the app can mean: anything outside is a typing error (or an attack), not a plan. */
export const MIN_DATE = '1900-01-01';
export const MAX_DATE = '2100-12-31';

export interface DateBounds {
	/** Earliest accepted day, 'YYYY-MM-DD' or a function giving it (e.g. today). */
	min?: string | (() => string);
	max?: string | (() => string);
}

const bound = (b: string | (() => string)) => (typeof b === 'function' ? b() : b);

/**
 * A real calendar day 'YYYY-MM-DD' (it round-trips: 2027-02-30 is refused, not 2 March) within
 * bounds (1900–2100 unless narrowed).
 */
export const calendarDate = ({ min = MIN_DATE, max = MAX_DATE }: DateBounds = {}) =>
	z
		.string({ error: 'errors.required' })
		.trim()
		.min(1, { error: 'errors.required' })
		.refine(isIsoDate, { error: 'errors.date', abort: true })
		.refine((d) => d >= bound(min) && d <= bound(max), { error: 'errors.dateRange' });

/** A time of day 'HH:MM', 00:00 to 23:59. */
export const clockTime = () => z.string({ error: 'errors.required' }).trim().regex(/^([01]\d|2[0-3]):[0-5]\d$/, { error: 'errors.time' });
