import { getDb } from '$lib/server/db';
import { requireActor } from '$lib/server/request';
import { listNotifications, markAllRead } from '$lib/server/notifications/notifications';
import { messages } from '$lib/i18n';

export async function load(event) {
	const { user } = requireActor(event);
	return { notifications: await listNotifications(getDb(), user.id) };
}

export const actions = {
	read: async (event) => {
		const { user } = requireActor(event);
		await markAllRead(getDb(), user.id);
		return { success: messages(event.locals.locale).notifications.marked };
	}
};
