// Day separators of a conversation, in Paris time: "Aujourd'hui", "Hier", "lundi 1er décembre"
// (with the year when it is not this year's).
import type { Locale } from '$lib/i18n';
import { dateFormat, localeTag, numberFormat, parisDay } from '../i18n/formatters.ts';

const ZONE = 'Europe/Paris';

/** The calendar day of an instant in Paris, as YYYY-MM-DD (a key to group messages by). */
export { parisDay };

export function dayLabel(value: string, locale: Locale, words: { today: string; yesterday: string }, now = new Date()): string {
	const day = parisDay(value);
	if (day === parisDay(now)) return words.today;
	if (day === parisDay(new Date(now.getTime() - 86_400_000))) return words.yesterday;
	const sameYear = day.slice(0, 4) === parisDay(now).slice(0, 4);
	const options: Intl.DateTimeFormatOptions = { weekday: 'long', day: 'numeric', month: 'long', timeZone: ZONE, ...(sameYear ? {} : { year: 'numeric' }) };
	if (locale === 'en') return dateFormat('en-GB', options).format(new Date(value));
	return dateFormat('fr-FR', options)
		.formatToParts(new Date(value))
		.map((part) => (part.type === 'day' && part.value === '1' ? '1er' : part.value))
		.join('');
}

/** The time of a message ("14:05"). */
export function timeOf(value: string, locale: Locale): string {
	return dateFormat(localeTag(locale), { hour: '2-digit', minute: '2-digit', timeZone: ZONE }).format(new Date(value));
}

/** A size for people ("1,2 Mo"). */
export function sizeOf(bytes: number, locale: Locale): string {
	const fmt = (n: number) => numberFormat(localeTag(locale), { maximumFractionDigits: 1 }).format(n);
	const [k, m] = locale === 'en' ? ['KB', 'MB'] : ['Ko', 'Mo'];
	if (bytes < 1024) return `${bytes} o`;
	if (bytes < 1024 * 1024) return `${fmt(bytes / 1024)} ${k}`;
	return `${fmt(bytes / 1024 / 1024)} ${m}`;
}

/** A duration ("1:07"). */
export function durationOf(ms: number | null): string {
	const s = Math.round((ms ?? 0) / 1000);
	return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
