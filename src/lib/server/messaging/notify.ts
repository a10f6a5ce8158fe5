// Notifications of new messages. None carries a patient name, message text or motive:
// - in-app, for the people mentioned, linking to the conversation (opening it checks access);
// - Web Push to the other readers' devices, outside their quiet hours, coalesced (push.ts);
// - an e-mail after each reader's delay if they still have unread messages (email.ts).
// Started after the message's commit and delivery, in the background: nothing here may fail or slow
// the send. The e-mails' due rows of messages sent together are written by one statement.
import type { Db } from '../db/index.ts';
import { notify } from '../notifications/notifications.ts';
import { nudgeUsers } from '../live.ts';
import { log } from '../log.ts';
import { hasUncleanText } from '../input.ts';
import { batchedPerDb } from '../batch.ts';
import type { OpenedConversation } from './conversations.ts';
import type { MessagePayload } from './messages.ts';
import { BATCH_MESSAGES, pushNewMessage } from './push.ts';
import { scheduleUnreadEmail } from './email.ts';

/** Work still running (tests and a graceful stop can wait for it): the rows, then the pushes. */
const recording = new Set<Promise<unknown>>();
const pushing = new Set<Promise<unknown>>();
function track<T>(set: Set<Promise<unknown>>, work: Promise<T>): Promise<T> {
	set.add(work);
	void work.finally(() => set.delete(work)).catch(() => {});
	return work;
}

/** The e-mails' due rows of messages sent together: one statement. */
const unreadEmails = batchedPerDb(async (db, lists: string[][]) => {
	await scheduleUnreadEmail(db, [...new Set(lists.flat())]);
	return lists.map(() => undefined);
}, BATCH_MESSAGES);

export function messageNotifications(db: Db, c: OpenedConversation, message: MessagePayload, readers: string[]): void {
	const others = readers.filter((id) => id !== message.senderId);
	const mentioned = message.mentions.filter((id) => others.includes(id));
	const recorded = track(
		recording,
		(async () => {
			// After the sender's acknowledgement has gone: the statements below are prepared in this tick otherwise.
			await new Promise((resolve) => setImmediate(resolve));
			try {
				if (mentioned.length) {
					await notify(db, mentioned, { kind: 'message.mention', title: 'Vous avez été mentionné·e dans Microstructures', link: `/messages/${c.row.id}` });
					nudgeUsers(mentioned);
				}
				if (others.length) await unreadEmails(db, others);
			} catch (error) {
				log('error', 'message notifications failed', { error: error instanceof Error ? error.message : String(error) });
			}
		})()
	);
	void recorded.then(() => track(pushing, pushNewMessage(db, c.row.id, others)));
}

/** Waits for the notifications started so far: their rows (mentions, e-mails due), and unless `rowsOnly` their pushes. */
export async function settleNotifications(rowsOnly = false): Promise<void> {
	await Promise.all([...recording]);
	if (!rowsOnly) await Promise.all([...pushing]);
}

// ---------------------------------------------------------------------------------------------
// Each person's settings ("Mon compte" → Notifications)
// ---------------------------------------------------------------------------------------------

/** The delays offered before the e-mail for unread messages, in minutes. */
export const EMAIL_DELAYS = [15, 30, 60, 120, 240, 480, 1440] as const;
const TIME = /^([01]\d|2[0-3]):[0-5]\d$/;

export interface NotificationSettings {
	quietStart: string;
	quietEnd: string;
	emailDelayMinutes: number;
}

export async function notificationSettings(db: Db, userId: string): Promise<NotificationSettings> {
	const row = await db.selectFrom('app_user').select(['quiet_start', 'quiet_end', 'message_email_delay_minutes']).where('id', '=', userId).executeTakeFirstOrThrow();
	return { quietStart: row.quiet_start?.slice(0, 5) ?? '', quietEnd: row.quiet_end?.slice(0, 5) ?? '', emailDelayMinutes: row.message_email_delay_minutes };
}

export type SettingsResult = { ok: true } | { ok: false; error: string; field?: 'quietStart' | 'quietEnd' | 'emailDelay' };

/** Quiet hours (both or neither, Paris time, may span midnight) and the e-mail delay, checked. */
export async function saveNotificationSettings(db: Db, userId: string, input: { quietStart: unknown; quietEnd: unknown; emailDelay: unknown }): Promise<SettingsResult> {
	// Control characters are refused, not trimmed into an empty (and so valid) field.
	if (hasUncleanText([input.quietStart, input.quietEnd, input.emailDelay])) return { ok: false, error: 'Ce champ contient des caractères non autorisés.', field: 'quietStart' };
	const start = typeof input.quietStart === 'string' ? input.quietStart.trim() : '';
	const end = typeof input.quietEnd === 'string' ? input.quietEnd.trim() : '';
	if (start && !TIME.test(start)) return { ok: false, error: 'Heure de début invalide (format HH:MM).', field: 'quietStart' };
	if (end && !TIME.test(end)) return { ok: false, error: 'Heure de fin invalide (format HH:MM).', field: 'quietEnd' };
	if (Boolean(start) !== Boolean(end)) return { ok: false, error: 'Indiquez le début et la fin des heures calmes, ou aucun des deux.', field: start ? 'quietEnd' : 'quietStart' };
	if (start && start === end) return { ok: false, error: 'Le début et la fin des heures calmes doivent être différents.', field: 'quietEnd' };
	const delay = Number(input.emailDelay);
	if (!(EMAIL_DELAYS as readonly number[]).includes(delay)) return { ok: false, error: 'Délai avant l’e-mail invalide.', field: 'emailDelay' };
	await db
		.updateTable('app_user')
		.set({ quiet_start: start || null, quiet_end: end || null, message_email_delay_minutes: delay })
		.where('id', '=', userId)
		.execute();
	return { ok: true };
}
