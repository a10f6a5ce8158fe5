// How long messages are kept. Team, direct and group conversations are working exchanges: with
// MESSAGE_RETENTION_DAYS set, a daily job deletes their messages older than that (attachments and
// search entries go with them; read positions stay and simply point past the end). 0, the
// default, keeps them. Patient threads are part of the patient's record: kept with it (the medical
// record's legal retention), exported with it (RGPD access) and erased when it is anonymised.
import type { Db } from '../db/index.ts';
import { config } from '../config.ts';
import { log } from '../log.ts';

/** Deletes what is past retention; returns how many messages went. Batched, so a first purge of years does not hold one huge transaction. */
export async function purgeExpiredMessages(db: Db, days = config.messageRetentionDays, now = new Date(), batch = 5000): Promise<number> {
	if (!Number.isInteger(days) || days <= 0) return 0;
	const cutoff = new Date(now.getTime() - days * 24 * 3600_000);
	let total = 0;
	for (;;) {
		const result = await db
			.deleteFrom('message')
			.where('id', 'in', (eb) =>
				eb
					.selectFrom('message as m')
					.innerJoin('conversation as c', 'c.id', 'm.conversation_id')
					.select('m.id')
					.where('c.kind', 'in', ['team', 'direct', 'group'])
					.where('m.created_at', '<', cutoff)
					.limit(batch)
			)
			.executeTakeFirst();
		const n = Number(result.numDeletedRows);
		total += n;
		if (n < batch) break;
	}
	if (total > 0) log('info', 'messages past retention purged', { days, messages: total, before: cutoff.toISOString() });
	return total;
}

/** The retention in effect, as the README and the account page describe it. */
export function retentionSummary(days = config.messageRetentionDays): string {
	return days > 0
		? `Les messages des conversations d’équipe, directes et de groupe sont effacés après ${days} jours ; les fils patients suivent le dossier du patient.`
		: 'Les messages sont conservés ; les fils patients suivent le dossier du patient (effacés à son anonymisation).';
}
