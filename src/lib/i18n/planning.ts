// The dictionaries of the planning pages (permanences, absences, reminders, calendar feeds), kept
// out of fr.ts/en.ts, which every page downloads (the live RCP page must stay light on a phone).
import { messages, type Locale } from './index.ts';
import type { Messages, Widen } from './fr.ts';
import { permanences } from './fr/permanences.ts';
import { reminders } from './fr/reminders.ts';
import { permanences as permanencesEn } from './en/permanences.ts';
import { reminders as remindersEn } from './en/reminders.ts';

const fr = { permanences, reminders };
export type PlanningMessages = Widen<typeof fr>;
const en: PlanningMessages = { permanences: permanencesEn, reminders: remindersEn };

/** The app's dictionary (or `base`, with other sections already added) with the planning sections. */
export function withPlanning<B extends Messages = Messages>(locale: Locale, base?: B): B & PlanningMessages {
	return { ...(base ?? messages(locale)), ...(locale === 'en' ? en : fr) } as B & PlanningMessages;
}
