// The language of a page, without the bulk of the dictionary: the root layout, the error page and
// the sign-in page read only the core sections (fr/core.ts) through coreMessages, so that a
// signed-out page does not carry every French string of the app. Other pages use messages() from
// $lib/i18n, the whole dictionary.
import { core as frCore } from './fr/core.ts';
import type { Messages, Widen } from './fr.ts';

export type Locale = 'fr' | 'en';
export const LOCALES: Locale[] = ['fr', 'en'];
export type CoreMessages = Widen<typeof frCore>;

// English is half the weight of the dictionaries: the browser fetches it only for those who read
// English (the root layout's load awaits loadMessages before rendering); the server, workers and
// scripts have it from the start.
let en: Messages | undefined = typeof document === 'undefined' ? (await import('./en.ts')).en : undefined;

/** The English dictionary, once loaded. */
export const english = (): Messages | undefined => en;

export function coreMessages(locale: Locale): CoreMessages {
	return locale === 'en' ? (en ?? frCore) : frCore;
}

/** Makes `messages(locale)` answer in that language (in the browser, fetches its dictionary once). */
export async function loadMessages(locale: Locale): Promise<void> {
	if (locale === 'en' && !en) en = (await import('./en.ts')).en;
}

/** Fills {placeholders} in a message. */
export function fill(message: string, values: Record<string, string | number>): string {
	return message.replace(/\{(\w+)\}/g, (_, key: string) => String(values[key] ?? `{${key}}`));
}
