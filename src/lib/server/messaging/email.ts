// The e-mail for messages still unread after a delay each person chooses (app_user.
// message_email_delay_minutes, 60 by default). An e-mail leaves the app's control (a shared
// mailbox, a phone on a table, a provider's servers): it says only that there are unread messages
// and links to /messages — no patient, no count per conversation, no sender, no text.
//
// A new message writes one row per recipient in message_email_due with the earliest pending
// instant (a second message while one is pending changes nothing: the person hears once). The
// job queue (../jobs/) looks every minute for rows falling due; each is handled in one transaction
// that deletes the row (the claim: a concurrent worker waits on the row lock, then finds nothing),
// checks that messages are still unread, and sends. A failed send rolls the claim back (retried
// five minutes later); a crash after the SMTP server accepted the mail but before the commit
// leaves the row in place, so that one mail may go twice — never lost, duplicated only in that
// window, and it says nothing but "you have unread messages".
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import { config } from '../config.ts';
import { loadActor } from '../access/policy.ts';
import { deliverMail } from '../mail/mailer.ts';
import { log } from '../log.ts';
import { unreadTotal } from './conversations.ts';
import { inQuietHours, quietHoursEnd } from './push.ts';

export const UNREAD_SUBJECT = 'Vous avez des messages non lus dans Microstructures';
const RETRY_MS = 5 * 60_000;

/** Who gets a message: an e-mail falls due after each one's delay, unless one is already pending. */
export async function scheduleUnreadEmail(db: Db, userIds: string[]): Promise<void> {
	if (userIds.length === 0) return;
	await db
		.insertInto('message_email_due')
		.columns(['user_id', 'due_at'])
		.expression((eb) =>
			eb
				.selectFrom('app_user')
				.select(['id', sql<Date>`now() + make_interval(mins => message_email_delay_minutes::int)`.as('due_at')])
				.where('id', 'in', userIds)
				.where('disabled_at', 'is', null)
		)
		.onConflict((oc) => oc.column('user_id').doNothing())
		.execute();
}

export function unreadEmailText(origin = config.origin ?? 'http://localhost:3000'): string {
	return [
		'Bonjour,',
		'',
		'Vous avez des messages non lus dans Microstructures.',
		'',
		`Pour les lire, connectez-vous : ${origin.replace(/\/$/, '')}/messages`,
		'',
		'Ce message est envoyé automatiquement, merci de ne pas y répondre. Vous pouvez régler ce délai ou des heures calmes dans « Mon compte ».'
	].join('\n');
}

export type UnreadEmailOutcome = 'envoye' | 'deja_traite' | 'lu' | 'reporte' | 'non_envoye';

/** Handles one person's due row, exactly once (see the header). */
export async function sendUnreadEmail(db: Db, userId: string, now = new Date()): Promise<UnreadEmailOutcome> {
	try {
		return await db.transaction().execute(async (trx) => {
			const claimed = await trx.deleteFrom('message_email_due').where('user_id', '=', userId).where('due_at', '<=', now).returning('user_id').executeTakeFirst();
			if (!claimed) return 'deja_traite' as const;
			const user = await trx.selectFrom('app_user').select(['email', 'quiet_start', 'quiet_end', 'disabled_at']).where('id', '=', userId).executeTakeFirst();
			if (!user || user.disabled_at) return 'non_envoye' as const;
			if (inQuietHours(user.quiet_start, user.quiet_end, now)) {
				// Not at night: back to the end of the quiet hours, the earliest pending instant kept.
				await trx
					.insertInto('message_email_due')
					.values({ user_id: userId, due_at: quietHoursEnd(user.quiet_end!, now) })
					.onConflict((oc) => oc.column('user_id').doNothing())
					.execute();
				return 'reporte' as const;
			}
			if ((await unreadTotal(trx, await loadActor(trx, userId))) === 0) return 'lu' as const;
			const channel = await deliverMail({ to: user.email, subject: UNREAD_SUBJECT, text: unreadEmailText() });
			return channel === 'none' ? ('non_envoye' as const) : ('envoye' as const);
		});
	} catch (error) {
		// The claim rolled back: try again later rather than every minute.
		log('warn', 'unread e-mail failed', { error: error instanceof Error ? error.message : String(error) });
		await db
			.updateTable('message_email_due')
			.set({ due_at: new Date(now.getTime() + RETRY_MS) })
			.where('user_id', '=', userId)
			.execute()
			.catch(() => {});
		return 'non_envoye';
	}
}

/** The job: every row due now, one transaction each; returns what happened to each. */
export async function dispatchUnreadEmails(db: Db, now = new Date(), limit = 200): Promise<UnreadEmailOutcome[]> {
	const due = await db.selectFrom('message_email_due').select('user_id').where('due_at', '<=', now).orderBy('due_at').limit(limit).execute();
	const outcomes: UnreadEmailOutcome[] = [];
	for (const row of due) outcomes.push(await sendUnreadEmail(db, row.user_id, now));
	return outcomes;
}
