// The cockpit's dictionaries (indicators, alerts, billing, reports): only coordinators read them, so
// they are kept out of fr.ts/en.ts, which every page downloads, and imported by the cockpit's pages
// and server code alone. `withCockpit(locale)` is the app's dictionary with these sections added.
import { messages, type Locale } from './index.ts';
import type { Messages, Widen } from './fr.ts';
import { cockpit } from './fr/cockpit.ts';
import { alerts } from './fr/alerts.ts';
import { reports } from './fr/reports.ts';
import { billing } from './fr/billing.ts';
import { cockpit as cockpitEn } from './en/cockpit.ts';
import { alerts as alertsEn } from './en/alerts.ts';
import { reports as reportsEn } from './en/reports.ts';
import { billing as billingEn } from './en/billing.ts';

const fr = { cockpit, alerts, reports, billing };
export type CockpitMessages = Widen<typeof fr>;
const en: CockpitMessages = { cockpit: cockpitEn, alerts: alertsEn, reports: reportsEn, billing: billingEn };

export type WithCockpit = Messages & CockpitMessages;

const cache = new Map<Messages, WithCockpit>();

export function withCockpit(locale: Locale): WithCockpit {
	const base = messages(locale);
	let all = cache.get(base);
	if (!all) {
		all = { ...base, ...(locale === 'en' ? en : fr) };
		cache.set(base, all);
	}
	return all;
}
