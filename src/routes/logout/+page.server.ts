import { redirect } from '@sveltejs/kit';
import { getDb } from '$lib/server/db';
import { invalidateSession, SESSION_COOKIE } from '$lib/server/auth/session';
import { audit } from '$lib/server/audit/audit';
import { auditContext } from '$lib/server/request';
import { endSessions } from '$lib/server/live';

export function load() {
	redirect(303, '/');
}

export const actions = {
	default: async (event) => {
		const { session } = event.locals;
		if (session) {
			const db = getDb();
			await invalidateSession(db, session.id);
			// The session's open tabs and sockets end with it, here and in the other processes.
			await endSessions([session.id]);
			await audit(db, auditContext(event), { action: 'auth.logout', targetType: 'user', targetId: session.userId });
		}
		event.cookies.delete(SESSION_COOKIE, { path: '/' });
		redirect(303, '/login?deconnecte');
	}
};
