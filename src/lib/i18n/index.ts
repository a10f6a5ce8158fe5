import { fr, type Messages } from './fr.ts';
import { en } from './en.ts';

export type Locale = 'fr' | 'en';
export const LOCALES: Locale[] = ['fr', 'en'];

export function messages(locale: Locale): Messages {
	return locale === 'en' ? en : fr;
}

/** Fills {placeholders} in a message. */
export function fill(message: string, values: Record<string, string | number>): string {
	return message.replace(/\{(\w+)\}/g, (_, key: string) => String(values[key] ?? `{${key}}`));
}

export function formatDate(value: string | Date, locale: Locale): string {
	const date = typeof value === 'string' ? new Date(`${value.slice(0, 10)}T12:00:00`) : value;
	return date.toLocaleDateString(locale === 'en' ? 'en-GB' : 'fr-FR', { day: 'numeric', month: 'long', year: 'numeric' });
}

export function formatDateTime(value: Date | string, locale: Locale): string {
	return new Date(value).toLocaleString(locale === 'en' ? 'en-GB' : 'fr-FR', {
		day: '2-digit',
		month: '2-digit',
		year: 'numeric',
		hour: '2-digit',
		minute: '2-digit',
		timeZone: 'Europe/Paris'
	});
}
