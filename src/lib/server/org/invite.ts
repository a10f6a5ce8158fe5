// Inviting someone: the invitation, its audit row, and the e-mail when SMTP is configured.
// Without SMTP the link is returned to be shown once to the inviter (never logged).
import { sql } from 'kysely';
import type { Db } from '../db/index.ts';
import { audit, type AuditContext } from '../audit/audit.ts';
import { mailConfigured, sendMail } from '../mail/mailer.ts';
import { createInvitation, type NewInvitation } from './invitations.ts';
import { normaliseEmail } from './users.ts';

export async function isActiveMember(db: Db, email: string, place: { microstructureId?: string; networkId?: string }): Promise<boolean> {
	let q = db
		.selectFrom('membership as m')
		.innerJoin('app_user as u', 'u.id', 'm.user_id')
		.select('m.id')
		.where(sql<boolean>`lower(u.email) = ${normaliseEmail(email)}`)
		.where(sql<boolean>`m.starts_on <= current_date and (m.ends_on is null or m.ends_on > current_date)`);
	if (place.microstructureId) q = q.where('m.microstructure_id', '=', place.microstructureId);
	if (place.networkId) q = q.where('m.network_id', '=', place.networkId);
	return (await q.executeTakeFirst()) !== undefined;
}

export async function invite(
	db: Db,
	ctx: AuditContext,
	inv: NewInvitation & { placeName: string; networkIdForAudit: string; origin: string }
): Promise<{ emailed: boolean; link: string }> {
	const { id, token } = await createInvitation(db, inv);
	const link = `${inv.origin}/invitation/${token}`;
	await audit(db, ctx, {
		action: 'invitation.created',
		targetType: 'invitation',
		targetId: id,
		microstructureId: inv.microstructureId ?? null,
		networkId: inv.networkIdForAudit,
		details: { email: normaliseEmail(inv.email), role: inv.role }
	});
	if (!mailConfigured()) return { emailed: false, link };
	await sendMail({
		to: inv.email,
		subject: `Invitation à rejoindre ${inv.placeName}`,
		text: `Bonjour ${inv.firstName},\n\nVous êtes invité·e à rejoindre ${inv.placeName} sur Microstructures.\nCe lien est personnel, à usage unique et valable 7 jours :\n${link}\n`
	});
	return { emailed: true, link };
}
