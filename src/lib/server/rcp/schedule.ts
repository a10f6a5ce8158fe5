// When RCPs happen: recurring series as RFC 5545 rules (rrule) on Paris wall-clock dates, one-off
// sessions, and clashes for people who sit in several microstructures. Pure functions.
import * as rruleModule from 'rrule';

// rrule ships CommonJS for Node and ESM for bundlers; take whichever this loader gave us.
const { RRule, rrulestr } = ((rruleModule as unknown as { default?: typeof rruleModule }).default ?? rruleModule) as typeof rruleModule;

export const WEEKDAYS = ['MO', 'TU', 'WE', 'TH', 'FR', 'SA'] as const;
export type Weekday = (typeof WEEKDAYS)[number];
export type Pattern = 'mensuel' | 'hebdomadaire' | 'bimensuel';
/** 1–4: that week of the month; -1: the last one. */
export type Nth = 1 | 2 | 3 | 4 | -1;

export interface Recurrence {
	pattern: Pattern;
	weekday: Weekday;
	nth: Nth;
}

/** The RRULE (without DTSTART: series start on their own date) for a recurrence. */
export function toRrule(r: Recurrence): string {
	if (r.pattern === 'mensuel') return `FREQ=MONTHLY;BYDAY=${r.nth}${r.weekday}`;
	return `FREQ=WEEKLY;${r.pattern === 'bimensuel' ? 'INTERVAL=2;' : ''}BYDAY=${r.weekday}`;
}

/** Reads back a rule written by toRrule; anything else is refused rather than guessed. */
export function fromRrule(rule: string): Recurrence | null {
	const monthly = /^FREQ=MONTHLY;BYDAY=(-1|[1-4])(MO|TU|WE|TH|FR|SA)$/.exec(rule);
	if (monthly) return { pattern: 'mensuel', nth: Number(monthly[1]) as Nth, weekday: monthly[2] as Weekday };
	const weekly = /^FREQ=WEEKLY;(INTERVAL=2;)?BYDAY=(MO|TU|WE|TH|FR|SA)$/.exec(rule);
	if (weekly) return { pattern: weekly[1] ? 'bimensuel' : 'hebdomadaire', nth: 1, weekday: weekly[2] as Weekday };
	return null;
}

const DAY_NAMES: Record<Weekday, string> = { MO: 'lundi', TU: 'mardi', WE: 'mercredi', TH: 'jeudi', FR: 'vendredi', SA: 'samedi' };
const NTH_NAMES: Record<string, string> = { '1': '1er', '2': '2e', '3': '3e', '4': '4e', '-1': 'dernier' };

export function frenchTime(time: string): string {
	const [h, m] = time.split(':');
	return `${Number(h)}h${m}`;
}

/** "1er mardi du mois, 12h30–14h00": how teams name their slot. */
export function describeRecurrence(rule: string, startTime: string, endTime: string): string {
	const r = fromRrule(rule);
	const slot = `${frenchTime(startTime)}–${frenchTime(endTime)}`;
	if (!r) return slot;
	const day = DAY_NAMES[r.weekday];
	if (r.pattern === 'mensuel') return `${NTH_NAMES[String(r.nth)]} ${day} du mois, ${slot}`;
	return `${r.pattern === 'bimensuel' ? `Un ${day} sur deux` : `Chaque ${day}`}, ${slot}`;
}

/** The instant at which the Paris wall clock shows `date` `time` (DST included). */
export function parisInstant(date: string, time: string): Date {
	const [y, mo, d] = date.split('-').map(Number);
	const [h, mi] = time.split(':').map(Number);
	const wall = Date.UTC(y, mo - 1, d, h, mi);
	// Two passes: the offset at the guess, then at the corrected instant (around DST changes).
	let instant = wall - parisOffset(wall);
	instant = wall - parisOffset(instant);
	return new Date(instant);
}

const parisParts = new Intl.DateTimeFormat('en-GB', {
	timeZone: 'Europe/Paris',
	hourCycle: 'h23',
	year: 'numeric',
	month: '2-digit',
	day: '2-digit',
	hour: '2-digit',
	minute: '2-digit'
});

function parisOffset(instant: number): number {
	const p = Object.fromEntries(parisParts.formatToParts(new Date(instant)).map((x) => [x.type, x.value]));
	const wall = Date.UTC(Number(p.year), Number(p.month) - 1, Number(p.day), Number(p.hour), Number(p.minute));
	return wall - Math.floor(instant / 60_000) * 60_000;
}

/** The Paris wall-clock date and time ("2026-12-01", "12:30") of an instant. */
export function parisWallClock(instant: Date): { date: string; time: string } {
	const p = Object.fromEntries(parisParts.formatToParts(instant).map((x) => [x.type, x.value]));
	return { date: `${p.year}-${p.month}-${p.day}`, time: `${p.hour}:${p.minute}` };
}

export interface SeriesRule {
	rrule: string;
	starts_on: string;
	until_on: string | null;
	start_time: string;
	end_time: string;
}

/** Occurrences of a series whose date falls in [fromDate, toDate], as instants. */
export function occurrences(series: SeriesRule, fromDate: string, toDate: string, max = 24): { startsAt: Date; endsAt: Date }[] {
	const dtstart = series.starts_on.replaceAll('-', '');
	const rule = rrulestr(`DTSTART:${dtstart}T000000Z\nRRULE:${series.rrule}`);
	const last = series.until_on && series.until_on < toDate ? series.until_on : toDate;
	const first = fromDate > series.starts_on ? fromDate : series.starts_on;
	if (first > last) return [];
	// rrule works on "floating" dates: midnight UTC stands for the Paris calendar day.
	const dates = rule.between(new Date(`${first}T00:00:00Z`), new Date(`${last}T00:00:00Z`), true).slice(0, max);
	return dates.map((d) => {
		const day = d.toISOString().slice(0, 10);
		return { startsAt: parisInstant(day, series.start_time), endsAt: parisInstant(day, series.end_time) };
	});
}

export { RRule };

export interface TimedSession {
	id: string;
	startsAt: Date;
	endsAt: Date;
}

/** For each session, the other sessions it overlaps (one person cannot sit in both). */
export function findClashes<T extends TimedSession>(sessions: T[]): Map<string, T[]> {
	const sorted = [...sessions].sort((a, b) => a.startsAt.getTime() - b.startsAt.getTime());
	const clashes = new Map<string, T[]>();
	for (let i = 0; i < sorted.length; i++) {
		for (let j = i + 1; j < sorted.length && sorted[j].startsAt < sorted[i].endsAt; j++) {
			const a = sorted[i];
			const b = sorted[j];
			if (a.id === b.id) continue;
			clashes.set(a.id, [...(clashes.get(a.id) ?? []), b]);
			clashes.set(b.id, [...(clashes.get(b.id) ?? []), a]);
		}
	}
	return clashes;
}
