// Intl formatters, one per locale and option set for the life of the process (or the tab): building
// one costs far more than using it — `toLocaleDateString(tag, options)` and friends build a new one
// on every call, which made a list of 50 patients spend half its rendering time in date formatting.
// Every date and number written for a locale goes through here. (Sorting needs nothing of the
// kind: V8 keeps the collator of `a.localeCompare(b, 'fr')` from one call to the next.)
import type { Locale } from './index.ts';

const dates = new Map<string, Intl.DateTimeFormat>();
const numbers = new Map<string, Intl.NumberFormat>();

const keyOf = (tag: string, options: object) => `${tag}|${JSON.stringify(options)}`;

/** The BCP 47 tag the app writes a locale with. */
export function localeTag(locale: Locale): 'en-GB' | 'fr-FR' {
	return locale === 'en' ? 'en-GB' : 'fr-FR';
}

/** `new Intl.DateTimeFormat(tag, options)`, built once. Same output as `toLocale{Date,Time,}String(tag, options)` when options name what to show. */
export function dateFormat(tag: string, options: Intl.DateTimeFormatOptions = {}): Intl.DateTimeFormat {
	const key = keyOf(tag, options);
	let format = dates.get(key);
	if (!format) dates.set(key, (format = new Intl.DateTimeFormat(tag, options)));
	return format;
}

/** `new Intl.NumberFormat(tag, options)`, built once: the same output as `n.toLocaleString(tag, options)`. */
export function numberFormat(tag: string, options: Intl.NumberFormatOptions = {}): Intl.NumberFormat {
	const key = keyOf(tag, options);
	let format = numbers.get(key);
	if (!format) numbers.set(key, (format = new Intl.NumberFormat(tag, options)));
	return format;
}

const parisDays = dateFormat('en-CA', { timeZone: 'Europe/Paris', year: 'numeric', month: '2-digit', day: '2-digit' });

/** The calendar day of an instant in Paris, as YYYY-MM-DD. */
export function parisDay(value: Date | string | number = new Date()): string {
	return parisDays.format(new Date(value));
}
