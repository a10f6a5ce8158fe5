// Notifications are stored with the patient's code only (they may be read over a colleague's
// shoulder, and the name could change). When a list shows them, the patient they link to is named
// for whoever may read that patient, beside the code; everyone else keeps the code.
import type { Db } from '../db/index.ts';
import type { Actor } from '../access/policy.ts';
import type { AuditContext } from '../audit/audit.ts';
import { namePatients, type NamedPatient } from '../patients/names.ts';

const PATIENT_LINK = /^\/ms\/[0-9a-f-]{36}\/patients\/([0-9a-f-]{36})(?:[/?#]|$)/;

/** The patient a notification links to, if any. */
export function mentionedPatient(link: string | null): string | null {
	return link ? (PATIENT_LINK.exec(link)?.[1] ?? null) : null;
}

/**
 * The notifications with their patient named where the actor may see the name: "NOM Prénom
 * (code)" in place of the code in the title (or after it). The names shown are audited.
 */
export async function nameMentionedPatients<N extends { title: string; link: string | null }>(
	db: Db,
	ctx: AuditContext,
	actor: Actor,
	notifications: N[],
	purpose: string
): Promise<(N & { patient: Pick<NamedPatient, 'code' | 'name'> | null })[]> {
	const ids = notifications.map((n) => mentionedPatient(n.link)).filter((id): id is string => id !== null);
	const named = await namePatients(db, ctx, actor, ids, purpose);
	return notifications.map((n) => {
		const patient = named.get(mentionedPatient(n.link) ?? '') ?? null;
		if (!patient) return { ...n, patient: null };
		const title = !patient.name ? n.title : n.title.includes(patient.code) ? n.title.replace(patient.code, `${patient.name} (${patient.code})`) : `${n.title} — ${patient.name} (${patient.code})`;
		return { ...n, title, patient: { code: patient.code, name: patient.name } };
	});
}

const ACCESS_REQUEST_LINK = /^\/ms\/([0-9a-f-]{36})\/patients\/([0-9a-f-]{36})\?demande=([0-9a-f-]{36})(?:#|$)/;

/**
 * The one-click answer of an access request still pending ("Ajouter à l'équipe"): the record's form
 * action and who asked. Answered or unreadable requests get none (the link still opens the record).
 */
export async function pendingAccessAnswers<N extends { kind: string; link: string | null }>(db: Db, notifications: N[]): Promise<(N & { grant: { action: string; member: string } | null })[]> {
	const parsed = notifications.map((n) => (n.kind === 'access_request' && n.link ? ACCESS_REQUEST_LINK.exec(n.link) : null));
	const pairs = parsed.filter((m): m is RegExpExecArray => m !== null);
	const pending = pairs.length
		? await db
				.selectFrom('patient_request')
				.select(['patient_id', 'user_id'])
				.where('kind', '=', 'access')
				.where('resolved_at', 'is', null)
				.where('patient_id', 'in', [...new Set(pairs.map((m) => m[2]))])
				.execute()
		: [];
	const open = new Set(pending.map((r) => `${r.patient_id}:${r.user_id}`));
	return notifications.map((n, i) => {
		const m = parsed[i];
		return { ...n, grant: m && open.has(`${m[2]}:${m[3]}`) ? { action: `/ms/${m[1]}/patients/${m[2]}?/grantAccess`, member: m[3] } : null };
	});
}
