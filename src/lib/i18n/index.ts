import { fr, type Messages } from './fr.ts';
import { dateFormat, localeTag } from './formatters.ts';
import { english, type Locale } from './core.ts';

export { LOCALES, fill, loadMessages, type Locale } from './core.ts';

/** The whole dictionary in that language (English once loadMessages has fetched it). */
export function messages(locale: Locale): Messages {
	return locale === 'en' ? (english() ?? fr) : fr;
}

const IN_WORDS: Intl.DateTimeFormatOptions = { day: 'numeric', month: 'long', year: 'numeric' };
/** Days already written in words, by locale and day: a list writes the same few days again and again. */
const daysInWords = new Map<string, string>();

/** A date in words ("1er février 2026"); French writes the first day of a month "1er". */
export function formatDate(value: string | Date, locale: Locale): string {
	if (typeof value !== 'string') return dateInWords(value, locale, IN_WORDS);
	const day = value.slice(0, 10);
	const key = `${locale}:${day}`;
	let text = daysInWords.get(key);
	if (text === undefined) {
		if (daysInWords.size >= 10_000) daysInWords.clear();
		daysInWords.set(key, (text = dateInWords(new Date(`${day}T12:00:00`), locale, IN_WORDS)));
	}
	return text;
}

/** The day of an instant in Paris, with its weekday ("mardi 1er février 2026"). */
export function formatDay(value: string | Date, locale: Locale): string {
	return dateInWords(new Date(value), locale, { weekday: 'long', day: 'numeric', month: 'long', year: 'numeric', timeZone: 'Europe/Paris' });
}

function dateInWords(date: Date, locale: Locale, options: Intl.DateTimeFormatOptions): string {
	if (locale === 'en') return dateFormat('en-GB', options).format(date);
	return dateFormat('fr-FR', options)
		.formatToParts(date)
		.map((part) => (part.type === 'day' && part.value === '1' ? '1er' : part.value))
		.join('');
}

export function formatDateTime(value: Date | string, locale: Locale): string {
	return dateFormat(localeTag(locale), { day: '2-digit', month: '2-digit', year: 'numeric', hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Paris' }).format(new Date(value));
}
