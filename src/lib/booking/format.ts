// Times and days of appointments as the booking pages show them, in Paris whatever the device's zone.
import { formatDay, type Locale } from '$lib/i18n';
import { dateFormat, localeTag, parisDay } from '$lib/i18n/formatters';

export function clock(value: Date | string, locale: Locale): string {
	return dateFormat(localeTag(locale), { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Paris' }).format(new Date(value));
}

/** "mardi 1er février" (the year only when it is not this year's). */
export function day(value: Date | string, locale: Locale): string {
	const d = new Date(value);
	const full = formatDay(d, locale);
	const year = String(new Date().getFullYear());
	return full.endsWith(` ${year}`) ? full.slice(0, -year.length - 1) : full;
}

/** The Paris date (YYYY-MM-DD) of an instant. */
export function parisDate(value: Date | string): string {
	return parisDay(value);
}

/** A slot's key in a URL: its occurrence and start ("<uuid>_<epoch ms>"). */
export function slotKey(slot: { occurrenceId: string; startsAt: Date | string }): string {
	return `${slot.occurrenceId}_${new Date(slot.startsAt).getTime()}`;
}
