// The dictionary of the second-factor pages (enrolment, codes, recovery codes), kept out of
// fr.ts/en.ts, which every page downloads.
import { messages, type Locale } from './index.ts';
import type { Messages, Widen } from './fr.ts';
import { twoFactor } from './fr/two-factor.ts';
import { twoFactor as twoFactorEn } from './en/two-factor.ts';

const fr = { twoFactor };
export type SecurityMessages = Widen<typeof fr>;
const en: SecurityMessages = { twoFactor: twoFactorEn };

/** The app's dictionary (or `base`, with other sections already added) with the second-factor section. */
export function withSecurity<B extends Messages = Messages>(locale: Locale, base?: B): B & SecurityMessages {
	return { ...(base ?? messages(locale)), ...(locale === 'en' ? en : fr) } as B & SecurityMessages;
}
