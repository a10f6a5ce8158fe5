import type { Session, SessionUser } from '$lib/server/auth/session';
import type { Actor } from '$lib/server/access/policy';
import type { Locale } from '$lib/i18n';

declare global {
	namespace App {
		interface Locals {
			user: SessionUser | null;
			session: Session | null;
			/** Set only once the session is fully signed in (second factor included). */
			actor: Actor | null;
			locale: Locale;
		}
		interface Error {
			message: string;
		}
	}
}

export {};
