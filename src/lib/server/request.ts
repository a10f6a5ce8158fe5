// Helpers shared by pages and form actions: who is asking, and from where (for the audit log).
import { error, redirect, type RequestEvent } from '@sveltejs/kit';
import type { AuditContext } from './audit/audit.ts';
import type { Actor } from './access/policy.ts';
import type { SessionUser } from './auth/session.ts';

export function auditContext(event: RequestEvent): AuditContext {
	let ip: string | null = null;
	try {
		ip = event.getClientAddress();
	} catch {
		ip = null;
	}
	return { actorId: event.locals.user?.id ?? null, ip, userAgent: event.request.headers.get('user-agent') };
}

/** The signed-in user and their permissions; the hook has already redirected anyone else. */
export function requireActor(event: RequestEvent): { user: SessionUser; actor: Actor } {
	const { user, actor } = event.locals;
	if (!user || !actor) redirect(303, `/login?redirectTo=${encodeURIComponent(event.url.pathname)}`);
	return { user, actor };
}

/** Refusals look like absence: a resource you may not see does not exist for you. */
export function notFound(): never {
	error(404, { message: 'Page introuvable' });
}
