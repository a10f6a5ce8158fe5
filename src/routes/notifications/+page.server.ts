import { getDb } from '$lib/server/db';
import { auditContext, requireActor } from '$lib/server/request';
import { nameMentionedPatients, pendingAccessAnswers } from '$lib/server/notifications/mentions';
import { listNotifications, markAllRead } from '$lib/server/notifications/notifications';
import { messages } from '$lib/i18n';

export async function load(event) {
	const { user, actor } = requireActor(event);
	const db = getDb();
	// A patient a notification links to is named for whoever may see the name (audited).
	// An access request still pending carries its one-click "Ajouter à l'équipe" (the record's action).
	const named = await nameMentionedPatients(db, auditContext(event), actor, await listNotifications(db, user.id), 'notifications');
	return { notifications: await pendingAccessAnswers(db, named) };
}

export const actions = {
	read: async (event) => {
		const { user } = requireActor(event);
		await markAllRead(getDb(), user.id);
		return { success: messages(event.locals.locale).notifications.marked };
	}
};
