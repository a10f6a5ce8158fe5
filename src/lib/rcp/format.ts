// How sessions and reasons are written on screen, in Paris time whatever the browser's zone.
import { fill, formatDate, formatDay, type Locale } from '../i18n/index.ts';
import { dateFormat, localeTag } from '../i18n/formatters.ts';
import type { Messages } from '../i18n/fr.ts';

export function sessionWhen(startsAt: Date | string, endsAt: Date | string, locale: Locale): string {
	const day = formatDay(startsAt, locale);
	return `${day}, ${sessionTime(startsAt, locale)}–${sessionTime(endsAt, locale)}`;
}

/** The Paris time of an instant ("14:05"): the minutes name one date, the session's. */
export function sessionTime(value: Date | string, locale: Locale): string {
	return dateFormat(localeTag(locale), { hour: '2-digit', minute: '2-digit', timeZone: 'Europe/Paris' }).format(new Date(value));
}

export function reasonText(t: Messages, reason: { code: string; date?: string | null; question?: string }, locale: Locale): string {
	const template = t.rcp.reasons[reason.code as keyof Messages['rcp']['reasons']] ?? reason.code;
	return fill(template, { date: reason.date ? formatDate(reason.date, locale) : '', question: reason.question ?? '' });
}

export function minutesSeconds(seconds: number): string {
	const s = Math.max(0, Math.floor(seconds));
	return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}
